// A virtual user: a corvid process that walks its scenario over one LiveView connection, records
// what it measures, and ends normally at the scenario's end. On an error it records the kind and
// exits with it, so that its supervisor restarts it (after a backoff) from the first step.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "corvid/runtime/supervisor.hpp"
#include "lv_session.hpp"
#include "recorder.hpp"
#include "scenario.hpp"

namespace corvid::load {

/// What every user of one node shares.
struct user_context {
  std::shared_ptr<const scenario> plan;
  std::vector<lv_target> targets;  ///< user n connects to targets[n % size] (servers of a cluster)
  boost::asio::io_context* io = nullptr;
  recorder* rec = nullptr;
  /// Starts of each user (index - first_user): a restart waits a backoff that grows with it.
  std::vector<std::atomic<std::uint32_t>>* attempts = nullptr;
  std::uint64_t first_user = 0;
  std::uint64_t seed = 1;
  variables vars;  ///< --var NAME=VALUE, for "{NAME}" in steps
  /// A user that has failed this many times gives up (error "gave_up") instead of starting over,
  /// so that a run against a broken page still ends.
  std::uint32_t max_attempts = 5;
};

/// The child spec of user number `user` (transient: restarted only after an error).
child_spec user_spec(std::shared_ptr<const user_context> ctx, std::uint64_t user);

} // namespace corvid::load
