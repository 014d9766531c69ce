// Presence across a cluster: a join on one node is listed on every node; a member going
// down (or killed) makes its entries leave; after a partition heals, every node lists the
// same entries.

#include <signal.h>

#include "../support/child_node.hpp"
#include "../support/tcp_proxy.hpp"
#include "corvid/cluster/presence_adapter.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

// A member with a hub and a presence replicated through its node.
struct presence_member : member {
  presence_member(const std::string& name, std::vector<std::string> seeds = {})
    : presence_member(name, custom, node_opts(std::move(seeds))) {}
  presence_member(const std::string& name, custom_t, cluster::node_options no) : member(name, custom, std::move(no)) {
    hub = std::make_unique<pubsub::hub>(*rt);
    who = std::make_unique<pubsub::presence>(*hub);
    adapter = cluster::presence_adapter::start(*rt, node, *who);
  }
  ~presence_member() {
    if (node)
      node->stop();  // nothing arrives for the presence while it goes
    who.reset();
  }
  // "key@node" for every entry of `topic`, sorted.
  std::set<std::string> listed(const std::string& topic) const {
    std::set<std::string> out;
    for (auto& [key, kp] : who->list(topic))
      for (auto& m : kp.metas)
        out.insert(key + "@" + m.node);
    return out;
  }
  std::unique_ptr<pubsub::hub> hub;
  std::unique_ptr<pubsub::presence> who;
  std::shared_ptr<cluster::presence_adapter> adapter;
};

pid idle(runtime& rt) {
  auto p = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(p);
  return *p;
}

// Reports "join KEY" / "leave KEY" for each presence diff on `topic`.
pid watcher(presence_member& m, inbox& box, const std::string& topic) {
  auto p = spawn(*m.rt, [&box](process&) -> behavior {
    return {[&box](const pubsub::presence_diff& d) {
      for (auto& [key, kp] : d.leaves)
        box.put("leave " + key);
      for (auto& [key, kp] : d.joins)
        box.put("join " + key);
    }};
  });
  REQUIRE(p);
  REQUIRE(m.hub->subscribe(*p, topic) == caf::none);
  return *p;
}

} // namespace

TEST_SUITE("cluster presence") {

TEST_CASE("a join on one node is listed on every node and diffed to their subscribers; a leave too") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  presence_member a{"a@pres"};
  presence_member b{"b@pres", {a.address()}};
  presence_member c{"c@pres", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && c.up_count() == 2; }, 10s));
  (void) watcher(c, box, "room");
  auto alice = idle(*a.rt);
  REQUIRE(a.who->track(alice, "room", "alice", {{"status", "online"}}));
  CHECK(box.take(10s) == std::optional<std::string>{"join alice"});
  CHECK(eventually([&] { return b.listed("room") == std::set<std::string>{"alice@a@pres"}; }, 10s));
  auto meta = c.who->get_by_key("room", "alice");
  REQUIRE(meta.metas.size() == 1);
  CHECK(meta.metas[0].meta.at("status") == "online");
  auto bob = idle(*b.rt);
  REQUIRE(b.who->track(bob, "room", "bob"));
  CHECK(box.take(10s) == std::optional<std::string>{"join bob"});
  CHECK(eventually([&] { return a.listed("room") == std::set<std::string>{"alice@a@pres", "bob@b@pres"}; }, 10s));
  exit(alice, reason::shutdown());  // a tracked process that exits leaves by itself
  CHECK(box.take(10s) == std::optional<std::string>{"leave alice"});
  CHECK(eventually([&] { return b.listed("room") == std::set<std::string>{"bob@b@pres"}; }, 10s));
  exit(bob, reason::shutdown());
}

TEST_CASE("a member that joins late gets the whole state; one that stops makes its entries leave") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  presence_member a{"a@late"};
  auto alice = idle(*a.rt);
  REQUIRE(a.who->track(alice, "room", "alice"));
  auto b = std::make_unique<presence_member>("b@late", std::vector<std::string>{a.address()});
  CHECK(eventually([&] { return b->listed("room") == std::set<std::string>{"alice@a@late"}; }, 10s));
  auto bob = idle(*b->rt);
  REQUIRE(b->who->track(bob, "room", "bob"));
  REQUIRE(eventually([&] { return a.listed("room").size() == 2; }, 10s));
  (void) watcher(a, box, "room");
  b.reset();
  CHECK(box.take(10s) == std::optional<std::string>{"leave bob"});
  CHECK(a.listed("room") == std::set<std::string>{"alice@a@late"});
  exit(alice, reason::shutdown());
}

TEST_CASE("after a partition heals, both sides list the same entries") {
  tcp_proxy to_a, to_b;  // each node is reached through its own proxy, which the test cuts and heals
  presence_member a{"a@split", custom, reached_through(to_a)};
  to_a.target(a.node->port());
  presence_member b{"b@split", custom, reached_through(to_b, {to_a.address()})};
  to_b.target(b.node->port());
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto alice = idle(*a.rt);
  auto bob = idle(*b.rt);
  REQUIRE(a.who->track(alice, "room", "alice"));
  REQUIRE(b.who->track(bob, "room", "bob"));
  REQUIRE(eventually([&] { return a.listed("room").size() == 2 && b.listed("room").size() == 2; }, 10s));

  to_a.cut();
  to_b.cut();
  // Each side sees the other's entries leave.
  CHECK(eventually([&] {
    return a.listed("room") == std::set<std::string>{"alice@a@split"} &&
           b.listed("room") == std::set<std::string>{"bob@b@split"};
  }, 10s));
  // Both sides change while apart.
  auto carol = idle(*a.rt);
  REQUIRE(a.who->track(carol, "room", "carol"));
  b.who->untrack(bob, "room", "bob");
  auto dave = idle(*b.rt);
  REQUIRE(b.who->track(dave, "room", "dave"));
  to_a.heal();
  to_b.heal();
  std::set<std::string> want{"alice@a@split", "carol@a@split", "dave@b@split"};
  CHECK(eventually([&] { return a.listed("room") == want && b.listed("room") == want; }, 10s));
  for (auto p : {alice, bob, carol, dave})
    exit(p, reason::shutdown());
}

TEST_CASE("kill -9 of a member: its entries leave on the others within a second") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  presence_member a{"a@kill"};
  child_node b{"b@kill", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  (void) watcher(a, box, "room");
  b.say("track room zed");
  REQUIRE(b.line() == "ok");
  REQUIRE(box.take(10s) == std::optional<std::string>{"join zed"});
  auto t0 = std::chrono::steady_clock::now();
  kill(b.os_pid, SIGKILL);
  CHECK(box.take(10s) == std::optional<std::string>{"leave zed"});
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(a.listed("room").empty());
}

} // TEST_SUITE
