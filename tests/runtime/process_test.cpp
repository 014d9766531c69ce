// Processes: spawn, pids, send/call, crashes, links, monitors, exit signals.

#include <future>
#include <thread>

#include "fixture.hpp"

// The test's keeper process holds handed-out replies.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<corvid::reply_handle>)

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

TEST_CASE_FIXTURE(det_fixture, "calls queued behind the message that ends a process fail with down") {
  auto target = spawn(rt, [](process& self) -> behavior {
    return {[&self](int x) {
      if (x == 0)
        self.exit(reason::shutdown());
      return x;
    }};
  });
  REQUIRE(target);
  std::vector<std::string> got;
  auto caller = spawn(rt, [&got, t = *target](process& self) -> behavior {
    return {[&self, &got, t](const std::string&) {
      for (int i = 0; i < 5; ++i)  // all five queue before the target runs: it takes them together
        self.call(t, std::chrono::seconds(5), i)
            .then([&got](int v) { got.push_back("ok " + std::to_string(v)); },
                  [&got](caf::error& e) { got.push_back(e == errc::down ? "down" : caf::to_string(e)); });
    }};
  });
  REQUIRE(caller);
  run();
  send(*caller, std::string{"go"});
  run();
  CHECK(got == std::vector<std::string>{"ok 0", "down", "down", "down", "down"});
  exit(*caller, reason::shutdown());
  run();
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

TEST_CASE_FIXTURE(fixture, "monitors deliver down with the reason; a dead target reports noproc") {
  inbox box;
  auto target = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(target);
  auto watcher = spawn(rt, [&box, t = *target](process& self) -> behavior {
    self.monitor(t);
    self.on_down([&box](down_signal& d) { box.put(describe(d.reason)); });
    return {[&self](pid other) { self.monitor(other); }, [](int x) { return x; }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 1s, 0));  // its monitor is set
  exit(*target, reason::error("gone"));
  auto m = box.take();
  REQUIRE(m);
  CHECK(*m == "exception: gone");
  send(*watcher, *target);  // already dead: OTP reports noproc, not the old reason
  auto m2 = box.take();
  REQUIRE(m2);
  CHECK(*m2 == "noproc");
  send(*watcher, pid{});  // never existed: noproc
  auto m3 = box.take();
  REQUIRE(m3);
  CHECK(*m3 == "noproc");
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
  CHECK(why == "killed");
}

TEST_CASE_FIXTURE(fixture, "exit(p, kill) ends p with killed, which its trapping links receive and survive") {
  inbox box;
  auto trapper = spawn(rt, [&box](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([&box](exit_signal& s) { box.put("exit " + describe(s.reason)); });
    return {[&self](pid other) {
      self.link(other);
      return 0;
    }};
  });
  auto victim = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; });
  auto bystander = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; });
  REQUIRE(trapper);
  REQUIRE(victim);
  REQUIRE(bystander);
  REQUIRE(call<int>(*trapper, 1s, *victim));
  // A non-trapping process linked to the victim dies with killed too (not an untrappable kill).
  auto linked = spawn(rt, [v = *victim](process& self) -> behavior {
    self.link(v);
    return {[](int x) { return x; }};
  });
  REQUIRE(linked);
  REQUIRE(call<int>(*linked, 1s, 1));
  exit(*victim, reason::kill());
  CHECK(box.take() == std::optional<std::string>{"exit killed"});
  std::string why;
  CHECK(wait_exit(*linked, &why));
  CHECK(why == "killed");
  CHECK(call<int>(*trapper, 1s, *bystander));  // still alive and answering
  CHECK(trapper->alive());
  exit(*trapper, reason::kill());
  exit(*bystander, reason::shutdown());
  CHECK(wait_exit(*trapper));
}

TEST_CASE_FIXTURE(fixture, "linking to a dead process: a trapping process gets noproc, others exit with noproc") {
  auto dead = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; });
  REQUIRE(dead);
  exit(*dead, reason::error("long gone"));
  REQUIRE(wait_exit(*dead));
  inbox box;
  auto trapper = spawn(rt, [&box, d = *dead](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([&box](exit_signal& s) { box.put(describe(s.reason)); });
    self.link(d);
    return {[](int x) { return x; }};
  });
  REQUIRE(trapper);
  CHECK(box.take() == std::optional<std::string>{"noproc"});
  auto plain = spawn(rt, [d = *dead](process& self) -> behavior {
    self.link(d);
    return {[](int x) { return x; }};
  });
  REQUIRE(plain);
  std::string why;
  CHECK(wait_exit(*plain, &why));
  CHECK(why == "noproc");
  exit(*trapper, reason::kill());
  CHECK(wait_exit(*trapper));
}

TEST_CASE_FIXTURE(fixture, "after unlink, the other's exit has no effect (OTP's unlink guarantee)") {
  inbox box;
  auto victim = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; });
  REQUIRE(victim);
  auto trapper = spawn(rt, [&box, v = *victim](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([&box](exit_signal& s) { box.put("exit " + describe(s.reason)); });
    self.on_down([&box](down_signal& d) { box.put("down " + describe(d.reason)); });
    self.link(v);
    self.monitor(v);
    self.unlink(v);
    return {[](int x) { return x; }};
  });
  REQUIRE(trapper);
  REQUIRE(call<int>(*trapper, 1s, 1));
  exit(*victim, reason::error("crashed"));
  // A link's exit signal is sent before the monitor's down notice: had the link survived,
  // "exit" would come first.
  CHECK(box.take() == std::optional<std::string>{"down exception: crashed"});
  CHECK(box.size() == 0);
  CHECK(trapper->alive());
  exit(*trapper, reason::kill());
  CHECK(wait_exit(*trapper));
}

TEST_CASE_FIXTURE(fixture, "a process linked to thousands: each exit reaches it once, its own exit reaches them all") {
  constexpr int n = 5'000;
  std::atomic<int> exits{0};
  std::promise<void> all_in;
  auto hub = spawn(rt, [&](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([&](exit_signal& s) {
      if (describe(s.reason) == "exception: done" && ++exits == n)
        all_in.set_value();
    });
    return {[](int x) { return x; }};
  });
  REQUIRE(hub);
  auto linked_worker = [h = *hub](process& self) -> behavior {
    self.link(h);
    return {[](int x) { return x; }};
  };
  std::vector<pid> first, second;
  for (int i = 0; i < n; ++i) {
    first.push_back(*spawn(rt, linked_worker));
    second.push_back(*spawn(rt, linked_worker));
  }
  for (auto& w : first)
    REQUIRE(call<int>(w, 5s, 1));  // linked (the link is made in init)
  for (auto& w : second)
    REQUIRE(call<int>(w, 5s, 1));
  CHECK(details(*hub)->links.size() == 2 * n);
  for (auto& w : first)
    exit(w, reason::error("done"));
  REQUIRE(all_in.get_future().wait_for(30s) == std::future_status::ready);
  CHECK(exits.load() == n);
  REQUIRE(eventually([&] { return details(*hub)->links.size() == n; }));
  exit(*hub, reason::kill());
  for (auto& w : second) {
    std::string why;
    REQUIRE(wait_exit(w, &why, 30s));
    CHECK(why == "killed");
  }
}

TEST_CASE_FIXTURE(fixture, "a call fails as soon as the callee dies, even after handing its reply away") {
  // The callee passes the reply to a keeper that never answers, then exits. OTP's call
  // monitors the callee: the caller learns at once, not when its (long) timeout runs out.
  auto keeper = spawn(rt, [held = std::vector<std::shared_ptr<reply_handle>>{}](process&) mutable -> behavior {
    return {[&held](std::shared_ptr<reply_handle> rh) { held.push_back(std::move(rh)); }};
  });
  REQUIRE(keeper);
  auto make_callee = [&] {
    return spawn(rt, [k = *keeper](process& self) -> behavior {
      return {[&self, k](int) {
        (void) self.send(k, std::make_shared<reply_handle>(self.reply_later()));
        self.exit(reason::error("gone before replying"));
        return 0;
      }};
    });
  };
  SUBCASE("from a thread") {
    auto callee = make_callee();
    REQUIRE(callee);
    auto t0 = std::chrono::steady_clock::now();
    auto r = call<int>(*callee, 60s, 1);
    REQUIRE(!r);
    CHECK(r.error() == errc::down);
    CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  }
  SUBCASE("from a process") {
    auto callee = make_callee();
    REQUIRE(callee);
    inbox box;
    auto caller = spawn(rt, [&box, c = *callee](process& self) -> behavior {
      self.call(c, 60s, 1).then([&box](int) { box.put("replied"); },
                                [&box](caf::error& e) { box.put(describe(e)); });
      return {[](int x) { return x; }};
    });
    REQUIRE(caller);
    auto m = box.take(30s);
    REQUIRE(m);
    CHECK(m->rfind("down", 0) == 0);
    exit(*caller, reason::shutdown());
    CHECK(wait_exit(*caller));
  }
  exit(*keeper, reason::shutdown());
  CHECK(wait_exit(*keeper));
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
