// The lock of mailbox blocks and the process table: mutual exclusion under contention, and no waiter left asleep.

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "../../runtime/src/word_lock.hpp"

using corvid::detail::word_lock;

TEST_SUITE("word_lock") {

TEST_CASE("more threads than cores take turns, and none is left asleep") {
  // Four threads on a two-core machine: holders get preempted, so waiters run out of spins and
  // sleep on the word; an unlock that failed to wake one would leave the run unfinished.
  constexpr int threads = 4;
  constexpr int rounds = 500'000;
  // Shared with the threads, which outlive this test if it fails (they are detached then).
  struct shared {
    word_lock lk;
    uint64_t counter = 0;  // plain: a section that overlapped another would lose increments
    bool inside = false;
    std::atomic<bool> overlapped{false};
    std::atomic<int> ready{0};
    std::atomic<int> finished{0};
    std::promise<void> all_done;
  };
  auto st = std::make_shared<shared>();
  auto done_future = st->all_done.get_future();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([st] {
      st->ready.fetch_add(1);
      while (st->ready.load() < threads)  // all start together, or they barely meet
        std::this_thread::yield();
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard g{st->lk};
        if (st->inside)
          st->overlapped = true;
        st->inside = true;
        ++st->counter;
        st->inside = false;
      }
      if (st->finished.fetch_add(1) + 1 == threads)
        st->all_done.set_value();
    });
  if (done_future.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
    for (auto& t : ts)
      t.detach();
    FAIL("threads still waiting for the lock after 120 s");
  }
  for (auto& t : ts)
    t.join();
  CHECK_FALSE(st->overlapped.load());
  CHECK(st->counter == uint64_t{threads} * rounds);
}

TEST_CASE("try_lock fails while held and succeeds once released") {
  word_lock lk;
  REQUIRE(lk.try_lock());
  auto other = std::async(std::launch::async, [&] { return lk.try_lock(); });
  CHECK_FALSE(other.get());
  lk.unlock();
  auto again = std::async(std::launch::async, [&] {
    bool ok = lk.try_lock();
    if (ok)
      lk.unlock();
    return ok;
  });
  CHECK(again.get());
}

TEST_CASE("lock() waits for the holder's unlock") {
  word_lock lk;
  lk.lock();
  std::atomic<bool> got{false};
  std::promise<void> started;
  std::thread t([&] {
    started.set_value();
    std::lock_guard g{lk};
    got = true;
  });
  started.get_future().wait();
  CHECK_FALSE(got.load());  // it cannot have the lock while this thread holds it
  lk.unlock();
  t.join();
  CHECK(got.load());
}

} // TEST_SUITE
