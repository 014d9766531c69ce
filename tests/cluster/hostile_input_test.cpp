#include <doctest/doctest.h>

#include "harness.hpp"

using namespace cluster_test;
namespace v1 = corvid::cluster::v1;

namespace {

// A healthy peer of `a`, to show that hostile strangers do not disturb it.
struct healthy_peer {
  node b;
  std::optional<connection> c;

  explicit healthy_peer(uint16_t port) {
    auto r = connection::dial(b.net.io, loopback(port), make_options("b"), b.rec.make());
    REQUIRE(r);
    c = r.value();
    REQUIRE(b.rec.wait_for([](auto& x) { return x.ups.size() == 1; }));
  }

  // A round trip through a's echoing handler still works.
  void round_trip(uint64_t n) {
    REQUIRE_FALSE(c->send(lane::data, send_frame(n, "ping")));
    REQUIRE(b.rec.wait_for([n](auto& x) {
      return !x.frames.empty() && x.frames.back().frame.send().to_id() == n;
    }));
  }
};

// a echoes every Send back to its sender.
handlers echoing(recorder& r) {
  auto h = r.make();
  r.before_frame = [](const connection& c, lane l, const v1::Frame& f) {
    if (f.has_send())
      (void)c.send(l, f);
  };
  return h;
}

// The node under attack, listening and echoing, with one healthy peer already talking to it.
struct target {
  node a;
  std::optional<listener> l;
  std::optional<healthy_peer> peer;

  target() {
    auto r = listener::open(a.net.io, loopback(0), make_options("a"), echoing(a.rec));
    REQUIRE(r);
    l = r.value();
    peer.emplace(l->port());
    peer->round_trip(1);
  }
  uint16_t port() const { return l->port(); }
};

} // namespace

TEST_SUITE("cluster.hostile") {

TEST_CASE("raw garbage before the handshake is refused and other peers are unaffected") {
  target t;
  auto& a = t.a;
  raw_client raw(t.port());
  std::string junk;
  for (int i = 0; i < 64 * 1024; ++i)
    junk.push_back(static_cast<char>((i * 2654435761u) >> 13));
  raw.write(junk);  // may fail half-way once a has closed: that is the point
  CHECK(raw.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  const auto e = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  CHECK((e.kind == errc::protocol || e.kind == errc::frame_too_large));
  MESSAGE("garbage refused with: " << to_string(e));

  // Garbage behind a plausible length is refused as unparsable.
  raw_client raw2(t.port());
  raw2.write(std::string("\0\0\0\x0b", 4) + std::string(11, '\xff'));
  CHECK(raw2.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 2; }));
  CHECK(a.rec.with_lock([](auto& r) { return r.closes[1].message; }) ==
        "unparsable frame of 11 bytes");
  CHECK(a.rec.with_lock([](auto& r) { return r.ups.size(); }) == 1);  // only the healthy peer
  t.peer->round_trip(2);
}

TEST_CASE("a header claiming a 4 GiB frame is refused with RSS within 5 MiB") {
  target t;
  auto& a = t.a;
  const size_t rss0 = rss_bytes();

  // Two strangers, as in the BASP measurement, each claiming 4 GiB then pushing bytes.
  raw_client s1(t.port()), s2(t.port());
  const std::string header("\xff\xff\xff\xff", 4);
  const std::string tail(1 << 20, 'z');
  s1.write(header);
  s2.write(header);
  s1.write(tail);
  s2.write(tail);
  CHECK(s1.closed_by_peer());
  CHECK(s2.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 2; }));
  for (const auto& e : a.rec.with_lock([](auto& r) { return r.closes; })) {
    CHECK(e.kind == errc::frame_too_large);
    CHECK(e.message == "frame of 4294967295 bytes exceeds the limit of 1024 bytes");
  }
  const size_t rss1 = rss_bytes();
  MESSAGE("RSS before " << rss0 << " after " << rss1);
  CHECK_RSS(rss1 <= rss0 + 5 * 1024 * 1024);
  t.peer->round_trip(2);
}

TEST_CASE("a non-handshake frame before authentication is refused") {
  node a;
  auto l = listener::open(a.net.io, loopback(0), make_options("a"), a.rec.make());
  REQUIRE(l);
  raw_client raw(l.value().port());
  REQUIRE(raw.write(wire(send_frame(1, "sneaky"))));
  auto answer = raw.read_frame();
  REQUIRE(answer);
  REQUIRE(answer->has_refuse());
  CHECK(answer->refuse().reason().find("unexpected frame") != std::string::npos);
  CHECK(raw.closed_by_peer());
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }));
  CHECK(a.rec.with_lock([](auto& r) { return r.frames.size(); }) == 0);
}

}
