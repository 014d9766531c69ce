// PubSub across a cluster: a broadcast on one node reaches the subscribers of every node,
// one frame per member, in order; payloads cross through the codec registry.

#include "../support/cluster_member.hpp"
#include "corvid/cluster/pubsub_adapter.hpp"
#include "corvid/pubsub/hub.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<int>)  // a payload type with no codec

using namespace corvid;
using namespace corvid::test;

namespace {

// A member with a hub whose broadcasts travel through the cluster.
struct pubsub_member : member {
  using member::member;
  std::shared_ptr<cluster::pubsub_adapter> adapter = std::make_shared<cluster::pubsub_adapter>(*rt, node);
  std::unique_ptr<pubsub::hub> hub = [this] {
    pubsub::hub_options o;
    o.adapter = adapter;
    return std::make_unique<pubsub::hub>(*rt, o);
  }();
  bool attached = (adapter->attach(*hub), true);
  ~pubsub_member() {
    node->stop();  // no more deliveries into the hub while it goes
  }
};

// A subscriber to `topic` that reports "<tag> <string>" for every string it gets.
pid listener(pubsub_member& m, inbox& box, std::string tag, const std::string& topic) {
  auto p = spawn(*m.rt, [&box, tag](process&) -> behavior {
    return {[&box, tag](const std::string& s) { box.put(tag + " " + s); }};
  });
  REQUIRE(p);
  REQUIRE(m.hub->subscribe(*p, topic) == caf::none);
  return *p;
}

} // namespace

TEST_SUITE("cluster pubsub") {

TEST_CASE("a broadcast reaches the subscribers of every node, in order, once each") {
  pubsub_member a{"a@loop"};
  pubsub_member b{"b@loop", {a.address()}};
  pubsub_member c{"c@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && c.up_count() == 2; }, 10s));
  inbox box;
  auto pa = listener(a, box, "a", "room");
  auto pb = listener(b, box, "b", "room");
  auto pc = listener(c, box, "c", "room");
  (void) listener(c, box, "other", "elsewhere");
  constexpr int n = 50;
  for (int i = 0; i < n; ++i)
    REQUIRE(a.hub->broadcast("room", std::to_string(i)) == caf::none);
  std::map<std::string, std::vector<int>> got;
  for (int i = 0; i < 3 * n; ++i) {
    auto m = box.take(10s);
    REQUIRE(m);
    auto sp = m->find(' ');
    got[m->substr(0, sp)].push_back(std::stoi(m->substr(sp + 1)));
  }
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i)
    all[static_cast<size_t>(i)] = i;
  CHECK(got["a"] == all);
  CHECK(got["b"] == all);
  CHECK(got["c"] == all);
  CHECK(box.take(100ms) == std::nullopt);  // nothing for "elsewhere", no duplicates
  CHECK(b.hub->stats().gaps == 0);
  // broadcast_from skips only the sender, on its own node
  REQUIRE(b.hub->broadcast_from(pb, "room", std::string{"999"}) == caf::none);
  std::multiset<std::string> from_b{*box.take(10s), *box.take(10s)};
  CHECK(from_b == std::multiset<std::string>{"a 999", "c 999"});
  CHECK(box.take(100ms) == std::nullopt);
  (void) pa;
  (void) pc;
}

TEST_CASE("a payload without a codec fails the broadcast with no_codec, and local subscribers still get it") {
  pubsub_member a{"a@loop"};
  pubsub_member b{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  inbox box;
  auto p = spawn(*a.rt, [&box](process&) -> behavior { return {[&box](std::shared_ptr<int>) { box.put("local"); }}; });
  REQUIRE(p);
  REQUIRE(a.hub->subscribe(*p, "t") == caf::none);
  auto err = a.hub->broadcast("t", std::make_shared<int>(1));
  CHECK(err == errc::no_codec);
  CHECK(box.take() == std::optional<std::string>{"local"});
}

} // TEST_SUITE
