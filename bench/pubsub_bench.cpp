// pubsub benchmark: fan-out latency, broadcast throughput, memory per subscription, and the
// same fan-out with raw CAF for comparison. Prints `figure<TAB>value<TAB>unit` lines.
//
//   pubsub_bench            all figures (memory is measured in a child process of its own)
//   pubsub_bench --memory N only the memory figures, for N subscriptions
//   pubsub_bench --fanout N corvid|sharing|stealing THRESHOLD [ROUNDS]   one fan-out setting (for
//                                                         profiling; median of ROUNDS, default 20)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>

#include "corvid/pubsub.hpp"
#include "corvid/runtime.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

void figure(const std::string& name, double value, const char* unit) {
  std::printf("%s\t%.6g\t%s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

/// Counts arrivals; the one that reaches the target wakes the waiter.
struct latch {
  std::atomic<uint64_t> count{0};
  uint64_t target = 0;
  std::mutex m;
  std::condition_variable cv;
  void hit() {
    if (count.fetch_add(1, std::memory_order_relaxed) + 1 == target) {
      std::lock_guard<std::mutex> g{m};
      cv.notify_all();
    }
  }
  void arm(uint64_t n) {
    count = 0;
    target = n;
  }
  bool wait(std::chrono::seconds limit = 120s) {
    std::unique_lock<std::mutex> g{m};
    return cv.wait_for(g, limit, [this] { return count.load() >= target; });
  }
};

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

corvid::runtime_options options(const std::string& scheduler) {
  corvid::runtime_options o;
  o.threads = 2;
  o.scheduler = scheduler;
  return o;
}

std::vector<corvid::pid> subscribers(corvid::runtime& rt, corvid::pubsub::hub& ps, size_t n, latch& l,
                                     const std::string& topic) {
  std::vector<corvid::pid> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto p = corvid::spawn(rt, [&l](corvid::process&) -> corvid::behavior {
      return {[&l](int) { l.hit(); }};
    });
    if (!p || ps.subscribe(*p, topic)) {
      std::cerr << "setup failed\n";
      std::exit(1);
    }
    out.push_back(*p);
  }
  return out;
}

/// One broadcast to n subscribers, until the last has handled it; median of `rounds`.
double corvid_fanout(size_t n, const std::string& scheduler, size_t threshold, int rounds = 5) {
  corvid::runtime rt{options(scheduler)};
  corvid::pubsub::hub_options ho;
  ho.dispatch_threshold = threshold;
  std::vector<double> ts;
  {
    corvid::pubsub::hub ps{rt, ho};
    latch l;
    auto subs = subscribers(rt, ps, n, l, "fan");
    for (int r = 0; r < rounds; ++r) {
      l.arm(n);
      auto t0 = steady::now();
      (void) ps.broadcast("fan", r);
      if (!l.wait()) {
        std::cerr << "fan-out incomplete: " << l.count.load() << "/" << n << "\n";
        std::exit(1);
      }
      ts.push_back(ms_since(t0));
    }
    rt.shutdown_all(60s);
  }
  return median(ts);
}

/// Broadcasts per second to 1,000 subscribers, counting until every copy was handled.
double corvid_throughput(size_t n, size_t broadcasts) {
  corvid::runtime rt{options("corvid")};
  double rate = 0;
  {
    corvid::pubsub::hub ps{rt};
    latch l;
    auto subs = subscribers(rt, ps, n, l, "tp");
    l.arm(n * broadcasts);
    auto t0 = steady::now();
    for (size_t i = 0; i < broadcasts; ++i)
      (void) ps.broadcast("tp", int(i));
    if (!l.wait()) {
      std::cerr << "throughput run incomplete: " << l.count.load() << "\n";
      std::exit(1);
    }
    rate = double(broadcasts) / (ms_since(t0) / 1000.0);
    if (ps.stats().failed != 0)
      std::cerr << "note: " << ps.stats().failed << " deliveries refused\n";
    rt.shutdown_all(60s);
  }
  return rate;
}

/// The same fan-out with raw CAF: n actors, one anon_send each from this thread.
double rawcaf_fanout(size_t n, const std::string& scheduler, int rounds = 5) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.max-throughput", 300);
  cfg.set("scheduler.policy", caf::atom_from_string(scheduler));
  std::vector<double> ts;
  {
    caf::actor_system sys{cfg};
    latch l;
    std::vector<caf::actor> actors;
    actors.reserve(n);
    for (size_t i = 0; i < n; ++i)
      actors.push_back(sys.spawn([&l](caf::event_based_actor*) -> caf::behavior {
        return {[&l](int) { l.hit(); }};
      }));
    for (int r = 0; r < rounds; ++r) {
      l.arm(n);
      auto t0 = steady::now();
      auto msg = caf::make_message(r);
      for (auto& a : actors)
        caf::anon_send(a, msg);
      l.wait();
      ts.push_back(ms_since(t0));
    }
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  }
  return median(ts);
}

size_t rss_bytes() {
  std::ifstream f{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  f >> pages >> resident;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

/// Memory figures for n subscriptions, in this (fresh) process.
void memory(size_t n) {
  corvid::runtime rt{options("corvid")};
  {
    corvid::pubsub::hub ps{rt};
    std::vector<corvid::pid> ps_;
    for (size_t i = 0; i < n; ++i)
      ps_.push_back(*corvid::spawn(rt, [](corvid::process&) -> corvid::behavior { return {[](int) {}}; }));
    auto before = rss_bytes();
    for (auto& p : ps_)
      (void) ps.subscribe(p, "mem");
    auto first = rss_bytes();
    for (auto& p : ps_)
      (void) ps.subscribe(p, "mem2");
    auto second = rss_bytes();
    figure("memory_per_subscription_bytes", double(first - before) / double(n), "B");
    figure("memory_per_extra_subscription_bytes", double(second - first) / double(n), "B");
    rt.shutdown_all(60s);
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--memory") == 0) {
    memory(std::stoul(argv[2]));
    return 0;
  }
  if ((argc == 5 || argc == 6) && std::strcmp(argv[1], "--fanout") == 0) {  // one configuration, for profiling
    int rounds = argc == 6 ? std::stoi(argv[5]) : 20;
    figure("pubsub_fanout_ms", corvid_fanout(std::stoul(argv[2]), argv[3], std::stoul(argv[4]), rounds), "ms");
    return 0;
  }
  const size_t big = 1'000'000'000;
  // The runtime's default scheduler ("corvid") for the main figures; CAF's stock policies for comparison.
  figure("pubsub_fanout_10k_ms", corvid_fanout(10'000, "corvid", 2048), "ms");
  figure("pubsub_fanout_100k_ms", corvid_fanout(100'000, "corvid", 2048), "ms");
  figure("pubsub_fanout_100k_inline_ms", corvid_fanout(100'000, "corvid", big), "ms");
  figure("pubsub_fanout_100k_sharing_ms", corvid_fanout(100'000, "sharing", 2048), "ms");
  figure("pubsub_fanout_100k_stealing_ms", corvid_fanout(100'000, "stealing", 2048), "ms");
  figure("broadcasts_per_s_1k", corvid_throughput(1'000, 2'000), "1/s");
  figure("rawcaf_pubsub_fanout_100k_ms", rawcaf_fanout(100'000, "sharing"), "ms");
  figure("rawcaf_pubsub_fanout_100k_stealing_ms", rawcaf_fanout(100'000, "stealing"), "ms");
  // Memory in a fresh process: freed memory of the runs above would hide the growth.
  std::string cmd = std::string{"'"} + argv[0] + "' --memory 100000";
  if (auto* f = popen(cmd.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      std::fputs(line, stdout);
    pclose(f);
  }
  return 0;
}
