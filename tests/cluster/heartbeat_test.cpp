#include <doctest/doctest.h>

#include "harness.hpp"

using namespace cluster_test;
namespace v1 = corvid::cluster::v1;

TEST_SUITE("cluster.heartbeat") {

TEST_CASE("heartbeats measure the round trip and a silent peer is closed by heartbeat timeout") {
  node a, b;
  gate silent;
  auto ao = make_options("a");
  ao.heartbeat_interval = 50ms;
  ao.dead_after = 500ms;
  auto bo = make_options("b");
  bo.heartbeat_interval = 50ms;
  bo.dead_after = 60s;
  // b goes silent (its loop blocks) on the first Send it receives.
  b.rec.before_frame = [&silent](const connection&, lane, const v1::Frame& f) {
    if (f.has_send())
      silent.wait(30s);
  };
  auto l = listener::open(a.net.io, loopback(0), ao, a.rec.make());
  REQUIRE(l);
  auto c = connection::dial(b.net.io, loopback(l.value().port()), bo, b.rec.make());
  REQUIRE(c);
  REQUIRE(a.rec.wait_for([](auto& r) { return r.ups.size() == 1; }));
  auto at_a = a.rec.with_lock([](auto& r) { return r.ups[0]; });

  // Heartbeats from b arrive as frames, each waking this wait to look at the round trip.
  REQUIRE(a.rec.wait_for([&](auto&) { return at_a.last_round_trip().has_value(); }));
  MESSAGE("round trip " << at_a.last_round_trip()->count() << " ns");
  CHECK(*at_a.last_round_trip() < 1s);

  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(at_a.send(lane::data, send_frame(1, "go quiet")));
  REQUIRE(a.rec.wait_for([](auto& r) { return r.closes.size() == 1; }, 10s));
  const auto took = std::chrono::steady_clock::now() - t0;
  const auto e = a.rec.with_lock([](auto& r) { return r.closes[0]; });
  CHECK(e.kind == errc::timeout);
  CHECK(e.message.rfind("heartbeat timeout: nothing heard for ", 0) == 0);
  CHECK(took >= 450ms);
  CHECK(took < 5s);
  silent.open();
}

}
