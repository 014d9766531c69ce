// How a process is woken: a message in an idle process's mailbox schedules it once, a process
// that goes idle while senders race it is never left asleep on a message, and a long backlog
// yields to other processes between drain batches.

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("wake") {

TEST_CASE_FIXTURE(fixture, "sends from threads that race the receiver going idle are all handled") {
  // Each burst ends with the receiver draining its box and going idle while the other thread's
  // next burst arrives: a wake lost in that window leaves a message unhandled for good.
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> handled{0};
  auto p = spawn(rt, [&handled](process&) -> behavior {
    return {[&handled](int) { handled.fetch_add(1, std::memory_order_relaxed); }};
  });
  REQUIRE(p);
  constexpr int rounds = 5'000;
  std::atomic<bool> stuck{false};
  auto producer = [&](int seed) {
    for (int r = 0; r < rounds && !stuck; ++r) {
      const int burst = 1 + (r * 7 + seed) % 3;
      for (int i = 0; i < burst; ++i) {
        sent.fetch_add(1);
        if (send(*p, i) != caf::none) {
          stuck = true;  // refused: the box filled, so it was not being drained
          return;
        }
      }
      const auto target = sent.load();
      if (!eventually([&] { return handled.load() >= target; }, 10s)) {
        stuck = true;
        return;
      }
    }
  };
  std::thread a{producer, 0};
  std::thread b{producer, 1};
  a.join();
  b.join();
  CHECK_FALSE(stuck.load());
  CHECK(handled.load() == sent.load());
  exit(*p, reason::shutdown());
  CHECK(wait_exit(*p));
}

TEST_CASE("a backlog longer than a drain batch lets other processes run in between") {
  // One worker: without the yield, b would wait for the whole of a's backlog.
  runtime_options o;
  o.threads = 1;
  runtime rt{o};
  std::atomic<int> a_handled{0};
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  inbox b_saw;
  auto a = spawn(rt, [&](process&) -> behavior {
    return {[&, released](int i) {
      if (i == 0) {
        entered.set_value();
        released.wait();  // holds the one worker while the backlog builds (a test's stand-in for work)
      }
      a_handled.fetch_add(1);
    }};
  });
  auto b = spawn(rt, [&](process&) -> behavior {
    return {[&](const std::string&) { b_saw.put(std::to_string(a_handled.load())); }};
  });
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(send(*a, 0) == caf::none);
  REQUIRE(entered.get_future().wait_for(5s) == std::future_status::ready);
  for (int i = 1; i < 500; ++i)
    REQUIRE(send(*a, i) == caf::none);
  REQUIRE(send(*b, std::string{"x"}) == caf::none);  // queued behind a
  release.set_value();
  auto seen = b_saw.take();
  REQUIRE(seen);
  const int when = std::stoi(*seen);
  CHECK(when > 0);
  CHECK(when < 500);  // a yielded after a drain batch
  CHECK(eventually([&] { return a_handled.load() == 500; }));
  rt.shutdown_all(5s);
  CHECK(rt.process_count() == 0);
}

TEST_CASE_FIXTURE(det_fixture, "a message wakes an idle process once, however many follow before it runs") {
  int handled = 0;
  auto a = spawn(rt, [&handled](process&) -> behavior { return {[&handled](int) { ++handled; }}; });
  REQUIRE(a);
  run();
  CHECK_FALSE(sched().has_job());
  for (int i = 0; i < 10; ++i)
    REQUIRE(send(*a, i) == caf::none);
  CHECK(sched().jobs.size() == 1);
  sched().run_once();
  CHECK(handled == 10);
  CHECK_FALSE(sched().has_job());
}

}
