#pragma once
// The CAF actor behind every corvid process: it drains the bounded corvid mailbox in
// batches and turns CAF's links, monitors and exits into corvid signals. A message in corvid's
// mailbox wakes the actor without a CAF message: wake() schedules it the way CAF's own enqueue
// does (unblocking its CAF mailbox), and resume() drains corvid's mailbox before CAF's.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "corvid/runtime/process.hpp"
#include "corvid/runtime/tsan.hpp"
#include "process_block.hpp"
#include "runtime_state.hpp"

namespace corvid::detail {

/// An unordered_map that costs one pointer until its first insert: most processes with extras
/// (sessions holding state, say) never monitor, call or set a timer.
template <class K, class V>
class lazy_map {
  using map = std::unordered_map<K, V>;

public:
  using iterator = typename map::iterator;
  template <class... A>
  auto emplace(A&&... a) { return get().emplace(std::forward<A>(a)...); }
  V& operator[](const K& k) { return get()[k]; }
  iterator find(const K& k) { return m_ ? m_->find(k) : none().end(); }
  iterator begin() { return m_ ? m_->begin() : none().end(); }
  iterator end() { return m_ ? m_->end() : none().end(); }
  size_t erase(const K& k) { return m_ ? m_->erase(k) : 0; }
  iterator erase(iterator i) { return m_->erase(i); }
  bool empty() const noexcept { return !m_ || m_->empty(); }
  size_t size() const noexcept { return m_ ? m_->size() : 0; }

private:
  map& get() {
    if (!m_)
      m_ = std::make_unique<map>();
    return *m_;
  }
  static map& none() {  // never written: only its end() is handed out
    static map m;
    return m;
  }
  std::unique_ptr<map> m_;
};

/// Per-process data that most processes never need; allocated on first use.
struct actor_extras {
  struct timer {
    pid to;
    caf::message msg;
    caf::timespan period{0};
    bool periodic = false;
  };
  struct call {
    behavior on_ok;
    std::function<void(caf::error&)> on_err;
    caf::actor_clock::time_point deadline;
  };
  lazy_map<uint64_t, pid> monitors;  // ref -> watched process
  std::vector<pid> remote_links;     // linked processes on other nodes
  lazy_map<uint64_t, timer> timers;
  lazy_map<uint64_t, call> calls;
  caf::actor_clock::time_point armed_deadline = caf::actor_clock::time_point::max();
  uint64_t next_id = 1;
  std::function<void(exit_signal&)> on_exit;
  std::function<void(down_signal&)> on_down;
  std::vector<std::function<void(const caf::error&)>> on_terminate;
  std::vector<std::shared_ptr<void>> held;
  // Replies this process handed out with reply_later: failed at its exit if still open.
  std::vector<std::weak_ptr<reply_slot>> handed;
  size_t handed_prune_at = 16;
  caf::timespan idle{0};
  std::function<void()> on_idle;
  caf::actor_clock::time_point last_activity;
  bool idle_armed = false;
  // Processes whose start outlasts their init function (supervisors starting children)
  // answer a starter's readiness request only once the start is complete.
  bool hold_ready = false;
  std::vector<caf::response_promise> ready_waiters;
};

// tsan_ordered: the mailbox's orders stated to ThreadSanitizer (see corvid/runtime/tsan.hpp).
class process_actor : public tsan_ordered<caf::event_based_actor> {
public:
  process_actor(caf::actor_config& cfg, std::shared_ptr<process_block> b, init_fn init,
                bool trap, caf::timespan idle);
  caf::behavior make_behavior() override;
  void on_exit() override;
  /// One turn: corvid's mailbox first if woken (up to drain_batch messages), then CAF's.
  resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override;
  /// Schedules this actor to drain corvid's mailbox (the caller just set the block's
  /// `scheduled`); `host` is the waking process's execution unit, null from other threads.
  void wake(caf::execution_unit* host);
  const char* name() const override { return "corvid.process"; }

  std::shared_ptr<process_block> blk_;
  runtime_state* st_;
  init_fn init_;
  behavior user_;
  std::optional<behavior> next_;
  process self_{this};
  envelope* current_ = nullptr;
  bool reply_taken_ = false;
  bool trap_ = false;
  bool exiting_ = false;
  bool aborted_ = false;  // spawn failed (e.g. name taken): never run init
  std::atomic<bool> wake_{false};  // corvid's mailbox has work for the next turn
  std::unique_ptr<actor_extras> x_;

  actor_extras& x() {
    if (!x_)
      x_ = std::make_unique<actor_extras>();
    return *x_;
  }
  pid resolve(const caf::actor_addr& a) const;
  /// Handles up to drain_batch messages; true if more are left (the turn yields, then goes on).
  bool drain();
  /// drain() inside a turn: a handler's exception ends the process as CAF's own handling would.
  bool drain_guarded();
  void handle(envelope& e);
  caf::message dispatch(caf::message m);  // runtime-internal messages and raw CAF ones
  void offer(caf::message m);  // a signal or raw message, straight to the user behavior
  void on_reply(uint64_t id, caf::expected<caf::message> r);
  void expire_calls();
  void arm_call_timer(caf::actor_clock::time_point deadline);
  void fire_timer(uint64_t id);
  void check_idle();
  void touch();
  /// An exit signal reached this process: a message if it traps exits, else its end (unless normal).
  void take_exit(exit_signal sig);
  void stop(caf::error reason);
  /// Until release_ready, readiness requests wait (call before the init function returns).
  void hold_ready();
  /// Answers readiness requests: ok, or the error that ended the start.
  void release_ready(const caf::error& err);
  void track_handed(const std::shared_ptr<reply_slot>& slot);
  void fail_handed(const caf::error& reason);
};

} // namespace corvid::detail
