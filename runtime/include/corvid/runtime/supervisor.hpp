#pragma once
// Supervisors with OTP semantics: child specs, one_for_one / one_for_all / rest_for_one,
// restart intensity, ordered start (each child's init has run before the next starts),
// reverse-ordered stop, nesting, and a dynamic supervisor for many children of one kind.
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
  int intensity = 3;                             ///< restarts allowed within `period`...
  caf::timespan period = std::chrono::seconds(5);  ///< ...before the supervisor gives up
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

/// Starts a supervisor and waits until all its children have started.
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
/// Stops a child by id (or by pid text for dynamic children) and forgets it.
caf::error terminate_child(const pid& sup, const std::string& id, caf::timespan timeout = std::chrono::seconds(5));
/// The children, in start order.
caf::expected<std::vector<child_info>> which_children(const pid& sup,
                                                      caf::timespan timeout = std::chrono::seconds(5));

} // namespace corvid

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corvid::child_info>)
