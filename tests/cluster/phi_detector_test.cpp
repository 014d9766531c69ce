// Phi accrual: suspicion grows with the silence, relative to how regular the heartbeats were.

#include <doctest/doctest.h>

#include "phi_detector.hpp"

using namespace corvid::cluster;
using namespace std::chrono_literals;

TEST_SUITE("phi detector") {

TEST_CASE("regular beats make a long silence very suspicious") {
  phi_detector d{100ms, 20ms, 0ms, 20};
  phi_detector::clock::time_point t{};
  CHECK(d.phi(t + 10s) == 0.0);  // nothing heard yet: nothing to be late
  for (int i = 0; i < 20; ++i)
    d.heartbeat(t += 100ms);
  CHECK(d.phi(t + 100ms) < 1.0);   // on time
  CHECK(d.phi(t + 130ms) < 8.0);   // a little late
  CHECK(d.phi(t + 300ms) > 8.0);   // three beats missed
  CHECK(d.phi(t + 300ms) < d.phi(t + 400ms));
}

TEST_CASE("irregular beats and an acceptable pause make the same silence less suspicious") {
  phi_detector::clock::time_point t{};
  phi_detector steady{100ms, 10ms, 0ms, 40}, jittery{100ms, 10ms, 0ms, 40}, paused{100ms, 10ms, 200ms, 40};
  auto t1 = t, t2 = t, t3 = t;
  for (int i = 0; i < 40; ++i) {
    steady.heartbeat(t1 += 100ms);
    jittery.heartbeat(t2 += (i % 2 ? 50ms : 150ms));
    paused.heartbeat(t3 += 100ms);
  }
  CHECK(jittery.phi(t2 + 250ms) < steady.phi(t1 + 250ms));
  CHECK(paused.phi(t3 + 250ms) < steady.phi(t1 + 250ms));
  CHECK(paused.phi(t3 + 250ms) < 1.0);
}

TEST_CASE("a member silent from its first heartbeat is suspected from the expected interval") {
  phi_detector d{100ms, 20ms, 0ms};
  phi_detector::clock::time_point t{};
  d.heartbeat(t);
  CHECK(d.phi(t + 100ms) < 1.0);
  CHECK(d.phi(t + 1s) > 8.0);
}

} // TEST_SUITE
