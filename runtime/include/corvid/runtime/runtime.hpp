#pragma once
// The runtime: one CAF actor system plus corvid's process table, registry and telemetry.
//
//   corvid::runtime rt;                                  // threads = cores
//   auto p = corvid::spawn(rt, [](corvid::process& self) -> corvid::behavior {
//     return {[](int x) { return x * 2; }};
//   });
//   auto r = corvid::call<int>(*p, std::chrono::seconds(1), 21);   // 42

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "corvid/runtime/mailbox.hpp"

namespace corvid {

namespace detail {
struct runtime_state;
} // namespace detail

/// Settings of a runtime; defaults suit a 2-core machine.
struct runtime_options {
  size_t threads = 0;                 ///< scheduler workers; 0 = number of cores
  size_t max_throughput = 300;        ///< messages per actor per turn (fairness)
  /// "corvid" (a shared queue plus a per-worker run-next slot, see scheduler.cpp), CAF's
  /// "sharing" or "stealing" (see design.md on fan-out), or "testing": CAF's deterministic
  /// test coordinator, which runs nothing until the caller drives it (for repeatable tests).
  std::string scheduler = "corvid";
  mailbox_options default_mailbox;    ///< used when spawn_options leaves it unset
  size_t drain_batch = 64;            ///< user messages a process handles before yielding
  std::string node = "nonode@nohost"; ///< this node's name in a cluster (transport.hpp)
};

/// Owns an actor system and every corvid process in it; destroying it shuts them all down.
class runtime {
public:
  explicit runtime(runtime_options opts = {});
  /// Builds on a caller-made config (e.g. with extra modules loaded); options still apply.
  runtime(caf::actor_system_config& cfg, runtime_options opts);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system() noexcept;
  const runtime_options& options() const noexcept;
  /// Number of live corvid processes.
  size_t process_count() const noexcept;
  /// Sends shutdown to every process and waits up to `timeout` for all to exit.
  bool shutdown_all(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  detail::runtime_state& state() noexcept { return *st_; }

private:
  std::unique_ptr<caf::actor_system_config> own_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<detail::runtime_state> st_;
};

/// Registers corvid's error renderer on a config that the caller builds itself.
void configure(caf::actor_system_config& cfg, const runtime_options& opts);

} // namespace corvid
