// Supervisors. A supervisor is a process that traps exits and runs one operation at a
// time (start a list of children, stop a list, restart): like OTP's synchronous code, but
// built from messages so that it never blocks a scheduler thread. Events that arrive
// while an operation runs wait in `deferred`.

#include "corvid/runtime/supervisor.hpp"

#include <deque>
#include <list>
#include <unordered_map>

#include <caf/all.hpp>

#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/telemetry.hpp"
#include "process_block.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace {

using clock = std::chrono::steady_clock;
using sup_start_atom = caf::atom_constant<caf::atom("sup_start")>;
using sup_term_atom = caf::atom_constant<caf::atom("sup_term")>;
using sup_which_atom = caf::atom_constant<caf::atom("sup_which")>;
using sup_kill_atom = caf::atom_constant<caf::atom("sup_kill")>;

struct child {
  child_spec spec;
  pid current;
  uint32_t restarts = 0;
};

using child_list = std::list<child>;
using child_it = child_list::iterator;

class sup_state {
public:
  sup_state(process& self, supervisor_flags flags, std::vector<child_spec> specs, bool dynamic)
    : self_(self), flags_(flags), dynamic_(dynamic) {
    for (auto& s : specs)
      kids_.push_back(child{std::move(s), {}, 0});
  }

  behavior init() {
    self_.trap_exit(true);
    self_.on_exit_signal([this](exit_signal& s) { on_exit_signal(s); });
    self_.on_down([this](down_signal& d) { on_down(d); });
    std::vector<child_it> all;
    for (auto i = kids_.begin(); i != kids_.end(); ++i)
      all.push_back(i);
    busy_ = true;
    start_seq(std::move(all), 0, [this](caf::error err) {
      if (err)
        return give_up(make_error(errc::exception, "failed to start children: " + describe(err)));
      done();
    });
    return {
      [this](sup_start_atom, child_spec& spec) { return defer_call([this, spec](reply_handle rh) mutable {
                                                   add_child(std::move(spec), std::move(rh));
                                                 }); },
      [this](sup_term_atom, const std::string& id) {
        return defer_call([this, id](reply_handle rh) { remove_child(id, std::move(rh)); });
      },
      [this](sup_which_atom) {
        return defer_call([this](reply_handle rh) { rh.deliver(which()); });
      },
      [this](sup_kill_atom, uint64_t ref) {
        auto i = stopping_.find(ref);
        if (i != stopping_.end())
          exit(i->second.who, reason::kill());
      },
    };
  }

private:
  struct stop_entry {
    pid who;
    timer_ref kill_timer;
    std::function<void()> then;
  };

  // -- operation queue --------------------------------------------------------------

  // Runs `op` now if idle, else after the current operation; the call is answered by `op`.
  int defer_call(std::function<void(reply_handle)> op) {
    auto rh = self_.reply_later();
    auto run = [op = std::move(op), rh = std::make_shared<reply_handle>(std::move(rh))] {
      op(std::move(*rh));
    };
    if (busy_)
      deferred_.push_back(std::move(run));
    else
      run();
    return 0;
  }

  void done() {
    busy_ = false;
    while (!busy_ && !deferred_.empty()) {
      auto f = std::move(deferred_.front());
      deferred_.pop_front();
      f();
    }
  }

  // -- starting -----------------------------------------------------------------------

  // Starts items[i..] in order; each child's init has run before the next starts.
  void start_seq(std::vector<child_it> items, size_t i, std::function<void(caf::error)> k) {
    if (i == items.size())
      return k(caf::none);
    auto it = items[i];
    auto r = it->spec.start ? it->spec.start(self_) : caf::expected<pid>{make_error(errc::bad_argument, "child has no start function")};
    if (!r)
      return k(make_error(errc::exception, "child " + it->spec.id + ": " + describe(r.error())));
    adopt(it, *r);
    auto h = detail::handle_of(*r);
    if (!h)  // already gone: its exit signal will follow
      return start_seq(std::move(items), i + 1, std::move(k));
    self_.actor()->request(h, std::chrono::seconds(30), detail::ready_atom::value)
      .then([this, items, i, k](caf::ok_atom) mutable { start_seq(std::move(items), i + 1, std::move(k)); },
            [this, items, i, k](caf::error&) mutable { start_seq(std::move(items), i + 1, std::move(k)); });
  }

  void adopt(child_it it, const pid& p) {
    it->current = p;
    by_pid_[p.id()] = it;
    if (auto b = p.block()) {
      b->supervisor.store(self_.self().id());
      b->restarts.store(it->restarts);
      if (it->spec.type == child_type::supervisor || !it->spec.id.empty()) {
        std::lock_guard<std::mutex> g{b->mtx};
        auto& x = b->ext();
        if (x.label.empty())
          x.label = it->spec.id;
      }
    }
    self_.link(p);
  }

  // -- stopping -----------------------------------------------------------------------

  void stop_one(child_it it, std::function<void()> then) {
    auto p = it->current;
    by_pid_.erase(p.id());
    it->current = pid{};
    self_.unlink(p);
    auto ref = self_.monitor(p);
    stop_entry e{p, {}, std::move(then)};
    auto sd = it->spec.shutdown;
    if (sd == brutal_kill) {
      exit(p, reason::kill());
    } else {
      exit(p, reason::shutdown());
      if (sd != infinity)
        e.kill_timer = self_.send_after(sd, self_.self(), sup_kill_atom::value, ref);
    }
    stopping_.emplace(ref, std::move(e));
  }

  // Stops items in the given order, one after the other (or all at once if `parallel`).
  void stop_seq(std::vector<child_it> items, bool parallel, std::function<void()> k) {
    std::vector<child_it> live;
    for (auto it : items)
      if (it->current)
        live.push_back(it);
    if (live.empty())
      return k();
    if (parallel) {
      auto left = std::make_shared<size_t>(live.size());
      for (auto it : live)
        stop_one(it, [left, k] {
          if (--*left == 0)
            k();
        });
      return;
    }
    auto first = live.front();
    live.erase(live.begin());
    stop_one(first, [this, live = std::move(live), k = std::move(k)]() mutable {
      stop_seq(std::move(live), false, std::move(k));
    });
  }

  std::vector<child_it> all_reversed() {
    std::vector<child_it> v;
    for (auto i = kids_.begin(); i != kids_.end(); ++i)
      v.insert(v.begin(), i);
    return v;
  }

  void on_down(down_signal& d) {
    auto i = stopping_.find(d.ref);
    if (i == stopping_.end())
      return;
    auto e = std::move(i->second);
    stopping_.erase(i);
    if (e.kill_timer.id)
      self_.cancel_timer(e.kill_timer);
    e.then();
  }

  // -- failures -----------------------------------------------------------------------

  void on_exit_signal(exit_signal& s) {
    auto i = by_pid_.find(s.from.id());
    if (i == by_pid_.end()) {
      if (s.from && !stopping_.empty())
        return;  // a child we are stopping: its monitor reports it
      // From the parent (or the runtime): stop every child in reverse order, then exit.
      auto why = s.reason ? s.reason : reason::shutdown();
      deferred_.clear();
      busy_ = true;
      stop_seq(all_reversed(), dynamic_, [this, why] { self_.exit(why); });
      return;
    }
    if (busy_) {
      auto sig = s;
      deferred_.push_back([this, sig]() mutable {
        if (by_pid_.count(sig.from.id()))
          child_exited(by_pid_[sig.from.id()], sig.reason);
      });
      return;
    }
    child_exited(i->second, s.reason);
  }

  void child_exited(child_it it, caf::error why) {
    by_pid_.erase(it->current.id());
    it->current = pid{};
    auto type = it->spec.restart_type;
    bool again = type == restart::permanent || (type == restart::transient && !reason::is_normal(why));
    if (!again) {
      if (dynamic_ || type == restart::temporary)
        kids_.erase(it);
      return;
    }
    auto now = clock::now();
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() > flags_.period)
      restarts_.pop_front();
    if (static_cast<int>(restarts_.size()) > flags_.intensity)
      return give_up(make_error(errc::max_restart_intensity,
                                "child " + it->spec.id + " exited with " + describe(why)));
    it->restarts++;
    self_.rt().state().restarts.fetch_add(1, std::memory_order_relaxed);
    if (telemetry::wanted("corvid.supervisor.restart"))
      telemetry::execute({"corvid.supervisor.restart", {{"restarts", double(it->restarts)}},
                          {{"supervisor", self_.self().to_string()}, {"child", it->spec.id},
                           {"reason", describe(why)}}});
    busy_ = true;
    std::vector<child_it> to_stop, to_start;
    switch (flags_.strategy_type) {
      case strategy::one_for_one:
        to_start.push_back(it);
        break;
      case strategy::one_for_all:
        for (auto i = kids_.begin(); i != kids_.end(); ++i) {
          to_stop.insert(to_stop.begin(), i);
          to_start.push_back(i);
        }
        break;
      case strategy::rest_for_one:
        for (auto i = it; i != kids_.end(); ++i) {
          to_stop.insert(to_stop.begin(), i);
          to_start.push_back(i);
        }
        break;
    }
    stop_seq(to_stop, false, [this, to_start = std::move(to_start)]() mutable {
      // Temporary children stopped on the way are not restarted.
      std::vector<child_it> go;
      for (auto i : to_start) {
        if (i->spec.restart_type == restart::temporary && !i->current)
          kids_.erase(i);
        else
          go.push_back(i);
      }
      start_seq(std::move(go), 0, [this](caf::error err) {
        if (err)
          return give_up(make_error(errc::max_restart_intensity, "restart failed: " + describe(err)));
        done();
      });
    });
  }

  void give_up(caf::error why) {
    deferred_.clear();
    busy_ = true;
    stop_seq(all_reversed(), dynamic_, [this, why] { self_.exit(why); });
  }

  // -- calls ------------------------------------------------------------------------

  void add_child(child_spec spec, reply_handle rh) {
    if (flags_.max_children && kids_.size() >= flags_.max_children)
      return rh.fail(make_error(errc::overloaded, "max_children reached"));
    if (!dynamic_ && !spec.id.empty())
      for (auto& k : kids_)
        if (k.spec.id == spec.id)
          return rh.fail(make_error(errc::already_registered, "child id " + spec.id));
    kids_.push_back(child{std::move(spec), {}, 0});
    auto it = std::prev(kids_.end());
    auto r = it->spec.start ? it->spec.start(self_) : caf::expected<pid>{make_error(errc::bad_argument, "no start function")};
    if (!r) {
      kids_.erase(it);
      return rh.fail(std::move(r.error()));
    }
    adopt(it, *r);
    rh.deliver(*r);
  }

  void remove_child(const std::string& id, reply_handle rh) {
    for (auto i = kids_.begin(); i != kids_.end(); ++i) {
      if (i->spec.id == id || (i->current && i->current.to_string() == id)) {
        busy_ = true;
        auto rhp = std::make_shared<reply_handle>(std::move(rh));
        stop_seq({i}, false, [this, i, rhp] {
          kids_.erase(i);
          rhp->deliver(caf::ok_atom::value);
          done();
        });
        return;
      }
    }
    rh.fail(make_error(errc::not_found, "no child " + id));
  }

  std::vector<child_info> which() const {
    std::vector<child_info> out;
    for (auto& k : kids_)
      out.push_back({k.spec.id, k.current, k.spec.type, k.spec.restart_type, k.restarts});
    return out;
  }

  process& self_;
  supervisor_flags flags_;
  bool dynamic_;
  child_list kids_;
  std::unordered_map<uint64_t, child_it> by_pid_;
  std::deque<clock::time_point> restarts_;
  bool busy_ = false;
  std::deque<std::function<void()>> deferred_;
  std::unordered_map<uint64_t, stop_entry> stopping_;
};

init_fn supervisor_init(supervisor_flags flags, std::vector<child_spec> children, bool dynamic) {
  return [flags, children = std::move(children), dynamic](process& self) {
    auto st = std::make_shared<sup_state>(self, flags, children, dynamic);
    self.hold(st);
    return st->init();
  };
}

spawn_options sup_options(spawn_options opts) {
  opts.trap_exit = true;
  if (opts.label.empty())
    opts.label = "supervisor";
  // Supervisors must never lose a child's exit or a call: their mailbox is generous and rejects loudly.
  if (!opts.mailbox)
    opts.mailbox = mailbox_options{100'000, overflow::reject, 0, {}};
  return opts;
}

caf::expected<pid> start_and_wait(runtime& rt, init_fn init, spawn_options opts) {
  auto sup = spawn(rt, std::move(init), sup_options(std::move(opts)));
  if (!sup)
    return sup;
  // Answered once the initial children have started (calls wait behind that operation).
  auto kids = which_children(*sup, std::chrono::seconds(30));
  if (!kids) {
    if (auto b = sup->block()) {
      std::lock_guard<std::mutex> g{b->mtx};
      if (b->exit_reason)
        return b->exit_reason;  // why the supervisor gave up during its start
    }
    return std::move(kids.error());
  }
  return sup;
}

} // namespace

child_spec child_spec::worker(std::string id, init_fn init, spawn_options opts, restart r) {
  child_spec s;
  s.id = std::move(id);
  s.start = [init = std::move(init), opts = std::move(opts)](process& sup) {
    return sup.spawn(init, opts);
  };
  s.restart_type = r;
  return s;
}

caf::expected<pid> start_supervisor(runtime& rt, supervisor_flags flags, std::vector<child_spec> children,
                                    spawn_options opts) {
  return start_and_wait(rt, supervisor_init(flags, std::move(children), false), std::move(opts));
}

child_spec supervisor_spec(std::string id, supervisor_flags flags, std::vector<child_spec> children,
                           spawn_options opts) {
  child_spec s;
  s.id = std::move(id);
  s.type = child_type::supervisor;
  s.shutdown = infinity;
  if (opts.label.empty())
    opts.label = s.id;
  s.start = [flags, children = std::move(children), opts = sup_options(std::move(opts))](process& parent) {
    return parent.spawn(supervisor_init(flags, children, false), opts);
  };
  return s;
}

caf::expected<pid> start_dynamic_supervisor(runtime& rt, supervisor_flags flags, spawn_options opts) {
  flags.strategy_type = strategy::one_for_one;
  return start_and_wait(rt, supervisor_init(flags, {}, true), std::move(opts));
}

caf::expected<pid> start_child(const pid& sup, child_spec spec, caf::timespan timeout) {
  return call<pid>(sup, timeout, sup_start_atom::value, std::move(spec));
}

caf::error terminate_child(const pid& sup, const std::string& id, caf::timespan timeout) {
  auto r = call<caf::ok_atom>(sup, timeout, sup_term_atom::value, id);
  return r ? caf::none : std::move(r.error());
}

caf::expected<std::vector<child_info>> which_children(const pid& sup, caf::timespan timeout) {
  return call<std::vector<child_info>>(sup, timeout, sup_which_atom::value);
}

} // namespace corvid
