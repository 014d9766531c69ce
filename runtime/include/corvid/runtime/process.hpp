#pragma once
// Processes: spawn, send/cast/call, links, monitors, exits, timers, idle timeouts.
//
// A process is a CAF actor with a bounded corvid mailbox in front of it. Its handlers are a
// caf::behavior; a handler's return value is the reply to a call. An exception escaping a
// handler ends that process alone, with errc::exception (what() as context) as exit reason.
// (A segfault still ends the OS process: that is the limit of C++.)
//
//   auto counter = corvid::spawn(rt, [n = 0](corvid::process&) mutable -> corvid::behavior {
//     return {[&n](int by) { return n += by; }};
//   });
//   corvid::cast(*counter, 5);
//   auto now = corvid::call<int>(*counter, std::chrono::seconds(1), 1);  // 6

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <caf/behavior.hpp>
#include <caf/expected.hpp>
#include <caf/make_message.hpp>
#include <caf/timespan.hpp>

#include "corvid/runtime/error.hpp"
#include "corvid/runtime/mailbox.hpp"
#include "corvid/runtime/pid.hpp"

namespace caf {
class event_based_actor;
class execution_unit;
}

namespace corvid {

class runtime;
class process;

/// A process's message handlers (CAF's behavior type).
using behavior = caf::behavior;
/// Builds the first behavior of a process; runs inside the new process. The function object
/// lives as long as the process, so handlers may refer to its captures.
using init_fn = std::function<behavior(process&)>;

/// How to start a process.
struct spawn_options {
  std::string name;                        ///< unique registered name ("" = none)
  std::optional<mailbox_options> mailbox;  ///< default: the runtime's default_mailbox
  bool link = false;                       ///< link to the spawning process (process::spawn only)
  bool monitor = false;                    ///< monitor it from the spawning process (process::spawn only)
  bool trap_exit = false;                  ///< exit signals from links arrive as exit_signal
  caf::timespan idle_timeout{0};           ///< stop (or call on_idle) after this long without messages
  std::string label;                       ///< kind shown by introspection, e.g. "worker"
};

/// An exit signal from a linked process, delivered to a process that traps exits.
struct exit_signal {
  pid from;
  caf::error reason;
};

/// A monitor's notice that the watched process ended.
struct down_signal {
  uint64_t ref = 0;
  pid who;
  caf::error reason;
};

/// Handle of a pending timer.
struct timer_ref {
  uint64_t id = 0;
};

namespace detail {
class process_actor;
struct reply_slot;
caf::error deliver(const pid& to, caf::message msg, const pid& from, caf::timespan wait,
                   caf::execution_unit* host = nullptr);
// deliver() from a thread that is not a CAF worker (an I/O thread that read the message): if
// the process was idle, it handles what is queued (one drain, up to drain_batch messages) here and
// now instead of waking a worker; more, and whatever it schedules, goes to the workers.
caf::error deliver_here(const pid& to, caf::message msg);
caf::expected<caf::message> call_blocking(const pid& to, caf::message msg, caf::timespan timeout);
caf::expected<pid> spawn_impl(runtime& rt, init_fn init, const spawn_options& opts, process* parent);
template <class R>
caf::expected<R> unpack(caf::expected<caf::message> m) {
  if (!m)
    return std::move(m.error());
  if constexpr (std::is_same_v<R, caf::message>) {
    return std::move(*m);
  } else if constexpr (std::is_void_v<R>) {
    return caf::unit;
  } else {
    if (m->size() == 1 && m->template match_element<R>(0))
      return m->template get_as<R>(0);
    return make_error(errc::unexpected_message, "reply has another type: " + caf::to_string(*m));
  }
}
} // namespace detail

/// The right to answer the call being handled later (OTP's {noreply, ...} + gen_server:reply).
class reply_handle {
public:
  reply_handle() = default;
  explicit reply_handle(std::shared_ptr<detail::reply_slot> s);
  reply_handle(reply_handle&&) noexcept = default;
  reply_handle& operator=(reply_handle&& o) noexcept {
    if (slot_)
      abandon();
    slot_ = std::move(o.slot_);
    return *this;
  }
  reply_handle(const reply_handle&) = delete;
  /// Dropping an unanswered handle fails the caller with errc::down.
  ~reply_handle() {
    if (slot_)
      abandon();
  }
  /// Answers the caller (once; later answers are ignored).
  template <class... Ts>
  void deliver(Ts&&... xs) { deliver_message(caf::make_message(std::forward<Ts>(xs)...)); }
  void deliver_message(caf::message m);
  void fail(caf::error e);
  explicit operator bool() const noexcept { return slot_ != nullptr; }

private:
  friend class process;  // tracks handed-out replies, so that its exit fails them
  void abandon();  // fails an unanswered caller with errc::down
  std::shared_ptr<detail::reply_slot> slot_;
};

/// A call made from inside a process; `then` registers the continuations and sends it.
class pending_call {
public:
  pending_call(process& self, pid to, caf::timespan timeout, caf::message msg)
    : self_(self), to_(std::move(to)), timeout_(timeout), msg_(std::move(msg)) {}
  /// `on_ok` is matched against the reply (like a handler); `on_err(caf::error&)` gets failures.
  template <class F, class G>
  void then(F on_ok, G on_err) {
    send(behavior{std::move(on_ok)}, std::function<void(caf::error&)>{std::move(on_err)});
  }

private:
  void send(behavior on_ok, std::function<void(caf::error&)> on_err);
  process& self_;
  pid to_;
  caf::timespan timeout_;
  caf::message msg_;
};

/// The view a process has of itself, given to its init function and captured by its handlers.
class process {
public:
  explicit process(detail::process_actor* impl) : impl_(impl) {}

  pid self() const;
  runtime& rt() const;
  /// The sender of the message being handled (none for thread senders and casts).
  pid sender() const;

  /// Sends without blocking; the receiver's policy decides on overflow (errc::would_block
  /// under backpressure: a room_available message follows when there is room).
  template <class... Ts>
  caf::error send(const pid& to, Ts&&... xs) {
    return send_message(to, caf::make_message(std::forward<Ts>(xs)...));
  }
  caf::error send_message(const pid& to, caf::message m);
  /// Calls `to`; continue with `.then(on_ok, on_err)`. Never blocks this process.
  template <class... Ts>
  pending_call call(const pid& to, caf::timespan timeout, Ts&&... xs) {
    return pending_call{*this, to, timeout, caf::make_message(std::forward<Ts>(xs)...)};
  }
  /// Takes over the reply to the call being handled; the handler's return value is then ignored.
  /// If this process exits before the reply is given (by anyone), the caller fails at once
  /// with errc::down, as an OTP caller's monitor would tell it.
  reply_handle reply_later();

  /// Spawns a child (linked/monitored per options).
  caf::expected<pid> spawn(init_fn init, const spawn_options& opts = {});
  void link(const pid& other);
  void unlink(const pid& other);
  /// Watches `other`; a down_signal with the returned ref arrives when it ends.
  uint64_t monitor(const pid& other);
  void demonitor(uint64_t ref);
  void trap_exit(bool on);
  bool trapping_exits() const;
  /// Stops this process after the current handler with `reason`.
  void exit(caf::error reason = {});
  /// Replaces the message handlers.
  void become(behavior b);

  /// Handlers for signals; without one, the signal is offered to the behavior as a message.
  void on_exit_signal(std::function<void(exit_signal&)> f);
  void on_down(std::function<void(down_signal&)> f);
  /// Runs when the process terminates, with its exit reason (for cleanup only).
  void on_terminate(std::function<void(const caf::error&)> f);

  /// Delivers a message to `to` after `delay` (through the receiver's mailbox policy).
  template <class... Ts>
  timer_ref send_after(caf::timespan delay, const pid& to, Ts&&... xs) {
    return start_timer(delay, to, caf::make_message(std::forward<Ts>(xs)...), false);
  }
  /// Same, every `period` until cancelled.
  template <class... Ts>
  timer_ref send_interval(caf::timespan period, const pid& to, Ts&&... xs) {
    return start_timer(period, to, caf::make_message(std::forward<Ts>(xs)...), true);
  }
  /// Cancels a timer; a cancelled timer never fires. Returns false if it already fired.
  bool cancel_timer(timer_ref t);
  /// After `d` without a handled message, runs `on_idle` (default: exit with errc::idle_timeout).
  void set_idle_timeout(caf::timespan d, std::function<void()> on_idle = {});

  /// Keeps `state` alive as long as the process runs (class-based processes use this).
  void hold(std::shared_ptr<void> state);
  mailbox_stats stats() const;
  /// Escape hatch to the underlying CAF actor.
  caf::event_based_actor* actor() const;

private:
  timer_ref start_timer(caf::timespan d, const pid& to, caf::message m, bool periodic);
  detail::process_actor* impl_;
};

/// Spawns a process from a function; fails with errc::already_registered if the name is taken.
caf::expected<pid> spawn(runtime& rt, init_fn init, const spawn_options& opts = {});

/// Spawns a process whose state is a `T` built from `args`; T has `behavior make_behavior(process&)`.
template <class T, class... Ts>
caf::expected<pid> spawn_class(runtime& rt, spawn_options opts, Ts... args) {
  return spawn(rt, [args...](process& self) {
    auto st = std::make_shared<T>(args...);
    auto b = st->make_behavior(self);
    self.hold(std::move(st));
    return b;
  }, std::move(opts));
}

/// Sends from a thread (or anywhere) without blocking; errors per the receiver's policy.
template <class... Ts>
caf::error send(const pid& to, Ts&&... xs) {
  return detail::deliver(to, caf::make_message(std::forward<Ts>(xs)...), pid{}, caf::timespan{0});
}
/// A fire-and-forget request (gen_server:cast): same delivery as send, never blocks.
template <class... Ts>
caf::error cast(const pid& to, Ts&&... xs) {
  return send(to, std::forward<Ts>(xs)...);
}
/// Sends from a non-actor thread, waiting up to `wait` for room in a backpressure mailbox.
template <class... Ts>
caf::error send_wait(const pid& to, caf::timespan wait, Ts&&... xs) {
  return detail::deliver(to, caf::make_message(std::forward<Ts>(xs)...), pid{}, wait);
}
/// Calls from a non-actor thread and waits for the reply (errc::timeout, down, overloaded...).
/// Never call this from inside a process: use process::call.
template <class R = caf::message, class... Ts>
caf::expected<R> call(const pid& to, caf::timespan timeout, Ts&&... xs) {
  return detail::unpack<R>(
    detail::call_blocking(to, caf::make_message(std::forward<Ts>(xs)...), timeout));
}
/// Fan-out: delivers one shared (never copied) message to every pid in [first, last) except
/// the one with id `skip_id`, each under its own mailbox policy, and wakes them as one batch.
/// Never blocks. The hot path of pubsub.
struct fanout_result {
  size_t accepted = 0;  ///< queued (or coalesced) by the receiver
  size_t refused = 0;   ///< rejected or dropped (drop_newest) by a full mailbox, or the receiver is gone
};
fanout_result send_many(const pid* first, const pid* last, const caf::message& m, uint64_t skip_id = 0);
/// Sends an exit signal (OTP exit/2). Signals bypass the mailbox bound and any backlog.
void exit(const pid& to, caf::error reason);
/// Runs `f(p, reason)` when `p` exits, on the exiting process's thread (must not block).
/// For libraries that keep per-process tables (pubsub, presence). errc::down if `p` is gone.
caf::expected<uint64_t> on_exit_of(const pid& p, std::function<void(const pid&, const caf::error&)> f);
/// Removes a hook added by on_exit_of.
void cancel_on_exit_of(const pid& p, uint64_t hook);
/// Counters of a process's mailbox (zeros for a dead pid).
mailbox_stats stats(const pid& p);

} // namespace corvid

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::exit_signal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::down_signal)
