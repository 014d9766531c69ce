// The runtime dashboard: a live view of every process (pid, name/label, mailbox length and
// high-water mark, memory, restarts, handled), longest mailboxes first, plus totals; it re-reads
// corvid::processes(rt) on a timer and only the rows that changed travel as diffs.
//
//   server.live("/dashboard", corvid::live::dashboard_view(rt));
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "corvid/live/view.hpp"

namespace corvid {
class runtime;
}

namespace corvid::live {

/// One cluster member as the dashboard's nodes table shows it.
struct dashboard_node {
  std::string name, address;
  bool up = false;
  double round_trip_us = 0;                 ///< last heartbeat round trip (0 = none yet)
  std::uint64_t control_queued = 0, data_queued = 0, data_queued_bytes = 0, refused = 0;
};

struct dashboard_options {
  std::size_t rows = 50;                         ///< the processes shown (longest mailboxes first)
  std::chrono::milliseconds interval{1000};      ///< how often the table is re-read
  std::string title = "Processes";               ///< the page title
  std::function<std::vector<dashboard_node>()> nodes;  ///< a cluster's members; none = a single node
};

/// A view factory for the dashboard of `rt` (which must outlive the server).
view_factory dashboard_view(runtime& rt, dashboard_options opts = {});

/// The dashboard's assigns for one snapshot (exposed for tests): "rows" (a list of maps with
/// id, pid, name, mailbox, high_water, memory, restarts, handled) and "total" (processes, mailbox,
/// memory, handled, shown), and "nodes" (a list of maps: name, address, state, rtt, control,
/// data, data_bytes, refused; empty for a single node).
void dashboard_snapshot(runtime& rt, const dashboard_options& opts, assigns& out);

}  // namespace corvid::live
