// The runtime dashboard: a live view of every process (pid, name/label, mailbox length and
// high-water mark, memory, restarts, handled), longest mailboxes first, plus totals; it re-reads
// corvid::processes(rt) on a timer and only the rows that changed travel as diffs.
//
//   server.live("/dashboard", corvid::live::dashboard_view(rt));
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "corvid/live/view.hpp"

namespace corvid {
class runtime;
}

namespace corvid::live {

struct dashboard_options {
  std::size_t rows = 50;                         ///< the processes shown (longest mailboxes first)
  std::chrono::milliseconds interval{1000};      ///< how often the table is re-read
  std::string title = "Processes";               ///< the page title
};

/// A view factory for the dashboard of `rt` (which must outlive the server).
view_factory dashboard_view(runtime& rt, dashboard_options opts = {});

/// The dashboard's assigns for one snapshot (exposed for tests): "rows" (a list of maps with
/// id, pid, name, mailbox, high_water, memory, restarts, handled) and "total" (processes, mailbox,
/// memory, handled, shown).
void dashboard_snapshot(runtime& rt, const dashboard_options& opts, assigns& out);

}  // namespace corvid::live
