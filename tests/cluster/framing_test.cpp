#include <doctest/doctest.h>

#include <string>

#include "framing.hpp"

using namespace corvid::cluster;
using detail::frame_reader;
using status = frame_reader::status;

namespace {

v1::Frame hello_frame(std::string name) {
  v1::Frame f;
  f.mutable_hello()->set_protocol_major(1);
  f.mutable_hello()->set_node_name(std::move(name));
  return f;
}

std::string wire(const v1::Frame& f, size_t limit = 1 << 20) {
  std::string out;
  REQUIRE_FALSE(detail::encode_frame(f, limit, out));
  return out;
}

std::string header(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
          static_cast<char>(n)};
}

} // namespace

TEST_SUITE("cluster.framing") {

TEST_CASE("a frame split into one-byte reads is reassembled") {
  const auto bytes = wire(hello_frame("node-a"));
  frame_reader r(1024);
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    auto s = r.feed(bytes.data() + i, 1);
    REQUIRE(s.what == status::need_more);
    REQUIRE(s.consumed == 1);
  }
  auto s = r.feed(bytes.data() + bytes.size() - 1, 1);
  REQUIRE(s.what == status::frame);
  CHECK(r.frame().hello().node_name() == "node-a");
}

TEST_CASE("feed stops at the end of one frame so the caller can change the limit") {
  const auto a = wire(hello_frame("a"));
  const auto b = wire(hello_frame("b"));
  const auto both = a + b;
  frame_reader r(1024);
  auto s = r.feed(both.data(), both.size());
  REQUIRE(s.what == status::frame);
  CHECK(s.consumed == a.size());
  CHECK(r.frame().hello().node_name() == "a");
  s = r.feed(both.data() + s.consumed, both.size() - s.consumed);
  REQUIRE(s.what == status::frame);
  CHECK(r.frame().hello().node_name() == "b");
}

TEST_CASE("a frame of exactly the limit is accepted, one byte more is refused") {
  v1::Frame f = hello_frame("");
  f.mutable_hello()->set_node_name(std::string(100, 'x'));
  const auto bytes = wire(f);
  const size_t body = bytes.size() - detail::header_bytes;
  {
    frame_reader r(body);
    auto s = r.feed(bytes.data(), bytes.size());
    CHECK(s.what == status::frame);
    CHECK(r.capacity() <= body);
  }
  {
    frame_reader r(body - 1);
    auto s = r.feed(bytes.data(), bytes.size());
    REQUIRE(s.what == status::failed);
    CHECK(s.consumed == detail::header_bytes);
    CHECK(r.failure().kind == errc::frame_too_large);
    CHECK(r.failure().message.find("exceeds the limit") != std::string::npos);
    CHECK(r.capacity() == 0);
  }
}

TEST_CASE("a header claiming a 4 GiB frame is refused before any allocation") {
  frame_reader r(1024);
  const auto h = header(0xffffffffu);
  auto s = r.feed(h.data(), h.size());
  REQUIRE(s.what == status::failed);
  CHECK(r.failure().kind == errc::frame_too_large);
  CHECK(r.failure().message == "frame of 4294967295 bytes exceeds the limit of 1024 bytes");
  CHECK(r.capacity() == 0);
  // A failed reader takes nothing more.
  CHECK(r.feed(h.data(), h.size()).what == status::failed);
}

TEST_CASE("a zero-length frame is refused") {
  frame_reader r(1024);
  const auto h = header(0);
  auto s = r.feed(h.data(), h.size());
  REQUIRE(s.what == status::failed);
  CHECK(r.failure().message == "zero-length frame");
}

TEST_CASE("garbage within the limit is refused as unparsable") {
  frame_reader r(1024);
  const std::string body = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  const auto bytes = header(static_cast<uint32_t>(body.size())) + body;
  auto s = r.feed(bytes.data(), bytes.size());
  REQUIRE(s.what == status::failed);
  CHECK(r.failure().kind == errc::protocol);
  CHECK(r.failure().message == "unparsable frame of 11 bytes");
}

TEST_CASE("the buffer never grows beyond the limit, whatever arrives") {
  frame_reader r(1024);
  std::string junk;
  for (int i = 0; i < 4096; ++i)
    junk.push_back(static_cast<char>(i * 7919));
  size_t off = 0;
  while (off < junk.size()) {
    auto s = r.feed(junk.data() + off, junk.size() - off);
    CHECK(r.capacity() <= 1024);
    if (s.what == status::failed)
      break;
    off += s.consumed;
  }
}

TEST_CASE("encode refuses empty and oversized frames") {
  std::string out;
  CHECK(detail::encode_frame(v1::Frame{}, 1024, out).kind == errc::protocol);
  v1::Frame f = hello_frame(std::string(2000, 'x'));
  CHECK(detail::encode_frame(f, 1024, out).kind == errc::frame_too_large);
}

}
