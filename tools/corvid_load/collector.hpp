// The run's totals and its timeline: one point per second made from what every node reported in
// that second, plus the server's CPU and RSS when its pid is known. Builds the JSON result.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "recorder.hpp"

namespace corvid::load {

/// What the result says about the run besides the measurements.
struct run_meta {
  std::string target;
  std::string scenario;
  std::string started_at;  ///< UTC, ISO 8601
  std::uint64_t users = 0;
  int workers = 0;         ///< worker nodes (0: the users ran in this process)
};

class collector {
public:
  /// `server_pid` > 0: sample that process's CPU and RSS once a second.
  explicit collector(int server_pid = 0);

  /// One node's interval (measurements since its last report) and its gauges.
  void add(const measurements& interval, std::int64_t active, std::int64_t mounting);
  /// Closes the current second: appends a timeline point from what was added since the last call.
  void close_second();
  /// One line for the terminal: users, rates and p99s of the last second.
  std::string progress_line() const;
  const measurements& totals() const noexcept { return totals_; }
  std::int64_t peak_active() const noexcept { return peak_active_; }
  /// The JSON result (schema in tools/corvid_load/README.md).
  boost::json::object result(const run_meta& meta) const;

private:
  int server_pid_;
  std::chrono::steady_clock::time_point t0_;
  measurements totals_;
  measurements second_;
  std::int64_t active_ = 0, mounting_ = 0, peak_active_ = 0;
  std::vector<boost::json::object> timeline_;
  double last_cpu_us_ = -1;
  std::chrono::steady_clock::time_point last_cpu_at_;
  double rss_start_ = 0, rss_max_ = 0, cpu_start_us_ = -1, cpu_last_us_ = 0;
};

/// The current time as "2026-11-30T16:40:00Z".
std::string utc_now();

} // namespace corvid::load
