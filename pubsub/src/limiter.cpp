// throttle and debounce: one state machine, two release rules, driven by process timers.
// Steady-clock timestamps enforce the spacing; a timer only says "look again".

#include "corvid/pubsub/limiter.hpp"

#include <chrono>
#include <optional>

#include "corvid/pubsub/hub.hpp"

namespace corvid::pubsub {

namespace detail {

using clock = std::chrono::steady_clock;

struct limiter_state : std::enable_shared_from_this<limiter_state> {
  process* self = nullptr;
  caf::timespan interval{0};
  caf::timespan max_wait{0};
  emit_fn emit;
  bool is_debounce = false;
  bool leading = true;
  std::optional<caf::message> held;
  clock::time_point last_emit = clock::time_point::min();
  clock::time_point last_push;
  clock::time_point first_held;
  bool armed = false;
  clock::time_point due;
  uint64_t gen = 0;
  timer_ref timer;
  limiter_stats counters;

  void arm(clock::time_point now, clock::duration d) {
    if (d.count() < 0)
      d = clock::duration{0};
    if (armed)
      self->cancel_timer(timer);
    armed = true;
    due = now + d;
    timer = self->send_after(std::chrono::duration_cast<caf::timespan>(d), self->self(),
                             limiter_tick{weak_from_this(), ++gen});
  }

  void disarm() {
    if (armed)
      self->cancel_timer(timer);
    armed = false;
    ++gen;
  }

  void release(clock::time_point now) {
    auto m = std::move(*held);
    held.reset();
    last_emit = now;
    ++counters.emitted;
    emit(std::move(m));
  }

  /// When the held message may go out.
  clock::time_point release_at() const {
    if (!is_debounce)
      return last_emit == clock::time_point::min() ? clock::time_point::min() : last_emit + interval;
    auto at = last_push + interval;
    if (max_wait.count() > 0)
      at = std::min(at, first_held + max_wait);
    return at;
  }

  /// Emits if due, else (re)arms the timer for the moment it will be.
  void check(clock::time_point now) {
    if (!held) {
      disarm();
      return;
    }
    auto at = release_at();
    if (now >= at) {
      disarm();
      release(now);
    } else if (!armed || due != at) {
      arm(now, at - now);
    }
  }

  void push(caf::message m) {
    auto now = clock::now();
    ++counters.pushed;
    if (held)
      ++counters.suppressed;
    else
      first_held = now;
    held = std::move(m);
    last_push = now;
    if (!is_debounce) {
      if (!leading && !armed && now >= release_at()) {
        arm(now, interval);  // no leading edge: a quiet period starts with a wait
        return;
      }
      if (armed && now < due + interval)
        return;  // the timer will release it (the check also recovers a lost tick)
      check(now);
      return;
    }
    // debounce: one timer at a time; it re-arms itself while pushes keep coming
    if (!armed || now > due + interval)
      check(now);
  }

  void on_tick(uint64_t g) {
    if (g != gen)
      return;  // cancelled or superseded
    armed = false;
    check(clock::now());
  }
};

void fire(const std::weak_ptr<limiter_state>& target, uint64_t gen) {
  if (auto s = target.lock())
    s->on_tick(gen);
}

std::shared_ptr<limiter_state> make_state(process& self, caf::timespan interval, emit_fn emit) {
  auto s = std::make_shared<limiter_state>();
  s->self = &self;
  s->interval = interval;
  s->emit = std::move(emit);
  return s;
}

} // namespace detail

emit_fn to_topic(hub& h, std::string topic, pid self) {
  std::weak_ptr<detail::hub_state> w = h.st_;  // a hub gone first makes this a no-op
  return [w, topic = std::move(topic), self](caf::message m) {
    if (auto st = w.lock())
      (void) detail::publish(*st, topic, std::move(m), {self, true, {}, {}});
  };
}

emit_fn to_pid(process& self, pid to) {
  return [&self, to](caf::message m) { (void) self.send_message(to, std::move(m)); };
}

limiter::~limiter() {
  if (st_)
    st_->disarm();
}

void limiter::push(caf::message m) { st_->push(std::move(m)); }

void limiter::flush() {
  if (st_->held) {
    st_->disarm();
    st_->release(detail::clock::now());
  }
}

void limiter::cancel() {
  st_->disarm();
  st_->held.reset();
}

bool limiter::pending() const { return st_->held.has_value(); }

limiter_stats limiter::stats() const { return st_->counters; }

throttle::throttle(process& self, caf::timespan interval, emit_fn emit, bool leading)
  : limiter(detail::make_state(self, interval, std::move(emit))) {
  st_->leading = leading;
}

debounce::debounce(process& self, caf::timespan quiet, emit_fn emit, caf::timespan max_wait)
  : limiter(detail::make_state(self, quiet, std::move(emit))) {
  st_->is_debounce = true;
  st_->max_wait = max_wait;
}

} // namespace corvid::pubsub
