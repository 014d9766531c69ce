// Timers (send_after, cancel, periodic) and idle timeouts.

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("timers") {

TEST_CASE_FIXTURE(fixture, "a cancelled timer never fires; a later one does") {
  inbox box;
  auto p = spawn(rt, [&box](process& self) -> behavior {
    auto doomed = self.send_after(20ms, self.self(), std::string{"cancelled"});
    self.send_after(200ms, self.self(), std::string{"kept"});
    CHECK(self.cancel_timer(doomed));
    CHECK_FALSE(self.cancel_timer(doomed));
    return {[&box](const std::string& s) { box.put(s); }};
  });
  REQUIRE(p);
  CHECK(box.take() == std::optional<std::string>{"kept"});
  CHECK(box.size() == 0);
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "a periodic timer repeats until cancelled") {
  inbox box;
  auto p = spawn(rt, [&box](process& self) -> behavior {
    auto n = std::make_shared<int>(0);
    auto t = std::make_shared<timer_ref>();
    *t = self.send_interval(5ms, self.self(), caf::tick_atom::value);
    return {[&box, &self, n, t](caf::tick_atom) {
      if (++*n == 3) {
        self.cancel_timer(*t);
        box.put("cancelled");
        self.send_after(50ms, self.self(), std::string{"after"});
      } else if (*n > 3) {
        box.put("tick after cancel");
      }
    },
    [&box](const std::string& s) { box.put(s); }};
  });
  REQUIRE(p);
  CHECK(box.take() == std::optional<std::string>{"cancelled"});
  CHECK(box.take() == std::optional<std::string>{"after"});
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "timers deliver through the receiver's mailbox") {
  inbox box;
  auto target = spawn(rt, [&box](process&) -> behavior {
    return {[&box](int x) { box.put(std::to_string(x)); }};
  });
  REQUIRE(target);
  auto p = spawn(rt, [t = *target](process& self) -> behavior {
    self.send_after(1ms, t, 7);
    return {[](int) {}};
  });
  REQUIRE(p);
  CHECK(box.take() == std::optional<std::string>{"7"});
  CHECK(eventually([&] { return stats(*target).handled == 1; }));  // counted after the handler returns
  exit(*p, reason::shutdown());
  exit(*target, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "an idle process stops after its idle timeout; activity postpones it") {
  spawn_options o;
  o.idle_timeout = 100ms;
  auto p = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; }, o);
  REQUIRE(p);
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i)
    REQUIRE(call<int>(*p, 1s, i));
  std::string why;
  CHECK(wait_exit(*p, &why));
  CHECK(why == "idle_timeout");
  CHECK(std::chrono::steady_clock::now() - started >= 100ms);
}

TEST_CASE_FIXTURE(fixture, "an idle callback may shrink state instead of stopping") {
  inbox box;
  auto p = spawn(rt, [&box](process& self) -> behavior {
    self.set_idle_timeout(20ms, [&box, &self] {
      box.put("idle");
      self.set_idle_timeout(caf::timespan{0});
    });
    return {[](int x) { return x; }};
  });
  REQUIRE(p);
  CHECK(box.take() == std::optional<std::string>{"idle"});
  CHECK(p->alive());
  CHECK(*call<int>(*p, 1s, 5) == 5);
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(det_fixture, "call timeouts run on the actor clock: virtual time, no waiting") {
  auto held = std::make_shared<std::vector<reply_handle>>();
  auto silent = spawn(rt, [held](process& self) -> behavior {
    return {[&self, held](int) {
      held->push_back(self.reply_later());  // never answers
      return 0;
    }};
  });
  REQUIRE(silent);
  std::vector<std::string> log;
  auto caller = spawn(rt, [&log, s = *silent](process& self) -> behavior {
    return {[&log, &self, s](caf::ok_atom) {
      self.call(s, std::chrono::hours(1), 1).then([&log](int) { log.push_back("replied"); },
                                                 [&log](caf::error& e) { log.push_back(describe(e)); });
    }};
  });
  REQUIRE(caller);
  run();
  send(*caller, caf::ok_atom::value);
  run();
  CHECK(log.empty());
  sched().clock().advance_time(std::chrono::minutes(59));
  run();
  CHECK(log.empty());
  sched().clock().advance_time(std::chrono::minutes(2));
  run();
  CHECK(log == std::vector<std::string>{"timeout"});
  exit(*caller, reason::shutdown());
  exit(*silent, reason::shutdown());
}

TEST_CASE_FIXTURE(det_fixture, "idle timeouts run on the actor clock; each handled message restarts the wait") {
  spawn_options o;
  o.idle_timeout = std::chrono::minutes(10);
  int handled = 0;
  auto p = spawn(rt, [&handled](process&) -> behavior { return {[&handled](int) { ++handled; }}; }, o);
  REQUIRE(p);
  run();
  sched().clock().advance_time(std::chrono::minutes(6));
  run();
  send(*p, 1);  // at minute 6: the process now idles until minute 16
  run();
  sched().clock().advance_time(std::chrono::minutes(6));
  run();
  CHECK(p->alive());
  sched().clock().advance_time(std::chrono::minutes(5));
  run();
  CHECK(!p->alive());
  CHECK(handled == 1);
  auto why = exit_reason(*p);
  REQUIRE(why);
  CHECK(*why == errc::idle_timeout);
}

} // TEST_SUITE
