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
  causal_context c;
  c.add({"a", 2});
  CHECK(c.contains({"a", 2}));
  CHECK(!c.contains({"a", 1}));
  CHECK(c.cloud.size() == 1);
  c.add({"a", 1});
  CHECK(c.cloud.empty());
  CHECK(c.clocks.at("a") == 2);
  causal_context o;
  o.add({"b", 1});
  o.add({"a", 4});
  c.join(o);
  CHECK(c.contains({"b", 1}));
  CHECK(c.contains({"a", 4}));
  CHECK(!c.contains({"a", 3}));
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
