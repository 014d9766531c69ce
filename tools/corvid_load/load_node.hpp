// The users of one node: a dynamic supervisor of virtual users, their I/O threads and their
// recorder. start() ramps users [first, first + count) up at a rate, never more than
// `max_mounting` mounting at once; the caller drives it with tick() from its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "corvid/runtime/runtime.hpp"
#include "recorder.hpp"
#include "virtual_user.hpp"

namespace corvid::load {

/// Where and how one node's share of the users runs.
struct node_plan {
  std::shared_ptr<const scenario> plan;
  std::vector<lv_target> targets;  ///< user n goes to targets[n % size]
  std::uint64_t first_user = 0;
  std::uint64_t count = 0;
  double rate = 50;                 ///< users started per second
  std::uint64_t max_mounting = 200; ///< users mounting at once, at most
  std::uint64_t seed = 1;
  int io_threads = 1;
  std::uint32_t max_attempts = 5;   ///< a user failing this often gives up
  variables vars;                   ///< --var NAME=VALUE
};

class load_node {
public:
  load_node(runtime& rt, node_plan p);
  ~load_node();
  load_node(const load_node&) = delete;
  load_node& operator=(const load_node&) = delete;

  /// Starts the supervisor and the I/O threads; errors name what failed.
  caf::error start();
  /// Starts the users that are due by now (ramp and throttle); call it often (every few ms).
  void tick();
  /// Every user of the plan has been started once.
  bool ramped() const noexcept { return next_ >= plan_.count; }
  /// Every user of the plan has reached the end of its scenario.
  bool finished() const;
  /// Stops every user (they close their sockets) and the I/O threads.
  void stop();
  recorder& rec() noexcept { return rec_; }
  std::uint64_t started_users() const noexcept { return next_; }

private:
  runtime& rt_;
  node_plan plan_;
  recorder rec_;
  std::vector<std::atomic<std::uint32_t>> attempts_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::shared_ptr<user_context> ctx_;
  pid sup_;
  std::uint64_t next_ = 0;
  std::chrono::steady_clock::time_point t0_;
  bool stopped_ = false;
};

} // namespace corvid::load
