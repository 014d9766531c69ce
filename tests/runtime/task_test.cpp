// Tasks: results from threads and processes, crashes, supervised tasks.

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("task") {

TEST_CASE_FIXTURE(fixture, "a task's result can be awaited from a thread") {
  auto t = async(rt, [] { return 6 * 7; });
  REQUIRE(t);
  auto r = t->await(5s);
  REQUIRE(r);
  CHECK(*r == 42);
  CHECK(wait_exit(t->worker()));
}

TEST_CASE_FIXTURE(fixture, "a crashing task reports down with its reason") {
  auto t = async(rt, []() -> int { throw std::runtime_error("task failed"); });
  REQUIRE(t);
  auto r = t->await(5s);
  REQUIRE(!r);
  CHECK(r.error() == errc::down);
}

TEST_CASE_FIXTURE(fixture, "a process gets a task's result as a continuation") {
  inbox box;
  auto p = spawn(rt, [&box](process& self) -> behavior {
    async(self, [] { return std::string{"done"}; },
          [&box](const std::string& s) { box.put(s); },
          [&box](caf::error& e) { box.put(describe(e)); });
    return {[](int) {}};
  });
  REQUIRE(p);
  CHECK(box.take() == std::optional<std::string>{"done"});
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "a linked task that crashes takes its caller down unless it traps exits") {
  inbox box;
  auto p = spawn(rt, [&box](process& self) -> behavior {
    async(self, []() -> int { throw std::runtime_error("bad task"); },
          [&box](int) { box.put("ok"); }, [&box](caf::error& e) { box.put(describe(e)); });
    return {[](int) {}};
  });
  REQUIRE(p);
  std::string why;
  CHECK(wait_exit(*p, &why));
  CHECK(why == "exception: bad task");
  inbox box_q;  // p may still report into `box`: q's answer must be q's own
  auto q = spawn(rt, [&box_q](process& self) -> behavior {
    async(self, []() -> int { throw std::runtime_error("bad task"); },
          [&box_q](int) { box_q.put("ok"); }, [&box_q](caf::error& e) { box_q.put(describe(e)); },
          /*link=*/false);
    return {[](int) {}};
  });
  REQUIRE(q);
  auto m = box_q.take();
  REQUIRE(m);
  CHECK(m->rfind("down", 0) == 0);
  CHECK(q->alive());
  exit(*q, reason::shutdown());
  CHECK(wait_exit(*q));
  rt.shutdown_all(5s);  // nothing may report into the inboxes once they are gone
}

TEST_CASE_FIXTURE(fixture, "supervised tasks run under a dynamic supervisor and are not restarted") {
  auto sup = start_dynamic_supervisor(rt);
  REQUIRE(sup);
  auto t = async_nolink(*sup, [] { return 1; });
  REQUIRE(t);
  CHECK(*t->await(5s) == 1);
  auto bad = async_nolink(*sup, []() -> int { throw std::runtime_error("x"); });
  REQUIRE(bad);
  CHECK(!bad->await(5s));
  CHECK(eventually([&] {
    auto k = which_children(*sup);
    return k && k->empty();
  }));
  exit(*sup, reason::shutdown());
  CHECK(wait_exit(*sup));
}

} // TEST_SUITE
