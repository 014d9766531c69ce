// The bounded mailbox: every overflow policy lives here, in push().

#include <algorithm>
#include <limits>
#include <memory>
#include <new>

#include <caf/atom.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>

#include <mutex>

#include "corvid/runtime/telemetry.hpp"
#include "process_block.hpp"
#include "runtime_state.hpp"

namespace corvid {

const char* to_string(overflow p) {
  switch (p) {
    case overflow::reject: return "reject";
    case overflow::drop_newest: return "drop_newest";
    case overflow::drop_oldest: return "drop_oldest";
    case overflow::coalesce: return "coalesce";
    case overflow::backpressure: return "backpressure";
  }
  return "?";
}

namespace detail {

thread_local caf::execution_unit* current_host = nullptr;

namespace {

std::optional<std::string> default_key(const caf::message& m) {
  if (m.empty())
    return std::nullopt;
  if (m.match_element<std::string>(0))
    return m.get_as<std::string>(0);
  if (m.match_element<caf::atom_value>(0))
    return to_string(m.get_as<caf::atom_value>(0));
  return std::nullopt;
}

std::optional<std::string> key_of(process_block& b, const caf::message& m) {
  auto& x = b.ext();
  return x.key_fn ? x.key_fn(m) : default_key(m);
}

void emit_high_water(process_block& b, size_t len) {
  if (!telemetry::wanted("corvid.mailbox.high_water"))
    return;
  auto [name, label] = names_of(b);
  telemetry::execute({"corvid.mailbox.high_water",
                      {{"length", double(len)}, {"capacity", double(b.capacity)}},
                      {{"pid", pid{b.id}.to_string()}, {"name", name}, {"label", label}}});
}

void emit_drop(process_block& b, const char* why) {
  if (!telemetry::wanted("corvid.mailbox.drop"))
    return;
  telemetry::execute({"corvid.mailbox.drop", {{"dropped", double(b.dropped.load())}},
                      {{"pid", pid{b.id}.to_string()}, {"policy", why}}});
}

// Counters are 32-bit: larger capacities mean "as many as they can count".
uint32_t clamp_capacity(size_t n) {
  return static_cast<uint32_t>(std::clamp<size_t>(n, 1, std::numeric_limits<uint32_t>::max()));
}

} // namespace

// With make_shared's 16-byte header this fills a 176-byte heap chunk: the memory of every idle
// process (bench_runtime's idle figure) moves with it.
static_assert(sizeof(process_block) <= 152, "process_block grew past its heap chunk");

process_block::process_block(uint64_t i, runtime_state* r, const mailbox_options& o)
  : id(i), rt(r), capacity(clamp_capacity(o.capacity)),
    high_water_threshold(o.high_water ? clamp_capacity(o.high_water) : capacity / 5 * 4 + capacity % 5 * 4 / 5),
    policy(o.policy) {
  if (o.policy == overflow::coalesce && o.key)
    ext().key_fn = o.key;
}

caf::error push(process_block& b, envelope&& e, bool actor_sender, caf::timespan wait,
                caf::execution_unit* host, bool* dropped) {
  caf::actor to_wake;
  bool crossed = false;
  size_t len = 0;
  envelope victim;  // destroyed outside the lock (it may fail a caller)
  // A process's messages to itself (its timers, its self-sends) are its own bookkeeping:
  // the bound never refuses, drops or delays them (a lost flush tick would stall it for good).
  const bool own = e.from.id() == b.id;
  {
    std::unique_lock g{b.mtx};
    if (!b.alive.load(std::memory_order_relaxed))
      return make_error(errc::down);
    if (b.policy == overflow::coalesce) {
      if (auto k = key_of(b, e.content)) {
        auto& x = b.ext();
        auto i = x.keyed.find(*k);
        if (i != x.keyed.end()) {
          auto& slot = b.queue[i->second - x.head_seq];
          victim = std::move(slot);
          slot = std::move(e);
          b.coalesced.fetch_add(1, std::memory_order_relaxed);
          g.unlock();
          if (victim.reply)
            victim.reply.fail(make_error(errc::dropped, "coalesced by a newer message"));
          return caf::none;
        }
        if (!own && b.queue.size() >= b.capacity) {
          // Distinct keys filled the box: make room by dropping the oldest.
          victim = b.queue.pop_front();
          if (auto vk = key_of(b, victim.content)) {
            auto j = x.keyed.find(*vk);
            if (j != x.keyed.end() && j->second == x.head_seq)
              x.keyed.erase(j);
          }
          ++x.head_seq;
          b.dropped.fetch_add(1, std::memory_order_relaxed);
        }
        x.keyed.emplace(std::move(*k), x.head_seq + b.queue.size());
      }
    }
    if (!own && b.queue.size() >= b.capacity) {
      switch (b.policy) {
        case overflow::reject:
          b.dropped.fetch_add(1, std::memory_order_relaxed);
          g.unlock();
          emit_drop(b, "reject");
          return make_error(errc::overloaded);
        case overflow::drop_newest:
          b.dropped.fetch_add(1, std::memory_order_relaxed);
          g.unlock();
          if (dropped)
            *dropped = true;
          emit_drop(b, "drop_newest");
          return caf::none;
        case overflow::drop_oldest:
        case overflow::coalesce:  // unkeyed message in a coalescing box
          victim = b.queue.pop_front();
          if (b.policy == overflow::coalesce && b.extras) {
            if (auto vk = key_of(b, victim.content)) {
              auto j = b.extras->keyed.find(*vk);
              if (j != b.extras->keyed.end() && j->second == b.extras->head_seq)
                b.extras->keyed.erase(j);
            }
            ++b.extras->head_seq;
          }
          b.dropped.fetch_add(1, std::memory_order_relaxed);
          break;
        case overflow::backpressure:
          if (actor_sender) {
            // One notice per waiting sender, however often it retried.
            auto& w = b.ext().waiters;
            if (std::find(w.begin(), w.end(), e.from) == w.end())
              w.push_back(e.from);
            return make_error(errc::would_block);
          }
          if (wait.count() > 0) {
            auto& x = b.ext();
            if (!x.room_cv)
              x.room_cv = std::make_unique<std::condition_variable_any>();
            auto ok = x.room_cv->wait_for(g, wait, [&] {
              return !b.alive.load(std::memory_order_relaxed) || b.queue.size() < b.capacity;
            });
            if (!b.alive.load(std::memory_order_relaxed))
              return make_error(errc::down);
            if (!ok)
              return make_error(errc::timeout, "no room in the mailbox in time");
          } else {
            return make_error(errc::overloaded);
          }
          break;
      }
    }
    b.queue.push_back(std::move(e));
    len = b.queue.size();
    b.length.store(static_cast<uint32_t>(len), std::memory_order_relaxed);
    if (len > b.high_water.load(std::memory_order_relaxed))
      b.high_water.store(static_cast<uint32_t>(len), std::memory_order_relaxed);
    if (!b.above_high_water && len >= b.high_water_threshold) {
      b.above_high_water = true;
      crossed = true;
    }
    if (!b.scheduled && b.handle) {
      b.scheduled = true;
      to_wake = b.handle;
    }
  }
  if (to_wake)
    wake(to_wake, host ? host : current_host);
  if (crossed)
    emit_high_water(b, len);
  if (victim.reply)
    victim.reply.fail(make_error(errc::dropped, "dropped by drop_oldest"));
  return caf::none;
}

namespace {
size_t room_mark(size_t capacity) { return capacity - std::max<size_t>(1, capacity / 4); }
} // namespace

namespace {
// Under b.mtx: the front message into the storage at `slot`, with its bookkeeping. True if a
// backpressured box just came down to its room mark (its waiting senders are to be woken).
bool take_front(process_block& b, void* slot) {
  envelope& out = *b.queue.pop_front_to(slot);
  const size_t len = b.queue.size();
  if (b.above_high_water && len < b.high_water_threshold / 2)
    b.above_high_water = false;
  if (!b.extras)
    return false;
  auto& x = *b.extras;
  if (b.policy == overflow::coalesce) {
    if (auto k = key_of(b, out.content)) {
      auto j = x.keyed.find(*k);
      if (j != x.keyed.end() && j->second == x.head_seq)
        x.keyed.erase(j);
    }
    ++x.head_seq;
  }
  // Waiting senders are woken once a quarter of the box is free, not at the first free
  // slot: one wake-up then buys many sends instead of one (a full box otherwise costs a
  // context switch per message).
  return b.policy == overflow::backpressure && len == room_mark(b.capacity);
}
} // namespace

size_t pop_batch(process_block& b, void* out, size_t max, bool& emptied) {
  std::vector<pid> wake;
  size_t n = 0;
  {
    std::lock_guard g{b.mtx};
    emptied = false;
    if (b.queue.empty()) {
      b.scheduled = false;
      b.queue.shrink_if_empty(64);
      emptied = true;
      return 0;
    }
    bool room = false;
    while (n < max && !b.queue.empty())
      room = take_front(b, static_cast<envelope*>(out) + n++) || room;
    b.length.store(static_cast<uint32_t>(b.queue.size()), std::memory_order_relaxed);
    if (b.queue.empty()) {
      // Unscheduled now, not at the next call: a message pushed from here on wakes the process
      // (which resume() sees if it is still running), and the drain needs no second lock to learn
      // that its box is empty.
      b.scheduled = false;
      emptied = true;
    }
    if (room) {
      if (b.extras->room_cv)
        b.extras->room_cv->notify_all();
      wake.swap(b.extras->waiters);
    }
  }
  for (auto& w : wake)
    if (w)
      (void) deliver_signal(w, caf::make_message(room_available{pid{b.id}}));
  return n;
}

void close(process_block& b) {
  ring<envelope> doomed;
  std::vector<pid> waiting;
  {
    std::lock_guard g{b.mtx};
    b.alive.store(false);
    while (!b.queue.empty())
      doomed.push_back(b.queue.pop_front());
    b.queue.shrink_if_empty(0);
    b.length.store(0);
    b.handle = nullptr;
    if (b.extras) {
      b.extras->keyed.clear();
      if (b.extras->room_cv)
        b.extras->room_cv->notify_all();
      waiting.swap(b.extras->waiters);
    }
  }
  // Senders told to wait learn now, by retrying, that there is nothing to wait for (errc::down).
  for (auto& w : waiting)
    if (w)
      (void) deliver_signal(w, caf::make_message(room_available{pid{b.id}}));
  // Destroying the envelopes fails their callers with errc::down.
}

mailbox_stats read_stats(process_block& b) {
  mailbox_stats s;
  s.length = b.length.load(std::memory_order_relaxed);
  s.high_water = b.high_water.load(std::memory_order_relaxed);
  s.handled = b.handled.load(std::memory_order_relaxed);
  s.dropped = b.dropped.load(std::memory_order_relaxed);
  s.coalesced = b.coalesced.load(std::memory_order_relaxed);
  s.capacity = b.capacity;
  s.policy = b.policy;
  return s;
}

std::pair<std::string, std::string> names_of(process_block& b) {
  std::lock_guard g{b.mtx};
  if (!b.extras)
    return {};
  return {b.extras->name, b.extras->label};
}

// -- replies ------------------------------------------------------------------

void reply_slot::complete(caf::expected<caf::message> r) {
  bool expected = false;
  if (!done.compare_exchange_strong(expected, true))
    return;
  if (on_done) {
    auto f = std::move(on_done);
    f(std::move(r));
    return;
  }
  if (caller) {
    auto content = r ? caf::make_message(reply_atom::value, call_id, std::move(*r))
                     : caf::make_message(reply_atom::value, call_id, std::move(r.error()));
    caller->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::move(content)),
                    current_host);
    caller = nullptr;
    return;
  }
  std::lock_guard<std::mutex> g{m};
  result = std::move(r);
  ready = true;
  cv.notify_all();
}

caf::expected<caf::message> reply_slot::wait(caf::timespan timeout) {
  std::unique_lock<std::mutex> g{m};
  if (!cv.wait_for(g, timeout, [this] { return ready; })) {
    done.store(true);  // a late answer is discarded
    return make_error(errc::timeout);
  }
  return std::move(result);
}

} // namespace detail

reply_handle::reply_handle(std::shared_ptr<detail::reply_slot> s) : slot_(std::move(s)) {}

void reply_handle::abandon() {
  slot_->complete(make_error(errc::down, "the callee ended before replying"));
  slot_.reset();
}

void reply_handle::deliver_message(caf::message m) {
  if (!slot_)
    return;
  // A handler that returns an error answers the call with that error.
  if (m.size() == 1 && m.match_element<caf::error>(0)) {
    auto& err = m.get_as<caf::error>(0);
    if (err) {
      slot_->complete(err);
      slot_.reset();
      return;
    }
  }
  slot_->complete(std::move(m));
  slot_.reset();
}

void reply_handle::fail(caf::error e) {
  if (!slot_)
    return;
  slot_->complete(std::move(e));
  slot_.reset();
}

} // namespace corvid
