// A cluster node as its own OS process, for bench_cluster_nodes (a peer that can be frozen
// with SIGSTOP, or one of the nodes a broadcast goes to). Not a benchmark itself (no bench_
// prefix, so scripts/bench.sh does not run it).
//   cluster_peer NAME SECRET SEED HEARTBEAT_MS DEAD_AFTER_MS STUCK_AFTER_MS
// Prints "ready PORT ECHO_ID SINK_ID SUB_ID INCARNATION" once listening, then "down NAME T_NS" each
// time a member goes down (T_NS: steady_clock, which is CLOCK_MONOTONIC, shared by all
// processes of the machine). Its processes:
//   echo: answers an int64_t with the same value, to its sender
//   sink: takes std::string and drops it (the target of a flood)
//   sub, subscriber of pubsub topic "bench", payload (int64 seq, int64 n, pid publisher), also
//   sent to directly:
//     n == 0: acks every broadcast, sending seq to the publisher
//     n > 0:  counts; sends the count received to the publisher at every seq % 1024 == 0 and at seq == n
// stdin commands, one line each: "members" answers the number of members up.

#include <cstdio>
#include <iostream>
#include <string>

#include "corvid/cluster/node.hpp"
#include "corvid/cluster/pubsub_adapter.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime.hpp"

using namespace corvid;

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: cluster_peer NAME SECRET SEED HEARTBEAT_MS DEAD_AFTER_MS STUCK_AFTER_MS\n");
    return 2;
  }
  runtime_options ro;
  ro.threads = 1;
  ro.node = argv[1];
  runtime rt{ro};
  cluster::node_options o;
  o.wire.secret = argv[2];
  if (*argv[3])
    o.seeds = {argv[3]};
  o.wire.heartbeat_interval = std::chrono::milliseconds(std::stol(argv[4]));
  o.wire.dead_after = std::chrono::milliseconds(std::stol(argv[5]));
  o.wire.stuck_after = std::chrono::milliseconds(std::stol(argv[6]));
  auto started = cluster::node::start(rt, o);
  if (!started) {
    std::fprintf(stderr, "cluster_peer: %s\n", cluster::to_string(started.err()).c_str());
    return 1;
  }
  auto n = started.value();
  n->on_membership([](const node_id& id, bool up) {
    if (up)
      return;
    auto t = std::chrono::steady_clock::now().time_since_epoch();
    std::printf("down %s %lld\n", id.name.c_str(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(t).count()));
    std::fflush(stdout);
  });
  auto adapter = std::make_shared<cluster::pubsub_adapter>(rt, n);
  pubsub::hub_options ho;
  ho.adapter = adapter;
  pubsub::hub hub{rt, ho};
  adapter->attach(hub);

  auto echo = spawn(rt, [](process& self) -> behavior {
    return {[&self](int64_t x) { (void) self.send(self.sender(), x); }};
  });
  auto sink = spawn(rt, [](process&) -> behavior { return {[](const std::string&) {}}; });
  // Big mailboxes: a remote delivery into a full one is dropped, and the counts a benchmark
  // waits for would never arrive (the figures are the transport's, not the receiver's bound).
  spawn_options big;
  big.mailbox = mailbox_options{};
  big.mailbox->capacity = 10'000'000;
  auto sub = spawn(rt, [count = int64_t{0}](process& self) mutable -> behavior {
    return {[&self, &count](int64_t seq, int64_t total, const pid& publisher) {
      if (total == 0) {
        (void) self.send(publisher, seq);
        return;
      }
      ++count;
      if (seq % 1024 == 0 || seq == total)
        (void) self.send(publisher, count);
    }};
  }, big);
  if (!echo || !sink || !sub || hub.subscribe(*sub, "bench"))
    return 1;
  std::printf("ready %u %llu %llu %llu %llu\n", n->port(), static_cast<unsigned long long>(echo->local_id()),
              static_cast<unsigned long long>(sink->local_id()), static_cast<unsigned long long>(sub->local_id()),
              static_cast<unsigned long long>(local_node(rt).incarnation));
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "members") {
      size_t up = 0;
      for (auto& m : n->members())
        up += m.up ? 1 : 0;
      std::printf("members %zu\n", up);
    } else {
      std::printf("unknown command\n");
    }
    std::fflush(stdout);
  }
  n->stop();
  return 0;
}
