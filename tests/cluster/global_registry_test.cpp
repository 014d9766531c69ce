// The global registry across nodes: lookups from every node, names freed by exit, unregister
// and a lost node, and split-brain claims resolved the same way everywhere (earliest hybrid
// logical clock), the loser ended with a trappable name_conflict.

#include <signal.h>

#include "../support/child_node.hpp"
#include "../support/tcp_proxy.hpp"
#include "corvid/cluster/global_registry.hpp"

using namespace corvid;
using namespace corvid::test;
using corvid::cluster::global_registry;

namespace {

std::shared_ptr<global_registry> registry_of(member& m) {
  auto r = global_registry::start(*m.rt, m.node);
  REQUIRE(r);
  return *r;
}

caf::expected<pid> echo(runtime& rt, spawn_options o = {}) {
  return spawn(rt, [](process&) -> behavior {
    return {[](const std::string& s) { return "re: " + s; }};
  }, std::move(o));
}

// An echo that traps exits and reports each as "REASON from NODE".
caf::expected<pid> trapping_echo(runtime& rt, inbox& box) {
  spawn_options o;
  o.trap_exit = true;
  return spawn(rt, [&box](process& self) -> behavior {
    self.on_exit_signal([&box](exit_signal& s) {
      auto n = node_of(s.from);
      box.put(describe(s.reason) + " from " + (n ? n->name : s.from.to_string()));
    });
    return {[](const std::string& s) { return "re: " + s; }};
  }, o);
}

// Monitors `p` (in place when this returns) and reports its exit reason.
pid watch(runtime& rt, const pid& p, inbox& box) {
  auto w = spawn(rt, [&box, p](process& self) -> behavior {
    self.on_down([&box, &self](down_signal& d) {
      box.put(describe(d.reason));
      self.exit();
    });
    self.monitor(p);
    return {[](int x) { return x; }};
  });
  REQUIRE(w);
  REQUIRE(call<int>(*w, 5s, 1) == 1);
  return *w;
}

// Waits until the wall clock has moved on, so that the next claim has a later stamp.
void let_clock_advance() {
  auto t0 = std::chrono::system_clock::now();
  REQUIRE(eventually([&] { return std::chrono::system_clock::now() - t0 > 3ms; }));
}

// Two connected members, each with its global registry.
struct two_nodes {
  member a{"a@reg"};
  member b{"b@reg", {a.address()}};
  std::shared_ptr<global_registry> ra, rb;
  two_nodes() {
    REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
    ra = registry_of(a);
    rb = registry_of(b);
  }
};

} // namespace

TEST_SUITE("global registry") {

TEST_CASE_FIXTURE(two_nodes, "a name registered on one node is found on every node, calls go through it, duplicates are refused") {
  auto svc = echo(*a.rt);
  REQUIRE(svc);
  REQUIRE(ra->register_name("svc", *svc) == caf::none);
  CHECK(ra->whereis("svc") == *svc);
  CHECK(eventually([&] { return rb->whereis("svc") == as_seen_from(b, a, *svc); }, 10s));
  // A node that joins later learns the names from the members' tables.
  member c{"c@reg", {a.address()}};
  auto rc = registry_of(c);
  CHECK(eventually([&] { return rc->whereis("svc") == as_seen_from(c, a, *svc); }, 10s));
  CHECK(call<std::string>(rc->whereis("svc"), 5s, std::string{"hi"}) == std::string{"re: hi"});
  auto other = echo(*c.rt);
  REQUIRE(other);
  auto dup = rc->register_name("svc", *other);
  CHECK(dup == errc::already_registered);
  CHECK(describe(dup).find("a@reg") != std::string::npos);
  CHECK(ra->register_name("svc", *svc) == errc::already_registered);
  CHECK(rc->register_name("far", as_seen_from(c, a, *svc)) == errc::bad_argument);  // only own processes
  CHECK(rb->registered() == std::vector<std::string>{"svc"});
  exit(*svc, reason::shutdown());
  exit(*other, reason::shutdown());
}

TEST_CASE_FIXTURE(two_nodes, "a name is freed on every node when its process exits, and by unregister_name from any node") {
  auto p = echo(*a.rt);
  REQUIRE(p);
  REQUIRE(ra->register_name("job", *p) == caf::none);
  REQUIRE(eventually([&] { return rb->whereis("job") == as_seen_from(b, a, *p); }, 10s));
  exit(*p, reason::shutdown());
  CHECK(eventually([&] { return !ra->whereis("job") && !rb->whereis("job"); }, 10s));
  CHECK(ra->registered().empty());

  auto q = echo(*b.rt);
  REQUIRE(q);
  REQUIRE(rb->register_name("job", *q) == caf::none);  // free again
  REQUIRE(eventually([&] { return ra->whereis("job") == as_seen_from(a, b, *q); }, 10s));
  CHECK(ra->unregister_name("job") == caf::none);  // from the other node: q's node frees it
  CHECK(eventually([&] { return !ra->whereis("job") && !rb->whereis("job"); }, 10s));
  CHECK(q->alive());
  REQUIRE(rb->register_name("job", *q) == caf::none);
  REQUIRE(eventually([&] { return ra->whereis("job") == as_seen_from(a, b, *q); }, 10s));
  CHECK(rb->unregister_name("job") == caf::none);  // on its own node: at once
  CHECK(!rb->whereis("job"));
  CHECK(eventually([&] { return !ra->whereis("job"); }, 10s));
  CHECK(rb->unregister_name("job") == errc::not_found);
  exit(*q, reason::shutdown());
}

TEST_CASE("split brain: after the heal every node has one winner per name, the earliest claim; losers get name_conflict") {
  // Inboxes first: they outlive the processes that report into them.
  inbox trapped, downs;
  // Two nodes that do not know each other register the same names for their own processes.
  member a{"a@split"};
  member b{"b@split"};
  auto ra = registry_of(a);
  auto rb = registry_of(b);
  auto b_first = echo(*b.rt);                    // wins "first" by its earlier stamp ("a" < "b" does not matter)
  auto a_first = trapping_echo(*a.rt, trapped);  // loses it and traps the exit
  auto a_second = echo(*a.rt);                   // wins "second"
  auto b_second = echo(*b.rt);                   // loses it and dies of it
  REQUIRE((b_first && a_first && a_second && b_second));
  auto watcher = watch(*b.rt, *b_second, downs);
  REQUIRE(rb->register_name("first", *b_first) == caf::none);
  let_clock_advance();
  REQUIRE(ra->register_name("first", *a_first) == caf::none);
  REQUIRE(ra->register_name("second", *a_second) == caf::none);
  let_clock_advance();
  REQUIRE(rb->register_name("second", *b_second) == caf::none);
  CHECK(a.up_count() == 0);
  CHECK(ra->whereis("first") == *a_first);  // each side sees its own
  CHECK(rb->whereis("first") == *b_first);

  // The heal: a third node joins with both as seeds; gossip completes the mesh.
  member e{"e@split", {a.address(), b.address()}};
  auto re = registry_of(e);
  REQUIRE(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && e.up_count() == 2; }, 10s));

  auto trap = trapped.take(10s);
  REQUIRE(trap);
  CHECK(trap->rfind("name_conflict: first is held by", 0) == 0);
  CHECK(trap->find("on b@split from b@split") != std::string::npos);
  auto down = downs.take(10s);
  REQUIRE(down);
  CHECK(down->rfind("name_conflict: second is held by", 0) == 0);
  CHECK(down->find("on a@split") != std::string::npos);
  auto agreed = [&] {
    return ra->whereis("first") == as_seen_from(a, b, *b_first) && rb->whereis("first") == *b_first
           && re->whereis("first") == as_seen_from(e, b, *b_first) && ra->whereis("second") == *a_second
           && rb->whereis("second") == as_seen_from(b, a, *a_second)
           && re->whereis("second") == as_seen_from(e, a, *a_second);
  };
  CHECK(eventually(agreed, 10s));
  CHECK(a_first->alive());  // it trapped the exit; the name is gone all the same
  CHECK(!b_second->alive());
  CHECK(ra->register_name("first", *a_first) == errc::already_registered);
  exit(*a_first, reason::kill());  // it traps shutdown
  exit(*b_first, reason::shutdown());
  exit(*a_second, reason::shutdown());
}

TEST_CASE("split brain through a real partition: after the heal both nodes agree on the earliest claim; the loser traps name_conflict naming the winner") {
  // Inboxes first: they outlive the processes that report into them.
  inbox trapped;
  tcp_proxy to_a, to_b;  // each node is reached only through its own proxy, which the test cuts and heals
  member a{"a@cut", custom, reached_through(to_a)};
  to_a.target(a.node->port());
  member b{"b@cut", custom, reached_through(to_b, {to_a.address()})};
  to_b.target(b.node->port());
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto ra = registry_of(a);
  auto rb = registry_of(b);
  auto on_b = echo(*b.rt);                    // claims first: wins ("a" < "b" does not matter)
  auto on_a = trapping_echo(*a.rt, trapped);  // claims later: loses and traps the exit
  REQUIRE((on_b && on_a));
  // Both registries know each other before the cut: a name claimed now is seen on both.
  REQUIRE(ra->register_name("before", *on_a) == caf::none);
  REQUIRE(eventually([&] { return rb->whereis("before") == as_seen_from(b, a, *on_a); }, 10s));

  to_a.cut();
  to_b.cut();
  REQUIRE(eventually([&] { return a.up_count() == 0 && b.up_count() == 0; }, 10s));
  REQUIRE(rb->register_name("leader", *on_b) == caf::none);
  let_clock_advance();
  REQUIRE(ra->register_name("leader", *on_a) == caf::none);  // a cannot know of b's claim
  CHECK(ra->whereis("leader") == *on_a);
  CHECK(rb->whereis("leader") == *on_b);
  CHECK(trapped.size() == 0);

  to_a.heal();
  to_b.heal();
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto trap = trapped.take(10s);
  REQUIRE(trap);
  CHECK(trap->rfind("name_conflict: leader is held by", 0) == 0);
  CHECK(trap->find("on b@cut from b@cut") != std::string::npos);
  CHECK(eventually([&] { return ra->whereis("leader") == as_seen_from(a, b, *on_b) && rb->whereis("leader") == *on_b; }, 10s));
  CHECK(on_a->alive());  // it trapped the exit; the name is b's all the same
  CHECK(ra->register_name("leader", *on_a) == errc::already_registered);
  // b dropped a's names while a was lost; the heal brings back what did not conflict.
  CHECK(eventually([&] { return rb->whereis("before") == as_seen_from(b, a, *on_a); }, 10s));
  CHECK(trapped.size() == 0);  // one conflict, one exit
  exit(*on_a, reason::kill());  // it traps shutdown
  exit(*on_b, reason::shutdown());
}

} // TEST_SUITE

TEST_SUITE("cluster processes") {

TEST_CASE("kill -9 of a node that holds a name frees the name on the survivor within 2 s") {
  member a{"a@gone"};
  auto ra = registry_of(a);
  child_node b{"b@gone", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  b.say("register svc");
  REQUIRE(b.line() == "ok");
  auto far = remote_pid(*a.rt, {"b@gone", b.incarnation}, b.echo_id);
  REQUIRE(eventually([&] { return ra->whereis("svc") == far; }, 10s));
  CHECK(call<std::string>(ra->whereis("svc"), 5s, std::string{"x"}) == std::string{"re: x"});
  auto mine = echo(*a.rt);
  REQUIRE(mine);
  CHECK(ra->register_name("svc", *mine) == errc::already_registered);
  REQUIRE(ra->register_name("mine", *mine) == caf::none);
  CHECK(eventually([&] {
    b.say("whereis mine");
    return b.line() == "a@gone " + std::to_string(mine->local_id());
  }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  kill(b.os_pid, SIGKILL);
  CHECK(eventually([&] { return !ra->whereis("svc"); }, 10s));
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(ra->register_name("svc", *mine) == caf::none);
  CHECK(ra->registered() == std::vector<std::string>{"mine", "svc"});
  exit(*mine, reason::shutdown());
}

} // TEST_SUITE
