// Processes: spawn, pids, send/call, crashes, links, monitors, exit signals.

#include <thread>

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("process") {

TEST_CASE_FIXTURE(fixture, "a pid is a value: copy, compare, hash, print") {
  auto a = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  auto b = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(a);
  REQUIRE(b);
  pid c = *a;
  CHECK(c == *a);
  CHECK(*a != *b);
  CHECK(std::hash<pid>{}(c) == std::hash<pid>{}(*a));
  CHECK(a->to_string().rfind("<0.", 0) == 0);
  CHECK(pid{}.to_string() == "<none>");
  exit(*a, reason::shutdown());
  exit(*b, reason::shutdown());
  CHECK(wait_exit(*a));
  CHECK(wait_exit(*b));
}

TEST_CASE_FIXTURE(fixture, "call returns the handler's value") {
  auto p = spawn(rt, [n = 0](process&) mutable -> behavior {
    return {[&n](int by) { return n += by; }, [](const std::string& s) { return s + "!"; }};
  });
  REQUIRE(p);
  CHECK(cast(*p, 5) == caf::none);
  auto r = call<int>(*p, 1s, 1);
  REQUIRE(r);
  CHECK(*r == 6);
  auto s = call<std::string>(*p, 1s, std::string{"hi"});
  REQUIRE(s);
  CHECK(*s == "hi!");
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "call errors: unexpected message, timeout, down") {
  auto slow = spawn(rt, [](process& self) -> behavior {
    return {[&self](int) { return self.reply_later(), 0; }};  // never answers in time
  });
  REQUIRE(slow);
  auto r1 = call<int>(*slow, 1s, 1.5);
  REQUIRE(!r1);
  CHECK(r1.error() == errc::unexpected_message);
  auto held = spawn(rt, [](process& self) -> behavior {
    auto keep = std::make_shared<std::vector<reply_handle>>();
    self.hold(keep);
    return {[&self, keep](int) {
      keep->push_back(self.reply_later());
      return 0;
    }};
  });
  REQUIRE(held);
  auto r2 = call<int>(*held, 50ms, 1);
  REQUIRE(!r2);
  CHECK(r2.error() == errc::timeout);
  exit(*held, reason::shutdown());
  CHECK(wait_exit(*held));
  auto r3 = call<int>(*held, 1s, 1);
  REQUIRE(!r3);
  CHECK(r3.error() == errc::down);
  exit(*slow, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "an exception ends that process alone, with the error as reason") {
  auto bad = spawn(rt, [](process&) -> behavior {
    return {[](int) -> int { throw std::runtime_error("boom"); }};
  });
  auto good = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; });
  REQUIRE(bad);
  REQUIRE(good);
  auto r = call<int>(*bad, 1s, 1);
  REQUIRE(!r);
  CHECK(r.error() == errc::down);
  std::string why;
  CHECK(wait_exit(*bad, &why));
  CHECK(why == "exception: boom");
  auto ok = call<int>(*good, 1s, 7);
  REQUIRE(ok);
  CHECK(*ok == 7);
  exit(*good, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "links propagate abnormal exits; trapping turns them into messages") {
  inbox box;
  auto trapper = spawn(rt, [&box](process& self) -> behavior {
    self.trap_exit(true);
    return {
      [&self](const std::string& cmd, pid other) {
        if (cmd == "link")
          self.link(other);
        return 0;
      },
      [&box](exit_signal& s) { box.put("exit " + describe(s.reason)); },
    };
  });
  auto victim = spawn(rt, [](process&) -> behavior {
    return {[](const std::string&, pid) { return 0; }};
  });
  auto crasher = spawn(rt, [](process& self) -> behavior {
    return {[&self](int) { self.exit(reason::error("bad")); }};
  });
  REQUIRE(trapper);
  REQUIRE(victim);
  REQUIRE(crasher);
  REQUIRE(call<int>(*trapper, 1s, std::string{"link"}, *crasher));
  // victim links to crasher from inside
  auto linker = spawn(rt, [c = *crasher](process& self) -> behavior {
    self.link(c);
    return {[](int x) { return x; }};
  });
  REQUIRE(linker);
  REQUIRE(call<int>(*linker, 1s, 1));
  send(*crasher, 1);
  auto m = box.take();
  REQUIRE(m);
  CHECK(*m == "exit exception: bad");
  std::string why;
  CHECK(wait_exit(*linker, &why));
  CHECK(why == "exception: bad");
  CHECK(trapper->alive());
  exit(*trapper, reason::kill());
  exit(*victim, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "monitors deliver down with the reason, also for dead targets") {
  inbox box;
  auto target = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(target);
  auto watcher = spawn(rt, [&box, t = *target](process& self) -> behavior {
    self.monitor(t);
    self.on_down([&box](down_signal& d) { box.put(describe(d.reason)); });
    return {[&self](pid other) { self.monitor(other); }};
  });
  REQUIRE(watcher);
  exit(*target, reason::error("gone"));
  auto m = box.take();
  REQUIRE(m);
  CHECK(*m == "exception: gone");
  send(*watcher, *target);  // already dead: the notice still carries its reason
  auto m2 = box.take();
  REQUIRE(m2);
  CHECK(*m2 == "exception: gone");
  send(*watcher, pid{});  // never existed: noproc
  auto m3 = box.take();
  REQUIRE(m3);
  CHECK(*m3 == "down: noproc");
  exit(*watcher, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "normal exit signals do not kill a non-trapping process; kill always does") {
  auto p = spawn(rt, [](process& self) -> behavior {
    self.trap_exit(true);
    return {[](int x) { return x; }};
  });
  REQUIRE(p);
  exit(*p, reason::normal());
  exit(*p, reason::shutdown());  // trapped: becomes a message, ignored by the behavior
  auto r = call<int>(*p, 1s, 3);
  REQUIRE(r);
  exit(*p, reason::kill());
  std::string why;
  CHECK(wait_exit(*p, &why));
  CHECK(why == "kill");
}

TEST_CASE_FIXTURE(fixture, "class-based processes keep their state") {
  struct counter {
    explicit counter(int start) : n(start) {}
    behavior make_behavior(process&) {
      return {[this](int by) { return n += by; }};
    }
    int n;
  };
  auto p = spawn_class<counter>(rt, {}, 10);
  REQUIRE(p);
  CHECK(*call<int>(*p, 1s, 1) == 11);
  CHECK(*call<int>(*p, 1s, 1) == 12);
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "process::call continues without blocking the caller") {
  auto server = spawn(rt, [](process&) -> behavior { return {[](int x) { return x * 2; }}; });
  REQUIRE(server);
  inbox box;
  auto client = spawn(rt, [&box, s = *server](process& self) -> behavior {
    return {[&box, &self, s](const std::string&) {
      self.call(s, 1s, 21).then([&box](int r) { box.put(std::to_string(r)); },
                                [&box](caf::error& e) { box.put(describe(e)); });
      self.call(s, 1s, std::string{"nope"}).then([&box](int r) { box.put(std::to_string(r)); },
                                                 [&box](caf::error& e) { box.put(describe(e)); });
    }};
  });
  REQUIRE(client);
  send(*client, std::string{"go"});
  auto a = box.take();
  auto b = box.take();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == "42");
  CHECK(b->rfind("unexpected_message", 0) == 0);
  exit(*client, reason::shutdown());
  exit(*server, reason::shutdown());
}

} // TEST_SUITE
