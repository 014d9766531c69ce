// A cluster node as its own OS process, for tests that kill, freeze and restart nodes.
//   test_node NAME SECRET [SEED|""] [--listen HOST:PORT] [--dns NAME:PORT]
// Prints "ready PORT ECHO_ID INCARNATION" once listening; ECHO_ID is a process that answers
// every string with "re: " + it. Then reads commands, one per line (see `commands` below),
// and answers each with one line. Runs until killed or until its stdin closes. It runs a
// global registry (cluster/global_registry.hpp).

#include <cstdio>
#include <functional>
#include <map>
#include <iostream>
#include <string>

#include "corvid/cluster/global_registry.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/cluster/presence_adapter.hpp"
#include "corvid/cluster/pubsub_adapter.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"
#include "corvid/runtime.hpp"
#include "storm_ledger.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: test_node NAME SECRET [SEED]\n");
    return 2;
  }
  corvid::runtime_options ro;
  ro.threads = 1;
  ro.node = argv[1];
  corvid::runtime rt{ro};
  corvid::cluster::node_options o;
  o.wire.secret = argv[2];
  o.wire.heartbeat_interval = std::chrono::milliseconds(100);
  o.wire.dead_after = std::chrono::milliseconds(1000);
  o.redial = std::chrono::milliseconds(100);
  if (argc > 3 && *argv[3])
    o.seeds = {argv[3]};
  for (int i = 4; i + 1 < argc; i += 2) {
    std::string flag = argv[i], v = argv[i + 1];
    auto colon = v.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "test_node: %s wants HOST:PORT\n", flag.c_str());
      return 2;
    }
    auto host = v.substr(0, colon);
    auto port = static_cast<uint16_t>(std::stoul(v.substr(colon + 1)));
    if (flag == "--listen") {
      o.listen_host = host;
      o.listen_port = port;
    } else if (flag == "--dns") {
      o.dns_name = host;
      o.dns_port = port;
      o.dns_interval = std::chrono::milliseconds(200);
    } else {
      std::fprintf(stderr, "test_node: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto n = corvid::cluster::node::start(rt, o);
  if (!n) {
    std::fprintf(stderr, "test_node: %s\n", corvid::cluster::to_string(n.err()).c_str());
    return 1;
  }
  auto echo = corvid::spawn(rt, [](corvid::process&) -> corvid::behavior {
    return {[](const std::string& s) { return "re: " + s; }};
  });
  if (!echo)
    return 1;
  auto reg = corvid::cluster::global_registry::start(rt, n.value());
  if (!reg)
    return 1;
  // Pubsub and Presence across the cluster, set up before "ready" so no member-up is missed.
  corvid::test::storm_ledger ledger;
  auto ps_link = std::make_shared<corvid::cluster::pubsub_adapter>(rt, n.value());
  corvid::pubsub::hub_options ho;
  ho.adapter = ps_link;
  ho.on_gap = [&ledger](const corvid::pubsub::sequence_gap& g) {
    ledger.gap(g.origin + "/" + std::to_string(g.incarnation), g.expected, g.received);
  };
  corvid::pubsub::hub hub{rt, ho};
  ps_link->attach(hub);
  corvid::pubsub::presence who{hub};
  auto presence_link = corvid::cluster::presence_adapter::start(rt, n.value(), who);
  std::printf("ready %u %llu %llu\n", n.value()->port(), static_cast<unsigned long long>(echo->local_id()),
              static_cast<unsigned long long>(corvid::local_node(rt).incarnation));
  std::fflush(stdout);
  const std::string me = std::string{argv[1]} + "/" + std::to_string(corvid::local_node(rt).incarnation);
  uint64_t published = 0;
  // A command's first word picks its handler; the rest of the line is its argument.
  std::map<std::string, std::function<std::string(const std::string&)>> commands{
    {"members", [&](const std::string&) {
       size_t up = 0;
       for (auto& m : n.value()->members())
         up += m.up ? 1 : 0;
       return std::to_string(up);
     }},
    // track TOPIC KEY: a new idle process tracked under (TOPIC, KEY)
    {"track", [&](const std::string& arg) -> std::string {
       auto sp = arg.find(' ');
       auto p = corvid::spawn(rt, [](corvid::process&) -> corvid::behavior { return {[](int) {}}; });
       if (!p || sp == std::string::npos)
         return "error";
       auto ref = who.track(*p, arg.substr(0, sp), arg.substr(sp + 1));
       return ref ? "ok" : corvid::describe(ref.error());
     }},
    // subscribe TOPIC: a process here records every "origin/incarnation/seq" broadcast on TOPIC
    {"subscribe", [&](const std::string& topic) -> std::string {
       auto p = corvid::spawn(rt, [&ledger](corvid::process&) -> corvid::behavior {
         return {[&ledger](const std::string& m) {
           auto slash = m.rfind('/');
           ledger.received(m.substr(0, slash), std::stoull(m.substr(slash + 1)));
         }};
       });
       return p && !hub.subscribe(*p, topic) ? "ok" : "error";
     }},
    // publish TOPIC N: N broadcasts numbered like the hub numbers them (only this command
    // broadcasts on this hub); "ok LAST"
    {"publish", [&](const std::string& arg) -> std::string {
       auto sp = arg.find(' ');
       auto topic = arg.substr(0, sp);
       auto count = sp == std::string::npos ? 1 : std::stoul(arg.substr(sp + 1));
       for (unsigned long i = 0; i < count; ++i)
         if (auto e = hub.broadcast(topic, me + "/" + std::to_string(++published)))
           return corvid::describe(e);
       return "ok " + std::to_string(published);
     }},
    // last ORIGIN/INCARNATION: the last number received from it
    {"last", [&](const std::string& o) { return std::to_string(ledger.last(o)); }},
    // check: "ok RECEIVED GAPS" if nothing was lost silently, else "violation: ..."
    {"check", [&](const std::string&) { return ledger.check(); }},
    // list TOPIC: the presence keys on TOPIC as "key@node", sorted, space separated
    {"list", [&](const std::string& topic) {
       std::string out;
       for (auto& [key, kp] : who.list(topic))
         for (auto& m : kp.metas)
           out += (out.empty() ? "" : " ") + key + "@" + m.node;
       return out.empty() ? std::string{"-"} : out;
     }},
    // register NAME: the echo process takes NAME cluster-wide; "ok" or the error.
    {"register", [&](const std::string& name) {
       auto e = (*reg)->register_name(name, *echo);
       return e ? corvid::describe(e) : std::string{"ok"};
     }},
    // whereis NAME: "none", "local ID" or "NODE ID".
    {"whereis", [&](const std::string& name) -> std::string {
       auto p = (*reg)->whereis(name);
       if (!p)
         return "none";
       auto where = corvid::node_of(p);
       return (where ? where->name : std::string{"local"}) + " " + std::to_string(p.local_id());
     }},
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    auto sp = line.find(' ');
    auto i = commands.find(line.substr(0, sp));
    auto out = i == commands.end() ? "unknown command" : i->second(sp == std::string::npos ? "" : line.substr(sp + 1));
    std::printf("%s\n", out.c_str());
    std::fflush(stdout);
  }
  (*reg)->stop();
  n.value()->stop();
  return 0;
}
