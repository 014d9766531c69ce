#pragma once
// Shared helpers for runtime tests: a runtime per test, a thread-safe inbox that test
// processes report into, and a leak check on the live-process count.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "corvid/runtime.hpp"

namespace corvid::test {

using namespace std::chrono_literals;

/// Collects strings from any thread; wait_for() blocks the test thread (never a process).
class inbox {
public:
  void put(std::string s) {
    std::lock_guard<std::mutex> g{m_};
    q_.push_back(std::move(s));
    cv_.notify_all();
  }
  /// The next item, or nullopt after `timeout`.
  std::optional<std::string> take(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> g{m_};
    if (!cv_.wait_for(g, timeout, [this] { return !q_.empty(); }))
      return std::nullopt;
    auto s = std::move(q_.front());
    q_.pop_front();
    return s;
  }
  size_t size() {
    std::lock_guard<std::mutex> g{m_};
    return q_.size();
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
};

/// Waits (polling with a generous limit) until `pred` holds; for conditions with no event to wait on.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::yield();
  }
  return true;
}

/// A runtime whose destructor checks that every process of the test has exited.
struct fixture {
  runtime rt{[] {
    runtime_options o;
    o.threads = 2;
    return o;
  }()};
  ~fixture() {
    rt.shutdown_all(5s);
    CHECK_MESSAGE(rt.process_count() == 0, "processes leaked");
    CHECK(registry_size(rt) == 0);
  }
  /// Blocks until `p` has exited (monitors it through a helper process).
  bool wait_exit(const pid& p, std::string* why = nullptr, std::chrono::milliseconds limit = 5s) {
    inbox box;
    auto w = spawn(rt, [&box, p](process& self) -> behavior {
      self.monitor(p);
      return {[&box, &self](down_signal& d) {
        box.put(describe(d.reason));
        self.exit();
      }};
    });
    auto r = box.take(limit);
    if (!r)
      return false;
    if (why)
      *why = *r;
    if (why && *r == "noproc")  // it was gone before the monitor was set: ask for its reason
      if (auto x = exit_reason(p))
        *why = describe(*x);
    return true;
  }
};

} // namespace corvid::test

#include <caf/scheduler/test_coordinator.hpp>

namespace corvid::test {

/// A runtime on CAF's deterministic test coordinator: nothing runs until run() is called,
/// so overflow and supervision paths are repeatable to the message.
struct det_fixture {
  runtime rt{[] {
    runtime_options o;
    o.scheduler = "testing";
    return o;
  }()};
  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(rt.system().scheduler());
  }
  /// Runs every runnable process until all are idle.
  void run() { sched().run(); }
  ~det_fixture() {
    rt.shutdown_all();
    CHECK_MESSAGE(rt.process_count() == 0, "processes leaked");
  }
};

} // namespace corvid::test
