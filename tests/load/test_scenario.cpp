#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "recorder.hpp"
#include "scenario.hpp"

using namespace corvid::load;
using namespace std::chrono_literals;

TEST_CASE("load.scenario: repeats expand, and repeated steps share one label") {
  scenario s{"t"};
  s.mount("/counter").repeat(3, [](scenario& r) { r.click("inc").think(1ms, 2ms); }).leave();
  REQUIRE(s.steps().size() == 1 + 3 * 2 + 1);
  CHECK(s.steps()[0].type == step::kind::mount);
  CHECK(s.steps()[1].label == "2. click inc");
  CHECK(s.steps()[3].label == "2. click inc");
  CHECK(s.steps()[5].label == "2. click inc");
  CHECK(s.steps()[7].label == "4. leave");
  CHECK(s.labels() == std::vector<std::string>{"1. mount /counter", "2. click inc", "3. think", "4. leave"});
  scenario none{"none"};
  none.repeat(0, [](scenario& r) { r.click("x"); }).leave();
  CHECK(none.steps().size() == 1);
}

TEST_CASE("load.scenario: think bounds are ordered and timeouts apply to later steps") {
  scenario s{"t"};
  s.think(900ms, 100ms).timeout(2s).click("a");
  CHECK(s.steps()[0].think_min == 100ms);
  CHECK(s.steps()[0].think_max == 900ms);
  CHECK(s.steps()[0].timeout == 10s);
  CHECK(s.steps()[1].timeout == 2s);
}

TEST_CASE("load.scenario: {user} and {rand} are replaced") {
  CHECK(substitute("u{user}-{rand}", 7, 42) == "u7-42");
  CHECK(substitute("{user}{user}", 1, 0) == "11");
  CHECK(substitute("no braces", 1, 2) == "no braces");
  CHECK(substitute("{unknown}", 1, 2) == "{unknown}");
}

TEST_CASE("load.scenario: every built-in scenario mounts first and has a unique name") {
  std::set<std::string> names;
  for (auto& s : builtin_scenarios()) {
    CAPTURE(s.name());
    CHECK(names.insert(s.name()).second);
    REQUIRE_FALSE(s.steps().empty());
    CHECK(s.steps().front().type == step::kind::mount);
    CHECK_FALSE(s.description().empty());
    CHECK(find_scenario(s.name()));
  }
  CHECK(names.count("convention"));
  auto conv = find_scenario("convention");
  REQUIRE(conv);
  CHECK(conv->steps()[conv->steps().size() - 2].seconds_var == "hold");  // the stay before leaving
  CHECK_FALSE(find_scenario("nope"));
}

TEST_CASE("load.measurements: merge adds and the wire encoding round-trips") {
  recorder r;
  r.record(phase::get, 900);
  r.record(phase::mount, 2500);
  r.record_step("2. click inc", 700);
  r.record_bytes("diff", 120);
  r.error("connect");
  r.error("connect");
  r.user_started();
  r.user_completed();
  auto first = r.take_interval();
  CHECK(first.phases[size_t(phase::get)].count() == 1);
  CHECK(first.errors.at("connect") == 2);
  r.record(phase::event, 400);
  r.user_failed();
  auto second = r.take_interval();
  CHECK(second.phases[size_t(phase::get)].count() == 0);  // an interval holds only what came after the last
  auto total = r.totals();
  CHECK(total.phases[size_t(phase::event)].count() == 1);
  CHECK(total.started == 1);
  CHECK(total.completed == 1);
  CHECK(total.failed == 1);

  auto bytes = total.encode();
  auto back = measurements::decode(bytes);
  REQUIRE(back);
  CHECK(back->encode() == bytes);
  CHECK(back->steps.at("2. click inc").max() == 700);
  CHECK(back->diff_bytes.at("diff").count() == 1);
  CHECK(back->errors.at("connect") == 2);
  CHECK_FALSE(measurements::decode(bytes.substr(0, bytes.size() - 1)));
  CHECK_FALSE(measurements::decode(bytes + "\x01"));
  CHECK_FALSE(measurements::decode(""));
}
