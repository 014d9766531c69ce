// Cluster benchmarks with other nodes as separate OS processes (bench/cluster_peer.cpp, found
// next to this program), one node here (the publisher, the sender) and the others on loopback.
// Figures (figure<TAB>value<TAB>unit):
//   cluster_rtt_os_us, cluster_oneway_os_per_s  bench_cluster's round trip and one-way rate, the
//       other node being an OS process (as Erlang's always is)
//   cluster_broadcast_3_acked_median_us, _p99_us  a pubsub broadcast here, one subscriber on
//       each of 3 other nodes acks it to the publisher; from broadcast until the 3rd ack
//   cluster_broadcasts_per_s_3  broadcasts to 3 nodes, all delivered (subscribers count them;
//       the sender keeps at most `window` unacknowledged, so no lane is ever full, and checks
//       that every subscriber got every one)
//   cluster_frozen_detect_s  a node is SIGSTOPped; until the last of the 3 others saw it down,
//       with the options printed as cluster_frozen_heartbeat_ms and cluster_frozen_dead_after_ms
//   cluster_flood_*  a frozen peer is flooded for 10 s with 4 KiB messages, while a process
//       here pings a healthy peer: the sender's RSS growth against its data-lane cap, the
//       healthy round trip's p99, sends accepted and refused as overloaded. The frozen peer
//       stays a member the whole time (dead_after and stuck_after 30 s here): the most that
//       can queue, not how soon it is dropped.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "round_trips.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/cluster/pubsub_adapter.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime.hpp"

extern char** environ;

using namespace corvid;
using namespace corvid::bench;
using namespace std::chrono_literals;

namespace {

const std::string secret = "benchmark secret, at least thirty-two bytes long";

/// The node options of one scenario, the same on every node of it.
struct timing {
  long heartbeat_ms = 250;   // what a user wanting detection within 2 s would set
  long dead_after_ms = 1500;
  long stuck_after_ms = 10000;
};

/// The peers running now: killed on the way out, whatever the way (a stopped one would stay).
std::vector<pid_t> running_peers;

void kill_peers() {
  for (auto p : running_peers) {
    kill(p, SIGCONT);
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
  running_peers.clear();
}

/// Ends the scenario without destroying its nodes (their processes refer to its locals).
[[noreturn]] void finish(int status = 0) {
  kill_peers();
  std::fflush(stdout);
  std::_Exit(status);
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "bench_cluster_nodes: %s\n", why.c_str());
  finish(1);
}

/// A cluster_peer process; finish() kills it.
struct peer {
  pid_t os_pid = -1;
  int to = -1, from = -1;
  std::string name;
  uint16_t port = 0;
  uint64_t echo_id = 0, sink_id = 0, sub_id = 0, incarnation = 0;

  peer(const std::string& node_name, const std::string& seed, const timing& t) : name(node_name) {
    static const std::string exe = [] {
      std::string self(4096, '\0');
      auto n = readlink("/proc/self/exe", self.data(), self.size());
      self.resize(n > 0 ? static_cast<size_t>(n) : 0);
      return self.substr(0, self.rfind('/') + 1) + "cluster_peer";
    }();
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0)
      die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    std::vector<std::string> args{exe, name, secret, seed, std::to_string(t.heartbeat_ms),
                                  std::to_string(t.dead_after_ms), std::to_string(t.stuck_after_ms)};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&os_pid, exe.c_str(), &fa, nullptr, argv.data(), environ) != 0)
      die("cannot start " + exe);
    running_peers.push_back(os_pid);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    to = in[1];
    from = out[0];
    std::istringstream is{line(10s)};
    std::string word;
    is >> word >> port >> echo_id >> sink_id >> sub_id >> incarnation;
    if (word != "ready")
      die(name + " did not start");
  }
  peer(const peer&) = delete;
  /// The next line it prints, or "" after `limit`.
  std::string line(std::chrono::milliseconds limit) {
    auto end = clock::now() + limit;
    std::string l;
    char c;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
      pollfd p{from, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) != 1 || read(from, &c, 1) != 1)
        return "";
      if (c == '\n')
        return l;
      l += c;
    }
  }
  size_t members_up() {
    std::string cmd = "members\n";
    if (write(to, cmd.data(), cmd.size()) != static_cast<ssize_t>(cmd.size()))
      die("write to " + name);
    auto l = line(5s);
    return l.rfind("members ", 0) == 0 ? std::stoul(l.substr(8)) : 0;
  }
  node_id id() const { return {name, incarnation}; }
};

/// This process's node: a runtime, its cluster node and a hub whose broadcasts cross nodes.
struct here {
  runtime rt;
  std::shared_ptr<cluster::node> node;
  std::shared_ptr<cluster::pubsub_adapter> adapter;
  std::unique_ptr<pubsub::hub> hub;

  explicit here(const timing& t) : rt(opts()) {
    cluster::node_options o;
    o.wire.secret = secret;
    o.wire.heartbeat_interval = std::chrono::milliseconds(t.heartbeat_ms);
    o.wire.dead_after = std::chrono::milliseconds(t.dead_after_ms);
    o.wire.stuck_after = std::chrono::milliseconds(t.stuck_after_ms);
    auto started = cluster::node::start(rt, o);
    if (!started)
      die(cluster::to_string(started.err()));
    node = started.value();
    adapter = std::make_shared<cluster::pubsub_adapter>(rt, node);
    pubsub::hub_options ho;
    ho.adapter = adapter;
    hub = std::make_unique<pubsub::hub>(rt, ho);
    adapter->attach(*hub);
  }
  static runtime_options opts() {
    runtime_options o;
    o.threads = 1;
    o.node = "bench@here";
    return o;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }
  size_t members_up() const {
    size_t n = 0;
    for (auto& m : node->members())
      n += m.up ? 1 : 0;
    return n;
  }
};

/// Starts `names` as peers of `h`, and waits until all of them are members of each other.
std::vector<std::unique_ptr<peer>> start_peers(here& h, const std::vector<std::string>& names, const timing& t) {
  std::vector<std::unique_ptr<peer>> ps;
  for (auto& n : names)
    ps.push_back(std::make_unique<peer>(n, h.address(), t));
  auto deadline = clock::now() + 20s;
  for (;;) {
    bool all = h.members_up() == names.size();
    for (auto& p : ps)
      all = all && p->members_up() == names.size();
    if (all)
      return ps;
    if (clock::now() > deadline)
      die("the peers did not form a full mesh within 20 s");
    std::this_thread::sleep_for(20ms);
  }
}

double percentile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs.empty() ? 0 : xs[std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())))];
}

const std::vector<std::string> three = {"p1@bench", "p2@bench", "p3@bench"};

void rtt_os() {
  int n = static_cast<int>(env_or("BENCH_CLUSTER_RTT_N", 20'000));
  timing t;
  here h{t};
  {
    auto peers = start_peers(h, {"p1@bench"}, t);
    auto echo = remote_pid(h.rt, peers[0]->id(), peers[0]->echo_id);
    auto us = mean_round_trip_us(h.rt, echo, n);
    if (us < 0)
      die("round trips stopped");
    figure("cluster_rtt_os_us", us, "us");
    finish();
  }
}

void oneway_os() {
  int64_t n = static_cast<int64_t>(env_or("BENCH_CLUSTER_ONEWAY_N", 500'000));
  timing t;
  here h{t};
  {
    auto peers = start_peers(h, {"p1@bench"}, t);
    auto sub = remote_pid(h.rt, peers[0]->id(), peers[0]->sub_id);  // reports its count at the n-th
    std::promise<void> done;
    auto me = *spawn(h.rt, [&done, n](process&) -> behavior {
      return {[&done, n](int64_t count) {
        if (count == n)
          done.set_value();
      }};
    });
    uint64_t retries = 0;
    auto t0 = clock::now();
    for (int64_t i = 1; i <= n; ++i)
      while (send(sub, i, n, me) == errc::overloaded) {
        ++retries;
        std::this_thread::yield();
      }
    if (done.get_future().wait_for(120s) != std::future_status::ready)
      die("the sink did not get them all");
    figure("cluster_oneway_os_per_s", static_cast<double>(n) / (us_since(t0) / 1e6), "per_s");
    figure("cluster_oneway_os_overloaded_retries", static_cast<double>(retries), "count");
    finish();
  }
}

void broadcast_acked() {
  int n = static_cast<int>(env_or("BENCH_CLUSTER_BCAST_N", 5'000));
  timing t;
  here h{t};
  {
    auto peers = start_peers(h, three, t);
    std::vector<double> lat;
    lat.reserve(static_cast<size_t>(n));
    std::promise<void> done;
    auto* hub = h.hub.get();
    // Broadcasts seq, waits for its 3 acks, records the time, broadcasts the next one.
    auto pub = *spawn(h.rt, [&, acks = 0, seq = int64_t{0}, t0 = clock::now()](process& self) mutable -> behavior {
      return {[&](int64_t s) {
        if (s == -1) {  // start
          t0 = clock::now();
          (void) hub->broadcast("bench", ++seq, int64_t{0}, self.self());
          return;
        }
        if (s != seq || ++acks < 3)
          return;
        acks = 0;
        if (seq > 500)  // after a warm-up
          lat.push_back(us_since(t0));
        if (seq == n + 500) {
          done.set_value();
          return;
        }
        t0 = clock::now();
        (void) hub->broadcast("bench", ++seq, int64_t{0}, self.self());
      }};
    });
    send(pub, int64_t{-1});
    if (done.get_future().wait_for(120s) != std::future_status::ready)
      die("broadcast acks missing");
    figure("cluster_broadcast_3_acked_median_us", percentile(lat, 0.5), "us");
    figure("cluster_broadcast_3_acked_p99_us", percentile(lat, 0.99), "us");
    finish();
  }
}

void broadcast_rate() {
  int64_t n = static_cast<int64_t>(env_or("BENCH_CLUSTER_BCAST_RATE_N", 200'000));
  int64_t window = 4096;  // below the data lane's 8192 frames
  timing t;
  here h{t};
  {
    auto peers = start_peers(h, three, t);
    // Each subscriber reports how many it has received; `acked` is the smallest of those.
    std::vector<std::atomic<int64_t>> got(3);
    for (auto& g : got)
      g = 0;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < peers.size(); ++i)
      index[peers[i]->name] = i;
    auto pub = *spawn(h.rt, [&](process& self) -> behavior {
      return {[&](int64_t count) {
        auto from = node_of(self.sender());
        if (from && index.count(from->name))
          got[index[from->name]].store(count, std::memory_order_release);
      }};
    });
    auto acked = [&] {
      int64_t m = got[0].load(std::memory_order_acquire);
      for (auto& g : got)
        m = std::min(m, g.load(std::memory_order_acquire));
      return m;
    };
    auto refused0 = 0ull;
    for (auto& m : h.node->members())
      refused0 += m.data.refused;
    auto t0 = clock::now();
    for (int64_t seq = 1; seq <= n; ++seq) {
      while (seq - acked() > window)
        std::this_thread::yield();
      if (auto e = h.hub->broadcast("bench", seq, n, pub))
        die("broadcast failed: " + caf::to_string(e));
    }
    auto deadline = clock::now() + 60s;
    while (acked() < n && clock::now() < deadline)
      std::this_thread::yield();
    auto secs = us_since(t0) / 1e6;
    auto refused = 0ull;
    for (auto& m : h.node->members())
      refused += m.data.refused;
    if (acked() != n)
      die("not every broadcast was delivered: the slowest subscriber has " + std::to_string(acked()) + " of " +
          std::to_string(n));
    figure("cluster_broadcasts_per_s_3", static_cast<double>(n) / secs, "per_s");
    figure("cluster_broadcast_refused", static_cast<double>(refused - refused0), "count");
    finish();
  }
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

void frozen() {
  timing t;
  here h{t};
  {
    auto peers = start_peers(h, three, t);
    auto& victim = *peers.back();
    std::atomic<int64_t> seen_here{0};
    h.node->on_membership([&](const node_id& id, bool up) {
      if (!up && id.name == victim.name)
        seen_here = steady_ns();
    });
    std::this_thread::sleep_for(500ms);  // a few heartbeats in the steady state
    auto stopped = steady_ns();
    kill(victim.os_pid, SIGSTOP);
    // The other two peers print "down NAME T_NS" when they see it.
    int64_t last = 0;
    for (size_t i = 0; i + 1 < peers.size(); ++i) {
      for (;;) {
        auto l = peers[i]->line(30s);
        if (l.empty())
          die(peers[i]->name + " did not see " + victim.name + " down within 30 s");
        std::istringstream is{l};
        std::string word, who;
        long long at = 0;
        is >> word >> who >> at;
        if (word == "down" && who == victim.name) {
          last = std::max<int64_t>(last, at);
          break;
        }
      }
    }
    auto deadline = clock::now() + 30s;
    while (seen_here == 0 && clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    if (seen_here == 0)
      die("this node did not see the frozen one down within 30 s");
    last = std::max<int64_t>(last, seen_here);
    figure("cluster_frozen_detect_s", static_cast<double>(last - stopped) / 1e9, "s");
    figure("cluster_frozen_heartbeat_ms", static_cast<double>(t.heartbeat_ms), "ms");
    figure("cluster_frozen_dead_after_ms", static_cast<double>(t.dead_after_ms), "ms");
    finish();
  }
}

void flood() {
  auto flood_for = std::chrono::seconds(env_or("BENCH_CLUSTER_FLOOD_S", 10));
  timing t;
  t.dead_after_ms = 30'000;   // the frozen peer stays a member for the whole flood:
  t.stuck_after_ms = 30'000;  // its lane fills to the cap and stays there
  here h{t};
  {
    auto peers = start_peers(h, {"healthy@bench", "frozen@bench"}, t);
    auto& healthy = *peers[0];
    auto& frozen_peer = *peers[1];
    auto echo = remote_pid(h.rt, healthy.id(), healthy.echo_id);
    auto sink = remote_pid(h.rt, frozen_peer.id(), frozen_peer.sink_id);
    std::atomic<bool> stop{false};
    std::vector<double> rtts;
    rtts.reserve(1 << 20);
    std::promise<void> pinged;
    auto pinger = *spawn(h.rt, [&, t0 = clock::now()](process& self) mutable -> behavior {
      return {[&](int64_t x) {
        if (x > 0)
          rtts.push_back(us_since(t0) / 1000);
        if (stop.load()) {
          pinged.set_value();
          return;
        }
        t0 = clock::now();
        (void) self.send(echo, x + 1);
      }};
    });
    kill(frozen_peer.os_pid, SIGSTOP);
    std::this_thread::sleep_for(100ms);
    auto rss0 = status_kb("VmRSS");
    send(pinger, int64_t{0});
    std::string payload(4096, 'x');
    uint64_t accepted = 0, overloaded = 0, other = 0;
    auto t0 = clock::now();
    while (clock::now() - t0 < flood_for) {
      auto e = send(sink, payload);
      if (!e) {
        ++accepted;
      } else if (e == errc::overloaded) {
        ++overloaded;
        std::this_thread::yield();
      } else {
        ++other;
      }
    }
    stop = true;
    if (pinged.get_future().wait_for(10s) != std::future_status::ready)
      die("the healthy peer stopped answering");
    auto rss1 = status_kb("VmRSS");
    auto hwm = status_kb("VmHWM");
    cluster::lane_stats lane;
    for (auto& m : h.node->members())
      if (m.id.name == frozen_peer.name)
        lane = m.data;
    cluster::options defaults;
    figure("cluster_flood_rss_growth_mib", static_cast<double>(std::max(rss1, hwm) - rss0) / 1024, "MiB");
    figure("cluster_flood_data_cap_mib", static_cast<double>(defaults.data.max_bytes) / (1 << 20), "MiB");
    figure("cluster_flood_queued_mib", static_cast<double>(lane.queued_bytes) / (1 << 20), "MiB");
    figure("cluster_flood_healthy_rtt_p99_ms", percentile(rtts, 0.99), "ms");
    figure("cluster_flood_healthy_rtt_max_ms", percentile(rtts, 1.0), "ms");
    figure("cluster_flood_healthy_round_trips", static_cast<double>(rtts.size()), "count");
    figure("cluster_flood_sends_accepted", static_cast<double>(accepted), "count");
    figure("cluster_flood_sends_overloaded", static_cast<double>(overloaded), "count");
    figure("cluster_flood_sends_other_error", static_cast<double>(other), "count");
    finish();
  }
}

} // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  return run_scenarios(argc, argv,
                       {{"cluster_rtt_os", rtt_os},
                        {"cluster_oneway_os", oneway_os},
                        {"cluster_broadcast_acked", broadcast_acked},
                        {"cluster_broadcast_rate", broadcast_rate},
                        {"cluster_frozen", frozen},
                        {"cluster_flood", flood}});
}
