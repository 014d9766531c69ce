// Runtime benchmarks: corvid next to raw CAF 0.17 on the same scheduler settings.
// Each scenario runs in a fresh process. Usage: bench_runtime [scenario-filter]
// Figures (figure<TAB>value<TAB>unit): spawn_per_process_us, memory_per_process_bytes,
// send_throughput_per_s (median of BENCH_SEND_ROUNDS rounds), pingpong_rtt_us,
// call_throughput_per_s, flood_rss_delta_mib, crash_restart_us, crash_restart_sustained_us,
// child_exit_among_siblings_us; raw CAF's twins are prefixed rawcaf_.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "bench_util.hpp"
#include "corvid/runtime.hpp"

using namespace corvid;
using namespace corvid::bench;
using namespace std::chrono_literals;

namespace {

runtime_options opts() {
  runtime_options o;
  o.threads = 2;
  if (auto p = std::getenv("BENCH_POLICY"))
    o.scheduler = p;
  return o;
}

// Raw CAF with the same scheduler settings as corvid's runtime.
struct raw_config : caf::actor_system_config {
  raw_config() { corvid::configure(*this, opts()); }
};

[[noreturn]] void finish() {
  std::fflush(stdout);
  std::_Exit(0);  // skip tearing down a million actors: the figures are printed
}

// -- spawn ----------------------------------------------------------------------------

void spawn_corvid() {
  auto n = env_or("BENCH_SPAWN_N", 1'000'000);
  runtime rt{opts()};
  std::vector<pid> keep;
  keep.reserve(n);
  auto rss0 = status_kb("VmRSS");
  auto t0 = clock::now();
  for (size_t i = 0; i < n; ++i)
    keep.push_back(*spawn(rt, [](process&) -> behavior { return {[](int) {}}; }));
  // Wait until every init ran (each handled its start nudge): one call to the last proves order per worker;
  // a call to each is too slow, so poll the idle-state counters instead.
  auto us = us_since(t0);
  figure("spawn_per_process_us", us / double(n), "us");
  // Settle: let the scheduler run every init before reading RSS.
  while (stats(keep.back()).handled == 0 && !call<caf::message>(keep.back(), 5s, 0))
    ;
  std::this_thread::sleep_for(200ms);
  auto rss1 = status_kb("VmRSS");
  figure("memory_per_process_bytes", double(rss1 - rss0) * 1024.0 / double(n), "bytes");
  finish();
}

void spawn_rawcaf() {
  auto n = env_or("BENCH_SPAWN_N", 1'000'000);
  raw_config cfg;
  caf::actor_system sys{cfg};
  std::vector<caf::actor> keep;
  keep.reserve(n);
  auto rss0 = status_kb("VmRSS");
  auto t0 = clock::now();
  for (size_t i = 0; i < n; ++i)
    keep.push_back(sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; }));
  auto us = us_since(t0);
  figure("rawcaf_spawn_per_process_us", us / double(n), "us");
  std::this_thread::sleep_for(200ms);
  auto rss1 = status_kb("VmRSS");
  figure("rawcaf_memory_per_process_bytes", double(rss1 - rss0) * 1024.0 / double(n), "bytes");
  finish();
}

// -- ping-pong --------------------------------------------------------------------------

void pingpong_corvid() {
  int n = static_cast<int>(env_or("BENCH_PINGPONG_N", 1'000'000));
  runtime rt{opts()};
  std::promise<void> done;
  auto pong = *spawn(rt, [](process& self) -> behavior {
    return {[&self](int x) { self.send(self.sender(), x); }};
  });
  auto ping = *spawn(rt, [&done, n, pong](process& self) -> behavior {
    return {[&self, &done, n, pong](int x) {
      if (x == n)
        done.set_value();
      else
        self.send(pong, x + 1);
    }};
  });
  auto t0 = clock::now();
  send(ping, 0);
  done.get_future().wait();
  figure("pingpong_rtt_us", us_since(t0) / n, "us");
  finish();
}

void pingpong_rawcaf() {
  int n = static_cast<int>(env_or("BENCH_PINGPONG_N", 1'000'000));
  raw_config cfg;
  caf::actor_system sys{cfg};
  std::promise<void> done;
  auto pong = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int x) { self->send(caf::actor_cast<caf::actor>(self->current_sender()), x); }};
  });
  auto ping = sys.spawn([&done, n, pong](caf::event_based_actor* self) -> caf::behavior {
    return {[self, &done, n, pong](int x) {
      if (x == n)
        done.set_value();
      else
        self->send(pong, x + 1);
    }};
  });
  auto t0 = clock::now();
  caf::anon_send(ping, 0);
  done.get_future().wait();
  figure("rawcaf_pingpong_rtt_us", us_since(t0) / n, "us");
  finish();
}

// -- send throughput (one thread sender, bound enforced by backpressure) -----------------------
// BENCH_SEND_ROUNDS rounds of BENCH_SEND_N messages to one receiver; the figure is the median
// round. This machine has phases of a few seconds in which a thread sender and a receiver that
// keeps up pay much more for sleeping and waking, and one round caught in one decided the figure.

// The median of the rounds' throughputs.
double median_rate(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int send_rounds() { return std::max(1, static_cast<int>(env_or("BENCH_SEND_ROUNDS", 5))); }

void send_corvid() {
  int n = static_cast<int>(env_or("BENCH_SEND_N", 2'000'000));
  const int rounds = send_rounds();
  runtime rt{opts()};
  std::vector<std::promise<void>> done(rounds);
  spawn_options so;
  so.mailbox = mailbox_options{10'000, overflow::backpressure, 0, {}};
  auto sink = *spawn(rt, [&done, n](process&) -> behavior {
    return {[&done, n, count = 0](int) mutable {
      if (++count % n == 0)
        done[count / n - 1].set_value();
    }};
  }, so);
  std::vector<double> rates;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clock::now();
    for (int i = 0; i < n; ++i)
      if (send_wait(sink, 10s, i))
        std::abort();
    done[r].get_future().wait();
    rates.push_back(n / (us_since(t0) / 1e6));
  }
  figure("send_throughput_per_s", median_rate(rates), "per_s");
  figure("send_throughput_min_per_s", *std::min_element(rates.begin(), rates.end()), "per_s");
  figure("send_peak_mailbox", double(stats(sink).high_water), "messages");
  finish();
}

void send_rawcaf() {
  int n = static_cast<int>(env_or("BENCH_SEND_N", 2'000'000));
  const int rounds = send_rounds();
  raw_config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::promise<void>> done(rounds);
  auto sink = sys.spawn([&done, n](caf::event_based_actor*) -> caf::behavior {
    return {[&done, n, count = 0](int) mutable {
      if (++count % n == 0)
        done[count / n - 1].set_value();
    }};
  });
  std::vector<double> rates;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = clock::now();
    for (int i = 0; i < n; ++i)
      caf::anon_send(sink, i);
    done[r].get_future().wait();
    rates.push_back(n / (us_since(t0) / 1e6));
  }
  figure("rawcaf_send_throughput_per_s", median_rate(rates), "per_s");
  figure("rawcaf_send_throughput_min_per_s", *std::min_element(rates.begin(), rates.end()), "per_s");
  finish();
}

// -- call throughput (one calling process) ------------------------------------------------

void call_corvid() {
  int n = static_cast<int>(env_or("BENCH_CALL_N", 1'000'000));
  runtime rt{opts()};
  std::promise<void> done;
  auto server = *spawn(rt, [](process&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto client = *spawn(rt, [&done, n, server](process& self) -> behavior {
    auto next = std::make_shared<std::function<void(int)>>();
    *next = [&self, &done, n, server, next](int x) {
      if (x == n) {
        done.set_value();
        return;
      }
      self.call(server, 5s, x).then([next](int r) { (*next)(r); }, [](caf::error&) { std::abort(); });
    };
    return {[next](caf::ok_atom) { (*next)(0); }};
  });
  auto t0 = clock::now();
  send(client, caf::ok_atom::value);
  done.get_future().wait();
  figure("call_throughput_per_s", n / (us_since(t0) / 1e6), "per_s");
  finish();
}

void call_rawcaf() {
  int n = static_cast<int>(env_or("BENCH_CALL_N", 1'000'000));
  raw_config cfg;
  caf::actor_system sys{cfg};
  std::promise<void> done;
  auto server = sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x + 1; }}; });
  auto client = sys.spawn([&done, n, server](caf::event_based_actor* self) -> caf::behavior {
    auto next = std::make_shared<std::function<void(int)>>();
    *next = [self, &done, n, server, next](int x) {
      if (x == n) {
        done.set_value();
        return;
      }
      self->request(server, caf::infinite, x).then([next](int r) { (*next)(r); });
    };
    return {[next](caf::ok_atom) { (*next)(0); }};
  });
  auto t0 = clock::now();
  caf::anon_send(client, caf::ok_atom::value);
  done.get_future().wait();
  figure("rawcaf_call_throughput_per_s", n / (us_since(t0) / 1e6), "per_s");
  finish();
}

// -- a slow consumer flooded by a fast thread producer -------------------------------------

// The consumer "works" 1 ms per message. Sleeping in a handler is forbidden in corvid code;
// here it stands in for CPU work so that both runs see the same consumer speed.
void flood_corvid() {
  auto secs = env_or("BENCH_FLOOD_S", 5);
  runtime rt{opts()};
  auto sink = *spawn(rt, [](process&) -> behavior {
    return {[](const std::string&) { std::this_thread::sleep_for(1ms); }};
  });
  auto hwm0 = status_kb("VmHWM");
  std::string payload(100, 'x');
  auto until = clock::now() + std::chrono::seconds(secs);
  uint64_t sent = 0, refused = 0;
  while (clock::now() < until) {
    for (int i = 0; i < 1000; ++i)
      (send(sink, payload) ? refused : sent)++;
  }
  auto hwm1 = status_kb("VmHWM");
  figure("flood_rss_delta_mib", double(hwm1 - hwm0) / 1024.0, "MiB");
  figure("flood_accepted", double(sent), "messages");
  figure("flood_refused", double(refused), "messages");
  finish();
}

void flood_rawcaf() {
  auto secs = env_or("BENCH_FLOOD_S", 5);
  raw_config cfg;
  caf::actor_system sys{cfg};
  auto sink = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](const std::string&) { std::this_thread::sleep_for(1ms); }};
  });
  auto hwm0 = status_kb("VmHWM");
  std::string payload(100, 'x');
  auto until = clock::now() + std::chrono::seconds(secs);
  uint64_t sent = 0;
  while (clock::now() < until) {
    for (int i = 0; i < 1000; ++i, ++sent)
      caf::anon_send(sink, payload);
  }
  auto hwm1 = status_kb("VmHWM");
  figure("rawcaf_flood_rss_delta_mib", double(hwm1 - hwm0) / 1024.0, "MiB");
  figure("rawcaf_flood_accepted", double(sent), "messages");
  finish();
}

// -- supervisor crash -> restart ------------------------------------------------------------

// A driver process crashes the child; the restarted child's init reports to the driver.
// The figure is the time from the crash order to that report.
void restart_corvid() {
  auto n = env_or("BENCH_RESTART_N", 10'000);
  auto sustained = env_or("BENCH_RESTART_SUSTAINED_N", 100'000);
  runtime rt{opts()};
  std::promise<void> done;
  std::vector<double> samples;
  samples.reserve(n + sustained);
  spawn_options dopt;
  dopt.name = "driver";
  auto driver = *spawn(rt, [&](process& self) -> behavior {
    auto t = std::make_shared<clock::time_point>();
    return {[&, t](caf::ok_atom, pid child) {
      if (*t != clock::time_point{})
        samples.push_back(us_since(*t));
      if (samples.size() == n + sustained) {
        done.set_value();
        return;
      }
      *t = clock::now();
      self.send(child, std::string{"crash"});
    }};
  }, dopt);
  supervisor_flags f;
  f.intensity = 1'000'000'000;
  f.period = 1s;
  auto worker = child_spec::worker("w", [&rt](process& self) -> behavior {
    self.send(whereis(rt, "driver"), caf::ok_atom::value, self.self());
    return {[](const std::string&) { throw std::runtime_error("crash"); }};
  });
  auto sup = start_supervisor(rt, f, {worker});
  if (!sup)
    std::abort();
  done.get_future().wait();
  double a = 0, b = 0;
  for (size_t i = 0; i < n; ++i)
    a += samples[i];
  for (size_t i = n + sustained / 2; i < n + sustained; ++i)
    b += samples[i];
  figure("crash_restart_us", a / double(n), "us");
  figure("crash_restart_sustained_us", b / double(sustained - sustained / 2), "us");
  (void) driver;
  finish();
}

// -- children ending under a supervisor with many siblings -------------------------------

// A dynamic supervisor holds n transient children; all are told to end normally at once. The
// figure is the time until the supervisor counts none, per child: flat in n when ending a
// link costs O(1) (CAF's own links made it O(n) per child, O(n^2) in all).
void exit_among_siblings() {
  auto n = env_or("BENCH_SIBLINGS_N", 50'000);
  runtime rt{opts()};
  auto sup = start_dynamic_supervisor(rt);
  if (!sup)
    std::abort();
  std::vector<pid> kids;
  kids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto spec = child_spec::worker("", [](process& self) -> behavior { return {[&self](int) { self.exit(); }}; },
                                   {}, restart::transient);
    auto p = start_child(*sup, std::move(spec));
    if (!p)
      std::abort();
    kids.push_back(*p);
  }
  auto t0 = clock::now();
  for (auto& k : kids)
    send(k, 0);
  for (;;) {
    auto c = count_children(*sup, 60s);
    if (!c)
      std::abort();
    if (c->active == 0)
      break;
    std::this_thread::sleep_for(1ms);
  }
  figure("child_exit_among_siblings_us", us_since(t0) / double(n), "us");
  finish();
}

} // namespace

int main(int argc, char** argv) {
  return run_scenarios(argc, argv, {
    {"spawn_corvid", spawn_corvid},       {"spawn_rawcaf", spawn_rawcaf},
    {"pingpong_corvid", pingpong_corvid}, {"pingpong_rawcaf", pingpong_rawcaf},
    {"send_corvid", send_corvid},         {"send_rawcaf", send_rawcaf},
    {"call_corvid", call_corvid},         {"call_rawcaf", call_rawcaf},
    {"flood_corvid", flood_corvid},       {"flood_rawcaf", flood_rawcaf},
    {"restart_corvid", restart_corvid},   {"exit_among_siblings", exit_among_siblings},
  });
}
