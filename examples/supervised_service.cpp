// A supervised job queue: the kind of service corvid is for.
//
//   top (one_for_one)
//   ├── queue     registered "jobs": holds pending jobs, hands them to idle workers, and
//   │             re-queues the job of a worker that died with it (monitors)
//   └── workers   (one_for_one supervisor)
//       ├── worker-1 ... worker-N: ask the queue for a job, compute it, report the result
//
// Crash injection: --crash-percent P makes that share of jobs throw inside the worker.
// Restarts are printed as they happen (telemetry); --dump prints the process table at the end.
//
//   supervised_service --jobs 200 --workers 4 --crash-percent 10 --dump

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <string>

#include "corvid/runtime.hpp"

using namespace corvid;
using namespace std::chrono_literals;

namespace {

struct options {
  int jobs = 200;
  int workers = 4;
  int crash_percent = 10;
  bool dump = false;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--jobs")
      o.jobs = next();
    else if (a == "--workers")
      o.workers = next();
    else if (a == "--crash-percent")
      o.crash_percent = next();
    else if (a == "--dump")
      o.dump = true;
    else {
      std::fprintf(stderr, "usage: %s [--jobs N] [--workers N] [--crash-percent P] [--dump]\n", argv[0]);
      std::exit(2);
    }
  }
  return o;
}

using take_atom = caf::atom_constant<caf::atom("take")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

// The queue: jobs wait here; a worker's "take" call is answered when a job is available.
behavior queue(process& self, int jobs, std::promise<int>& finished) {
  struct state {
    std::deque<int> pending;
    std::deque<std::pair<pid, reply_handle>> idle;   // workers waiting for a job
    std::map<uint64_t, std::pair<pid, int>> running;  // monitor ref -> (worker, job)
    int completed = 0, total = 0;
  };
  auto st = std::make_shared<state>();
  self.hold(st);
  st->total = jobs;
  for (int j = 1; j <= jobs; ++j)
    st->pending.push_back(j);
  auto dispatch = [st, &self] {
    while (!st->pending.empty() && !st->idle.empty()) {
      auto [w, rh] = std::move(st->idle.front());
      st->idle.pop_front();
      auto job = st->pending.front();
      st->pending.pop_front();
      st->running[self.monitor(w)] = {w, job};
      rh.deliver(job);
    }
  };
  self.on_down([st, dispatch](down_signal& d) {
    auto i = st->running.find(d.ref);
    if (i == st->running.end())
      return;
    std::printf("[queue]   job %d re-queued: its worker %s died (%s)\n", i->second.second,
                d.who.to_string().c_str(), describe(d.reason).c_str());
    st->pending.push_front(i->second.second);
    st->running.erase(i);
    dispatch();
  });
  return {
    [st, &self, dispatch](take_atom) {
      st->idle.emplace_back(self.sender(), self.reply_later());
      dispatch();
      return 0;  // ignored: the reply is given by dispatch
    },
    [st, &self, &finished](done_atom, int job, long long result) {
      for (auto i = st->running.begin(); i != st->running.end(); ++i) {
        if (i->second.second == job) {
          self.demonitor(i->first);
          st->running.erase(i);
          break;
        }
      }
      if (job % 50 == 0)
        std::printf("[queue]   job %d = %lld\n", job, result);
      if (++st->completed == st->total)
        finished.set_value(st->completed);
    },
  };
}

long long work(int job) {
  long long a = 0, b = 1;
  for (int i = 0; i < 40 + job % 40; ++i)
    a = std::exchange(b, a + b);
  return a;
}

// A worker asks for a job, computes it (or crashes on purpose), reports, and asks again.
behavior worker(process& self, int crash_percent) {
  auto ask = std::make_shared<std::function<void()>>();
  *ask = [&self, ask, crash_percent] {
    self.call(whereis(self.rt(), "jobs"), 1h, take_atom::value)
      .then(
        [&self, ask, crash_percent](int job) {
          if (std::rand() % 100 < crash_percent)
            throw std::runtime_error("job " + std::to_string(job) + " crashed");
          self.send(whereis(self.rt(), "jobs"), done_atom::value, job, work(job));
          (*ask)();
        },
        [&self](caf::error& e) { self.exit(e); });
  };
  (*ask)();
  return {[](int) {}};
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  std::srand(42);
  runtime rt;
  telemetry::attach("corvid.supervisor.restart", [](const telemetry::event& e) {
    std::printf("[restart] %s restarted (#%.0f) after: %s\n", e.metadata.at("child").c_str(),
                e.measurements.at("restarts"), e.metadata.at("reason").c_str());
  });
  std::printf("starting %d workers; %d jobs, %d%% of them crash their worker\n", opt.workers, opt.jobs,
              opt.crash_percent);
  std::promise<int> finished;
  std::vector<child_spec> workers;
  for (int i = 1; i <= opt.workers; ++i)
    workers.push_back(child_spec::worker("worker-" + std::to_string(i), [c = opt.crash_percent](process& self) {
      return worker(self, c);
    }));
  supervisor_flags worker_flags;
  worker_flags.intensity = 1000;  // crashes are the point of this demo
  worker_flags.period = 1s;
  spawn_options qopt;
  qopt.name = "jobs";
  auto top = start_supervisor(rt, {}, {
    child_spec::worker("queue", [&](process& self) { return queue(self, opt.jobs, finished); }, qopt),
    supervisor_spec("workers", worker_flags, workers),
  }, [] {
    spawn_options o;
    o.name = "top";
    return o;
  }());
  if (!top) {
    std::fprintf(stderr, "could not start: %s\n", describe(top.error()).c_str());
    return 1;
  }
  auto fut = finished.get_future();
  if (fut.wait_for(60s) != std::future_status::ready) {
    std::fprintf(stderr, "jobs did not finish in time\n%s", dump(rt).c_str());
    return 1;
  }
  int restarts = 0;
  for (auto& p : processes(rt))
    restarts += static_cast<int>(p.restarts);
  std::printf("done: %d jobs completed, %d worker restarts\n", fut.get(), restarts);
  if (opt.dump)
    std::printf("\n%s", dump(rt).c_str());
  return 0;
}
