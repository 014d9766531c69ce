// Counters of a live server (sessions, mounts, events, diff bytes, drops, rejections by kind), shown at
// /metrics in the Prometheus text format next to the runtime's own metrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/live/dashboard_chart.hpp"

namespace corvid::live {

/// Why the server refused something (a connection, a frame, a join).
enum class rejection : std::uint8_t {
  connections,  ///< over max_connections (HTTP 503)
  rate,         ///< an event over the connection's event rate
  frame_size,   ///< a websocket message over max_frame_bytes (dropped; over 64x that, close 1009)
  origin,       ///< websocket upgrade from an Origin not allowed (HTTP 403)
  token,        ///< join with a missing, tampered or expired session token
  csrf,         ///< join whose _csrf_token does not match its page
  malformed,    ///< unparsable frame, unexpected binary frame
  host,         ///< request whose Host header is not in allowed_hosts (HTTP 400)
  auth,         ///< request or join under a protected path without valid credentials (HTTP 401)
  per_client,   ///< over max_connections_per_client (HTTP 503)
  views,        ///< a join over max_views_per_connection
  inbound,      ///< a frame over the queued inbound bytes (per session or in all)
  join_timeout, ///< a websocket that joined no view within first_join_timeout (close 1008)
};
inline constexpr std::size_t rejection_kinds = 13;
std::string_view to_string(rejection r) noexcept;

/// One view's figures (by its route pattern): mounted now, mount and event latency, diff bytes.
struct view_stats {
  std::atomic<std::int64_t> live{0};
  std::atomic<std::uint64_t> mounts{0}, events{0}, diff_bytes{0};
  latency_histogram mount_us, event_us;  ///< join to its reply; event to its reply (in the session process)
};

/// One slow event, for the list of the slowest.
struct slow_event {
  std::uint64_t us = 0;
  std::string view, event, session;  ///< route pattern, event name, session pid
  std::uint64_t session_id = 0;      ///< the session pid's id (pid::id())
  std::chrono::system_clock::time_point at;
};

/// Per-view figures and the slowest events, recorded by channels from any thread.
class view_stats_table {
 public:
  /// The figures of `pattern`, made on first use; the reference stays valid.
  view_stats& of(std::string_view pattern);
  /// Every view seen, by pattern.
  std::vector<std::pair<std::string, const view_stats*>> all() const;
  /// Whether an event of `us` would enter the slowest list (no lock): callers skip building its text.
  bool would_keep(std::uint64_t us) const noexcept {
    return !full_.load(std::memory_order_relaxed) || us > threshold_.load(std::memory_order_relaxed);
  }
  /// Keeps the event if it is among the `keep` slowest so far (cheap when it is not).
  void maybe_slow(std::uint64_t us, std::string_view view, std::string_view event, std::string_view session,
                  std::uint64_t session_id);
  /// The slowest events so far, slowest first.
  std::vector<slow_event> slowest() const;
  static constexpr std::size_t keep = 10;

 private:
  mutable std::mutex m_;
  std::map<std::string, std::unique_ptr<view_stats>, std::less<>> by_;
  std::vector<slow_event> slow_;
  std::atomic<bool> full_{false};             // the slowest list holds `keep` entries
  std::atomic<std::uint64_t> threshold_{0};  // then: its fastest one's latency
};

/// Counters shared by a server and its channels; every member may be bumped from any thread.
struct live_metrics {
  std::atomic<std::uint64_t> mounts{0};          ///< successful joins
  std::atomic<std::uint64_t> events{0};          ///< client events handed to views
  std::atomic<std::uint64_t> view_crashes{0};    ///< views ended by an error (the client rejoins)
  std::atomic<std::uint64_t> diff_bytes{0};      ///< bytes of frames carrying diffs (replies and pushes)
  std::atomic<std::uint64_t> slow_drops{0};      ///< connections dropped because their outbound queue was full
  std::atomic<std::uint64_t> idle_closes{0};     ///< connections closed after idle_timeout without a frame
  std::array<std::atomic<std::uint64_t>, rejection_kinds> rejections{};
  view_stats_table views;  ///< per view, for the dashboard's sessions page

  void reject(rejection r) noexcept { rejections[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t rejected(rejection r) const noexcept {
    return rejections[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  /// Prometheus text: these counters plus the gauges given (sessions = live websocket sessions,
  /// connections = open TCP connections, inbound_queued = bytes of client frames queued in sessions).
  std::string prometheus(std::size_t sessions, std::size_t connections, std::size_t inbound_queued = 0) const;
};

}  // namespace corvid::live
