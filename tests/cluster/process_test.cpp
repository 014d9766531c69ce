// Nodes as separate OS processes: kill -9 and SIGSTOP/SIGCONT of a member, seen from a node
// in this test process (tests/cluster/test_node.cpp is the other side).

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "../support/cluster_member.hpp"

extern char** environ;

using namespace corvid;
using namespace corvid::test;

namespace {

// A test_node child process; killed (and reaped) when this goes away.
struct child_node {
  pid_t os_pid = -1;
  int to_child = -1;
  uint16_t port = 0;
  uint64_t echo_id = 0;
  uint64_t incarnation = 0;

  child_node(const std::string& name, const std::string& seed) {
    const char* exe = std::getenv("CORVID_TEST_NODE");
    REQUIRE_MESSAGE(exe, "CORVID_TEST_NODE must name the test_node program");
    int out[2], in[2];
    REQUIRE(pipe(out) == 0);
    REQUIRE(pipe(in) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    std::vector<std::string> args{exe, name, secret, seed};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&os_pid, exe, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    to_child = in[1];
    // The first line says it is ready (a read with no deadline: the meson test timeout bounds it).
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    close(out[0]);
    std::istringstream is{line};
    std::string word;
    is >> word >> port >> echo_id >> incarnation;
    REQUIRE_MESSAGE(word == "ready", "test_node said: " << line);
  }
  ~child_node() {
    if (os_pid > 0) {
      kill(os_pid, SIGCONT);
      kill(os_pid, SIGKILL);
      waitpid(os_pid, nullptr, 0);
    }
    if (to_child >= 0)
      close(to_child);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

} // namespace

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
