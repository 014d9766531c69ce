// throttle and debounce: latest wins, spacing, trailing delivery, no blocking.

#include <thread>

#include "../runtime/fixture.hpp"
#include "corvid/pubsub.hpp"

using namespace corvid;
using namespace corvid::test;
using namespace corvid::pubsub;

namespace {

using steady = std::chrono::steady_clock;
// The limiter spaces emissions by its own clock reading; a test stamps each one a little
// later, by a delay that varies (most under ASan), so two stamps may be that much closer.
constexpr auto stamp_jitter = std::chrono::milliseconds(2);

/// What a limiter let out, with the moment it did.
struct emission {
  int value;
  steady::time_point at;
};

/// A process whose limiter (made by `make`) records emissions; ("burst", n) pushes 1..n at once,
/// ("storm", n, 0) pushes one value per millisecond tick up to n. `done` hears of `last`.
struct limited {
  std::vector<emission> out;
  std::mutex m;
  inbox done;
  inbox gone;
  std::shared_ptr<limiter_stats> stats = std::make_shared<limiter_stats>();
  pid p;

  template <class Make>
  limited(runtime& rt, int last, Make make) : p(start(rt, last, make)) {}
  ~limited() {
    exit(p, reason::shutdown());
    CHECK(gone.take(5s));  // the sink uses this object: wait for the process to end
  }
  /// The emissions, once `last` went out.
  const std::vector<emission>& wait() {
    REQUIRE(done.take(10s));
    std::lock_guard<std::mutex> g{m};
    return out;
  }

  template <class Make>
  pid start(runtime& rt, int last, Make make) {
    auto q = spawn(rt, [this, last, make, stats = stats](process& self) -> behavior {
      auto sink = [this, last](caf::message msg) {
        auto v = msg.get_as<int>(0);
        {
          std::lock_guard<std::mutex> g{m};
          out.push_back({v, steady::now()});
        }
        if (v == last)
          done.put("last");
      };
      auto lim = std::make_shared<limiter>(make(self, sink));
      auto ticks = std::make_shared<std::pair<int, timer_ref>>(0, timer_ref{});
      return {
        limiter_handler(),
        [lim, stats](const std::string& cmd, int n) {
          if (cmd == "burst")
            for (int i = 1; i <= n; ++i)
              (*lim)(i);
          *stats = lim->stats();
        },
        [lim, ticks, stats, &self](const std::string& cmd, int n, int) {
          if (cmd == "storm" && ticks->first == 0)
            ticks->second = self.send_interval(1ms, self.self(), std::string{"storm"}, n, 0);
          (*lim)(++ticks->first);
          if (ticks->first >= n)
            self.cancel_timer(ticks->second);
          *stats = lim->stats();
        },
      };
    });
    REQUIRE(q);
    REQUIRE(on_exit_of(*q, [this](const pid&, const caf::error&) { gone.put("gone"); }));
    return *q;
  }
};

} // namespace

TEST_SUITE("limiter") {

TEST_CASE_FIXTURE(fixture, "throttle: a burst gives the first at once and the latest after the interval") {
  limited t{rt, 1000, [](process& self, emit_fn f) { return throttle{self, 50ms, std::move(f)}; }};
  REQUIRE(send(t.p, std::string{"burst"}, 1000) == caf::none);
  auto& out = t.wait();
  REQUIRE(out.size() == 2);
  CHECK(out[0].value == 1);
  CHECK(out[1].value == 1000);
  CHECK(out[1].at - out[0].at >= 50ms - stamp_jitter);
  CHECK(t.stats->pushed == 1000);
  CHECK(t.stats->suppressed == 998);
}

TEST_CASE_FIXTURE(fixture, "throttle: under a storm at most one per interval, the latest delivered") {
  limited t{rt, 200, [](process& self, emit_fn f) { return throttle{self, 20ms, std::move(f)}; }};
  REQUIRE(send(t.p, std::string{"storm"}, 200, 0) == caf::none);
  auto& out = t.wait();
  REQUIRE(out.size() >= 2);
  for (size_t i = 1; i < out.size(); ++i) {
    CHECK(out[i].at - out[i - 1].at >= 20ms - stamp_jitter);
    CHECK(out[i].value > out[i - 1].value);
  }
  CHECK(out.size() <= size_t((out.back().at - out.front().at) / 20ms) + 1);
  CHECK(out.back().value == 200);
  CHECK(t.stats->pushed - t.stats->emitted - t.stats->suppressed <= 1);  // the last may be held then
}

TEST_CASE_FIXTURE(fixture, "throttle without leading edge: one message per quiet burst, the latest") {
  limited t{rt, 100, [](process& self, emit_fn f) { return throttle{self, 30ms, std::move(f), false}; }};
  REQUIRE(send(t.p, std::string{"burst"}, 100) == caf::none);
  auto& out = t.wait();
  REQUIRE(out.size() == 1);
  CHECK(out[0].value == 100);
}

TEST_CASE_FIXTURE(fixture, "debounce: a burst gives only the latest, once, after the quiet time") {
  limited t{rt, 500, [](process& self, emit_fn f) { return debounce{self, 30ms, std::move(f)}; }};
  auto t0 = steady::now();
  REQUIRE(send(t.p, std::string{"burst"}, 500) == caf::none);
  auto& out = t.wait();
  REQUIRE(out.size() == 1);
  CHECK(out[0].value == 500);
  CHECK(out[0].at - t0 >= 30ms);
  CHECK(t.stats->suppressed == 499);
}

TEST_CASE_FIXTURE(fixture, "debounce with max_wait still emits during a long storm") {
  limited t{rt, 150, [](process& self, emit_fn f) { return debounce{self, 1s, std::move(f), 40ms}; }};
  REQUIRE(send(t.p, std::string{"storm"}, 150, 0) == caf::none);
  auto& out = t.wait();
  CHECK(out.size() >= 2);  // ~150 ms of storm with a 40 ms cap: intermediate emissions
  CHECK(out.back().value == 150);
}

TEST_CASE_FIXTURE(fixture, "a throttle feeding a topic through a hub") {
  hub ps{rt};
  inbox box;
  auto sub = spawn(rt, [&box](process&) -> behavior {
    return {[&box](const std::string&, int v) { box.put(std::to_string(v)); }};
  });
  REQUIRE(sub);
  REQUIRE(ps.subscribe(*sub, "prices") == caf::none);
  auto pub = spawn(rt, [&ps](process& self) -> behavior {
    auto t = std::make_shared<throttle>(self, 30ms, to_topic(ps, "prices", self.self()));
    return {limiter_handler(), [t](int n) {
      for (int i = 1; i <= n; ++i)
        (*t)(std::string{"prices"}, i);
    }};
  });
  REQUIRE(pub);
  REQUIRE(send(*pub, 300) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"1"});
  CHECK(box.take() == std::optional<std::string>{"300"});
  exit(*pub, reason::shutdown());
  exit(*sub, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "a throttled publisher subscribed to its own topic skips itself") {
  hub ps{rt};
  inbox box;
  auto sub = spawn(rt, [&box](process&) -> behavior {
    return {[&box](const std::string&, int v) { box.put("sub:" + std::to_string(v)); }};
  });
  REQUIRE(sub);
  REQUIRE(ps.subscribe(*sub, "prices") == caf::none);
  auto pub = spawn(rt, [&ps, &box](process& self) -> behavior {  // as in the README's example
    auto t = std::make_shared<throttle>(self, 30ms, to_topic(ps, "prices", self.self()));
    return {
      limiter_handler(),
      [t](int price) { (*t)(std::string{"prices"}, price); },
      [&box](const std::string&, int v) { box.put("self:" + std::to_string(v)); },
      [](const std::string& probe) { return probe; },
    };
  });
  REQUIRE(pub);
  REQUIRE(ps.subscribe(*pub, "prices") == caf::none);
  REQUIRE(send(*pub, 1) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"sub:1"});
  REQUIRE(call<std::string>(*pub, 1s, std::string{"probe"}));
  CHECK(box.size() == 0);
  exit(*pub, reason::shutdown());
  exit(*sub, reason::shutdown());
}

} // TEST_SUITE
