// Presence: diffs on join, update, leave and process death; list; replication by deltas.

#include <algorithm>
#include <thread>

#include "../runtime/fixture.hpp"
#include "corvid/pubsub.hpp"

using namespace corvid;
using namespace corvid::test;
using namespace corvid::pubsub;

namespace {

/// Renders a diff as "join alice(status=online) leave bob(...)" in key order.
std::string render(const presence_diff& d) {
  std::string s;
  auto part = [&s](const char* what, const presence_list& l) {
    for (auto& [key, kp] : l) {
      for (auto& m : kp.metas) {
        s += s.empty() ? "" : " ";
        s += std::string{what} + " " + key + "(";
        for (auto& [k, v] : m.meta)
          s += k + "=" + v;
        s += m.prev_ref.empty() ? "" : " prev";
        s += ")";
        for (auto& [k, v] : kp.extra)
          s += "+" + k + "=" + v;
      }
    }
  };
  part("leave", d.leaves);
  part("join", d.joins);
  return s;
}

/// A topic subscriber that reports each presence diff it gets.
pid watcher(runtime& rt, hub& ps, inbox& box, const std::string& topic) {
  auto p = spawn(rt, [&box](process&) -> behavior {
    return {[&box](const presence_diff& d) { box.put(d.topic + ": " + render(d)); }};
  });
  REQUIRE(p);
  REQUIRE(ps.subscribe(*p, topic) == caf::none);
  return *p;
}

pid idle(runtime& rt) {
  auto p = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(p);
  return *p;
}

hub_options named(std::string node) {
  hub_options o;
  o.node = std::move(node);
  return o;
}

/// One node's hub and presence, and an inbox for watchers.
struct one_node : fixture {
  hub ps{rt};
  presence who{ps};
  inbox box;
  // Processes report into `box`: they must be gone before it is.
  ~one_node() { rt.shutdown_all(5s); }
};

/// Two nodes' hubs and presences in one runtime, replicated by hand.
struct two_nodes : fixture {
  hub ha{rt, named("a@host")};
  hub hb{rt, named("b@host")};
  presence pa{ha};
  presence pb{hb};
};

} // namespace

TEST_SUITE("presence") {

TEST_CASE_FIXTURE(one_node, "diffs on join, update, leave and process death") {
  auto w = watcher(rt, ps, box, "room:1");
  auto alice = idle(rt);
  auto bob = idle(rt);
  REQUIRE(who.track(alice, "room:1", "alice", {{"s", "on"}}));
  CHECK(box.take() == std::optional<std::string>{"room:1: join alice(s=on)"});
  REQUIRE(who.track(bob, "room:1", "bob", {{"s", "on"}}));
  CHECK(box.take() == std::optional<std::string>{"room:1: join bob(s=on)"});
  auto l = who.list("room:1");
  REQUIRE(l.size() == 2);
  CHECK(l["alice"].metas.size() == 1);
  CHECK(l["alice"].metas[0].meta.at("s") == "on");
  CHECK(l["alice"].metas[0].pid_id == alice.id());
  REQUIRE(who.update(alice, "room:1", "alice", {{"s", "away"}}));
  CHECK(box.take() == std::optional<std::string>{"room:1: leave alice(s=on) join alice(s=away prev)"});
  CHECK(who.list("room:1")["alice"].metas[0].meta.at("s") == "away");
  who.untrack(bob, "room:1", "bob");
  CHECK(box.take() == std::optional<std::string>{"room:1: leave bob(s=on)"});
  exit(alice, reason::kill());
  CHECK(box.take() == std::optional<std::string>{"room:1: leave alice(s=away)"});
  CHECK(who.list("room:1").empty());
  CHECK(who.size() == 0);
  exit(bob, reason::shutdown());
  exit(w, reason::shutdown());
}

TEST_CASE_FIXTURE(one_node, "errors as values; one key may have several presences") {
  auto a = idle(rt);
  auto b = idle(rt);
  REQUIRE(who.track(a, "t", "k"));
  CHECK(who.track(a, "t", "k") == errc::already_registered);
  CHECK(who.update(b, "t", "k", {}) == errc::not_found);
  CHECK(who.track(a, "", "k") == errc::bad_argument);
  REQUIRE(who.track(b, "t", "k"));  // a second tab of the same user
  CHECK(who.list("t")["k"].metas.size() == 2);
  REQUIRE(who.track(a, "u", "k"));
  auto topics = who.topics();
  std::sort(topics.begin(), topics.end());
  CHECK(topics == std::vector<std::pair<std::string, size_t>>{{"t", 2}, {"u", 1}});
  exit(a, reason::shutdown());
  CHECK(wait_exit(a));
  CHECK(eventually([&] { return who.size() == 1; }));
  CHECK(who.topics() == std::vector<std::pair<std::string, size_t>>{{"t", 1}});
  CHECK(who.track(a, "t", "x") == errc::down);
  exit(b, reason::shutdown());
  CHECK(eventually([&] { return who.size() == 0; }));
}

TEST_CASE_FIXTURE(two_nodes, "two replicas converge through deltas; a node drop clears its entries") {
  inbox box;
  auto wb = watcher(rt, hb, box, "room");
  auto alice = idle(rt);
  REQUIRE(pa.track(alice, "room", "alice", {{"s", "on"}}));
  pb.merge(pa.take_delta());
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)"});
  auto l = pb.list("room");
  REQUIRE(l["alice"].metas.size() == 1);
  CHECK(l["alice"].metas[0].node == "a@host");
  pb.merge(pa.state());  // the whole state again: nothing new
  exit(alice, reason::shutdown());
  CHECK(eventually([&] { return pa.size() == 0; }));
  pb.merge(pa.take_delta());
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=on)"});
  auto bob = idle(rt);
  REQUIRE(pa.track(bob, "room", "bob"));
  pb.merge(pa.take_delta());
  CHECK(box.take() == std::optional<std::string>{"room: join bob()"});
  pb.drop_node("a@host");
  CHECK(box.take() == std::optional<std::string>{"room: leave bob()"});
  CHECK(pb.list("room").empty());
  CHECK(box.size() == 0);
  exit(bob, reason::shutdown());
  exit(wb, reason::shutdown());
}

} // TEST_SUITE

TEST_SUITE("presence (issue 14)") {

TEST_CASE_FIXTURE(two_nodes, "merging a peer that dropped this node leaves its own presences alone") {
  inbox box;
  auto wa = watcher(rt, ha, box, "room");
  auto alice = idle(rt);
  REQUIRE(pa.track(alice, "room", "alice", {{"s", "on"}}));
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)"});
  pb.merge(pa.take_delta());
  pb.drop_node("a@host");  // b thinks a is gone (a netsplit), a still runs alice
  pa.merge(pb.state());
  CHECK(pa.list("room").size() == 1);
  pa.untrack(alice, "room", "alice");
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=on)"});
  CHECK(box.size() == 0);
  exit(alice, reason::shutdown());
  exit(wa, reason::shutdown());
}

TEST_CASE_FIXTURE(two_nodes, "a netsplit hides a node's presences until it is up again") {
  CHECK(pa.self() == replica_id{"a@host", ha.incarnation()});
  inbox box;
  auto wb = watcher(rt, hb, box, "room");
  auto alice = idle(rt);
  REQUIRE(pa.track(alice, "room", "alice", {{"s", "on"}}));
  pb.merge(pa.take_delta());
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)"});
  pb.replica_down(pa.self());
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=on)"});
  CHECK(pb.list("room").empty());
  CHECK(pb.size() == 0);
  pb.replica_up(pa.self());
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)"});
  CHECK(pb.list("room")["alice"].metas.size() == 1);
  pb.drop_replica(pa.self());
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=on)"});
  pb.replica_up(pa.self());  // healed after all: a's whole state brings alice back
  pb.merge(pa.state());
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)"});
  CHECK(box.size() == 0);
  exit(alice, reason::shutdown());
  exit(wb, reason::shutdown());
}

TEST_CASE_FIXTURE(one_node, "track returns its ref; get_by_key lists one key's presences") {
  auto a = idle(rt);
  auto b = idle(rt);
  auto ref = who.track(a, "room", "alice", {{"s", "on"}});
  REQUIRE(ref);
  REQUIRE(who.track(b, "room", "alice", {{"s", "tab2"}}));
  REQUIRE(who.track(b, "room", "bob"));
  auto alice = who.get_by_key("room", "alice");
  REQUIRE(alice.metas.size() == 2);
  CHECK((alice.metas[0].ref == *ref || alice.metas[1].ref == *ref));
  CHECK(who.get_by_key("room", "bob").metas.size() == 1);
  CHECK(who.get_by_key("room", "carol").metas.empty());
  CHECK(who.get_by_key("hall", "alice").metas.empty());
  auto newer = who.update(a, "room", "alice", {{"s", "away"}});
  REQUIRE(newer);
  CHECK(*newer != *ref);
  exit(a, reason::shutdown());
  exit(b, reason::shutdown());
}

TEST_CASE_FIXTURE(one_node, "get_by_key, size and topics follow joins and leaves across many keys") {
  auto a = idle(rt);
  auto b = idle(rt);
  for (int i = 0; i < 500; ++i)
    REQUIRE(who.track(i % 2 ? a : b, "room", "k" + std::to_string(i), {{"n", std::to_string(i)}}));
  REQUIRE(who.track(a, "hall", "k7"));
  CHECK(who.size() == 501);
  CHECK(who.list("room").size() == 500);
  for (int i : {0, 1, 250, 499}) {
    auto kp = who.get_by_key("room", "k" + std::to_string(i));
    REQUIRE(kp.metas.size() == 1);
    CHECK(kp.metas[0].meta.at("n") == std::to_string(i));
  }
  who.untrack(b);  // the even keys leave "room"
  CHECK(who.size() == 251);
  CHECK(who.get_by_key("room", "k2").metas.empty());
  CHECK(who.get_by_key("room", "k3").metas.size() == 1);
  CHECK(who.list("room").count("k2") == 0);
  who.untrack(a, "hall", "k7");
  auto t = who.topics();
  CHECK(t == std::vector<std::pair<std::string, size_t>>{{"room", 250}});  // an empty topic is gone
  exit(a, reason::shutdown());
  exit(b, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "a fetch hook enriches list, get_by_key and diffs") {
  hub ps{rt};
  presence_options o;
  o.fetch = [](const std::string& topic, presence_list& entries) {
    for (auto& [key, kp] : entries)
      kp.extra["name"] = key + "@" + topic;  // e.g. loaded from a user table, once per key
  };
  presence who{ps, o};
  inbox box;
  auto w = watcher(rt, ps, box, "room");
  auto a = idle(rt);
  REQUIRE(who.track(a, "room", "alice", {{"s", "on"}}));
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=on)+name=alice@room"});
  CHECK(who.list("room")["alice"].extra.at("name") == "alice@room");
  CHECK(who.get_by_key("room", "alice").extra.at("name") == "alice@room");
  CHECK(who.get_by_key("room", "bob").extra.empty());  // nobody: nothing to fetch
  exit(a, reason::kill());
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=on)+name=alice@room"});
  exit(w, reason::shutdown());
}

TEST_CASE_FIXTURE(one_node, "untrack(pid) leaves every topic at once") {
  auto w1 = watcher(rt, ps, box, "t1");
  auto w2 = watcher(rt, ps, box, "t2");
  auto a = idle(rt);
  auto b = idle(rt);
  REQUIRE(who.track(a, "t1", "alice"));
  REQUIRE(who.track(a, "t2", "alice"));
  REQUIRE(who.track(b, "t2", "bob"));
  std::multiset<std::string> joins{*box.take(), *box.take(), *box.take()};
  CHECK(joins.size() == 3);
  who.untrack(a);
  std::multiset<std::string> got{*box.take(), *box.take()};
  CHECK(got == std::multiset<std::string>{"t1: leave alice()", "t2: leave alice()"});
  CHECK(who.size() == 1);
  who.untrack(a);  // nothing left: no-op
  exit(a, reason::shutdown());
  CHECK(wait_exit(a));
  exit(b, reason::shutdown());
  CHECK(box.take() == std::optional<std::string>{"t2: leave bob()"});  // a's exit made no diff
  exit(w1, reason::shutdown());
  exit(w2, reason::shutdown());
}

TEST_CASE_FIXTURE(one_node, "update with a function of the current metadata") {
  auto w = watcher(rt, ps, box, "room");
  auto a = idle(rt);
  REQUIRE(who.track(a, "room", "alice", {{"s", "on"}, {"typing", "no"}}));
  CHECK(box.take() == std::optional<std::string>{"room: join alice(s=ontyping=no)"});
  auto typing = [](const meta& m) {
    auto n = m;
    n["typing"] = "yes";
    return n;
  };
  REQUIRE(who.update(a, "room", "alice", typing));
  CHECK(box.take() == std::optional<std::string>{"room: leave alice(s=ontyping=no) join alice(s=ontyping=yes prev)"});
  CHECK(who.update(a, "room", "bob", typing) == errc::not_found);
  exit(a, reason::shutdown());
  exit(w, reason::shutdown());
}

} // TEST_SUITE
