// Supervisors: restart strategies, intensity, ordered start and reverse stop, nesting,
// the dynamic supervisor, and names surviving restarts.

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

TEST_CASE_FIXTURE(fixture, "exceeding restart intensity stops the supervisor and its parent sees why") {
  inbox box;
  supervisor_flags inner;
  inner.intensity = 2;
  inner.period = std::chrono::seconds(60);
  auto top = start_supervisor(rt, supervisor_flags{strategy::one_for_one, 0, std::chrono::seconds(60), 0},
                              {supervisor_spec("inner", inner, {reporting("w", box)})});
  REQUIRE(top);
  auto inner_pid = child_pid(*top, "inner");
  REQUIRE(inner_pid);
  CHECK(box.take() == std::optional<std::string>{"w:start"});
  // The top supervisor allows no restart: when inner gives up, top gives up too, naming inner.
  for (int i = 0; i < 3; ++i) {
    auto w = child_pid(inner_pid, "w");
    REQUIRE(w);
    send(w, std::string{"crash"});
    if (i < 2)
      REQUIRE(box.take() == std::optional<std::string>{"w:start"});
  }
  std::string inner_why, top_why;
  CHECK(wait_exit(inner_pid, &inner_why));
  CHECK(inner_why.find("max_restart_intensity") == 0);
  CHECK(wait_exit(*top, &top_why));
  CHECK(top_why.find("max_restart_intensity: child inner exited with max_restart_intensity") == 0);
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
