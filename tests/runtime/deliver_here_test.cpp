// deliver_here(): a thread that is not a worker (an I/O thread that read a frame) runs an idle
// process's turn itself; everything else stays with the workers.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

std::string where(std::thread::id caller) { return std::this_thread::get_id() == caller ? "here" : "worker"; }

}  // namespace

TEST_SUITE("deliver_here") {

TEST_CASE_FIXTURE(fixture, "an idle process's turn runs on the delivering thread; what it sends runs on the workers") {
  const auto caller = std::this_thread::get_id();
  inbox box;
  auto q = spawn(rt, [&box, caller](process&) -> behavior {
    return {[&box, caller](const std::string& s) { box.put(s + ":" + where(caller)); }};
  });
  REQUIRE(q);
  std::atomic<bool> ran_here{false};
  auto p = spawn(rt, [&, q = *q](process& self) -> behavior {
    return {[&, q, &self](int x) {
      if (std::this_thread::get_id() == caller) ran_here = true;
      (void)self.send(q, std::string("from p ") + std::to_string(x));
    }};
  });
  REQUIRE(p);
  // The first deliveries may find p still starting (or ending a turn) on a worker: those stay
  // there. Once it is idle, the turn runs here and is over when deliver_here returns.
  int sent = 0;
  CHECK(eventually([&] {
    CHECK(detail::deliver_here(*p, caf::make_message(++sent)) == caf::none);
    return ran_here.load();
  }));
  for (int i = 0; i < sent; ++i) {
    auto r = box.take();
    REQUIRE(r);
    CHECK(r->substr(r->find(':')) == ":worker");  // never run here: one turn per delivery
  }
  CHECK(stats(*p).handled == static_cast<uint64_t>(sent));
}

TEST_CASE_FIXTURE(fixture, "a process busy on a worker gets the message queued; deliver_here does not wait for it") {
  const auto caller = std::this_thread::get_id();
  std::mutex m;
  std::condition_variable cv;
  bool open = false, holding = false;
  inbox box;
  auto p = spawn(rt, [&](process&) -> behavior {
    return {[&](const std::string&) {  // holds its worker until the test opens the gate
              std::unique_lock<std::mutex> g{m};
              holding = true;
              cv.notify_all();
              cv.wait(g, [&] { return open; });
            },
            [&](int x) { box.put(std::to_string(x) + ":" + where(caller)); }};
  });
  REQUIRE(p);
  REQUIRE(send(*p, std::string("hold")) == caf::none);
  {
    std::unique_lock<std::mutex> g{m};
    REQUIRE(cv.wait_for(g, 5s, [&] { return holding; }));
  }
  CHECK(detail::deliver_here(*p, caf::make_message(7)) == caf::none);
  CHECK(box.size() == 0);
  {
    std::lock_guard<std::mutex> g{m};
    open = true;
  }
  cv.notify_all();
  CHECK(box.take() == std::optional<std::string>("7:worker"));
}

TEST_CASE_FIXTURE(fixture, "deliver_here keeps deliver's answers: a full mailbox refuses, a gone process is down") {
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = 1;
  so.mailbox->policy = overflow::reject;
  std::mutex m;
  std::condition_variable cv;
  bool open = false, holding = false;
  auto p = spawn(rt, [&](process&) -> behavior {
    return {[&](const std::string&) {
              std::unique_lock<std::mutex> g{m};
              holding = true;
              cv.notify_all();
              cv.wait(g, [&] { return open; });
            },
            [](int) {}};
  }, so);
  REQUIRE(p);
  REQUIRE(send(*p, std::string("hold")) == caf::none);
  {
    std::unique_lock<std::mutex> g{m};
    REQUIRE(cv.wait_for(g, 5s, [&] { return holding; }));
  }
  CHECK(detail::deliver_here(*p, caf::make_message(1)) == caf::none);
  CHECK(detail::deliver_here(*p, caf::make_message(2)) == errc::overloaded);
  {
    std::lock_guard<std::mutex> g{m};
    open = true;
  }
  cv.notify_all();
  exit(*p, reason::kill());
  REQUIRE(wait_exit(*p));
  CHECK(detail::deliver_here(*p, caf::make_message(3)) == errc::down);
}

}
