#include <doctest/doctest.h>

#include "chunking.hpp"
#include "framing.hpp"

using namespace corvid::cluster;
namespace v1 = corvid::cluster::v1;

TEST_SUITE("cluster.chunking") {

TEST_CASE("a message above the chunk size is split and reassembled") {
  v1::Frame f;
  f.set_lane(v1::DATA);
  f.mutable_broadcast()->set_topic("t");
  f.mutable_broadcast()->add_elements()->set_data(std::string(10000, 'q'));
  std::vector<std::string> pieces;
  REQUIRE_FALSE(detail::encode_data_message(f, 1024, 4096, 1u << 20, pieces));
  CHECK(pieces.size() == 10);
  detail::reassembler r(1u << 20);
  detail::frame_reader rd(4096);
  bool complete = false;
  for (const auto& p : pieces) {
    REQUIRE(rd.feed(p.data(), p.size()).what == detail::frame_reader::status::frame);
    REQUIRE(rd.frame().has_chunk());
    REQUIRE_FALSE(r.add(rd.frame().chunk(), complete));
  }
  REQUIRE(complete);
  CHECK(r.frame().broadcast().elements(0).data() == std::string(10000, 'q'));
}

TEST_CASE("a chunk announcing more than the message limit is refused before reserving") {
  detail::reassembler r(1u << 20);
  v1::Chunk c;
  c.set_total_size(uint64_t{1} << 32);
  c.set_data("x");
  bool complete = false;
  auto e = r.add(c, complete);
  CHECK(e.kind == errc::frame_too_large);
  CHECK(e.message == "chunked message of 4294967296 bytes exceeds the limit of 1048576 bytes");
}

TEST_CASE("chunks that overrun or switch messages are refused") {
  detail::reassembler r(1u << 20);
  v1::Chunk c;
  c.set_total_size(4);
  c.set_data("abc");
  bool complete = false;
  REQUIRE_FALSE(r.add(c, complete));
  c.set_data("de");
  CHECK(r.add(c, complete).kind == errc::protocol);
  detail::reassembler r2(1u << 20);
  c.set_data("ab");
  REQUIRE_FALSE(r2.add(c, complete));
  c.set_total_size(5);
  CHECK(r2.add(c, complete).message ==
        "chunk of another message before the previous one was complete");
}

}
