#pragma once
// Phi accrual failure detection (Hayashibara et al., as in Cassandra and Akka): from the
// spacing of a member's heartbeats, how unlikely it is that the next one is merely late.
// phi = -log10(P(a gap at least this long)); 8 means a one in 10^8 chance of a false alarm
// under the observed distribution. Pure: time is passed in.

#include <chrono>
#include <cstddef>
#include <deque>

namespace corvid::cluster {

class phi_detector {
public:
  using clock = std::chrono::steady_clock;
  /// `min_std_dev` keeps a very regular history from making phi jump on a tiny delay;
  /// `acceptable_pause` is added to the expected gap. The history starts from `expected`
  /// (the heartbeat interval, give or take a quarter), so a member silent from its first
  /// moment is suspected too.
  phi_detector(std::chrono::milliseconds expected, std::chrono::milliseconds min_std_dev,
               std::chrono::milliseconds acceptable_pause, size_t window = 100);
  /// A heartbeat arrived at `now`.
  void heartbeat(clock::time_point now);
  void add_gap(double ms);
  /// The suspicion level at `now` (0 before the first heartbeat).
  double phi(clock::time_point now) const;

private:
  double min_std_ms_, pause_ms_;
  size_t window_;
  std::deque<double> gaps_ms_;
  double sum_ = 0, sum_sq_ = 0;
  clock::time_point last_{};
  bool seen_ = false;
};

} // namespace corvid::cluster
