// corvid's scheduler policy for CAF 0.17: one shared run queue plus a per-worker "run next"
// slot (as in Go's and Erlang's schedulers). A process woken by the process running on a
// worker goes into that worker's slot and runs right after it on the same thread: a
// ping-pong or a call never crosses threads or touches the shared queue. Everything else
// (sends from threads, timers, jobs that used up their turn, the previous slot holder)
// goes to the shared queue, where idle workers pick it up; a fan-out thus spreads over
// all workers without the work-stealing scans that collapse on huge fan-outs.

// The stock worker loop computes a dynamic_cast per resume only to tag log lines, and the
// Debian build logs nothing: instantiating the worker here without that tag saves ~1,400
// instructions per resume.
#include <caf/logger.hpp>
#undef CAF_PUSH_AID_FROM_PTR
#define CAF_PUSH_AID_FROM_PTR(unused) static_cast<void>(0)

#include "scheduler.hpp"
#include "ring.hpp"
#include "futex.hpp"
#include "word_lock.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_set>

#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/worker.hpp>

namespace corvid::detail {

namespace {

class runnext_policy : public caf::policy::unprofiled {
public:
  /// How many handoffs in a row a worker may make through its slot before the chain goes
  /// through the shared queue once (so a tight ping-pong cannot starve other processes).
  static constexpr size_t max_chain = 64;

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}
    // A ring that keeps its storage: a fan-out waking 100,000 processes allocated and freed a
    // deque chunk per 64 of them (6% of the fan-out's time, in malloc's slow paths).
    ring<caf::resumable*> queue;
    // A one-word lock that spins before it sleeps: with a plain mutex, a thread sending to a
    // process that keeps up with it met a worker going to sleep on almost every message, and a
    // third of the run's futex calls were that meeting (perf). Idle workers sleep on `epoch`,
    // which a waker bumps under the lock: a worker that read it before unlocking cannot miss it.
    word_lock lock;
    std::atomic<uint32_t> epoch{0};
    size_t sleepers = 0;  // under lock
    // Under lock: wake-ups sent that no sleeper has come back from yet. Without it every
    // enqueue until the woken worker takes the lock again made one more futex call (three
    // wakes per sleep in the restart benchmark).
    size_t waking = 0;

    /// Under lock: lets up to `n` sleeping workers wake (the caller calls wake(n) after unlocking).
    size_t note_wake(size_t n) {
      n = std::min(n, sleepers - waking);
      if (n > 0) {
        waking += n;
        epoch.fetch_add(1, std::memory_order_relaxed);
      }
      return n;
    }
    void wake(size_t n) {
      if (n > 0)
        futex_wake(epoch, static_cast<int>(n));
    }
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    worker_data(const worker_data&) : next(nullptr), chain(0) {}
    caf::resumable* next = nullptr;
    size_t chain = 0;
  };

  /// Queues `job`; wakes a sleeping worker unless `may_wake` is false.
  template <class Coordinator>
  void enqueue_shared(Coordinator* self, caf::resumable* job, bool may_wake = true) {
    auto& d = self->data();
    size_t wake;
    {
      std::lock_guard g{d.lock};
      d.queue.push_back(job);
      wake = d.note_wake(may_wake ? 1 : 0);
    }
    d.wake(wake);
  }

  template <class Coordinator>
  void enqueue_bulk(Coordinator* self, std::vector<caf::resumable*>& jobs) {
    auto& d = self->data();
    size_t wake;
    {
      std::lock_guard g{d.lock};
      for (auto* j : jobs)
        d.queue.push_back(j);
      wake = d.note_wake(jobs.size());
    }
    d.wake(wake);
  }

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    enqueue_shared(self, job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    enqueue_shared(self->parent(), job);
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    auto& w = self->data();
    if (w.chain >= max_chain) {
      w.chain = 0;
      enqueue_shared(self->parent(), job);
      return;
    }
    if (w.next != nullptr)
      enqueue_shared(self->parent(), w.next);
    w.next = job;
  }

  // A job that used up its turn: queued behind the others. A sleeping worker is woken only if
  // this one has its run-next job to do first: otherwise this worker dequeues next anyway (and
  // passes the baton if more than one job waits). Waking one every time moved a process that
  // yields after each drain batch to the other worker, each time.
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    enqueue_shared(self->parent(), job, self->data().next != nullptr);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& w = self->data();
    if (w.next != nullptr) {
      ++w.chain;
      return std::exchange(w.next, nullptr);
    }
    w.chain = 0;
    auto& d = self->parent()->data();
    std::unique_lock g{d.lock};
    while (d.queue.empty()) {
      ++d.sleepers;
      const auto seen = d.epoch.load(std::memory_order_relaxed);
      g.unlock();
      futex_wait(d.epoch, seen);
      g.lock();
      --d.sleepers;
      if (d.waking > 0)  // woken, or back early (its sleep came too late for the epoch)
        --d.waking;
    }
    auto job = d.queue.pop_front();
    // More work waiting and someone asleep: pass the baton so it does not sit behind us.
    const size_t wake = d.queue.empty() ? 0 : d.note_wake(1);
    g.unlock();
    d.wake(wake);
    return job;
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    if (auto job = std::exchange(self->data().next, nullptr))
      f(job);
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& d = self->data();
    std::lock_guard g{d.lock};
    while (!d.queue.empty())
      f(d.queue.pop_front());
  }
};

/// CAF wakes its clock thread at every actor's end to cancel the actor's timeouts, though a
/// corvid process never sets one (its timers are delayed messages): that was a fifth of a
/// crash-and-restart's CPU, and a clock thread wake-up per ended process. This clock passes
/// everything on to the coordinator's own and drops the cancellation for actors that never set a
/// timeout (a raw CAF actor's `request` with a timeout does).
class lean_clock final : public caf::detail::thread_safe_actor_clock {
public:
  explicit lean_clock(caf::detail::thread_safe_actor_clock& real) : real_(real) {}
  ~lean_clock() override {
    // The last cancellations ran on threads that CAF joined inside libcaf_core, where
    // ThreadSanitizer cannot see it: the lock orders them before the table goes.
    std::lock_guard<std::mutex> g{m_};
    timed_.clear();
  }
  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override {
    note(self);
    real_.set_ordinary_timeout(t, self, type, id);
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    note(self);
    real_.set_request_timeout(t, self, id);
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type, uint64_t id) override {
    note(self);
    real_.set_multi_timeout(t, self, type, id);
  }
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    real_.cancel_ordinary_timeout(self, type);
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    real_.cancel_request_timeout(self, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard<std::mutex> g{m_};
      if (timed_.erase(self->id()) == 0)
        return;
    }
    real_.cancel_timeouts(self);
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver, caf::mailbox_element_ptr content) override {
    real_.schedule_message(t, std::move(receiver), std::move(content));
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    real_.schedule_message(t, std::move(target), std::move(sender), std::move(content));
  }
  void cancel_all() override { real_.cancel_all(); }

private:
  void note(caf::abstract_actor* self) {
    std::lock_guard<std::mutex> g{m_};
    timed_.insert(self->id());
  }
  caf::detail::thread_safe_actor_clock& real_;
  std::mutex m_;
  std::unordered_set<caf::actor_id> timed_;  // actors that set a timeout and have not ended
};

class runnext_coordinator : public caf::scheduler::coordinator<runnext_policy> {
public:
  using super = caf::scheduler::coordinator<runnext_policy>;
  explicit runnext_coordinator(caf::actor_system& sys) : super(sys), lean_(super::clock()) {}
  caf::detail::thread_safe_actor_clock& clock() noexcept override { return lean_; }

private:
  lean_clock lean_;
};

} // namespace

void bulk_enqueue(caf::actor_system& sys, std::vector<caf::resumable*>& jobs) {
  if (jobs.empty())
    return;
  if (auto* c = dynamic_cast<runnext_coordinator*>(&sys.scheduler())) {
    runnext_policy{}.enqueue_bulk(c, jobs);
  } else {
    for (auto* j : jobs)
      sys.scheduler().enqueue(j);
  }
  jobs.clear();
}

void use_runnext_scheduler(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    return new runnext_coordinator(sys);
  });
}

} // namespace corvid::detail
