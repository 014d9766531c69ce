// Nodes as separate OS processes: kill -9 and SIGSTOP/SIGCONT of a member, seen from a node
// in this test process (tests/cluster/test_node.cpp is the other side).

#include <signal.h>

#include "../support/child_node.hpp"

using namespace corvid;
using namespace corvid::test;


TEST_SUITE("cluster processes") {

TEST_CASE("kill -9 of a member: monitors see noconnection within a second, calls fail at once") {
  member a{"a@proc"};
  child_node b{"b@proc", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  auto far = remote_pid(*a.rt, {"b@proc", b.incarnation}, b.echo_id);
  REQUIRE(call<std::string>(far, 5s, std::string{"hi"}) == std::string{"re: hi"});
  inbox notes;
  auto watcher = spawn(*a.rt, [&notes, far](process& self) -> behavior {
    self.on_down([&notes](down_signal& d) { notes.put(describe(d.reason)); });
    self.monitor(far);
    return {[](int x) { return x; }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 5s, 1));
  auto t0 = std::chrono::steady_clock::now();
  kill(b.os_pid, SIGKILL);
  auto m = notes.take(10s);
  REQUIRE(m);
  CHECK(m->rfind("noconnection", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(call<std::string>(far, 5s, std::string{"hi"}).error() == errc::noconnection);
  exit(*watcher, reason::shutdown());
}

TEST_CASE("a frozen member (SIGSTOP) is declared down by heartbeat, and rejoins after SIGCONT") {
  member a{"a@proc"};
  child_node b{"b@proc", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  auto far = remote_pid(*a.rt, {"b@proc", b.incarnation}, b.echo_id);
  kill(b.os_pid, SIGSTOP);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(eventually([&] { return a.up_count() == 0; }, 10s));
  auto detected = std::chrono::steady_clock::now() - t0;
  CHECK(detected < 3s);  // dead_after is 1 s here
  kill(b.os_pid, SIGCONT);
  CHECK(eventually([&] { return a.up_count() == 1; }, 10s));
  CHECK(call<std::string>(far, 5s, std::string{"back"}) == std::string{"re: back"});
}

} // TEST_SUITE
