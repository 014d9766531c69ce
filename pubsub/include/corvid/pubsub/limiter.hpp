#pragma once
// Sender-side rate limiting for a storm of updates, built on the owning process's timers:
// `throttle` emits at most one message per interval (the first at once, then the latest one
// at the end of each interval: nothing is lost but what a newer value replaced); `debounce`
// emits the latest one once the updates have been quiet for an interval. Neither blocks.
// Use one only inside the process that made it, and add `limiter_handler()` to its behavior
// (its timers arrive as `limiter_tick` messages).
//
//   auto p = corvid::spawn(rt, [&ps](corvid::process& self) -> corvid::behavior {
//     auto t = std::make_shared<corvid::pubsub::throttle>(self, std::chrono::milliseconds(50),
//                                                         corvid::pubsub::to_topic(ps, "prices", self.self()));
//     return {corvid::pubsub::limiter_handler(),
//             [t](double price) { (*t)(std::string{"prices"}, price); }};  // a storm in, <= 20/s out
//   });

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/make_message.hpp>
#include <caf/timespan.hpp>

#include "corvid/runtime/process.hpp"

namespace corvid::pubsub {

class hub;

namespace detail {
struct limiter_state;
void fire(const std::weak_ptr<limiter_state>& target, uint64_t gen);
} // namespace detail

/// The timer message of throttles and debouncers; handled by limiter_handler().
struct limiter_tick {
  std::weak_ptr<detail::limiter_state> target;
  uint64_t gen = 0;
};

/// The handler to put in a behavior that uses throttles or debouncers (one serves them all).
inline auto limiter_handler() {
  return [](const limiter_tick& t) { detail::fire(t.target, t.gen); };
}

/// Where a limiter's output goes; runs inside the owning process.
using emit_fn = std::function<void(caf::message)>;
/// Output to a topic: hub.broadcast_from(self, topic, message). Pass the owning process as
/// `self` so that, subscribed to its own topic, it does not receive what it publishes.
emit_fn to_topic(hub& h, std::string topic, pid self = {});
/// Output to one process.
emit_fn to_pid(process& self, pid to);

/// Counters of a limiter.
struct limiter_stats {
  uint64_t pushed = 0;      ///< messages given to it
  uint64_t emitted = 0;     ///< messages it let through
  uint64_t suppressed = 0;  ///< messages replaced by a newer one (never emitted)
};

/// What throttle and debounce share: push messages in, the limiter decides when one goes out.
class limiter {
public:
  ~limiter();
  limiter(limiter&&) noexcept = default;
  limiter& operator=(limiter&&) noexcept = default;

  template <class... Ts>
  void operator()(Ts&&... xs) { push(caf::make_message(std::forward<Ts>(xs)...)); }
  void push(caf::message m);
  /// Emits the held message now (if any).
  void flush();
  /// Drops the held message.
  void cancel();
  /// True while a message waits to go out.
  bool pending() const;
  limiter_stats stats() const;

protected:
  explicit limiter(std::shared_ptr<detail::limiter_state> st) : st_(std::move(st)) {}
  std::shared_ptr<detail::limiter_state> st_;
};

/// At most one message per `interval`; latest wins; the trailing message is delivered.
class throttle : public limiter {
public:
  /// `leading`: the first message of a quiet period goes out at once (else at the interval's end).
  throttle(process& self, caf::timespan interval, emit_fn emit, bool leading = true);
};

/// Emits the latest message once none came for `quiet` (and after `max_wait` at the latest, if > 0).
class debounce : public limiter {
public:
  debounce(process& self, caf::timespan quiet, emit_fn emit, caf::timespan max_wait = caf::timespan{0});
};

} // namespace corvid::pubsub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::pubsub::limiter_tick)
