#include "corvid/live/metrics.hpp"

namespace corvid::live {

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
