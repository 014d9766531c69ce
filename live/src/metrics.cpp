#include "corvid/live/metrics.hpp"

#include <algorithm>

namespace corvid::live {

view_stats& view_stats_table::of(std::string_view pattern) {
  std::lock_guard<std::mutex> g{m_};
  auto it = by_.find(pattern);
  if (it == by_.end()) it = by_.emplace(std::string(pattern), std::make_unique<view_stats>()).first;
  return *it->second;
}

std::vector<std::pair<std::string, const view_stats*>> view_stats_table::all() const {
  std::lock_guard<std::mutex> g{m_};
  std::vector<std::pair<std::string, const view_stats*>> out;
  for (auto& [k, v] : by_) out.emplace_back(k, v.get());
  return out;
}

void view_stats_table::maybe_slow(std::uint64_t us, std::string_view view, std::string_view event,
                                  std::string_view session, std::uint64_t session_id) {
  if (!would_keep(us)) return;  // the usual case: no lock
  std::lock_guard<std::mutex> g{m_};
  slow_.push_back({us, std::string(view), std::string(event).substr(0, 64), std::string(session), session_id,
                   std::chrono::system_clock::now()});
  std::sort(slow_.begin(), slow_.end(), [](const slow_event& a, const slow_event& b) { return a.us > b.us; });
  if (slow_.size() > keep) slow_.resize(keep);
  if (slow_.size() == keep) {
    threshold_.store(slow_.back().us, std::memory_order_relaxed);
    full_.store(true, std::memory_order_relaxed);
  }
}

std::vector<slow_event> view_stats_table::slowest() const {
  std::lock_guard<std::mutex> g{m_};
  return slow_;
}

std::string_view to_string(rejection r) noexcept {
  switch (r) {
    case rejection::connections: return "connections";
    case rejection::rate: return "rate";
    case rejection::frame_size: return "frame_size";
    case rejection::origin: return "origin";
    case rejection::token: return "token";
    case rejection::csrf: return "csrf";
    case rejection::malformed: return "malformed";
    case rejection::host: return "host";
    case rejection::auth: return "auth";
    case rejection::per_client: return "per_client";
    case rejection::views: return "views";
    case rejection::inbound: return "inbound";
    case rejection::join_timeout: return "join_timeout";
  }
  return "unknown";
}

namespace {
void metric(std::string& out, std::string_view type, std::string_view name, std::string_view help, std::uint64_t v) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}
void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  metric(out, "counter", name, help, v);
}
void gauge(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  metric(out, "gauge", name, help, v);
}
}  // namespace

std::string live_metrics::prometheus(std::size_t sessions, std::size_t connections, std::size_t inbound) const {
  std::string out;
  out.reserve(2048);
  gauge(out, "corvid_live_sessions", "Live sessions, websocket or long-poll (one session process each).", sessions);
  gauge(out, "corvid_live_connections", "Open TCP connections (HTTP and websocket).", connections);
  gauge(out, "corvid_live_inbound_queued_bytes", "Bytes of client frames queued in all sessions.", inbound);
  counter(out, "corvid_live_mounts_total", "Successful joins (view mounts over the websocket).", mounts.load());
  counter(out, "corvid_live_events_total", "Client events handed to views.", events.load());
  counter(out, "corvid_live_view_crashes_total", "Views ended by an error (phx_error; the client rejoins).",
          view_crashes.load());
  counter(out, "corvid_live_diff_bytes_total", "Bytes of frames carrying rendered diffs.", diff_bytes.load());
  counter(out, "corvid_live_slow_client_drops_total",
          "Connections dropped because the client did not read fast enough (outbound queue full, write_timeout).",
          slow_drops.load());
  counter(out, "corvid_live_idle_closes_total", "Connections closed after idle_timeout without a client frame.",
          idle_closes.load());
  out += "# HELP corvid_live_rejections_total Refused connections, frames and joins, by kind.\n"
         "# TYPE corvid_live_rejections_total counter\n";
  for (std::size_t i = 0; i < rejection_kinds; ++i) {
    out += "corvid_live_rejections_total{kind=\"";
    out += to_string(static_cast<rejection>(i));
    out += "\"} ";
    out += std::to_string(rejections[i].load(std::memory_order_relaxed));
    out += '\n';
  }
  return out;
}

}  // namespace corvid::live
