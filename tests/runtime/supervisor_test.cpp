// Supervisors: restart strategies, intensity, ordered start and reverse stop, nesting,
// the dynamic supervisor, and names surviving restarts.

#include <atomic>
#include <thread>

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

// A worker that reports "<id>:start" and "<id>:stop" to the inbox and crashes on "crash".
child_spec reporting(std::string id, inbox& box, restart r = restart::permanent, std::string name = {}) {
  spawn_options o;
  o.name = std::move(name);
  return child_spec::worker(id, [id, &box](process& self) -> behavior {
    box.put(id + ":start");
    self.trap_exit(true);  // so that shutdown is observed as a stop
    self.on_exit_signal([id, &box, &self](exit_signal& s) {
      box.put(id + ":stop");
      self.exit(s.reason);
    });
    return {
      [&self](const std::string& cmd) {
        if (cmd == "crash")
          throw std::runtime_error("crash requested");
        if (cmd == "quit")
          self.exit();
        return cmd;
      },
    };
  }, o, r);
}

std::vector<std::string> take_n(inbox& box, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    auto s = box.take();
    if (!s)
      break;
    out.push_back(*s);
  }
  return out;
}

pid child_pid(const pid& sup, const std::string& id) {
  auto kids = which_children(sup);
  if (!kids)
    return {};
  for (auto& k : *kids)
    if (k.id == id)
      return k.current;
  return {};
}

} // namespace

TEST_SUITE("supervisor") {

TEST_CASE_FIXTURE(fixture, "children start in order and stop in reverse order") {
  inbox box;
  auto sup = start_supervisor(rt, {}, {reporting("a", box), reporting("b", box), reporting("c", box)});
  REQUIRE(sup);
  CHECK(take_n(box, 3) == std::vector<std::string>{"a:start", "b:start", "c:start"});
  exit(*sup, reason::shutdown());
  CHECK(take_n(box, 3) == std::vector<std::string>{"c:stop", "b:stop", "a:stop"});
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "one_for_one: a crashed child comes back under the same registered name") {
  inbox box;
  auto sup = start_supervisor(rt, {}, {reporting("a", box, restart::permanent, "alpha"), reporting("b", box)});
  REQUIRE(sup);
  take_n(box, 2);
  auto before = whereis(rt, "alpha");
  REQUIRE(before);
  send(before, std::string{"crash"});
  CHECK(box.take() == std::optional<std::string>{"a:start"});
  auto after = whereis(rt, "alpha");
  CHECK(after);
  CHECK(after != before);
  CHECK(*call<std::string>(after, 1s, std::string{"ping"}) == "ping");
  CHECK(box.size() == 0);  // b untouched
  auto kids = which_children(*sup);
  REQUIRE(kids);
  CHECK((*kids)[0].restarts == 1);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "one_for_all restarts every child, stopping the others in reverse order first") {
  inbox box;
  supervisor_flags f;
  f.strategy_type = strategy::one_for_all;
  auto sup = start_supervisor(rt, f, {reporting("a", box), reporting("b", box), reporting("c", box)});
  REQUIRE(sup);
  take_n(box, 3);
  send(child_pid(*sup, "b"), std::string{"crash"});
  CHECK(take_n(box, 5) == std::vector<std::string>{"c:stop", "a:stop", "a:start", "b:start", "c:start"});
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "rest_for_one restarts exactly the later children, in order") {
  inbox box;
  supervisor_flags f;
  f.strategy_type = strategy::rest_for_one;
  auto sup = start_supervisor(rt, f, {reporting("a", box), reporting("b", box), reporting("c", box),
                                      reporting("d", box)});
  REQUIRE(sup);
  take_n(box, 4);
  auto a = child_pid(*sup, "a");
  send(child_pid(*sup, "b"), std::string{"crash"});
  CHECK(take_n(box, 5) == std::vector<std::string>{"d:stop", "c:stop", "b:start", "c:start", "d:start"});
  CHECK(child_pid(*sup, "a") == a);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "transient children restart only after abnormal exits; temporary never") {
  inbox box;
  auto sup = start_supervisor(rt, {}, {reporting("t", box, restart::transient),
                                       reporting("tmp", box, restart::temporary)});
  REQUIRE(sup);
  take_n(box, 2);
  send(child_pid(*sup, "t"), std::string{"crash"});
  CHECK(box.take() == std::optional<std::string>{"t:start"});
  auto t = child_pid(*sup, "t");
  send(t, std::string{"quit"});
  CHECK(wait_exit(t));
  send(child_pid(*sup, "tmp"), std::string{"crash"});
  // Both are gone for good: t stays as a spec without a pid, tmp is forgotten.
  CHECK(eventually([&] {
    auto k = which_children(*sup);
    return k && k->size() == 1 && !(*k)[0].current;
  }));
  CHECK(box.take(100ms) == std::nullopt);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "exceeding restart intensity: the supervisor exits with shutdown; telemetry says why") {
  // OTP: a supervisor that gives up exits with `shutdown`, so a transient parent leaves it
  // down instead of restarting it; the reason is reported, not carried in the exit reason.
  inbox box;
  std::mutex m;
  std::vector<std::string> why_events;
  auto tid = telemetry::attach("corvid.supervisor.shutdown", [&](const telemetry::event& e) {
    std::lock_guard<std::mutex> g{m};
    why_events.push_back(e.metadata.at("reason") + " " + e.metadata.at("child"));
  });
  supervisor_flags inner;
  inner.intensity = 2;
  inner.period = std::chrono::seconds(60);
  auto inner_spec = supervisor_spec("inner", inner, {reporting("w", box)});
  inner_spec.restart_type = restart::transient;
  auto top = start_supervisor(rt, supervisor_flags{strategy::one_for_one, 0, std::chrono::seconds(60), 0},
                              {inner_spec});
  REQUIRE(top);
  auto inner_pid = child_pid(*top, "inner");
  REQUIRE(inner_pid);
  CHECK(box.take() == std::optional<std::string>{"w:start"});
  for (int i = 0; i < 3; ++i) {
    auto w = child_pid(inner_pid, "w");
    REQUIRE(w);
    send(w, std::string{"crash"});
    if (i < 2)
      REQUIRE(box.take() == std::optional<std::string>{"w:start"});
  }
  std::string inner_why;
  CHECK(wait_exit(inner_pid, &inner_why));
  CHECK(inner_why == "shutdown");
  // top allows no restart at all, yet stays up: a transient child ending with shutdown is not restarted.
  CHECK(eventually([&] {
    auto k = which_children(*top);
    return k && k->size() == 1 && !(*k)[0].current;
  }));
  CHECK(top->alive());
  {
    std::lock_guard<std::mutex> g{m};
    CHECK(why_events == std::vector<std::string>{"reached_max_restart_intensity w"});
  }
  telemetry::detach(tid);
  exit(*top, reason::shutdown());
  CHECK(wait_exit(*top));
}

TEST_CASE_FIXTURE(fixture, "a failed restart is retried, each attempt counting toward the intensity") {
  inbox box;
  auto starts = std::make_shared<std::atomic<int>>(0);
  // Starts once, then fails `fails` times, then starts again.
  auto flaky = [&box, starts](int fails) {
    child_spec c = reporting("f", box);
    auto inner = c.start;
    c.start = [inner, starts, fails](process& sup) -> caf::expected<pid> {
      int n = starts->fetch_add(1);
      if (n >= 1 && n <= fails)
        return make_error(errc::bad_argument, "not yet");
      return inner(sup);
    };
    return c;
  };
  SUBCASE("within the intensity: the child comes back") {
    supervisor_flags f;
    f.intensity = 5;
    f.period = std::chrono::seconds(60);
    auto sup = start_supervisor(rt, f, {flaky(2)});
    REQUIRE(sup);
    CHECK(box.take() == std::optional<std::string>{"f:start"});
    send(child_pid(*sup, "f"), std::string{"crash"});
    CHECK(box.take() == std::optional<std::string>{"f:start"});
    CHECK(starts->load() == 4);  // the first start, two failed attempts, one that worked
    CHECK(sup->alive());
    exit(*sup, reason::shutdown());
    CHECK(wait_exit(*sup));
  }
  SUBCASE("beyond it: the supervisor gives up with shutdown") {
    supervisor_flags f;
    f.intensity = 3;
    f.period = std::chrono::seconds(60);
    auto sup = start_supervisor(rt, f, {flaky(100)});
    REQUIRE(sup);
    CHECK(box.take() == std::optional<std::string>{"f:start"});
    send(child_pid(*sup, "f"), std::string{"crash"});
    std::string why;
    CHECK(wait_exit(*sup, &why));
    CHECK(why == "shutdown");
    CHECK(starts->load() == 4);  // the first start, then 3 attempts: the 4th restart exceeds 3
  }
}

TEST_CASE_FIXTURE(fixture, "a child whose init throws fails the start; earlier children stop in reverse order") {
  inbox box;
  auto thrower = child_spec::worker("c", [](process&) -> behavior { throw std::runtime_error("no db"); });
  auto sup = start_supervisor(rt, {}, {reporting("a", box), reporting("b", box), thrower, reporting("d", box)});
  REQUIRE(!sup);
  CHECK(sup.error() == errc::start_failed);
  CHECK(describe(sup.error()) == "start_failed: child c: exception: no db");
  CHECK(take_n(box, 4) == std::vector<std::string>{"a:start", "b:start", "b:stop", "a:stop"});
  CHECK(box.take(100ms) == std::nullopt);  // d never started, c was not restarted
}

TEST_CASE_FIXTURE(fixture, "a nested supervisor's children have started before its next sibling starts") {
  inbox box;
  auto top = start_supervisor(rt, {}, {supervisor_spec("inner", {}, {reporting("x", box), reporting("y", box)}),
                                       reporting("z", box)});
  REQUIRE(top);
  CHECK(take_n(box, 3) == std::vector<std::string>{"x:start", "y:start", "z:start"});
  // and a nested supervisor whose child fails to start fails its parent's start
  auto thrower = child_spec::worker("t", [](process&) -> behavior { throw std::runtime_error("bad"); });
  auto bad = start_supervisor(rt, {}, {reporting("p", box), supervisor_spec("inner", {}, {thrower})});
  REQUIRE(!bad);
  CHECK(describe(bad.error()) == "start_failed: child inner: start_failed: child t: exception: bad");
  CHECK(take_n(box, 2) == std::vector<std::string>{"p:start", "p:stop"});
  exit(*top, reason::shutdown());
  CHECK(wait_exit(*top));
}

TEST_CASE_FIXTURE(fixture, "start_child returns the error of a child whose init throws, and forgets it") {
  auto sup = start_supervisor(rt, {}, {});
  REQUIRE(sup);
  auto r = start_child(*sup, child_spec::worker("t", [](process&) -> behavior { throw std::runtime_error("bad"); }));
  REQUIRE(!r);
  CHECK(describe(r.error()) == "exception: bad");
  auto kids = which_children(*sup);
  REQUIRE(kids);
  CHECK(kids->empty());
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "exits of linked processes that are neither children nor the parent are ignored") {
  inbox box;
  auto sup = start_supervisor(rt, {}, {reporting("a", box)});
  REQUIRE(sup);
  take_n(box, 1);
  for (auto why : {reason::normal(), reason::error("stranger crashed")}) {
    auto stranger = spawn(rt, [s = *sup, why](process& self) -> behavior {
      self.link(s);
      return {[&self, why](int) { self.exit(why); }};
    });
    REQUIRE(stranger);
    send(*stranger, 1);
    CHECK(wait_exit(*stranger));
  }
  auto kids = which_children(*sup);  // answered after both exit signals: still running, child untouched
  REQUIRE(kids);
  CHECK(kids->size() == 1);
  CHECK((*kids)[0].current);
  CHECK(box.take(100ms) == std::nullopt);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "a parent's shutdown reaches a nested supervisor that is busy stopping a child") {
  // inner is stopping `slow` (which ignores shutdown until its timeout) when top shuts down:
  // inner must still stop, or the whole tree would wait forever.
  auto ignoring = [](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([](exit_signal&) {});
    return {[](int x) { return x; }};
  };
  auto slow = child_spec::worker("slow", ignoring);
  slow.shutdown = std::chrono::milliseconds(500);
  auto top = start_supervisor(rt, {}, {supervisor_spec("inner", {}, {slow})});
  REQUIRE(top);
  auto inner = child_pid(*top, "inner");
  REQUIRE(inner);
  std::thread t([inner] { (void) terminate_child(inner, "slow", std::chrono::seconds(10)); });
  CHECK(eventually([&] { return info(inner).mailbox.handled >= 2; }));  // the terminate call is under way
  exit(*top, reason::shutdown());
  CHECK(wait_exit(*top));
  CHECK(!inner.alive());
  t.join();
}

TEST_CASE_FIXTURE(fixture, "terminate_child keeps the spec; restart_child, delete_child, count_children, get_childspec") {
  inbox box;
  auto sup = start_supervisor(rt, {}, {reporting("a", box), supervisor_spec("s", {}, {}), reporting("b", box)});
  REQUIRE(sup);
  take_n(box, 2);
  CHECK(terminate_child(*sup, "a") == caf::none);
  CHECK(box.take() == std::optional<std::string>{"a:stop"});
  auto kids = which_children(*sup);
  REQUIRE(kids);
  REQUIRE(kids->size() == 3);
  CHECK((*kids)[0].id == "a");
  CHECK(!(*kids)[0].current);
  auto c = count_children(*sup);
  REQUIRE(c);
  CHECK(c->specs == 3);
  CHECK(c->active == 2);
  CHECK(c->supervisors == 1);
  CHECK(c->workers == 2);
  auto spec = get_childspec(*sup, "a");
  REQUIRE(spec);
  CHECK(spec->id == "a");
  CHECK(get_childspec(*sup, "zz").error() == errc::not_found);
  CHECK(restart_child(*sup, "b").error() == errc::running);
  CHECK(delete_child(*sup, "b") == errc::running);
  auto a2 = restart_child(*sup, "a");
  REQUIRE(a2);
  CHECK(box.take() == std::optional<std::string>{"a:start"});
  CHECK(child_pid(*sup, "a") == *a2);
  CHECK(terminate_child(*sup, "a") == caf::none);
  CHECK(box.take() == std::optional<std::string>{"a:stop"});
  CHECK(delete_child(*sup, "a") == caf::none);
  CHECK(restart_child(*sup, "a").error() == errc::not_found);
  CHECK(count_children(*sup)->specs == 2);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "brutal_kill and shutdown timeouts end children that ignore shutdown") {
  auto stubborn = [](process& self) -> behavior {
    self.trap_exit(true);
    self.on_exit_signal([](exit_signal&) {});  // ignores shutdown
    return {[](int x) { return x; }};
  };
  auto s1 = child_spec::worker("brutal", stubborn);
  s1.shutdown = brutal_kill;
  auto s2 = child_spec::worker("slow", stubborn);
  s2.shutdown = std::chrono::milliseconds(50);
  auto sup = start_supervisor(rt, {}, {s1, s2});
  REQUIRE(sup);
  auto b = child_pid(*sup, "brutal");
  auto s = child_pid(*sup, "slow");
  exit(*sup, reason::shutdown());
  std::string why_b, why_s;
  CHECK(wait_exit(b, &why_b));
  CHECK(wait_exit(s, &why_s));
  CHECK(why_b == "killed");  // OTP: a brutally killed child exits with killed
  CHECK(why_s == "killed");
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "a dynamic supervisor starts, restarts and terminates children on demand") {
  inbox box;
  supervisor_flags f;
  f.max_children = 2;
  auto sup = start_dynamic_supervisor(rt, f);
  REQUIRE(sup);
  auto a = start_child(*sup, reporting("x", box));
  auto b = start_child(*sup, reporting("x", box, restart::temporary));
  REQUIRE(a);
  REQUIRE(b);
  take_n(box, 2);
  auto c = start_child(*sup, reporting("x", box));
  REQUIRE(!c);
  CHECK(c.error() == errc::overloaded);
  send(*a, std::string{"crash"});
  CHECK(box.take() == std::optional<std::string>{"x:start"});
  CHECK(terminate_child(*sup, b->to_string()) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"x:stop"});
  auto kids = which_children(*sup);
  REQUIRE(kids);
  CHECK(kids->size() == 1);
  CHECK(terminate_child(*sup, "nope") == errc::not_found);
  exit(*sup, reason::shutdown());
  CHECK(box.take() == std::optional<std::string>{"x:stop"});
  CHECK(wait_exit(*sup));
}

TEST_CASE_FIXTURE(fixture, "a child that fails at start makes start_supervisor fail with the reason") {
  child_spec bad;
  bad.id = "bad";
  bad.start = [](process&) -> caf::expected<pid> { return make_error(errc::bad_argument, "no config"); };
  auto sup = start_supervisor(rt, {}, {bad});
  REQUIRE(!sup);
  CHECK(describe(sup.error()).find("no config") != std::string::npos);
}

} // TEST_SUITE

// The supervisor links to a child after its start function returns (OTP's child links itself
// first). A transient child that ends normally before that link must not be restarted on the
// link's `noproc`: its own exit reason decides, as in OTP.
TEST_CASE_FIXTURE(fixture, "a transient child that ends normally at once is not restarted") {
  auto sup = start_dynamic_supervisor(rt);
  REQUIRE(sup);
  std::atomic<int> starts{0};
  constexpr int n = 300;
  for (int i = 0; i < n; ++i) {
    auto c = start_child(*sup, child_spec::worker("quick", [&starts](process& self) -> behavior {
      starts.fetch_add(1);
      self.send(self.self(), 0);
      return {[&self](int) { self.exit(); }};
    }, {}, restart::transient));
    REQUIRE_MESSAGE(c, describe(c.error()));
  }
  // Every child has ended and been forgotten once the supervisor holds no spec (restarted ones
  // would keep theirs while they run, and count a start each).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  size_t specs = n;
  while (std::chrono::steady_clock::now() < deadline) {
    auto counts = count_children(*sup);
    REQUIRE(counts);
    specs = counts->specs;
    if (specs == 0)
      break;
    std::this_thread::yield();
  }
  CHECK(specs == 0);
  CHECK(starts.load() == n);
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}
