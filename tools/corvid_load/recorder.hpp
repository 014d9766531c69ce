// What a node's virtual users measured: totals and the current one-second interval, shared by
// all users of the node under one short lock (a few increments per sample, as an ETS counter).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "histogram.hpp"

namespace corvid::load {

/// The mount's parts and the event round trip, in microseconds.
enum class phase { get, upgrade, join, mount, event };
inline constexpr const char* phase_names[] = {"get", "upgrade", "join", "mount", "event"};
inline constexpr std::size_t phase_count = 5;

/// A set of measurements: what one interval or a whole run saw. Mergeable and sendable.
struct measurements {
  histogram phases[phase_count];
  std::map<std::string, histogram> steps;       ///< by step label, microseconds
  std::map<std::string, histogram> diff_bytes;  ///< by message kind: join_reply, event_reply, diff
  std::map<std::string, std::uint64_t> errors;  ///< by kind
  std::uint64_t started = 0;     ///< users started (first start or restart)
  std::uint64_t completed = 0;   ///< users that reached the end of the scenario
  std::uint64_t failed = 0;      ///< user runs that ended in an error (each is restarted)
  std::uint64_t reconnects = 0;  ///< mounts by restarted users

  void merge(const measurements& o);
  /// Compact bytes for the wire; decode returns nullopt for malformed bytes.
  std::string encode() const;
  static std::optional<measurements> decode(std::string_view bytes);
};

/// One node's recorder, written by its users, read by its reporter.
class recorder {
public:
  void record(phase p, std::uint64_t us);
  void record_step(const std::string& label, std::uint64_t us);
  void record_bytes(const char* kind, std::uint64_t bytes);
  void error(std::string_view kind);
  void user_started();
  void user_completed();
  void user_failed();
  void reconnected();
  /// Users running now, and those mounting now (gauges).
  std::atomic<std::int64_t> active{0};
  std::atomic<std::int64_t> mounting{0};
  /// Users that are done for good: completed their scenario or gave up.
  std::atomic<std::int64_t> ended{0};

  /// The measurements since the last call (the interval), which are also added to the totals.
  measurements take_interval();
  /// Everything so far (including the current interval).
  measurements totals() const;

private:
  mutable std::mutex m_;
  measurements interval_;
  measurements total_;
};

} // namespace corvid::load
