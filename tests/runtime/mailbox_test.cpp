// Bounded mailboxes: every overflow policy, backpressure for threads and processes,
// counters, high-water telemetry, and signals that bypass a flood.

#include <algorithm>
#include <thread>

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

mailbox_options box(size_t cap, overflow p) {
  mailbox_options o;
  o.capacity = cap;
  o.policy = p;
  return o;
}

// A process that appends every int it handles to `seen`.
caf::expected<pid> recorder(runtime& rt, std::vector<int>& seen, mailbox_options mo) {
  spawn_options so;
  so.mailbox = mo;
  return spawn(rt, [&seen](process&) -> behavior {
    return {[&seen](int x) { seen.push_back(x); },
            [&seen](const std::string&, int x) { seen.push_back(x); }};
  }, so);
}

} // namespace

TEST_SUITE("mailbox") {

TEST_CASE_FIXTURE(det_fixture, "reject returns overloaded at capacity and counts it") {
  std::vector<int> seen;
  auto p = recorder(rt, seen, box(3, overflow::reject));
  REQUIRE(p);
  run();
  for (int i = 1; i <= 3; ++i)
    CHECK(send(*p, i) == caf::none);
  CHECK(send(*p, 4) == errc::overloaded);
  CHECK(send(*p, 5) == errc::overloaded);
  auto s = stats(*p);
  CHECK(s.length == 3);
  CHECK(s.dropped == 2);
  CHECK(s.high_water == 3);
  run();
  CHECK(seen == std::vector<int>{1, 2, 3});
  CHECK(stats(*p).handled == 3);
  CHECK(stats(*p).length == 0);
}

TEST_CASE_FIXTURE(det_fixture, "handled counts the messages whose handler returned, up to a crash mid-batch") {
  // One drain takes all four messages at once; the count is kept per batch, so it must still
  // stop at the message whose handler threw.
  double at_crash = -1;
  auto id = telemetry::attach("corvid.process.crash", [&](const telemetry::event& e) {
    at_crash = e.measurements.at("handled");
  });
  std::vector<int> seen;
  auto p = spawn(rt, [&seen](process&) -> behavior {
    return {[&seen](int x) {
      if (x == 3)
        throw std::runtime_error("three");
      seen.push_back(x);
    }};
  });
  REQUIRE(p);
  run();
  for (int i = 1; i <= 4; ++i)
    REQUIRE(send(*p, i) == caf::none);
  run();
  telemetry::detach(id);
  CHECK(seen == std::vector<int>{1, 2});
  CHECK(at_crash == 2);
}

TEST_CASE_FIXTURE(det_fixture, "drop_newest keeps the first messages, drop_oldest the last") {
  std::vector<int> a, b;
  auto pa = recorder(rt, a, box(3, overflow::drop_newest));
  auto pb = recorder(rt, b, box(3, overflow::drop_oldest));
  REQUIRE(pa);
  REQUIRE(pb);
  run();
  for (int i = 1; i <= 6; ++i) {
    CHECK(send(*pa, i) == caf::none);
    CHECK(send(*pb, i) == caf::none);
  }
  CHECK(stats(*pa).dropped == 3);
  CHECK(stats(*pb).dropped == 3);
  run();
  CHECK(a == std::vector<int>{1, 2, 3});
  CHECK(b == std::vector<int>{4, 5, 6});
}

TEST_CASE_FIXTURE(det_fixture, "coalesce leaves only the latest message per key, in first-queued order") {
  std::vector<int> seen;
  auto p = recorder(rt, seen, box(100, overflow::coalesce));
  REQUIRE(p);
  run();
  send(*p, std::string{"a"}, 1);
  send(*p, std::string{"b"}, 10);
  send(*p, std::string{"a"}, 2);
  send(*p, std::string{"a"}, 3);
  send(*p, 99);  // no key: queued as is
  send(*p, std::string{"b"}, 20);
  CHECK(stats(*p).length == 3);
  CHECK(stats(*p).coalesced == 3);
  run();
  CHECK(seen == std::vector<int>{3, 20, 99});
  // After draining, a key starts fresh.
  send(*p, std::string{"a"}, 4);
  run();
  CHECK(seen.back() == 4);
}

TEST_CASE_FIXTURE(det_fixture, "coalesce with a custom key function") {
  std::vector<int> seen;
  auto mo = box(100, overflow::coalesce);
  mo.key = [](const caf::message& m) -> std::optional<std::string> {
    if (m.match_elements<int>())
      return std::to_string(m.get_as<int>(0) % 2);  // odd and even coalesce separately
    return std::nullopt;
  };
  auto p = recorder(rt, seen, mo);
  REQUIRE(p);
  run();
  for (int i = 1; i <= 6; ++i)
    send(*p, i);
  run();
  CHECK(seen == std::vector<int>{5, 6});
}

TEST_CASE_FIXTURE(det_fixture, "a blocked thread sender resumes when the consumer drains") {
  std::vector<int> seen;
  auto p = recorder(rt, seen, box(2, overflow::backpressure));
  REQUIRE(p);
  run();
  CHECK(send(*p, 1) == caf::none);
  CHECK(send(*p, 2) == caf::none);
  CHECK(send(*p, 3) == errc::overloaded);                // no waiting allowed: fails fast
  CHECK(send_wait(*p, 10ms, 3) == errc::timeout);         // nobody drains: times out
  std::atomic<bool> sent{false};
  caf::error result;
  std::thread producer([&] {
    result = send_wait(*p, std::chrono::seconds(30), 3);
    sent = true;
  });
  // The producer is blocked until the process handles a message.
  CHECK(eventually([&] { return stats(*p).length == 2; }));
  CHECK_FALSE(sent.load());
  run();
  producer.join();
  CHECK(result == caf::none);
  run();
  CHECK(seen == std::vector<int>{1, 2, 3});
}

TEST_CASE_FIXTURE(det_fixture, "an actor sender is told to wait and notified when room frees") {
  std::vector<int> seen;
  auto consumer = recorder(rt, seen, box(2, overflow::backpressure));
  REQUIRE(consumer);
  std::vector<std::string> log;
  auto producer = spawn(rt, [&log, c = *consumer](process& self) -> behavior {
    auto next = std::make_shared<int>(1);
    return {
      [&log, &self, c, next](caf::ok_atom) {
        // Send until told to wait.
        while (true) {
          auto err = self.send(c, *next);
          if (err == errc::would_block) {
            log.push_back("wait at " + std::to_string(*next));
            return;
          }
          ++*next;
        }
      },
      [&log, &self, c, next](room_available& r) {
        log.push_back("room");
        CHECK(r.receiver == c);
        if (self.send(c, *next) == caf::none)
          log.push_back("sent " + std::to_string(*next));
      },
    };
  });
  REQUIRE(producer);
  run();
  send(*producer, caf::ok_atom::value);
  // Run only the producer: the consumer must not drain yet.
  sched().run_once();
  REQUIRE(log == std::vector<std::string>{"wait at 3"});
  run();
  CHECK(log == std::vector<std::string>{"wait at 3", "room", "sent 3"});
  CHECK(seen == std::vector<int>{1, 2, 3});
}

TEST_CASE_FIXTURE(det_fixture, "a process's own timers and self-sends are never lost to its full mailbox") {
  // A dropped flush tick used to leave a live session's "flush scheduled" flag set forever.
  for (auto policy : {overflow::reject, overflow::drop_newest, overflow::drop_oldest, overflow::coalesce}) {
    CAPTURE(to_string(policy));
    std::vector<std::string> seen;
    std::vector<caf::error> self_sends;
    spawn_options so;
    so.mailbox = box(2, policy);
    auto p = spawn(rt, [&seen, &self_sends](process& self) -> behavior {
      return {
        [&self](caf::ok_atom) { self.send_after(std::chrono::milliseconds(1), self.self(), std::string{"tick"}); },
        [&self, &self_sends, &seen](const std::string& s) {
          seen.push_back(s);
          if (s == "go")
            for (auto m : {"s1", "s2", "s3"})
              self_sends.push_back(self.send(self.self(), std::string{m}));
        },
      };
    }, so);
    REQUIRE(p);
    run();
    send(*p, caf::ok_atom::value);  // arms the timer
    run();
    sched().trigger_timeouts();     // the timer fires while...
    CHECK(send(*p, std::string{"go"}) == caf::none);
    CHECK(send(*p, std::string{"x"}) == caf::none);  // ...the mailbox is full
    run();
    CHECK(self_sends == std::vector<caf::error>(3));
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"go", "s1", "s2", "s3", "tick", "x"});
    CHECK(stats(*p).dropped == 0);
    exit(*p, reason::kill());
    run();
  }
}

TEST_CASE_FIXTURE(det_fixture, "a sender waiting for room hears of it when the receiver dies instead") {
  std::vector<int> seen;
  auto consumer = recorder(rt, seen, box(1, overflow::backpressure));
  REQUIRE(consumer);
  std::vector<std::string> log;
  auto producer = spawn(rt, [&log, c = *consumer](process& self) -> behavior {
    return {
      [&log, &self, c](caf::ok_atom) {
        for (int i = 0; i < 5; ++i)  // retrying does not queue five notices
          log.push_back(describe(self.send(c, i)));
      },
      [&log, &self, c](room_available&) { log.push_back("room: " + describe(self.send(c, 9))); },
    };
  });
  REQUIRE(producer);
  run();
  send(*producer, caf::ok_atom::value);
  sched().run_once();
  REQUIRE(log == std::vector<std::string>{"normal", "would_block", "would_block", "would_block", "would_block"});
  exit(*consumer, reason::kill());
  run();
  CHECK(log.back() == "room: down");
  CHECK(log.size() == 6);
  exit(*producer, reason::kill());
  run();
}

TEST_CASE_FIXTURE(det_fixture, "a kill reaches a flooded process at once, not behind the flood") {
  std::vector<int> seen;
  auto p = recorder(rt, seen, box(100'000, overflow::reject));
  REQUIRE(p);
  run();
  for (int i = 0; i < 100'000; ++i)
    REQUIRE(send(*p, i) == caf::none);
  CHECK(send(*p, -1) == errc::overloaded);  // full
  exit(*p, reason::kill());                 // a signal: never bounded, never behind the queue
  sched().run_once();
  CHECK_FALSE(p->alive());
  CHECK(seen.empty());
}

TEST_CASE_FIXTURE(det_fixture, "a shutdown reaches a flooded trapping process ahead of its backlog") {
  std::vector<int> seen;
  std::vector<std::string> signals;
  spawn_options so;
  so.mailbox = box(10'000, overflow::reject);
  so.trap_exit = true;
  auto p = spawn(rt, [&](process& self) -> behavior {
    self.on_exit_signal([&signals, &self](exit_signal& s) {
      signals.push_back(describe(s.reason));
      self.exit(s.reason);
    });
    return {[&seen](int x) { seen.push_back(x); }};
  }, so);
  REQUIRE(p);
  run();
  for (int i = 0; i < 10'000; ++i)
    send(*p, i);
  exit(*p, reason::shutdown());
  run();
  CHECK(signals == std::vector<std::string>{"shutdown"});
  CHECK(seen.empty());
}

TEST_CASE_FIXTURE(det_fixture, "crossing the high-water mark emits one telemetry event") {
  std::vector<double> lengths;
  auto id = telemetry::attach("corvid.mailbox.high_water", [&](const telemetry::event& e) {
    lengths.push_back(e.measurements.at("length"));
  });
  std::vector<int> seen;
  auto mo = box(10, overflow::reject);
  mo.high_water = 4;
  auto p = recorder(rt, seen, mo);
  REQUIRE(p);
  run();
  for (int i = 0; i < 8; ++i)
    send(*p, i);
  CHECK(lengths == std::vector<double>{4});
  run();  // drained below half the mark: armed again
  for (int i = 0; i < 4; ++i)
    send(*p, i);
  CHECK(lengths == std::vector<double>{4, 4});
  telemetry::detach(id);
  run();
}

TEST_CASE_FIXTURE(fixture, "a call to a full reject mailbox fails with overloaded") {
  spawn_options so;
  so.mailbox = box(1, overflow::reject);
  std::atomic<bool> release{false};
  auto gate = spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; }, so);
  REQUIRE(gate);
  // Fill with casts faster than it can possibly drain: at least one call must then be refused.
  bool refused = false;
  for (int i = 0; i < 100'000 && !refused; ++i) {
    auto err = send(*gate, i);
    if (err == errc::overloaded)
      refused = true;
  }
  CHECK(refused);
  CHECK(stats(*gate).dropped >= 1);
  exit(*gate, reason::shutdown());
}

} // TEST_SUITE

TEST_SUITE("mailbox") {

TEST_CASE_FIXTURE(det_fixture, "send_many shares one message, skips one pid, and counts refusals") {
  std::vector<int> a, b, c;
  auto pa = recorder(rt, a, box(1, overflow::reject));
  auto pb = recorder(rt, b, box(10, overflow::reject));
  auto pc = recorder(rt, c, box(10, overflow::reject));
  REQUIRE(pa);
  REQUIRE(pb);
  REQUIRE(pc);
  run();
  REQUIRE(send(*pa, 0) == caf::none);  // pa is now full
  std::vector<pid> all{*pa, *pb, *pc, pid{}};
  auto r = send_many(all.data(), all.data() + all.size(), caf::make_message(7), pc->id());
  CHECK(r.accepted == 1);  // pb
  CHECK(r.refused == 2);   // pa full, the empty pid
  run();
  CHECK(a == std::vector<int>{0});
  CHECK(b == std::vector<int>{7});
  CHECK(c.empty());
}

} // TEST_SUITE
