#include "corvid/cluster/metrics.hpp"

#include <sstream>

namespace corvid::cluster {

namespace {

// Prometheus label values escape backslash, quote and newline.
std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

} // namespace

std::string prometheus_metrics(const node& n) {
  auto ms = n.members();
  std::ostringstream o;
  o << "# HELP corvid_cluster_member_up 1 if the member is connected.\n# TYPE corvid_cluster_member_up gauge\n";
  for (auto& m : ms)
    o << "corvid_cluster_member_up{peer=\"" << label(m.id.name) << "\"} " << (m.up ? 1 : 0) << "\n";
  o << "# HELP corvid_cluster_round_trip_seconds Last heartbeat round trip.\n"
       "# TYPE corvid_cluster_round_trip_seconds gauge\n";
  for (auto& m : ms)
    if (m.round_trip)
      o << "corvid_cluster_round_trip_seconds{peer=\"" << label(m.id.name) << "\"} "
        << static_cast<double>(m.round_trip->count()) / 1e9 << "\n";
  struct series {
    const char* name;
    const char* type;
    const char* help;
    uint64_t lane_stats::*field;
  };
  const series all[] = {
    {"corvid_cluster_queue_frames", "gauge", "Messages waiting in a lane's outbound queue.", &lane_stats::queued_frames},
    {"corvid_cluster_queue_bytes", "gauge", "Bytes waiting in a lane's outbound queue.", &lane_stats::queued_bytes},
    {"corvid_cluster_queue_high_water_bytes", "gauge", "Most bytes ever waiting in the lane.", &lane_stats::high_water_bytes},
    {"corvid_cluster_sent_frames_total", "counter", "Messages handed to the socket.", &lane_stats::sent_frames},
    {"corvid_cluster_refused_total", "counter", "Sends refused as overloaded (lane full).", &lane_stats::refused},
  };
  for (auto& s : all) {
    o << "# HELP " << s.name << " " << s.help << "\n# TYPE " << s.name << " " << s.type << "\n";
    for (auto& m : ms) {
      if (!m.up)
        continue;
      o << s.name << "{peer=\"" << label(m.id.name) << "\",lane=\"control\"} " << m.control.*s.field << "\n";
      o << s.name << "{peer=\"" << label(m.id.name) << "\",lane=\"data\"} " << m.data.*s.field << "\n";
    }
  }
  return o.str();
}

} // namespace corvid::cluster
