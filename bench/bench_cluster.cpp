// Cluster benchmarks: two nodes (two runtimes in this process) over loopback TCP, through the
// whole path a remote message takes: codec registry, Protobuf frame, lanes, socket, and back.
// Figures (figure<TAB>value<TAB>unit): cluster_rtt_us (a process pings a process on the other
// node and waits for each answer), cluster_oneway_per_s (a process streams small messages to
// the other node; sends refused as overloaded are retried after a yield).

#include <future>
#include <thread>

#include "bench_util.hpp"
#include "round_trips.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/runtime.hpp"

using namespace corvid;
using namespace corvid::bench;
using namespace std::chrono_literals;

namespace {

struct pair_of_nodes {
  runtime a{make("a@bench")}, b{make("b@bench")};
  std::shared_ptr<cluster::node> na, nb;
  static runtime_options make(const char* name) {
    runtime_options o;
    o.threads = 1;  // one worker per node: the two nodes share the 2 cores with the I/O threads
    o.node = name;
    return o;
  }
  pair_of_nodes() {
    cluster::node_options o;
    o.wire.secret = "benchmark secret, at least thirty-two bytes long";
    na = cluster::node::start(a, o).value();
    o.seeds = {"127.0.0.1:" + std::to_string(na->port())};
    nb = cluster::node::start(b, o).value();
    while (na->members().empty() || !na->members()[0].up || nb->members().empty() || !nb->members()[0].up)
      std::this_thread::sleep_for(1ms);  // setup, outside the measured part
  }
  pid in_b_from_a(const pid& p) { return remote_pid(a, local_node(b), p.local_id()); }
};

[[noreturn]] void finish() {
  std::fflush(stdout);
  std::_Exit(0);
}

void rtt() {
  int n = static_cast<int>(env_or("BENCH_CLUSTER_RTT_N", 20'000));
  pair_of_nodes p;
  auto pong = *spawn(p.b, [](process& self) -> behavior {
    return {[&self](int64_t x) { (void) self.send(self.sender(), x); }};
  });
  figure("cluster_rtt_us", mean_round_trip_us(p.a, p.in_b_from_a(pong), n), "us");
  finish();
}

void oneway() {
  int n = static_cast<int>(env_or("BENCH_CLUSTER_ONEWAY_N", 500'000));
  pair_of_nodes p;
  std::promise<void> done;
  // Its mailbox holds every message: a remote delivery into a full one is dropped, and the
  // count would never be reached (a transport figure, not the receiver's bound).
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = static_cast<size_t>(n);
  auto sink = *spawn(p.b, [&done, n, seen = 0](process&) mutable -> behavior {
    return {[&done, n, &seen](int) {
      if (++seen == n)
        done.set_value();
    }};
  }, so);
  auto far = p.in_b_from_a(sink);
  std::atomic<uint64_t> retries{0};
  auto t0 = clock::now();
  std::thread sender([&] {
    for (int i = 0; i < n; ++i)
      while (send(far, i) == errc::overloaded) {
        retries.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
  });
  if (done.get_future().wait_for(120s) != std::future_status::ready) {
    std::fprintf(stderr, "bench_cluster: the sink did not get them all within 120 s\n");
    std::fflush(stdout);
    std::_Exit(1);
  }
  auto secs = us_since(t0) / 1e6;
  sender.join();
  figure("cluster_oneway_per_s", n / secs, "per_s");
  figure("cluster_oneway_overloaded_retries", static_cast<double>(retries.load()), "count");
  finish();
}

} // namespace

int main(int argc, char** argv) {
  return run_scenarios(argc, argv, {{"cluster_rtt", rtt}, {"cluster_oneway", oneway}});
}
