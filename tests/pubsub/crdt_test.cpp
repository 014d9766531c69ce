// The presence CRDT: merge is commutative and idempotent; a remove wins over the add it saw.

#include <doctest/doctest.h>

#include "corvid/pubsub/crdt.hpp"

using namespace corvid::pubsub;

namespace {

presence_entry entry(std::string key, uint64_t pid_id = 1) {
  return presence_entry{"room", std::move(key), pid_id, {{"status", "online"}}};
}

std::set<std::string> keys(const presence_state& s) {
  std::set<std::string> out;
  for (auto& [d, e] : s.entries())
    out.insert(e.key);
  return out;
}

} // namespace

TEST_SUITE("crdt") {

TEST_CASE("a causal context folds contiguous dots into clocks") {
  const replica_id ra{"a", 1}, rb{"b", 1};
  causal_context c;
  c.add({ra, 2});
  CHECK(c.contains({ra, 2}));
  CHECK(!c.contains({ra, 1}));
  CHECK(c.cloud.size() == 1);
  c.add({ra, 1});
  CHECK(c.cloud.empty());
  CHECK(c.clocks.at(ra) == 2);
  causal_context o;
  o.add({rb, 1});
  o.add({ra, 4});
  c.join(o);
  CHECK(c.contains({rb, 1}));
  CHECK(c.contains({ra, 4}));
  CHECK(!c.contains({ra, 3}));
  CHECK(!c.contains({{"a", 2}, 1}));  // another incarnation of node a
  c.erase(ra);
  CHECK(!c.contains({ra, 1}));
  CHECK(!c.contains({ra, 4}));
  CHECK(c.contains({rb, 1}));
}

TEST_CASE("a causal context folds a run of dots that came in any order, and keeps a gap in the cloud") {
  const replica_id ra{"a", 1};
  causal_context c;
  for (uint64_t n : {5, 3, 4, 2, 7})
    c.add({ra, n});
  CHECK(c.cloud.size() == 5);
  CHECK(c.clocks.count(ra) == 0);
  c.add({ra, 1});  // closes the gap up to 5; 7 waits for 6
  CHECK(c.clocks.at(ra) == 5);
  CHECK(c.cloud == std::set<dot>{{ra, 7}});
  c.add({ra, 3});  // known: no change
  CHECK(c.clocks.at(ra) == 5);
  c.add({ra, 6});
  CHECK(c.clocks.at(ra) == 7);
  CHECK(c.cloud.empty());
}

TEST_CASE("merging a peer's delta or full state removes exactly the entries it saw and no longer holds") {
  presence_state a{"a"}, b{"b"};
  std::vector<dot> dots;
  for (auto* k : {"k1", "k2", "k3", "k4"})
    dots.push_back(b.add(entry(k)));
  a.add(entry("mine"));
  a.merge(b.take_delta());
  CHECK(keys(a) == std::set<std::string>{"k1", "k2", "k3", "k4", "mine"});
  b.remove(dots[1]);
  auto ch = a.merge(b.take_delta());  // a delta: its cloud names the one removed dot
  REQUIRE(ch.leaves.size() == 1);
  CHECK(ch.leaves[0].second.key == "k2");
  CHECK(keys(a) == std::set<std::string>{"k1", "k3", "k4", "mine"});
  b.remove(dots[3]);
  (void)b.take_delta();  // lost on the way: the full state repairs it
  ch = a.merge(b.state());  // a state: its clock covers every dot b made
  REQUIRE(ch.leaves.size() == 1);
  CHECK(ch.leaves[0].second.key == "k4");
  CHECK(keys(a) == std::set<std::string>{"k1", "k3", "mine"});
}

TEST_CASE("merge is commutative") {
  presence_state a{"a"}, b{"b"};
  a.add(entry("alice"));
  auto bob = a.add(entry("bob"));
  b.add(entry("carol", 2));
  a.remove(bob);
  auto da = a.take_delta();
  auto db = b.take_delta();
  presence_state x{"x"}, y{"y"};
  x.merge(da);
  x.merge(db);
  y.merge(db);
  y.merge(da);
  CHECK(x.entries() == y.entries());
  CHECK(x.state().context.clocks == y.state().context.clocks);
  CHECK(keys(x) == std::set<std::string>{"alice", "carol"});
}

TEST_CASE("merge is idempotent") {
  presence_state a{"a"}, b{"b"};
  a.add(entry("alice"));
  auto d = a.take_delta();
  auto first = b.merge(d);
  CHECK(first.joins.size() == 1);
  auto again = b.merge(d);
  CHECK(again.empty());
  auto whole = b.merge(a.state());
  CHECK(whole.empty());
  CHECK(keys(b) == std::set<std::string>{"alice"});
  CHECK(b.merge(b.state()).empty());  // a state joined with itself
}

TEST_CASE("a remove wins over the add it observed, not over a newer add") {
  presence_state a{"a"}, b{"b"}, c{"c"};
  auto d1 = a.add(entry("alice"));
  auto add1 = a.take_delta();
  b.merge(add1);
  a.remove(d1);
  auto rm1 = a.take_delta();
  CHECK(rm1.entries.empty());
  auto ch = b.merge(rm1);
  REQUIRE(ch.leaves.size() == 1);
  CHECK(ch.leaves[0].second.key == "alice");
  CHECK(b.merge(add1).empty());  // the old add arrives late again: stays removed
  CHECK(keys(b).empty());
  // out of order: c sees the remove before the add, then the add never shows up
  CHECK(c.merge(rm1).empty());
  CHECK(c.merge(add1).empty());
  CHECK(keys(c).empty());
  // a newer add of the same key survives the old remove arriving after it
  a.add(entry("alice"));
  auto add2 = a.take_delta();
  presence_state d{"d"};
  d.merge(add2);
  d.merge(rm1);
  d.merge(add1);
  CHECK(keys(d) == std::set<std::string>{"alice"});
}

TEST_CASE("add then remove inside one delta ships only the dot") {
  presence_state a{"a"}, b{"b"};
  auto d = a.add(entry("ghost"));
  a.remove(d);
  auto delta = a.take_delta();
  CHECK(delta.entries.empty());
  CHECK(delta.context.contains(d));
  CHECK(b.merge(delta).empty());
  CHECK(a.take_delta().empty());
}

TEST_CASE("dropping a node removes its entries") {
  presence_state a{"a"}, b{"b"};
  a.add(entry("alice"));
  b.add(entry("bob", 2));
  b.merge(a.take_delta());
  CHECK(keys(b) == std::set<std::string>{"alice", "bob"});
  auto ch = b.drop_node("a");
  CHECK(ch.leaves.size() == 1);
  CHECK(keys(b) == std::set<std::string>{"bob"});
}

} // TEST_SUITE

TEST_SUITE("crdt (issue 14)") {

TEST_CASE("a replica keeps its own entries when it merges a peer that dropped it") {
  presence_state a{"a"}, b{"b"};
  a.add(entry("alice"));
  b.merge(a.take_delta());
  b.drop_node("a");
  auto ch = a.merge(b.state());
  CHECK(ch.leaves.empty());
  CHECK(keys(a) == std::set<std::string>{"alice"});
  auto d = a.add(entry("bob"));  // and its own removes still work afterwards
  CHECK(a.remove(d));
}

TEST_CASE("dropping a replica deletes its context: once up again, merging its state restores it") {
  presence_state a{"a"}, b{"b"}, c{"c"};
  a.add(entry("alice"));
  b.merge(a.take_delta());
  c.merge(a.state());
  auto gone = b.drop_node("a");
  CHECK(gone.leaves.size() == 1);
  CHECK(keys(b).empty());
  CHECK(b.state().context.clocks.count(a.self()) == 0);
  CHECK(b.merge(c.state()).empty());  // a third party's copy of a dropped replica is ignored
  CHECK(keys(b).empty());
  CHECK(b.replica_up(a.self()).empty());  // the node heals back: nothing of it is held
  auto ch = b.merge(a.state());
  CHECK(ch.joins.size() == 1);
  CHECK(keys(b) == std::set<std::string>{"alice"});
}

TEST_CASE("a node restarted under the same name is a new replica") {
  presence_state b{"b"};
  presence_state a1{"a", 1};
  a1.add(entry("alice"));
  b.merge(a1.take_delta());
  presence_state a2{"a", 2};  // same name, restarted: its clock starts again
  a2.add(entry("bob"));
  auto ch = b.merge(a2.state());
  REQUIRE(ch.joins.size() == 1);
  CHECK(ch.joins[0].second.key == "bob");
  REQUIRE(ch.leaves.size() == 1);  // the old incarnation is gone for good
  CHECK(ch.leaves[0].second.key == "alice");
  CHECK(keys(b) == std::set<std::string>{"bob"});
  CHECK(b.merge(a1.state()).empty());  // the old life, relayed late, stays out
  CHECK(keys(b) == std::set<std::string>{"bob"});
  CHECK(to_string(ch.joins[0].first) == "a/2:1");
}

TEST_CASE("a replica down is hidden and comes back on up without a merge (netsplit)") {
  presence_state a{"a"}, b{"b"};
  a.add(entry("alice"));
  b.add(entry("bob", 2));
  a.merge(b.take_delta());
  CHECK(keys(a) == std::set<std::string>{"alice", "bob"});
  a.add(entry("carol", 3));
  auto down = a.replica_down(b.self());
  REQUIRE(down.leaves.size() == 1);
  CHECK(down.leaves[0].second.key == "bob");
  CHECK(!a.visible(b.self()));
  CHECK(a.replica_down(b.self()).empty());  // already down
  CHECK(a.merge(b.state()).empty());        // nothing shows while it is down
  b.add(entry("dave", 4));
  CHECK(a.merge(b.take_delta()).empty());   // a change of a down replica is kept, not shown
  auto up = a.replica_up(b.self());
  std::set<std::string> back;
  for (auto& [d, e] : up.joins)
    back.insert(e.key);
  CHECK(back == std::set<std::string>{"bob", "dave"});
  CHECK(up.leaves.empty());
  CHECK(a.replica_up(b.self()).empty());  // already up
  CHECK(keys(a) == std::set<std::string>{"alice", "bob", "carol", "dave"});
}

TEST_CASE("a replica down then dropped does not come back on up") {
  presence_state a{"a"}, b{"b"};
  b.add(entry("bob", 2));
  a.merge(b.take_delta());
  CHECK(a.replica_down(b.self()).leaves.size() == 1);
  CHECK(a.drop_replica(b.self()).empty());  // already hidden: no second leave
  CHECK(a.entries().empty());
  CHECK(a.replica_up(b.self()).empty());
  CHECK(a.entries().empty());
}

} // TEST_SUITE
