// Nodes over real connections on loopback: a mesh from one seed, remote send/call/link/
// monitor, and what a lost or restarted member leaves behind. (Several runtimes in this test
// process; tests that kill OS processes come with the multi-process fixture.)

#include <future>
#include <thread>

#include "../support/cluster_member.hpp"
#include "../support/tcp_proxy.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

caf::expected<pid> echo(runtime& rt, inbox& box) {
  return spawn(rt, [&box](process& self) -> behavior {
    return {
      [&self, &box](const std::string& s) {
        box.put(s);
        if (s == "crash")
          throw std::runtime_error("asked to");
        return "re: " + s + (self.sender().is_remote() ? " from remote" : "");
      },
      [](int x, pid who) { return std::make_tuple(x + 1, who); },
    };
  });
}

} // namespace

TEST_SUITE("cluster node") {

TEST_CASE("three nodes form a full mesh from one seed") {
  member a{"a@loop"};
  member b{"b@loop", {a.address()}};
  member c{"c@loop", {a.address()}};
  CHECK(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && c.up_count() == 2; }, 10s));
  auto ms = b.node->members();
  std::set<std::string> names;
  for (auto& m : ms)
    names.insert(m.id.name);
  CHECK(names == std::set<std::string>{"a@loop", "c@loop"});
}

TEST_CASE("a chain of seeds (c joins through b, b through a) still forms a full mesh") {
  member a{"a@chain"};
  member b{"b@chain", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  member c{"c@chain", {b.address()}};
  CHECK(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && c.up_count() == 2; }, 10s));
  for (auto& m : c.node->members())
    CHECK(!m.address.empty());
}

TEST_CASE("send and call reach a process on another node, pids travel both ways") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  inbox replies;
  member a{"a@loop"};
  member b{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto in_b = echo(*b.rt, box);
  REQUIRE(in_b);
  auto far = as_seen_from(a, b, *in_b);
  CHECK(send(far, std::string{"hello"}) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"hello"});
  auto r = call<std::string>(far, 5s, std::string{"ping"});
  REQUIRE(r);
  CHECK(*r == "re: ping");
  CHECK(box.take() == std::optional<std::string>{"ping"});
  auto in_a = spawn(*a.rt, [&replies, far](process& self) -> behavior {
    return {[&self, &replies, far](caf::ok_atom) {
      self.call(far, 5s, 41, self.self()).then(
        [&self, &replies](int x, pid who) { replies.put(std::to_string(x) + (who == self.self() ? " me" : " other")); },
        [&replies](caf::error& e) { replies.put(describe(e)); });
      self.call(far, 5s, std::string{"hi"}).then([&replies](const std::string& s) { replies.put(s); },
                                                 [&replies](caf::error& e) { replies.put(describe(e)); });
    }};
  });
  REQUIRE(in_a);
  send(*in_a, caf::ok_atom::value);
  std::multiset<std::string> got{replies.take().value_or("none"), replies.take().value_or("none")};
  CHECK(got == std::multiset<std::string>{"42 me", "re: hi from remote"});
  exit(*in_a, reason::shutdown());
  exit(*in_b, reason::shutdown());
}

TEST_CASE("monitors and links across nodes carry the exit reason; a dead process gives noproc") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box, notes;
  member a{"a@loop"};
  member b{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto in_b = echo(*b.rt, box);
  REQUIRE(in_b);
  auto far = as_seen_from(a, b, *in_b);
  auto watcher = spawn(*a.rt, [&notes, far](process& self) -> behavior {
    self.trap_exit(true);
    self.on_down([&notes](down_signal& d) { notes.put("down " + describe(d.reason)); });
    self.on_exit_signal([&notes](exit_signal& s) { notes.put("exit " + describe(s.reason)); });
    self.monitor(far);
    self.link(far);
    return {[&self](pid p) {
      self.monitor(p);
      return 0;
    }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 5s, far));  // its monitor and link requests went out before this
  CHECK(call<std::string>(far, 5s, std::string{"sync"}));  // and have been served
  send(far, std::string{"crash"});
  std::multiset<std::string> got;
  for (int i = 0; i < 3; ++i)
    got.insert(notes.take().value_or("none"));
  CHECK(got == std::multiset<std::string>{"down exception: asked to", "down exception: asked to",
                                          "exit exception: asked to"});
  REQUIRE(call<int>(*watcher, 5s, far));
  CHECK(notes.take() == std::optional<std::string>{"down noproc"});
  exit(*watcher, reason::kill());
}

TEST_CASE("a process linked to a remote one takes it down when it crashes") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  member a{"a@loop"};
  member b{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto in_b = echo(*b.rt, box);
  REQUIRE(in_b);
  auto far = as_seen_from(a, b, *in_b);
  auto linker = spawn(*a.rt, [far](process& self) -> behavior {
    self.link(far);
    return {[](int) -> int { throw std::runtime_error("linker failed"); }, [](std::string s) { return s; }};
  });
  REQUIRE(linker);
  REQUIRE(call<std::string>(*linker, 5s, std::string{"linked"}));
  REQUIRE(call<std::string>(far, 5s, std::string{"sync"}));
  send(*linker, 1);
  CHECK(eventually([&] { return !in_b->alive(); }, 10s));
  auto why = exit_reason(*in_b);
  REQUIRE(why);
  CHECK(describe(*why) == "exception: linker failed");
}

TEST_CASE("a lost member: monitors and links get noconnection and pending calls fail at once") {
  // Inboxes first: they outlive the processes that report into them.
  inbox notes;
  member a{"a@loop"};
  member b{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  auto held = std::make_shared<std::vector<reply_handle>>();
  auto silent = spawn(*b.rt, [held](process& self) -> behavior {
    return {[&self, held](int) {
      held->push_back(self.reply_later());
      return 0;
    }};
  });
  REQUIRE(silent);
  auto far = as_seen_from(a, b, *silent);
  auto watcher = spawn(*a.rt, [&notes, far](process& self) -> behavior {
    self.trap_exit(true);
    self.on_down([&notes](down_signal& d) { notes.put("down " + describe(d.reason)); });
    self.on_exit_signal([&notes](exit_signal& s) { notes.put("exit " + describe(s.reason)); });
    self.monitor(far);
    self.link(far);
    return {[](int x) { return x; }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 5s, 1));
  auto t0 = std::chrono::steady_clock::now();
  std::thread caller([&] {
    auto r = call<int>(far, 60s, 1);
    notes.put(r ? "replied" : "call " + describe(r.error()));
  });
  CHECK(eventually([&] { return info(*silent).mailbox.handled >= 1; }, 10s));
  b.node->stop();
  std::multiset<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto m = notes.take(10s).value_or("none");
    got.insert(m.substr(0, m.find(':')));
  }
  caller.join();
  CHECK(got == std::multiset<std::string>{"down noconnection", "exit noconnection", "call noconnection"});
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(send(far, 1) == errc::noconnection);
  exit(*watcher, reason::kill());
}

TEST_CASE("a restarted node has a new incarnation: pids of the old one are down at once") {
  // Inboxes first: they outlive the processes that report into them.
  inbox box;
  member a{"a@loop"};
  auto b = std::make_unique<member>("b@loop", std::vector<std::string>{a.address()});
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  auto in_b = echo(*b->rt, box);
  REQUIRE(in_b);
  auto old_far = as_seen_from(a, *b, *in_b);
  REQUIRE(call<std::string>(old_far, 5s, std::string{"x"}));
  b.reset();
  CHECK(eventually([&] { return a.up_count() == 0; }, 10s));
  member b2{"b@loop", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  auto r = call<std::string>(old_far, 5s, std::string{"x"});
  REQUIRE(!r);
  CHECK(r.error() == errc::down);
}

TEST_CASE("a member heard late on one link is vouched for by another and stays up") {
  // a reaches x only through a proxy the test freezes; b hears x directly.
  auto patient = [](cluster::node_options o) {
    o.wire.dead_after = 10s;  // only the failure detector may act within this test
    return o;
  };
  std::atomic<int> downs{0};  // outlives the members that report into it
  tcp_proxy to_x;
  member x{"x@vouch", custom, patient(reached_through(to_x))};
  to_x.target(x.node->port());
  member b{"b@vouch", custom, patient(node_opts({"127.0.0.1:" + std::to_string(x.node->port())}))};
  REQUIRE(eventually([&] { return b.up_count() == 1; }, 10s));
  member a{"a@vouch", custom, patient(node_opts({to_x.address(), b.address()}))};
  REQUIRE(eventually([&] { return a.up_count() == 2 && b.up_count() == 2 && x.up_count() == 2; }, 10s));
  a.node->on_membership([&downs](const node_id&, bool up) { downs += up ? 0 : 1; });
  std::atomic<int> suspected{0}, suspected_down{0};
  auto tid = telemetry::attach("corvid.cluster.suspect", [&](const telemetry::event& e) {
    ++(e.name == "corvid.cluster.suspect_down" ? suspected_down : suspected);
  });
  to_x.freeze();
  // Long enough for a's suspicion of x to pass the threshold several times (heartbeats 100 ms).
  CHECK_FALSE(eventually([&] { return downs.load() > 0; }, 2s));
  CHECK(a.up_count() == 2);
  to_x.thaw();
  telemetry::detach(tid);
  CHECK(suspected.load() > 0);  // a did suspect x, and asked b
  CHECK(suspected_down.load() == 0);
}

TEST_CASE("the receiver's mailbox bound applies to remote senders: a call to a full mailbox fails with overloaded") {
  member a{"a@full"};
  member b{"b@full", {a.address()}};
  REQUIRE(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 10s));
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> handled{0};
  std::atomic<bool> holding{false};
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = 2;
  so.mailbox->policy = overflow::reject;
  // Its first message holds it (test-only: a handler that waits), so later ones queue up.
  auto busy = spawn(*b.rt, [released, &handled, &holding](process&) -> behavior {
    return {[released, &handled, &holding](int x) {
      if (x == 0) {
        holding = true;
        released.wait();
      }
      ++handled;
      return x;
    }};
  }, so);
  REQUIRE(busy);
  auto far = as_seen_from(a, b, *busy);
  CHECK(send(far, 0) == caf::none);
  REQUIRE(eventually([&] { return holding.load(); }, 10s));
  CHECK(send(far, 1) == caf::none);
  CHECK(send(far, 2) == caf::none);
  REQUIRE(eventually([&] { return stats(*busy).length == 2; }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  auto r = call<int>(far, 30s, 3);
  CHECK(r.error() == errc::overloaded);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // an answer, not the call's timeout
  release.set_value();
  REQUIRE(eventually([&] { return handled.load() == 3; }, 10s));  // 0, 1, 2: room again
  CHECK(call<int>(far, 10s, 4) == 4);
  CHECK(handled.load() == 4);
  exit(*busy, reason::shutdown());
}

} // TEST_SUITE
