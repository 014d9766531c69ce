// The dashboard's sampler: what a sample costs depends on whether anyone is looking.
#include <doctest/doctest.h>

#include <vector>

#include "corvid/runtime.hpp"
#include "dashboard_page.hpp"

using namespace corvid;
using namespace corvid::live::detail;

namespace {

void spawn_idle(runtime& rt, int n) {
  for (int i = 0; i < n; ++i)
    REQUIRE(spawn(rt, [](process&) -> behavior { return {[](int) {}}; }));
}

}  // namespace

TEST_SUITE("live.dashboard.sampler") {
  TEST_CASE("the process walk runs every sample while a page watches, every tenth when none does") {
    runtime rt;
    dash_shared sh{rt, "/dashboard", live::dashboard_options{}};
    spawn_idle(rt, 10);
    sh.take_sample();  // the first sample always walks
    const double first = sh.ring.back().estimate;
    CHECK(first > 0);
    spawn_idle(rt, 50);
    sh.take_sample();
    CHECK(sh.ring.back().estimate == first);  // nobody watches: carried
    CHECK(sh.ring.back().processes >= sh.ring.front().processes + 50);  // the count is always fresh
    double walked;
    {
      auto page = sh.watch();
      sh.take_sample();
      walked = sh.ring.back().estimate;
      CHECK(walked > first);  // a page watches: walked at once
    }
    spawn_idle(rt, 50);
    for (unsigned i = 1; i < dash_shared::walk_every; ++i) {
      sh.take_sample();
      CHECK(sh.ring.back().estimate == walked);
    }
    sh.take_sample();
    CHECK(sh.ring.back().estimate > walked);  // the tenth walks
    rt.shutdown_all(std::chrono::seconds(5));
  }
}
