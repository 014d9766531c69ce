// The actor behind a process: draining, signals, timers, outgoing calls, idle timeouts.

#include "process_actor.hpp"

#include <memory>
#include <new>

#include <iostream>

#include <caf/all.hpp>

#include "corvid/runtime/telemetry.hpp"
#include "corvid/runtime/tsan.hpp"
#include "relations.hpp"

namespace corvid::detail {

// Time is read from the actor clock, never the OS: on CAF's test coordinator it is virtual,
// so timeouts, idle times and restart intensity are tested without waiting.
using time_point = caf::actor_clock::time_point;

namespace {
// Marks this thread as running `host` for the duration of a handler.
struct host_scope {
  explicit host_scope(caf::execution_unit* h) : prev(current_host) { current_host = h; }
  ~host_scope() { current_host = prev; }
  caf::execution_unit* prev;
};
} // namespace


process_actor::process_actor(caf::actor_config& cfg, std::shared_ptr<process_block> b,
                             init_fn init, bool trap, caf::timespan idle)
  : tsan_ordered<caf::event_based_actor>(cfg), blk_(std::move(b)), st_(blk_->rt), init_(std::move(init)),
    trap_(trap) {
  blk_->id = id();
  // No lock: no other thread can reach the block before the table's lock (or the spawner's
  // returned pid) publishes it.
  blk_->handle = caf::actor_cast<caf::actor>(this);
  st_->table.add(blk_);
  if (idle.count() > 0) {
    x().idle = idle;
  }
}

// ThreadSanitizer cannot see libcaf_core's atomics. One run of this actor happens before its
// next one on another worker: the next run starts only after the last one blocked the mailbox
// (a CAS in libcaf_core), or through corvid's scheduler queue (a mutex TSan sees). consume
// (tsan_ordered), drain_guarded, make_behavior and on_exit begin with an acquire and end with a
// release on the actor's address.

void process_actor::wake(caf::execution_unit* host) {
  // Ordered against resume()'s check after CAF blocked the mailbox (both sequentially
  // consistent): either this unblocks the mailbox and schedules the actor, or that check sees
  // the flag and the running turn goes on.
  wake_.store(true, std::memory_order_seq_cst);
  if (!mailbox().try_unblock())
    return;  // running, already scheduled, or ended
  caf::intrusive_ptr_add_ref(ctrl());  // the scheduler's reference, as CAF's enqueue takes one
  if (host)
    host->exec_later(this);
  else
    home_system().scheduler().enqueue(this);
}

void wake(const caf::actor& a, caf::execution_unit* host) {
  static_cast<process_actor*>(caf::actor_cast<caf::abstract_actor*>(a))->wake(host);
}

caf::resumable::resume_result process_actor::resume(caf::execution_unit* ctx, size_t max_throughput) {
  bool drained = false;  // one drain per turn
  for (int round = 0;; ++round) {
    bool blocked = false;
    if (!drained && wake_.load(std::memory_order_acquire)) {
      if (!activate(ctx))  // starts a lazily spawned process; false once it ended
        return resumable::done;
      // CAF's messages first when there are any: an exit signal goes ahead of a backlog.
      if (mailbox().empty()) {
        // No wake is lost here: the block stays `scheduled` (no push wakes) until this drain
        // empties it.
        wake_.store(false, std::memory_order_relaxed);
        drained = true;
        const bool more = drain_guarded();
        if (finalize())
          return resumable::done;
        if (more)
          wake_.store(true, std::memory_order_seq_cst);
        // No CAF message came meanwhile: block the mailbox here. CAF's resume would find it
        // empty too, for about 500 instructions (a third of a ping-pong's message).
        blocked = mailbox().try_block();
      }
    }
    if (!blocked) {
      auto r = caf::event_based_actor::resume(ctx, max_throughput);
      if (r != resumable::awaiting_message)
        return r;
    }
    // The mailbox is blocked. Work left in corvid's mailbox, or a wake that found the mailbox
    // not yet blocked, keeps the actor scheduled: this turn drains if it has not yet, else the
    // next one does, after the others queued (through the scheduler's queue).
    if (!wake_.load(std::memory_order_seq_cst) || !mailbox().try_unblock())
      return resumable::awaiting_message;
    // A second round only to drain, after CAF's messages went first: CAF messages arriving
    // between rounds must not keep the actor on its worker.
    if (drained || round > 0)
      return resumable::resume_later;
  }
}

bool process_actor::drain_guarded() {
  tsan_run_scope tsan{this};
  try {
    return drain();
  } catch (...) {
    // What CAF does for an exception in a handler: the exception handler's error ends the actor.
    auto e = std::current_exception();
    quit(exception_handler_(this, e));
    return false;
  }
}


caf::behavior process_actor::make_behavior() {
  tsan_run_scope tsan{this};
  if (aborted_) {
    quit();
    return {};
  }
  set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return make_error(errc::exception, x.what());
    } catch (...) {
      return make_error(errc::exception, "non-standard exception");
    }
  });
  // exit(P, Reason) arrives here, without a source; links send link_exit (relations.hpp).
  // (CAF ends the actor on an exit_msg `kill` before this handler runs; on_exit renames it.)
  set_exit_handler([this](caf::exit_msg& m) { take_exit(exit_signal{resolve(m.source), std::move(m.reason)}); });
  set_down_handler([this](caf::down_msg& m) {
    if (!x_)
      return;
    auto who = m.source.id();
    std::vector<uint64_t> refs;
    for (auto& [ref, p] : x_->monitors)
      if (p.id() == who)
        refs.push_back(ref);
    for (auto ref : refs) {
      down_signal sig{ref, x_->monitors[ref], m.reason};
      x_->monitors.erase(ref);
      if (blk_)
        note_demonitor(*st_, *blk_, ref, sig.who);
      if (x_->on_down)
        x_->on_down(sig);
      else
        offer(caf::make_message(std::move(sig)));
    }
  });
  // Every CAF message goes through the default handler: one small behavior per process
  // instead of a table of handlers keeps an idle process near raw CAF's size.
  set_default_handler([this](caf::scheduled_actor*, caf::message_view& mv) -> caf::result<caf::message> {
    auto m = mv.move_content_to_message();
    if (x_ && x_->hold_ready && m.match_elements<caf::atom_value>() && m.get_as<caf::atom_value>(0) == ready_atom::value) {
      x_->ready_waiters.push_back(make_response_promise());
      return caf::delegated<caf::message>{};
    }
    return dispatch(std::move(m));
  });
  // init_ stays alive with the process: handlers may capture the init function's own
  // captures by reference (`[n = 0](process&) mutable { return {[&n](int) {...}}; }`).
  if (init_)
    user_ = init_(self_);
  if (next_) {
    user_ = std::move(*next_);
    next_.reset();
  }
  if (x_ && x_->idle.count() > 0)
    touch();
  if (!x_ || !x_->hold_ready)
    blk_->initialized.store(true);
  // CAF ends an actor without a behavior: one for all processes (a behavior of its own cost each
  // ~100 B). Its one handler never runs: corvid's messages wake the actor through wake(), not
  // through a CAF message, and every CAF message goes to the default handler above.
  static const caf::behavior shared{[](drain_atom) {}};
  return shared;
}

caf::message process_actor::dispatch(caf::message m) {
  host_scope hs{context()};
  if (m.size() >= 1 && m.match_element<caf::atom_value>(0)) {
    auto a = m.get_as<caf::atom_value>(0);
    if (a == reply_atom::value && m.size() == 3 && m.match_element<uint64_t>(1)) {
      auto id = m.get_as<uint64_t>(1);
      if (m.match_element<caf::message>(2))
        on_reply(id, m.get_as<caf::message>(2));
      else if (m.match_element<caf::error>(2))
        on_reply(id, m.get_as<caf::error>(2));
      return {};
    }
    if (a == timer_atom::value && m.match_elements<caf::atom_value, uint64_t>()) {
      fire_timer(m.get_as<uint64_t>(1));
      return {};
    }
    if (a == calltmo_atom::value && m.size() == 1) {
      expire_calls();
      return {};
    }
    if (a == idle_atom::value && m.size() == 1) {
      check_idle();
      return {};
    }
    if (a == ready_atom::value && m.size() == 1)
      return caf::make_message(caf::ok_atom::value);
  } else if (m.match_elements<down_signal>()) {
    // Synthesized for monitors of processes that were already gone.
    auto d = m.get_as<down_signal>(0);
    if (!x_ || x_->monitors.erase(d.ref) == 0)
      return {};
    if (blk_)
      note_demonitor(*st_, *blk_, d.ref, d.who);
    if (x_->on_down)
      x_->on_down(d);
    else
      offer(caf::make_message(std::move(d)));
    return {};
  } else if (m.match_elements<link_exit>()) {
    auto e = m.get_as<link_exit>(0);
    if (blk_ && note_link_gone(*blk_, e.from.id()))  // else unlinked since: OTP drops the signal
      take_exit(exit_signal{std::move(e.from), std::move(e.reason)});
    return {};
  } else if (m.match_elements<exit_signal>()) {
    // Synthesized for links to processes that were already gone, or from another node.
    auto sig = m.get_as<exit_signal>(0);
    if (sig.from.is_remote() && x_)
      std::erase(x_->remote_links, sig.from);
    if (blk_)
      note_link_gone(*blk_, sig.from.id());
    take_exit(std::move(sig));
    return {};
  }
  // A message sent with plain CAF (not through corvid's mailbox): give it to the user.
  offer(std::move(m));
  return {};
}

void process_actor::on_exit() {
  tsan_run_scope tsan{this};
  if (exiting_ && !blk_)
    return;
  exiting_ = true;
  // OTP: a process ended by exit(P, kill) exits with `killed`, and its links receive that
  // as an ordinary, trappable reason. CAF would pass `kill` on to every link as an
  // untrappable kill, so rename it before CAF's cleanup sends the exit and down messages.
  if (fail_state_ == caf::exit_reason::kill)
    fail_state_ = reason::killed();
  const auto& reason = fail_state();
  fail_handed(reason);
  if (x_ && blk_)
    for (auto& r : x_->remote_links)  // the other nodes learn of this exit from their transport
      if (auto t = transport_of(r))
        (*t)->linked_exited(pid{blk_->id}, r, reason);
  if (x_ && x_->hold_ready)
    release_ready(reason ? reason : make_error(errc::down, "exited during its start"));
  if (x_) {
    for (auto& f : x_->on_terminate) {
      try {
        f(reason);
      } catch (...) {
        // cleanup hooks must not take the runtime down
      }
    }
  }
  if (!blk_)
    return;
  {
    std::lock_guard g{blk_->mtx};
    blk_->exit_reason = reason;
  }
  // The crash is counted and told before the links learn of it: whoever sees the supervisor's
  // restart also sees the crash that caused it.
  if (!aborted_ && !reason::is_normal(reason)) {
    st_->crashed.fetch_add(1, std::memory_order_relaxed);
    if (reason != errc::killed && telemetry::wanted("corvid.process.crash")) {
      auto [name, label] = names_of(*blk_);
      telemetry::execute({"corvid.process.crash", {{"handled", double(blk_->handled.load())}},
                          {{"pid", pid{blk_->id}.to_string()}, {"name", name}, {"label", label},
                           {"reason", describe(reason)}}});
    }
  }
  close(*blk_);
  signal_links(*st_, pid{blk_}, forget_relations(*st_, *blk_), reason);
  st_->exited_handled.fetch_add(blk_->handled.load(), std::memory_order_relaxed);
  st_->exited_dropped.fetch_add(blk_->dropped.load(), std::memory_order_relaxed);
  st_->exited_coalesced.fetch_add(blk_->coalesced.load(), std::memory_order_relaxed);
  registry_cleanup(*st_, *blk_);
  run_exit_hooks(*blk_, reason);
  st_->table.remove(blk_->id);
  user_ = behavior{};
  next_.reset();
  x_.reset();
  init_ = nullptr;
  blk_.reset();
}

void run_exit_hooks(process_block& b, const caf::error& reason) {
  decltype(exit_hook_list::hooks) hooks;
  {
    std::lock_guard g{b.mtx};
    if (!b.exit_hooks)
      return;
    hooks.swap(b.exit_hooks->hooks);
  }
  pid self{b.id};
  for (auto& [id, f] : hooks) {
    try {
      f(self, reason);
    } catch (...) {
      // a hook must not stop the others
    }
  }
}

pid process_actor::resolve(const caf::actor_addr& a) const {
  if (!a)
    return pid{};
  if (auto b = st_->table.find(a.id()))
    return pid{b};
  return pid{a.id()};
}

void process_actor::take_exit(exit_signal sig) {
  if (trap_) {
    if (x_ && x_->on_exit)
      x_->on_exit(sig);
    else
      offer(caf::make_message(std::move(sig)));
  } else if (sig.reason) {
    stop(std::move(sig.reason));
  }
}

void process_actor::stop(caf::error reason) {
  exiting_ = true;
  quit(std::move(reason));
}

void process_actor::hold_ready() { x().hold_ready = true; }

void process_actor::release_ready(const caf::error& err) {
  if (!x_ || !x_->hold_ready)
    return;
  x_->hold_ready = false;
  if (!err)
    blk_->initialized.store(true);
  auto waiters = std::move(x_->ready_waiters);
  for (auto& rp : waiters) {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(caf::ok_atom::value);
  }
}

void process_actor::track_handed(const std::shared_ptr<reply_slot>& slot) {
  auto& x = this->x();
  if (x.handed.size() >= x.handed_prune_at) {
    std::erase_if(x.handed, [](const std::weak_ptr<reply_slot>& w) {
      auto s = w.lock();
      return !s || s->done.load();
    });
    x.handed_prune_at = std::max<size_t>(16, 2 * x.handed.size());
  }
  x.handed.emplace_back(slot);
}

void process_actor::fail_handed(const caf::error& reason) {
  if (!x_)
    return;
  for (auto& w : x_->handed)
    if (auto s = w.lock())
      s->complete(make_error(errc::down, "the callee exited before its reply was given: " + describe(reason)));
  x_->handed.clear();
}

bool process_actor::drain() {
  host_scope hs{context()};
  // A few messages per lock of the mailbox: a sender and this process contend for it less.
  // Messages taken and not handled because the process exits go with `batch`, failing their
  // callers with errc::down, as they would in the mailbox.
  // Raw storage: constructing 16 empty envelopes on every wake-up cost a ping-pong 20%.
  constexpr size_t batch_max = 16;
  alignas(envelope) unsigned char raw[batch_max * sizeof(envelope)];
  auto* batch = std::launder(reinterpret_cast<envelope*>(raw));
  const size_t n = st_->opts.drain_batch;
  for (size_t done = 0; done < n;) {
    if (exiting_)
      return false;
    bool emptied = false;
    const size_t k = pop_batch(*blk_, raw, std::min(batch_max, n - done), emptied);
    if (k == 0)
      return false;
    size_t i = 0;
    struct rest {  // what is not handled (an exit, an exception) is destroyed all the same
      envelope* p;
      size_t& i;
      size_t k;
      std::atomic<uint64_t>& handled;
      ~rest() {
        // The first i were handled (a handler that threw is not counted), once per batch: a write
        // per message to the block, whose line every sender writes too, cost senders throughput.
        handled.fetch_add(i, std::memory_order_relaxed);
        for (; i < k; ++i)
          std::destroy_at(p + i);
      }
    } left{batch, i, k, blk_->handled};
    while (i < k) {
      if (exiting_)
        return false;
      handle(batch[i]);
      std::destroy_at(batch + i);  // the message goes now, as it did when handled one at a time
      ++i;
    }
    if (emptied)
      return false;  // what came since woke the process: resume() sees it
    done += k;
  }
  // More may be queued: the turn yields so other processes and urgent signals get theirs.
  return !exiting_;
}

void process_actor::handle(envelope& e) {
  current_ = &e;
  reply_taken_ = false;
  auto res = user_(e.content);
  current_ = nullptr;
  if (e.reply && !reply_taken_) {
    if (res)
      e.reply.deliver_message(std::move(*res));
    else
      e.reply.fail(make_error(errc::unexpected_message, caf::to_string(e.content)));
  } else if (!res && !reply_taken_) {
    if (telemetry::wanted("corvid.process.unexpected"))
      telemetry::execute({"corvid.process.unexpected", {},
                          {{"pid", pid{blk_->id}.to_string()}, {"message", caf::to_string(e.content)}}});
  }
  if (next_) {
    user_ = std::move(*next_);
    next_.reset();
  }
  if (x_ && x_->idle.count() > 0)
    x_->last_activity = clock().now();
}

void process_actor::offer(caf::message m) {
  if (exiting_)
    return;
  (void) user_(m);
  if (next_) {
    user_ = std::move(*next_);
    next_.reset();
  }
}

void process_actor::on_reply(uint64_t id, caf::expected<caf::message> r) {
  if (!x_)
    return;
  auto i = x_->calls.find(id);
  if (i == x_->calls.end())
    return;  // timed out already: a late reply is dropped
  auto c = std::move(i->second);
  x_->calls.erase(i);
  if (r) {
    if (!c.on_ok(*r)) {
      caf::error err = make_error(errc::unexpected_message, "reply did not match: " + caf::to_string(*r));
      c.on_err(err);
    }
  } else {
    c.on_err(r.error());
  }
  if (next_) {
    user_ = std::move(*next_);
    next_.reset();
  }
}

void process_actor::arm_call_timer(time_point deadline) {
  auto& x = this->x();
  if (deadline >= x.armed_deadline)
    return;
  x.armed_deadline = deadline;
  auto d = std::chrono::duration_cast<caf::timespan>(deadline - clock().now());
  if (d.count() < 0)
    d = caf::timespan{0};
  delayed_send(caf::actor_cast<caf::actor>(this), d, calltmo_atom::value);
}

void process_actor::expire_calls() {
  if (!x_)
    return;
  auto now = clock().now();
  x_->armed_deadline = time_point::max();
  std::vector<actor_extras::call> expired;
  auto next = time_point::max();
  for (auto i = x_->calls.begin(); i != x_->calls.end();) {
    if (i->second.deadline <= now) {
      expired.push_back(std::move(i->second));
      i = x_->calls.erase(i);
    } else {
      next = std::min(next, i->second.deadline);
      ++i;
    }
  }
  if (next != time_point::max())
    arm_call_timer(next);
  for (auto& c : expired) {
    caf::error err = make_error(errc::timeout);
    c.on_err(err);
  }
}

void process_actor::fire_timer(uint64_t id) {
  if (!x_)
    return;
  auto i = x_->timers.find(id);
  if (i == x_->timers.end())
    return;  // cancelled
  auto& t = i->second;
  (void) deliver(t.to, t.msg, pid{blk_}, caf::timespan{0});
  if (t.periodic)
    delayed_send(caf::actor_cast<caf::actor>(this), t.period, timer_atom::value, id);
  else
    x_->timers.erase(i);
}

void process_actor::touch() {
  auto& x = this->x();
  x.last_activity = clock().now();
  if (!x.idle_armed) {
    x.idle_armed = true;
    delayed_send(caf::actor_cast<caf::actor>(this), x.idle, idle_atom::value);
  }
}

void process_actor::check_idle() {
  if (!x_ || x_->idle.count() <= 0) {
    if (x_)
      x_->idle_armed = false;
    return;
  }
  auto& x = *x_;
  auto quiet = clock().now() - x.last_activity;
  if (quiet >= x.idle) {
    x.idle_armed = false;
    if (x.on_idle) {
      x.on_idle();
      if (!exiting_ && x_ && x_->idle.count() > 0)
        touch();
    } else {
      stop(make_error(errc::idle_timeout));
    }
    return;
  }
  delayed_send(caf::actor_cast<caf::actor>(this),
               std::chrono::duration_cast<caf::timespan>(x.idle - quiet), idle_atom::value);
}

} // namespace corvid::detail
