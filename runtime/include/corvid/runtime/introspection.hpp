#pragma once
// Introspection: every live process with its name, mailbox counters, memory estimate,
// restarts and supervisor; a text dump and Prometheus text-format metrics.
//
//   for (auto& p : corvid::processes(rt)) std::cout << p.id << " " << p.mailbox.length << "\n";
//   std::cout << corvid::dump(rt);

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "corvid/runtime/mailbox.hpp"
#include "corvid/runtime/pid.hpp"

namespace corvid {

class runtime;

/// A snapshot of one process.
struct process_info {
  pid id;
  std::string name;      ///< registered name, "" if none
  std::string label;     ///< kind (spawn_options::label or the supervisor's child id)
  mailbox_stats mailbox;
  uint32_t restarts = 0; ///< how often its supervisor restarted this child slot
  pid supervisor;        ///< empty if unsupervised
  size_t memory = 0;     ///< bytes: actor + control block + queued envelopes (payloads not counted)
};

/// One restart of a supervised child slot (wall-clock time, for people to read).
struct restart_record {
  std::chrono::system_clock::time_point at;
  pid ended;           ///< the process that ended (empty when a restart attempt failed to start)
  std::string reason;  ///< why it ended, or why the attempt failed
};

/// What info() says plus what is costlier to gather: for looking at one process at a time.
struct process_details {
  process_info info;
  std::vector<pid> links;         ///< linked processes, local and remote (still running)
  std::vector<pid> monitors;      ///< processes it monitors
  std::vector<pid> monitored_by;  ///< processes that monitor it
  std::vector<std::string> queued;  ///< type lists of the first queued messages, oldest first
  std::vector<restart_record> restart_history;  ///< its child slot's latest restarts, oldest first
};

/// How many restarts a child slot remembers in process_details::restart_history.
inline constexpr size_t restart_history_length = 10;

/// Every live process, sorted by mailbox length (longest first).
std::vector<process_info> processes(runtime& rt);
/// Sums over every live process (what a once-a-second sampler needs, without a snapshot of each).
struct process_totals {
  size_t processes = 0;
  uint64_t mailbox_length = 0;  ///< messages queued, all processes
  uint64_t handled = 0;         ///< messages handled so far by the processes still running
  size_t memory = 0;            ///< the sum of process_info::memory
};
process_totals totals(runtime& rt);
/// A snapshot of one process (id empty if it is gone).
process_info info(const pid& p);
/// The running process of `rt` whose pid has this id() (empty if none).
pid find_process(runtime& rt, uint64_t id);
/// Details of a running process, peeking at up to `peek` queued messages (nullopt if it is gone).
std::optional<process_details> details(const pid& p, size_t peek = 5);
/// Why `p` ended (kept as long as some pid refers to it); nullopt while it runs or for an
/// empty pid. Monitors of an already dead process get noproc, as in OTP; this is the way to
/// learn the original reason afterwards.
std::optional<caf::error> exit_reason(const pid& p);
/// A human-readable table of the `limit` processes with the longest mailboxes.
std::string dump(runtime& rt, size_t limit = 50);
/// Prometheus text exposition: totals plus per-process gauges for the `top` longest mailboxes.
std::string prometheus_metrics(runtime& rt, size_t top = 20);

} // namespace corvid
