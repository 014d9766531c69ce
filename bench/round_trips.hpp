#pragma once
// The round-trip measurement shared by bench_cluster and bench_cluster_nodes: a process of `rt`
// sends an int64_t to `far` (which answers it to its sender) and sends the next one on each
// answer; a warm-up lap of 1000, then `n` measured ones, one message in flight at a time.

#include <future>

#include "bench_util.hpp"
#include "corvid/runtime.hpp"

namespace corvid::bench {

/// Mean microseconds per round trip; negative if the answers stop for 120 s.
inline double mean_round_trip_us(runtime& rt, const pid& far, int64_t n) {
  std::promise<double> done;
  // Answers -1000 .. -1 are the warm-up; the clock starts when -1 is back and 0 leaves, and
  // stops when n - 1 is back: n round trips.
  auto ping = *spawn(rt, [&done, n, far, t0 = clock::now()](process& self) mutable -> behavior {
    return {[&self, &done, n, far, &t0](int64_t x) {
      if (x == -1)
        t0 = clock::now();
      if (x == n - 1)
        done.set_value(us_since(t0) / static_cast<double>(n));
      else
        (void) self.send(far, x + 1);
    }};
  });
  send(ping, int64_t{-1001});  // not sent on: ping's first send is -1000
  auto f = done.get_future();
  if (f.wait_for(std::chrono::seconds(120)) != std::future_status::ready)
    return -1;
  return f.get();
}

} // namespace corvid::bench
