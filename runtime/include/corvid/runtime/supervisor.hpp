#pragma once
// Supervisors with OTP semantics: child specs, one_for_one / one_for_all / rest_for_one,
// restart intensity, ordered start (each child's start is complete, a nested supervisor's
// whole subtree included, before the next starts), reverse-ordered stop, nesting, and a
// dynamic supervisor for many children of one kind. As OTP's, a supervisor waits for a child's
// init without a timeout: an init must not block (the caller of start_child has its own timeout).
//
// As in OTP, a supervisor stops (children in reverse order, then itself) on an exit signal
// from its parent, the supervisor or process that started it, or from corvid::exit, which
// carries no sender and so acts as the parent's. Exits of linked processes that are neither
// its children nor its parent are ignored.
//
//   using namespace corvid;
//   auto sup = start_supervisor(rt, {.strategy = strategy::one_for_one},
//                               {child_spec::worker("db", db_init, {.name = "db"}),
//                                child_spec::worker("cache", cache_init)});
//   auto kids = which_children(*sup, std::chrono::seconds(1));

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>

#include "corvid/runtime/process.hpp"

namespace corvid {

/// When a child is restarted.
enum class restart {
  permanent,  ///< always
  transient,  ///< only after an abnormal exit (not normal, shutdown or idle_timeout)
  temporary,  ///< never; the child is forgotten when it exits
};

/// What a child is (supervisors get an infinite shutdown by default).
enum class child_type { worker, supervisor };

/// Which children a failure restarts.
enum class strategy {
  one_for_one,   ///< only the failed one
  one_for_all,   ///< all of them (the others are stopped first, in reverse order)
  rest_for_one,  ///< the failed one and those started after it
};

/// Shutdown value meaning "kill at once, no shutdown signal".
constexpr caf::timespan brutal_kill{0};
/// Shutdown value meaning "wait as long as it takes" (the default for supervisor children).
constexpr caf::timespan infinity = caf::timespan::max();

/// How to start and treat one child.
struct child_spec {
  std::string id;
  /// Spawns the child from inside the supervisor (the supervisor links to it afterwards).
  std::function<caf::expected<pid>(process& sup)> start;
  restart restart_type = restart::permanent;
  caf::timespan shutdown = std::chrono::seconds(5);  ///< brutal_kill, a timeout, or infinity
  child_type type = child_type::worker;

  /// A worker spawned from `init` with `opts`.
  static child_spec worker(std::string id, init_fn init, spawn_options opts = {},
                           restart r = restart::permanent);
};

/// Restart intensity and strategy of a supervisor.
struct supervisor_flags {
  strategy strategy_type = strategy::one_for_one;
  /// Restarts allowed within `period` (failed restart attempts count too); one more and the
  /// supervisor gives up: it stops its children and exits with `shutdown`, as OTP does, so a
  /// transient parent does not restart it. Telemetry `corvid.supervisor.shutdown` says why.
  int intensity = 3;
  caf::timespan period = std::chrono::seconds(5);
  size_t max_children = 0;                       ///< dynamic supervisors: 0 = unlimited
};

/// One row of which_children.
struct child_info {
  std::string id;
  pid current;  ///< empty while restarting
  child_type type = child_type::worker;
  restart restart_type = restart::permanent;
  uint32_t restarts = 0;
};

/// Counts of a supervisor's children (OTP count_children).
struct child_counts {
  size_t specs = 0;        ///< child specs, running or not
  size_t active = 0;       ///< children running now
  size_t supervisors = 0;  ///< specs of type supervisor
  size_t workers = 0;      ///< specs of type worker
};

/// Starts a supervisor and waits until all its children have started. If a child fails to
/// start (its start function errs, or its init throws), the children already started are
/// stopped in reverse order and the error names the child (errc::start_failed).
caf::expected<pid> start_supervisor(runtime& rt, supervisor_flags flags, std::vector<child_spec> children,
                                    spawn_options opts = {});
/// A child spec that runs a nested supervisor.
child_spec supervisor_spec(std::string id, supervisor_flags flags, std::vector<child_spec> children,
                           spawn_options opts = {});
/// Starts a dynamic supervisor: no static children, one_for_one, children added at run time.
caf::expected<pid> start_dynamic_supervisor(runtime& rt, supervisor_flags flags = {}, spawn_options opts = {});

/// Adds and starts a child (any supervisor). Errors: already_registered (duplicate id), overloaded
/// (max_children), or the child's start error.
caf::expected<pid> start_child(const pid& sup, child_spec spec, caf::timespan timeout = std::chrono::seconds(5));
/// Stops a child by id and keeps its spec: which_children lists it without a pid, and
/// restart_child / delete_child act on it. Temporary children, and children of a dynamic
/// supervisor (named by pid text), are forgotten, as in OTP.
caf::error terminate_child(const pid& sup, const std::string& id, caf::timespan timeout = std::chrono::seconds(5));
/// Starts a terminated child again from its spec. Errors: running, not_found; bad_argument
/// for a dynamic supervisor; or the child's start error.
caf::expected<pid> restart_child(const pid& sup, const std::string& id,
                                 caf::timespan timeout = std::chrono::seconds(5));
/// Forgets the spec of a terminated child. Errors: running, not_found, bad_argument (dynamic).
caf::error delete_child(const pid& sup, const std::string& id, caf::timespan timeout = std::chrono::seconds(5));
/// The spec of a child. Error: not_found.
caf::expected<child_spec> get_childspec(const pid& sup, const std::string& id,
                                        caf::timespan timeout = std::chrono::seconds(5));
/// The children, in start order (terminated ones have an empty `current`).
caf::expected<std::vector<child_info>> which_children(const pid& sup,
                                                      caf::timespan timeout = std::chrono::seconds(5));
/// How many children, running and by type.
caf::expected<child_counts> count_children(const pid& sup, caf::timespan timeout = std::chrono::seconds(5));

} // namespace corvid

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corvid::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::child_counts)
