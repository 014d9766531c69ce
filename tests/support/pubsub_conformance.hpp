#pragma once
// What any pubsub cluster adapter must do, written once and run against each adapter.
// A fixture type F stands for three connected nodes, each a runtime with a hub whose adapter
// carries its broadcasts to the others (three, so that a broadcast meant for one other node
// can be seen reaching the wrong one):
//
//   F f;                 // all nodes up and connected (the constructor waits for it)
//   f.rt(i), f.hub(i)    // i = 0, 1, 2; the hubs are built from conformance::hub_options_for(node)
//
// Instantiate in one translation unit per test program:
//
//   TYPE_TO_STRING(my_pair);
//   CORVID_PUBSUB_CONFORMANCE(my_pair)
//
// Adapter-specific behaviour (gaps, resends, codecs) is tested next to the instantiation.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "../runtime/fixture.hpp"
#include "corvid/pubsub/hub.hpp"

namespace corvid::test::conformance {

/// Hub options with the dispatchers the cases use: "tag" sends each subscriber but the sender
/// whose metadata is one string ("via <node>", that string, the broadcast's int).
inline pubsub::hub_options hub_options_for(const std::string& node) {
  pubsub::hub_options o;
  o.dispatchers["tag"] = [node](const std::vector<pubsub::subscriber>& subs, const pid& from, const caf::message& m) {
    if (!m.match_elements<std::string, int>())
      return;
    auto v = m.get_as<int>(1);
    for (auto& s : subs)
      if (s.who != from && s.meta.match_elements<std::string>())
        (void) send(s.who, "via " + node, s.meta.get_as<std::string>(0), v);
  };
  return o;
}

/// A subscriber process that reports "name:v" for ("topic", v) and "name:tag/meta/v" for what
/// the "tag" dispatcher sends; a string is echoed back (a probe through its mailbox).
inline pid reporter(runtime& rt, inbox& box, std::string name) {
  auto p = spawn(rt, [&box, name](process&) -> behavior {
    return {
      [&box, name](const std::string&, int v) { box.put(name + ":" + std::to_string(v)); },
      [&box, name](const std::string& tag, const std::string& meta, int v) {
        box.put(name + ":" + tag + "/" + meta + "/" + std::to_string(v));
      },
      [](const std::string& probe) { return probe; },
    };
  });
  REQUIRE(p);
  return *p;
}

/// A reporter on node `i` of fixture `f`, subscribed to `topic` (with `meta` if not empty).
template <class F>
pid subscriber(F& f, size_t i, inbox& box, std::string name, const std::string& topic = "room", caf::message meta = {}) {
  auto p = reporter(f.rt(i), box, std::move(name));
  REQUIRE((meta.empty() ? f.hub(i).subscribe(p, topic) : f.hub(i).subscribe(p, topic, std::move(meta))) == caf::none);
  return p;
}

/// The next `n` reports (fails the test if any does not come).
inline std::multiset<std::string> take(inbox& box, size_t n) {
  std::multiset<std::string> got;
  for (size_t i = 0; i < n; ++i) {
    auto m = box.take(10s);
    REQUIRE_MESSAGE(m, "report " << i + 1 << " of " << n << " did not come");
    got.insert(*m);
  }
  return got;
}

/// Nothing more was reported: a probe through each mailbox, then the inbox is empty.
inline void check_drained(inbox& box, std::initializer_list<pid> procs) {
  for (auto& p : procs)
    REQUIRE(call<std::string>(p, 5s, std::string{"probe"}));
  CHECK(box.size() == 0);
}

inline const caf::error ok = caf::none;

} // namespace corvid::test::conformance

TEST_CASE_TEMPLATE_DEFINE("pubsub conformance: a broadcast reaches every node's subscribers once each, in its origin's order",
                          F, corvid_conformance_everywhere) {
  using namespace corvid::test::conformance;
  corvid::test::inbox box;
  F f;
  auto a = subscriber(f, 0, box, "a");
  auto b = subscriber(f, 1, box, "b");
  auto c = subscriber(f, 2, box, "c");
  auto elsewhere = subscriber(f, 1, box, "elsewhere", "lobby");
  constexpr int n = 50;
  for (int i = 0; i < n; ++i) {  // both nodes publish, interleaved: node 0 sends 0.., node 1 1000..
    REQUIRE(f.hub(0).broadcast("room", std::string{"room"}, i) == ok);
    REQUIRE(f.hub(1).broadcast("room", std::string{"room"}, 1000 + i) == ok);
  }
  std::map<std::string, std::vector<int>> got;  // "a/0": what a got from node 0, in arrival order
  for (int i = 0; i < 6 * n; ++i) {
    auto m = box.take(std::chrono::seconds(10));
    REQUIRE_MESSAGE(m, "report " << i + 1 << " of " << 6 * n << " did not come");
    auto colon = m->find(':');
    auto v = std::stoi(m->substr(colon + 1));
    got[m->substr(0, colon) + (v < 1000 ? "/0" : "/1")].push_back(v);
  }
  std::vector<int> from0, from1;
  for (int i = 0; i < n; ++i) {
    from0.push_back(i);
    from1.push_back(1000 + i);
  }
  CHECK(got["a/0"] == from0);
  CHECK(got["a/1"] == from1);
  CHECK(got["b/0"] == from0);
  CHECK(got["b/1"] == from1);
  CHECK(got["c/0"] == from0);
  CHECK(got["c/1"] == from1);
  check_drained(box, {a, b, c, elsewhere});
  for (size_t i = 0; i < 3; ++i)
    CHECK(f.hub(i).stats().gaps == 0);
}

TEST_CASE_TEMPLATE_DEFINE("pubsub conformance: broadcast_from skips only the sender", F, corvid_conformance_from) {
  using namespace corvid::test::conformance;
  corvid::test::inbox box;
  F f;
  // The same processes spawned in the same order on both nodes: the sender's twin on node 1
  // likely has the sender's local id, and must still get the broadcast.
  auto sender = subscriber(f, 0, box, "sender");
  auto twin = subscriber(f, 1, box, "twin");
  auto a = subscriber(f, 0, box, "a");
  auto b = subscriber(f, 1, box, "b");
  auto c = subscriber(f, 2, box, "c");
  REQUIRE(f.hub(0).broadcast_from(sender, "room", std::string{"room"}, 1) == ok);
  // then one for everyone: had the sender got the first, it would show before this one
  REQUIRE(f.hub(0).broadcast("room", std::string{"room"}, 2) == ok);
  CHECK(take(box, 9) == std::multiset<std::string>{"a:1", "twin:1", "b:1", "c:1", "sender:2", "a:2", "twin:2", "b:2", "c:2"});
  check_drained(box, {sender, twin, a, b, c});
}

TEST_CASE_TEMPLATE_DEFINE("pubsub conformance: local_broadcast stays on its node", F, corvid_conformance_local) {
  using namespace corvid::test::conformance;
  corvid::test::inbox box;
  F f;
  auto a = subscriber(f, 0, box, "a");
  auto b = subscriber(f, 1, box, "b");
  auto c = subscriber(f, 2, box, "c");
  REQUIRE(f.hub(0).local_broadcast("room", std::string{"room"}, 1) == ok);
  REQUIRE(f.hub(0).broadcast("room", std::string{"room"}, 2) == ok);  // b's and c's first report must be this one
  REQUIRE(f.hub(1).local_broadcast("room", std::string{"room"}, 3) == ok);
  REQUIRE(f.hub(1).broadcast("room", std::string{"room"}, 4) == ok);
  CHECK(take(box, 8) == std::multiset<std::string>{"a:1", "a:2", "b:2", "c:2", "b:3", "a:4", "b:4", "c:4"});
  check_drained(box, {a, b, c});
}

TEST_CASE_TEMPLATE_DEFINE("pubsub conformance: direct_broadcast reaches only the named node", F, corvid_conformance_direct) {
  using namespace corvid::test::conformance;
  corvid::test::inbox box;
  F f;
  auto a = subscriber(f, 0, box, "a");
  auto b = subscriber(f, 1, box, "b");
  auto c = subscriber(f, 2, box, "c");
  auto n0 = f.hub(0).node();
  auto n1 = f.hub(1).node();
  REQUIRE(n0 != n1);
  REQUIRE(f.hub(0).direct_broadcast(n1, "room", std::string{"room"}, 1) == ok);  // another node only
  REQUIRE(f.hub(0).direct_broadcast(n0, "room", std::string{"room"}, 2) == ok);  // this node only
  REQUIRE(f.hub(1).direct_broadcast(n0, "room", std::string{"room"}, 3) == ok);
  // behind them, for everyone: a stray copy of 1 or 3 would show before these
  REQUIRE(f.hub(0).broadcast("room", std::string{"room"}, 4) == ok);
  REQUIRE(f.hub(1).broadcast("room", std::string{"room"}, 5) == ok);
  CHECK(take(box, 9) == std::multiset<std::string>{"b:1", "a:2", "a:3", "a:4", "b:4", "c:4", "a:5", "b:5", "c:5"});
  check_drained(box, {a, b, c});
  // A sequence number is not spent on a direct broadcast: the other nodes see no hole.
  for (size_t i = 0; i < 3; ++i)
    CHECK(f.hub(i).stats().gaps == 0);
}

TEST_CASE_TEMPLATE_DEFINE("pubsub conformance: broadcast_via runs the dispatcher of that name on each node, with the subscribers' metadata",
                          F, corvid_conformance_via) {
  using namespace corvid::test::conformance;
  corvid::test::inbox box;
  F f;
  auto sender = subscriber(f, 0, box, "sender", "room", caf::make_message(std::string{"s"}));
  auto a = subscriber(f, 0, box, "a", "room", caf::make_message(std::string{"x"}));
  auto b = subscriber(f, 1, box, "b", "room", caf::make_message(std::string{"y"}));
  auto plain = subscriber(f, 1, box, "plain");  // no metadata: "tag" passes it over
  auto c = subscriber(f, 2, box, "c", "room", caf::make_message(std::string{"z"}));
  auto n0 = f.hub(0).node();
  auto n1 = f.hub(1).node();
  auto n2 = f.hub(2).node();
  REQUIRE(f.hub(0).broadcast_via("tag", sender, "room", std::string{"room"}, 7) == ok);
  CHECK(f.hub(0).broadcast_via("nope", sender, "room", std::string{"room"}, 8) == corvid::errc::not_found);
  REQUIRE(f.hub(1).broadcast_via("tag", corvid::pid{}, "room", std::string{"room"}, 9) == ok);
  REQUIRE(f.hub(0).broadcast("room", std::string{"room"}, 10) == ok);  // the default dispatcher: everyone
  CHECK(take(box, 12) == std::multiset<std::string>{
                             "a:via " + n0 + "/x/7", "b:via " + n1 + "/y/7", "c:via " + n2 + "/z/7",
                             "sender:via " + n0 + "/s/9", "a:via " + n0 + "/x/9", "b:via " + n1 + "/y/9",
                             "c:via " + n2 + "/z/9", "sender:10", "a:10", "b:10", "plain:10", "c:10"});
  check_drained(box, {sender, a, b, plain, c});
}

/// Runs every case above with each fixture type given.
#define CORVID_PUBSUB_CONFORMANCE(...)                                  \
  TEST_CASE_TEMPLATE_INVOKE(corvid_conformance_everywhere, __VA_ARGS__); \
  TEST_CASE_TEMPLATE_INVOKE(corvid_conformance_from, __VA_ARGS__);       \
  TEST_CASE_TEMPLATE_INVOKE(corvid_conformance_local, __VA_ARGS__);      \
  TEST_CASE_TEMPLATE_INVOKE(corvid_conformance_direct, __VA_ARGS__);     \
  TEST_CASE_TEMPLATE_INVOKE(corvid_conformance_via, __VA_ARGS__)
