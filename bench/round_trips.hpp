#pragma once
// The round-trip measurement shared by bench_cluster and bench_cluster_nodes: a process of `rt`
// sends an int64_t to `far` (which answers it to its sender) and sends the next one on each
// answer; a warm-up lap of 1000, then `n` measured ones.

#include <future>

#include "bench_util.hpp"
#include "corvid/runtime.hpp"

namespace corvid::bench {

/// Mean microseconds per round trip; negative if the answers stop for 120 s.
inline double mean_round_trip_us(runtime& rt, const pid& far, int64_t n) {
  std::promise<void> done;
  auto ping = *spawn(rt, [&done, n, far](process& self) -> behavior {
    return {[&self, &done, n, far](int64_t x) {
      if (x == n)
        done.set_value();
      else
        (void) self.send(far, x + 1);
    }};
  });
  send(ping, int64_t{-1000});
  auto t0 = clock::now();
  send(ping, int64_t{0});
  if (done.get_future().wait_for(std::chrono::seconds(120)) != std::future_status::ready)
    return -1;
  return us_since(t0) / static_cast<double>(n);
}

} // namespace corvid::bench
