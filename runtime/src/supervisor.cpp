// Supervisors. A supervisor is a process that traps exits and runs one operation at a
// time (start a list of children, stop a list, restart): like OTP's synchronous code, but
// built from messages so that it never blocks a scheduler thread. Events that arrive
// while an operation runs wait in `deferred`.

#include "corvid/runtime/supervisor.hpp"

#include <deque>
#include <future>
#include <list>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>

#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/telemetry.hpp"
#include "process_actor.hpp"
#include "process_block.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace {

using time_point = caf::actor_clock::time_point;
using sup_start_atom = caf::atom_constant<caf::atom("sup_start")>;
using sup_term_atom = caf::atom_constant<caf::atom("sup_term")>;
using sup_rst_atom = caf::atom_constant<caf::atom("sup_rst")>;
using sup_del_atom = caf::atom_constant<caf::atom("sup_del")>;
using sup_which_atom = caf::atom_constant<caf::atom("sup_which")>;
using sup_count_atom = caf::atom_constant<caf::atom("sup_count")>;
using sup_spec_atom = caf::atom_constant<caf::atom("sup_spec")>;
using sup_kill_atom = caf::atom_constant<caf::atom("sup_kill")>;
using sup_retry_atom = caf::atom_constant<caf::atom("sup_retry")>;

struct child {
  child_spec spec;
  pid current;
  uint32_t restarts = 0;
  std::vector<restart_record> history;  // the latest restart_history_length restarts

  void remember(pid ended, std::string why) {
    if (history.size() == restart_history_length)
      history.erase(history.begin());
    history.push_back({std::chrono::system_clock::now(), std::move(ended), std::move(why)});
  }
};

using child_list = std::list<child>;
using child_it = child_list::iterator;

// Why a start sequence stopped: the child that failed, it and the ones after it, and why.
struct start_failure {
  child_it child;
  std::vector<child_it> rest;
  caf::error why;
};
using start_done = std::function<void(std::optional<start_failure>)>;

class sup_state {
public:
  sup_state(process& self, supervisor_flags flags, std::vector<child_spec> specs, bool dynamic, pid parent)
    : self_(self), flags_(flags), dynamic_(dynamic), parent_(std::move(parent)) {
    for (auto& s : specs)
      kids_.push_back(child{std::move(s), {}, 0, {}});
  }

  behavior init() {
    self_.trap_exit(true);
    self_.on_exit_signal([this](exit_signal& s) { on_exit_signal(s); });
    self_.on_down([this](down_signal& d) { on_down(d); });
    // Whoever started this supervisor waits until every child has started (or one failed).
    impl().hold_ready();
    std::vector<child_it> all;
    for (auto i = kids_.begin(); i != kids_.end(); ++i)
      all.push_back(i);
    busy_ = true;
    start_seq(std::move(all), 0, [this](std::optional<start_failure> f) {
      if (f)  // OTP: the start fails; what started stops in reverse order; the error names the child
        return shutdown(make_error(errc::start_failed, "child " + f->child->spec.id + ": " + describe(f->why)));
      impl().release_ready(caf::none);
      done();
    });
    return {
      [this](sup_start_atom, child_spec& spec) {
        return defer_call([this, spec](reply_handle rh) mutable { add_child(std::move(spec), std::move(rh)); });
      },
      [this](sup_term_atom, const std::string& id) {
        return defer_call([this, id](reply_handle rh) { remove_child(id, std::move(rh)); });
      },
      [this](sup_rst_atom, const std::string& id) {
        return defer_call([this, id](reply_handle rh) { restart_by_hand(id, std::move(rh)); });
      },
      [this](sup_del_atom, const std::string& id) {
        return defer_call([this, id](reply_handle rh) { delete_spec(id, std::move(rh)); });
      },
      [this](sup_which_atom) {
        return defer_call([this](reply_handle rh) { rh.deliver(which()); });
      },
      [this](sup_count_atom) {
        return defer_call([this](reply_handle rh) { rh.deliver(counts()); });
      },
      [this](sup_spec_atom, const std::string& id) {
        return defer_call([this, id](reply_handle rh) {
          auto it = find(id);
          if (it == kids_.end())
            return rh.fail(make_error(errc::not_found, "no child " + id));
          rh.deliver(it->spec);
        });
      },
      [this](sup_kill_atom, uint64_t ref) {
        auto i = stopping_.find(ref);
        if (i != stopping_.end())
          exit(i->second.who, reason::kill());
      },
      [this](sup_retry_atom) {
        if (shutting_down_)
          return;
        start_seq(std::move(retry_), 0, [this](std::optional<start_failure> f) { restarted(std::move(f)); });
      },
    };
  }

private:
  struct stop_entry {
    pid who;
    timer_ref kill_timer;
    std::function<void()> then;
  };

  detail::process_actor& impl() { return *static_cast<detail::process_actor*>(self_.actor()); }

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
    if (shutting_down_)
      return;
    busy_ = false;
    while (!busy_ && !deferred_.empty()) {
      auto f = std::move(deferred_.front());
      deferred_.pop_front();
      f();
    }
  }

  child_it find(const std::string& id) {
    for (auto i = kids_.begin(); i != kids_.end(); ++i)
      if (i->spec.id == id || (i->current && i->current.to_string() == id))
        return i;
    return kids_.end();
  }

  // -- starting -----------------------------------------------------------------------

  // Starts items[i..] in order; each child's start is complete before the next begins.
  void start_seq(std::vector<child_it> items, size_t i, start_done k) {
    if (shutting_down_)
      return;  // abandoned: the shutdown owns the children now
    if (i == items.size())
      return k(std::nullopt);
    auto it = items[i];
    auto fail = [items, i, k](caf::error why) {
      auto it = items[i];
      k(start_failure{it, std::vector<child_it>(items.begin() + static_cast<std::ptrdiff_t>(i), items.end()),
                      std::move(why)});
    };
    auto r = it->spec.start ? it->spec.start(self_) : caf::expected<pid>{make_error(errc::bad_argument, "child has no start function")};
    if (!r)
      return fail(std::move(r.error()));
    adopt(it, *r);
    auto h = detail::handle_of(*r);
    if (!h)  // ended already
      return check_started(it, *r, make_error(errc::down), items, i, k);
    // No timeout, as OTP's supervisors wait for a child's init: a timed request would put an entry
    // in CAF's clock (and wake its thread) for every start, and fire 30 s later for nothing.
    // A child that ends first answers with an error (its exit reason says why).
    self_.actor()->request(h, caf::infinite, detail::ready_atom::value)
      .then([this, items, i, k](caf::ok_atom) mutable { start_seq(std::move(items), i + 1, std::move(k)); },
            [this, items, i, k, p = *r](caf::error& e) mutable { check_started(items[i], p, e, items, i, k); });
  }

  // The child did not confirm its start. If its init had run, it started and then ended
  // (its exit signal drives a restart); if not, its start failed.
  void check_started(child_it it, const pid& p, const caf::error& e, std::vector<child_it>& items, size_t i,
                     start_done& k) {
    if (shutting_down_)
      return;
    auto b = p.block();
    if (b && b->initialized.load())
      return start_seq(std::move(items), i + 1, std::move(k));
    caf::error why = e;  // an error the child gave, or just "down": its own exit reason says more
    if (auto x = exit_reason(p); x && *x)
      why = *x;
    disown(it);
    if (p.alive())
      exit(p, reason::kill());
    k(start_failure{it, std::vector<child_it>(items.begin() + static_cast<std::ptrdiff_t>(i), items.end()),
                    std::move(why)});
  }

  void adopt(child_it it, const pid& p) {
    it->current = p;
    by_pid_[p.id()] = it;
    if (auto b = p.block()) {
      b->supervisor.store(self_.self().id());
      b->restarts.store(it->restarts);
      if (it->spec.type == child_type::supervisor || !it->spec.id.empty() || !it->history.empty()) {
        std::lock_guard g{b->mtx};
        auto& x = b->ext();
        if (x.label.empty())
          x.label = it->spec.id;
        x.restart_log = it->history;
      }
    }
    self_.link(p);
  }

  // Forgets a child's process (its late exit signal, if any, comes from a stranger: ignored).
  void disown(child_it it) {
    if (!it->current)
      return;
    by_pid_.erase(it->current.id());
    self_.unlink(it->current);
    it->current = pid{};
  }

  // -- stopping -----------------------------------------------------------------------

  void stop_one(child_it it, std::function<void()> then) {
    auto p = it->current;
    disown(it);
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
    if (shutting_down_)
      maybe_exit();
  }

  // Stops every child in reverse order (all at once for a dynamic supervisor), then exits
  // with `why`. Whatever operation was running is abandoned; stops already under way finish.
  void shutdown(caf::error why) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    exit_why_ = std::move(why);
    deferred_.clear();
    busy_ = true;
    stop_seq(all_reversed(), dynamic_, [this] {
      stopped_all_ = true;
      maybe_exit();
    });
  }

  void maybe_exit() {
    if (stopped_all_ && stopping_.empty())
      self_.exit(exit_why_);
  }

  // -- failures -----------------------------------------------------------------------

  void on_exit_signal(exit_signal& s) {
    auto i = by_pid_.find(s.from.id());
    if (i != by_pid_.end()) {
      // The supervisor links after the child's start function returns (an OTP child links itself
      // first): a child that ended before that link is reported as noproc. Its own exit reason
      // decides, or a transient child that ended normally would be restarted.
      if (s.reason == errc::noproc)
        if (auto real = exit_reason(s.from))
          s.reason = *real;
      if (shutting_down_)
        return disown(i->second);
      if (busy_) {
        auto sig = s;
        deferred_.push_back([this, sig]() mutable {
          if (auto j = by_pid_.find(sig.from.id()); j != by_pid_.end())
            child_exited(j->second, sig.reason);
        });
        return;
      }
      return child_exited(i->second, s.reason);
    }
    if (!s.from || s.from == parent_)
      return shutdown(s.reason ? s.reason : reason::shutdown());
    // A linked process that is neither a child nor the parent: OTP ignores its exit.
  }

  // Records a restart; false once the intensity is exceeded.
  bool add_restart() {
    auto now = self_.actor()->clock().now();  // the actor clock: virtual under test
    restarts_.push_back(now);
    while (!restarts_.empty() && now - restarts_.front() > flags_.period)
      restarts_.pop_front();
    return static_cast<int>(restarts_.size()) <= flags_.intensity;
  }

  void child_exited(child_it it, caf::error why) {
    by_pid_.erase(it->current.id());
    auto ended = std::exchange(it->current, pid{});
    auto type = it->spec.restart_type;
    bool again = type == restart::permanent || (type == restart::transient && !reason::is_normal(why));
    if (!again) {
      if (dynamic_ || type == restart::temporary)
        kids_.erase(it);
      return;
    }
    if (!add_restart())
      return give_up(it, why);
    it->restarts++;
    it->remember(std::move(ended), describe(why));
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
      start_seq(std::move(go), 0, [this](std::optional<start_failure> f) { restarted(std::move(f)); });
    });
  }

  // The end of a restart. OTP keeps trying a child that failed to restart, each attempt
  // counting toward the intensity; the retry is a message, so other work runs in between.
  void restarted(std::optional<start_failure> f) {
    if (!f)
      return done();
    if (!add_restart())
      return give_up(f->child, f->why);
    f->child->restarts++;
    f->child->remember(pid{}, "failed to start: " + describe(f->why));
    retry_ = std::move(f->rest);
    auto me = caf::actor_cast<caf::actor>(self_.actor());
    self_.actor()->send(me, sup_retry_atom::value);  // straight to the actor: never refused by the bound
  }

  void give_up(child_it it, const caf::error& why) {
    if (telemetry::wanted("corvid.supervisor.shutdown"))
      telemetry::execute({"corvid.supervisor.shutdown", {{"intensity", double(flags_.intensity)}},
                          {{"supervisor", self_.self().to_string()}, {"reason", "reached_max_restart_intensity"},
                           {"child", it->spec.id}, {"child_reason", describe(why)}}});
    shutdown(reason::shutdown());
  }

  // -- calls ------------------------------------------------------------------------

  void add_child(child_spec spec, reply_handle rh) {
    if (flags_.max_children && kids_.size() >= flags_.max_children)
      return rh.fail(make_error(errc::overloaded, "max_children reached"));
    if (!dynamic_ && !spec.id.empty())
      for (auto& k : kids_)
        if (k.spec.id == spec.id)
          return rh.fail(make_error(errc::already_registered, "child id " + spec.id));
    kids_.push_back(child{std::move(spec), {}, 0, {}});
    start_one(std::prev(kids_.end()), std::move(rh), true);
  }

  // Starts one child and answers with its pid once its start is complete (or the error).
  void start_one(child_it it, reply_handle rh, bool forget_on_failure) {
    busy_ = true;
    auto rhp = std::make_shared<reply_handle>(std::move(rh));
    start_seq({it}, 0, [this, it, rhp, forget_on_failure](std::optional<start_failure> f) {
      if (f) {
        rhp->fail(f->why);
        if (forget_on_failure)
          kids_.erase(it);
      } else if (it->current) {
        rhp->deliver(it->current);
      } else {
        rhp->fail(make_error(errc::down, "child " + it->spec.id + " ended right after its start"));
      }
      done();
    });
  }

  void remove_child(const std::string& id, reply_handle rh) {
    auto i = find(id);
    if (i == kids_.end())
      return rh.fail(make_error(errc::not_found, "no child " + id));
    busy_ = true;
    auto rhp = std::make_shared<reply_handle>(std::move(rh));
    stop_seq({i}, false, [this, i, rhp] {
      if (dynamic_ || i->spec.restart_type == restart::temporary)
        kids_.erase(i);  // OTP keeps only the specs of static, non-temporary children
      rhp->deliver(caf::ok_atom::value);
      done();
    });
  }

  void restart_by_hand(const std::string& id, reply_handle rh) {
    if (dynamic_)
      return rh.fail(make_error(errc::bad_argument, "restart_child: not for a dynamic supervisor"));
    auto i = find(id);
    if (i == kids_.end())
      return rh.fail(make_error(errc::not_found, "no child " + id));
    if (i->current)
      return rh.fail(make_error(errc::running, "child " + id + " is running"));
    start_one(i, std::move(rh), false);
  }

  void delete_spec(const std::string& id, reply_handle rh) {
    if (dynamic_)
      return rh.fail(make_error(errc::bad_argument, "delete_child: not for a dynamic supervisor"));
    auto i = find(id);
    if (i == kids_.end())
      return rh.fail(make_error(errc::not_found, "no child " + id));
    if (i->current)
      return rh.fail(make_error(errc::running, "child " + id + " is running"));
    kids_.erase(i);
    rh.deliver(caf::ok_atom::value);
  }

  std::vector<child_info> which() const {
    std::vector<child_info> out;
    for (auto& k : kids_)
      out.push_back({k.spec.id, k.current, k.spec.type, k.spec.restart_type, k.restarts});
    return out;
  }

  child_counts counts() const {
    child_counts c;
    for (auto& k : kids_) {
      ++c.specs;
      c.active += k.current ? 1 : 0;
      (k.spec.type == child_type::supervisor ? c.supervisors : c.workers)++;
    }
    return c;
  }

  process& self_;
  supervisor_flags flags_;
  bool dynamic_;
  pid parent_;  // its exit stops this supervisor; empty for a root supervisor
  child_list kids_;
  std::unordered_map<uint64_t, child_it> by_pid_;
  std::deque<time_point> restarts_;
  bool busy_ = false;
  bool shutting_down_ = false;
  bool stopped_all_ = false;
  caf::error exit_why_;
  std::vector<child_it> retry_;
  std::deque<std::function<void()>> deferred_;
  std::unordered_map<uint64_t, stop_entry> stopping_;
};

init_fn supervisor_init(supervisor_flags flags, std::vector<child_spec> children, bool dynamic, pid parent) {
  return [flags, children = std::move(children), dynamic, parent](process& self) {
    auto st = std::make_shared<sup_state>(self, flags, children, dynamic, parent);
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
  if (kids)
    return sup;
  // The start failed: the supervisor stops what it started, then exits with the reason.
  auto why = std::make_shared<std::promise<caf::error>>();
  auto ended = why->get_future();
  auto hook = on_exit_of(*sup, [why](const pid&, const caf::error& e) { why->set_value(e); });
  if (!hook) {
    if (auto r = exit_reason(*sup); r && *r)
      return *r;
    return std::move(kids.error());
  }
  if (ended.wait_for(std::chrono::seconds(30)) == std::future_status::ready)
    if (auto e = ended.get())
      return e;
  return std::move(kids.error());
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
  return start_and_wait(rt, supervisor_init(flags, std::move(children), false, pid{}), std::move(opts));
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
    return parent.spawn(supervisor_init(flags, children, false, parent.self()), opts);
  };
  return s;
}

caf::expected<pid> start_dynamic_supervisor(runtime& rt, supervisor_flags flags, spawn_options opts) {
  flags.strategy_type = strategy::one_for_one;
  return start_and_wait(rt, supervisor_init(flags, {}, true, pid{}), std::move(opts));
}

caf::expected<pid> start_child(const pid& sup, child_spec spec, caf::timespan timeout) {
  return call<pid>(sup, timeout, sup_start_atom::value, std::move(spec));
}

caf::error terminate_child(const pid& sup, const std::string& id, caf::timespan timeout) {
  auto r = call<caf::ok_atom>(sup, timeout, sup_term_atom::value, id);
  return r ? caf::none : std::move(r.error());
}

caf::expected<pid> restart_child(const pid& sup, const std::string& id, caf::timespan timeout) {
  return call<pid>(sup, timeout, sup_rst_atom::value, id);
}

caf::error delete_child(const pid& sup, const std::string& id, caf::timespan timeout) {
  auto r = call<caf::ok_atom>(sup, timeout, sup_del_atom::value, id);
  return r ? caf::none : std::move(r.error());
}

caf::expected<child_spec> get_childspec(const pid& sup, const std::string& id, caf::timespan timeout) {
  return call<child_spec>(sup, timeout, sup_spec_atom::value, id);
}

caf::expected<std::vector<child_info>> which_children(const pid& sup, caf::timespan timeout) {
  return call<std::vector<child_info>>(sup, timeout, sup_which_atom::value);
}

caf::expected<child_counts> count_children(const pid& sup, caf::timespan timeout) {
  return call<child_counts>(sup, timeout, sup_count_atom::value);
}

} // namespace corvid
