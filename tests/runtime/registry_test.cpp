// Registry: unique names, duplicate keys, automatic removal on exit.

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {
caf::expected<pid> idle(runtime& rt, std::string name = {}) {
  spawn_options o;
  o.name = std::move(name);
  return spawn(rt, [](process&) -> behavior { return {[](int x) { return x; }}; }, o);
}
} // namespace

TEST_SUITE("registry") {

TEST_CASE_FIXTURE(fixture, "a unique name resolves to its process and cannot be taken twice") {
  auto a = idle(rt, "alpha");
  REQUIRE(a);
  CHECK(whereis(rt, "alpha") == *a);
  auto b = idle(rt, "alpha");
  REQUIRE(!b);
  CHECK(b.error() == errc::already_registered);
  auto c = idle(rt);
  REQUIRE(c);
  CHECK(register_name(rt, "alpha", *c) == errc::already_registered);
  CHECK(register_name(rt, "gamma", *c) == caf::none);
  CHECK(info(*c).name == "gamma");
  unregister_name(rt, "gamma");
  CHECK_FALSE(whereis(rt, "gamma"));
  exit(*a, reason::shutdown());
  exit(*c, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "registry entries vanish when the process exits") {
  auto a = idle(rt, "beta");
  REQUIRE(a);
  CHECK(register_key(rt, "room:1", *a) == caf::none);
  CHECK(register_key(rt, "room:2", *a) == caf::none);
  CHECK(registry_size(rt) == 3);
  exit(*a, reason::error("crash"));
  CHECK(wait_exit(*a));
  CHECK_FALSE(whereis(rt, "beta"));
  CHECK(lookup(rt, "room:1").empty());
  CHECK(registry_size(rt) == 0);
  // The name is free again.
  auto b = idle(rt, "beta");
  REQUIRE(b);
  exit(*b, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "duplicate keys hold many processes, each once") {
  auto a = idle(rt);
  auto b = idle(rt);
  REQUIRE(a);
  REQUIRE(b);
  register_key(rt, "k", *a);
  register_key(rt, "k", *a);
  register_key(rt, "k", *b);
  auto v = lookup(rt, "k");
  CHECK(v.size() == 2);
  unregister_key(rt, "k", *a);
  CHECK(lookup(rt, "k") == std::vector<pid>{*b});
  exit(*a, reason::shutdown());
  exit(*b, reason::shutdown());
  CHECK(wait_exit(*b));
  CHECK(lookup(rt, "k").empty());
}

TEST_CASE_FIXTURE(fixture, "a dead process cannot be registered") {
  auto a = idle(rt);
  REQUIRE(a);
  exit(*a, reason::kill());
  CHECK(wait_exit(*a));
  CHECK(register_name(rt, "ghost", *a) == errc::down);
  CHECK(register_key(rt, "ghost", *a) == errc::down);
}

} // TEST_SUITE
