// Spawning, sending and calling, and the process-side API.

#include <algorithm>

#include <caf/all.hpp>

#include "corvid/runtime/registry.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/task.hpp"
#include "process_actor.hpp"
#include "relations.hpp"
#include "scheduler.hpp"

namespace corvid {


// -- pid ------------------------------------------------------------------------

pid::pid(std::shared_ptr<detail::process_block> b) : id_(b ? b->id : 0), blk_(std::move(b)) {}

bool pid::alive() const noexcept {
  return blk_ && blk_->alive.load(std::memory_order_relaxed);
}

std::string pid::to_string() const {
  if (id_ == 0)
    return "<none>";
  return "<" + std::to_string(node_index()) + "." + std::to_string(local_id()) + ".0>";
}

namespace detail {

namespace {

// No copy of the pid's reference: the caller's pid keeps the block alive for the call, and a
// copy per send was two atomic operations on the line the receiver's lock shares.
process_block* block_of(const pid& p) {
  return p.block().get();
}

} // namespace

// Hands a message for a remote pid to the transport that reaches its node.
caf::error remote_send(const pid& to, const pid& from, const caf::message& msg, reply_handle reply) {
  auto t = transport_of(to);
  if (!t) {
    reply.fail(t.error());
    return std::move(t.error());
  }
  return (*t)->send(to, from, msg, std::move(reply));
}

caf::error deliver(const pid& to, caf::message msg, const pid& from, caf::timespan wait,
                   caf::execution_unit* host) {
  auto b = block_of(to);
  if (!b) {
    if (to.is_remote())
      return remote_send(to, from, msg, {});
    return make_error(errc::down, "no such process: " + to.to_string());
  }
  return push(*b, envelope{std::move(msg), from, {}}, static_cast<bool>(from), wait, host);
}

namespace {

// The execution unit of a turn run by deliver_here(): the first process the delivery schedules is
// run by the calling thread; anything scheduled meanwhile (the process's own sends) goes to the
// workers, so one delivery never runs more than one turn here.
class here_unit final : public caf::execution_unit {
 public:
  explicit here_unit(caf::actor_system* sys) : caf::execution_unit(sys) {}
  void exec_later(caf::resumable* job) override {
    if (!job_ && !running_) {
      job_ = job;
      return;
    }
    system().scheduler().enqueue(job);
  }
  // Runs the scheduled process's turn, then hands it back as a worker would (CAF's scheduler
  // holds a reference for each scheduling, which the turn's end releases or passes on).
  void run(size_t max_throughput) {
    if (!job_)
      return;
    running_ = true;
    switch (job_->resume(this, max_throughput)) {
      case caf::resumable::resume_later:
        system().scheduler().enqueue(job_);  // more than a turn's messages: the workers go on
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        caf::intrusive_ptr_release(job_);
        break;
      case caf::resumable::shutdown_execution_unit:
        break;
    }
  }

 private:
  caf::resumable* job_ = nullptr;
  bool running_ = false;
};

}  // namespace

caf::error deliver_here(const pid& to, caf::message msg) {
  auto b = block_of(to);
  if (!b)
    return deliver(to, std::move(msg), pid{}, caf::timespan{0});
  here_unit unit{b->rt->sys};
  auto err = push(*b, envelope{std::move(msg), pid{}, {}}, false, caf::timespan{0}, &unit);
  // One drain here (up to drain_batch of corvid's messages, then at most one CAF message), not a
  // whole turn of max_throughput: what arrived meanwhile from other threads waits for a worker.
  unit.run(1);
  return err;
}

caf::actor handle_of(const pid& p) {
  auto b = p.block();
  if (!b)
    return nullptr;
  std::lock_guard g{b->mtx};
  return b->handle;
}

caf::error deliver_signal(const pid& to, caf::message m) {
  auto h = handle_of(to);
  if (!h)
    return make_error(errc::down);
  caf::anon_send<caf::message_priority::high>(h, std::move(m));
  return caf::none;
}

caf::expected<caf::message> call_blocking(const pid& to, caf::message msg, caf::timespan timeout) {
  auto b = block_of(to);
  auto slot = std::make_shared<reply_slot>();
  if (b) {
    if (auto err = push(*b, envelope{std::move(msg), pid{}, reply_handle{slot}}, false, caf::timespan{0}))
      return err;
  } else if (to.is_remote()) {
    if (auto err = remote_send(to, pid{}, msg, reply_handle{slot}))
      return err;
  } else {
    return make_error(errc::down, "no such process: " + to.to_string());
  }
  return slot->wait(timeout);
}

std::shared_ptr<reply_slot> call_later(const pid& to, caf::message msg) {
  auto slot = std::make_shared<reply_slot>();
  auto b = block_of(to);
  if (!b) {
    if (to.is_remote())
      (void) remote_send(to, pid{}, msg, reply_handle{slot});
    else
      slot->complete(make_error(errc::down, "no such process: " + to.to_string()));
    return slot;
  }
  if (auto err = push(*b, envelope{std::move(msg), pid{}, reply_handle{slot}}, false, caf::timespan{0}))
    slot->complete(std::move(err));
  return slot;
}

caf::expected<caf::message> await_slot(const std::shared_ptr<reply_slot>& slot, caf::timespan timeout) {
  return slot->wait(timeout);
}

namespace {
// spawn_link: the child may have run and ended before this; then the parent gets the exit
// signal with the child's own reason at once, as if the link had come first.
void note_parent_link(runtime_state& st, process& parent, const pid& child) {
  auto me = parent.self();  // the pid holds the block
  if (!me.block() || note_link(st, *me.block(), child))
    return;
  auto why = exit_reason(child);
  caf::anon_send(caf::actor_cast<caf::actor>(parent.actor()), exit_signal{child, why ? *why : reason::noproc()});
}
} // namespace

caf::expected<pid> spawn_impl(runtime& rt, init_fn init, const spawn_options& opts, process* parent) {
  auto& st = rt.state();
  const auto& mo = opts.mailbox ? *opts.mailbox : st.opts.default_mailbox;
  auto blk = std::make_shared<process_block>(0, &st, mo);
  if (!opts.label.empty())
    blk->ext().label = opts.label;
  st.spawned.fetch_add(1, std::memory_order_relaxed);
  // The actor's constructor enters it into the process table and sets its handle.
  if (opts.name.empty()) {
    auto handle = st.sys->spawn<process_actor>(blk, std::move(init), opts.trap_exit, opts.idle_timeout);
    pid p{blk};
    if (parent) {
      if (opts.link)
        note_parent_link(st, *parent, p);
      if (opts.monitor)
        parent->monitor(p);
    }
    return p;
  }
  // Named: lazy_init, so that a failed registration never runs the user's init.
  auto handle = st.sys->spawn<process_actor, caf::lazy_init>(blk, std::move(init), opts.trap_exit,
                                                              opts.idle_timeout);
  pid p{blk};
  if (auto err = register_name(rt, opts.name, p)) {
    static_cast<process_actor*>(caf::actor_cast<caf::abstract_actor*>(handle))->aborted_ = true;
    caf::anon_send_exit(handle, caf::exit_reason::kill);
    return err;
  }
  if (parent) {
    if (opts.link)
      note_parent_link(st, *parent, p);
    if (opts.monitor)
      parent->monitor(p);
  }
  bool kick = false;
  {
    std::lock_guard g{blk->mtx};
    if (!blk->scheduled) {
      blk->scheduled = true;
      kick = true;
    }
  }
  if (kick)
    wake(handle, nullptr);
  return p;
}

} // namespace detail

caf::expected<pid> spawn(runtime& rt, init_fn init, const spawn_options& opts) {
  return detail::spawn_impl(rt, std::move(init), opts, nullptr);
}

namespace {

// An execution unit that only collects the processes a fan-out wakes, so that they can be
// scheduled in one batch instead of one lock round trip each.
struct batch_unit final : caf::execution_unit {
  explicit batch_unit(caf::actor_system* sys) : caf::execution_unit(sys) {}
  void exec_later(caf::resumable* job) override { jobs.push_back(job); }
  std::vector<caf::resumable*> jobs;
};

} // namespace

fanout_result send_many(const pid* first, const pid* last, const caf::message& m, uint64_t skip_id) {
  fanout_result r;
  if (first == last)
    return r;
  caf::actor_system* sys = nullptr;
  for (auto i = first; i != last && !sys; ++i)
    if (auto b = i->block())
      sys = b->rt->sys;
  if (!sys) {
    for (auto i = first; i != last; ++i)
      r.refused += i->id() != skip_id ? 1 : 0;
    return r;
  }
  batch_unit unit{sys};
  unit.jobs.reserve(static_cast<size_t>(last - first));
  for (auto i = first; i != last; ++i) {
    if (i->id() == skip_id)
      continue;
    auto b = i->block().get();
    bool dropped = false;
    if (b ? !detail::push(*b, detail::envelope{m, pid{}, {}}, false, caf::timespan{0}, &unit, &dropped) && !dropped
          : i->is_remote() && !detail::remote_send(*i, pid{}, m, {}))
      ++r.accepted;
    else
      ++r.refused;
  }
  detail::bulk_enqueue(*sys, unit.jobs);
  return r;
}

void exit(const pid& to, caf::error reason) {
  if (to.is_remote()) {
    if (auto t = detail::transport_of(to))
      (*t)->exit(to, pid{}, reason);
    return;
  }
  if (auto h = detail::handle_of(to))
    caf::anon_send<caf::message_priority::high>(h, caf::exit_msg{caf::actor_addr{}, std::move(reason)});
}

caf::expected<uint64_t> on_exit_of(const pid& p,
                                   std::function<void(const pid&, const caf::error&)> f) {
  auto b = p.block();
  if (!b)
    return make_error(errc::down, "noproc");
  std::lock_guard g{b->mtx};
  if (!b->alive.load())
    return make_error(errc::down, "process already exited");
  if (!b->exit_hooks)
    b->exit_hooks = std::make_unique<detail::exit_hook_list>();
  // Unique in this OS process, so that a stale id never cancels a later hook (the list goes
  // when its last hook does).
  static std::atomic<uint64_t> next_hook{1};
  auto id = next_hook.fetch_add(1, std::memory_order_relaxed);
  b->exit_hooks->hooks.emplace_back(id, std::move(f));
  return id;
}

void cancel_on_exit_of(const pid& p, uint64_t hook) {
  auto b = p.block();
  if (!b)
    return;
  std::lock_guard g{b->mtx};
  if (!b->exit_hooks)
    return;
  auto& v = b->exit_hooks->hooks;
  for (auto i = v.begin(); i != v.end(); ++i) {
    if (i->first == hook) {
      v.erase(i);
      if (v.empty())
        b->exit_hooks.reset();  // an unsubscribed process gives the memory back
      return;
    }
  }
}

mailbox_stats stats(const pid& p) {
  if (auto b = p.block())
    return detail::read_stats(*b);
  return {};
}

// -- pending_call -------------------------------------------------------------------

void pending_call::send(behavior on_ok, std::function<void(caf::error&)> on_err) {
  auto* impl = static_cast<detail::process_actor*>(self_.actor());
  auto b = to_.block();
  auto& x = impl->x();
  auto id = x.next_id++;
  auto deadline = impl->clock().now() + timeout_;  // the actor clock: virtual under test
  if (!b && !to_.is_remote()) {
    caf::error err = make_error(errc::down, "no such process: " + to_.to_string());
    on_err(err);
    return;
  }
  auto slot = std::make_shared<detail::reply_slot>();
  slot->caller = caf::actor_cast<caf::actor>(impl);
  slot->call_id = id;
  x.calls.emplace(id, detail::actor_extras::call{std::move(on_ok), std::move(on_err), deadline});
  auto err = b ? detail::push(*b, detail::envelope{std::move(msg_), self_.self(), reply_handle{slot}},
                              false, caf::timespan{0}, impl->context())
               : detail::remote_send(to_, self_.self(), msg_, reply_handle{slot});
  if (err) {
    // Fail right away: the callee never saw it. (backpressure does not apply to calls)
    auto c = std::move(x.calls[id]);
    x.calls.erase(id);
    slot->done.store(true);
    c.on_err(err);
    return;
  }
  impl->arm_call_timer(deadline);
}

// -- process ----------------------------------------------------------------------

pid process::self() const { return pid{impl_->blk_}; }

runtime& process::rt() const { return *impl_->st_->owner; }

pid process::sender() const {
  return impl_->current_ ? impl_->current_->from : pid{};
}

caf::error process::send_message(const pid& to, caf::message m) {
  return detail::deliver(to, std::move(m), self(), caf::timespan{0}, impl_->context());
}

reply_handle process::reply_later() {
  auto* cur = impl_->current_;
  if (!cur || !cur->reply)
    return {};
  impl_->reply_taken_ = true;
  impl_->track_handed(cur->reply.slot_);
  return std::move(cur->reply);
}

caf::expected<pid> process::spawn(init_fn init, const spawn_options& opts) {
  return detail::spawn_impl(rt(), std::move(init), opts, this);
}

void process::link(const pid& other) {
  if (other.is_remote()) {
    auto t = detail::transport_of(other);
    if (!t) {  // OTP: linking to an unreachable node's process gives exit noconnection
      impl_->send(caf::actor_cast<caf::actor>(impl_), exit_signal{other, std::move(t.error())});
      return;
    }
    auto& rl = impl_->x().remote_links;
    if (std::find(rl.begin(), rl.end(), other) == rl.end())
      rl.push_back(other);
    if (impl_->blk_)
      detail::note_link(*impl_->st_, *impl_->blk_, other);
    (*t)->link(self(), other);
    return;
  }
  if (!impl_->blk_ || other.id() == impl_->blk_->id)
    return;  // OTP: linking to yourself does nothing
  // Gone already: OTP's exit signal noproc, which ends a process that does not trap exits.
  if (!detail::note_link(*impl_->st_, *impl_->blk_, other))
    impl_->send(caf::actor_cast<caf::actor>(impl_), exit_signal{other, reason::noproc()});
}

void process::unlink(const pid& other) {
  if (impl_->blk_)
    detail::note_unlink(*impl_->st_, *impl_->blk_, other);
  if (other.is_remote()) {
    if (impl_->x_)
      std::erase(impl_->x_->remote_links, other);
    if (auto t = detail::transport_of(other))
      (*t)->unlink(self(), other);
  }
}

uint64_t process::monitor(const pid& other) {
  auto& x = impl_->x();
  auto ref = x.next_id++;
  x.monitors.emplace(ref, other);
  if (impl_->blk_)
    detail::note_monitor(*impl_->st_, *impl_->blk_, ref, other);
  if (other.is_remote()) {
    if (auto t = detail::transport_of(other))
      (*t)->monitor(self(), other, ref);
    else
      impl_->send(caf::actor_cast<caf::actor>(impl_), down_signal{ref, other, std::move(t.error())});
    return ref;
  }
  if (auto h = detail::handle_of(other))
    impl_->monitor(h);
  else
    impl_->send(caf::actor_cast<caf::actor>(impl_), down_signal{ref, other, reason::noproc()});
  return ref;
}

void process::demonitor(uint64_t ref) {
  if (!impl_->x_)
    return;
  auto& mons = impl_->x_->monitors;
  auto i = mons.find(ref);
  if (i == mons.end())
    return;
  auto target = i->second;
  mons.erase(i);
  if (impl_->blk_)
    detail::note_demonitor(*impl_->st_, *impl_->blk_, ref, target);
  if (target.is_remote()) {
    if (auto t = detail::transport_of(target))
      (*t)->demonitor(self(), target, ref);
    return;
  }
  for (auto& [r, p] : mons)
    if (p == target)
      return;  // another ref still watches it
  if (auto h = detail::handle_of(target))
    impl_->demonitor(h);
}

void process::trap_exit(bool on) { impl_->trap_ = on; }

bool process::trapping_exits() const { return impl_->trap_; }

void process::exit(caf::error reason) { impl_->stop(std::move(reason)); }

void process::become(behavior b) { impl_->next_ = std::move(b); }

void process::on_exit_signal(std::function<void(exit_signal&)> f) { impl_->x().on_exit = std::move(f); }

void process::on_down(std::function<void(down_signal&)> f) { impl_->x().on_down = std::move(f); }

void process::on_terminate(std::function<void(const caf::error&)> f) {
  impl_->x().on_terminate.push_back(std::move(f));
}

timer_ref process::start_timer(caf::timespan d, const pid& to, caf::message m, bool periodic) {
  auto& x = impl_->x();
  auto id = x.next_id++;
  x.timers.emplace(id, detail::actor_extras::timer{to, std::move(m), d, periodic});
  impl_->delayed_send(caf::actor_cast<caf::actor>(impl_), d, detail::timer_atom::value, id);
  return timer_ref{id};
}

bool process::cancel_timer(timer_ref t) {
  if (!impl_->x_)
    return false;
  return impl_->x_->timers.erase(t.id) > 0;
}

void process::set_idle_timeout(caf::timespan d, std::function<void()> on_idle) {
  auto& x = impl_->x();
  x.idle = d;
  x.on_idle = std::move(on_idle);
  if (d.count() > 0)
    impl_->touch();
}

void process::hold(std::shared_ptr<void> state) { impl_->x().held.push_back(std::move(state)); }

mailbox_stats process::stats() const { return detail::read_stats(*impl_->blk_); }

caf::event_based_actor* process::actor() const { return impl_; }

} // namespace corvid
