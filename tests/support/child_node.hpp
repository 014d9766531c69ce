#pragma once
// A cluster node as a separate OS process (tests/cluster/test_node.cpp), for tests that kill,
// freeze and restart nodes. Lines written with say() reach the child's stdin (its commands);
// line() reads what it prints. Killed and reaped when this goes away.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "cluster_member.hpp"

extern char** environ;

namespace corvid::test {

struct child_node {
  pid_t os_pid = -1;
  int to_child = -1;
  int from_child = -1;
  uint16_t port = 0;
  uint64_t echo_id = 0;
  uint64_t incarnation = 0;

  /// Starts `wrap... test_node name secret seed extra...` and waits for its "ready" line.
  child_node(const std::string& name, const std::string& seed, std::vector<std::string> extra = {},
             std::vector<std::string> wrap = {}) {
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
    std::vector<std::string> args = wrap;
    for (auto& a : {std::string{exe}, name, secret, seed})
      args.push_back(a);
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawnp(&os_pid, args[0].c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    to_child = in[1];
    from_child = out[0];
    // A read with no deadline: the meson test timeout bounds it.
    auto first = line();
    std::istringstream is{first};
    std::string word;
    is >> word >> port >> echo_id >> incarnation;
    REQUIRE_MESSAGE(word == "ready", "test_node said: " << first);
  }
  ~child_node() {
    if (os_pid > 0) {
      kill(os_pid, SIGCONT);
      kill(os_pid, SIGKILL);
      waitpid(os_pid, nullptr, 0);
    }
    if (to_child >= 0)
      close(to_child);
    if (from_child >= 0)
      close(from_child);
  }
  /// Writes one command line to the child.
  void say(const std::string& cmd) {
    auto l = cmd + "\n";
    REQUIRE(write(to_child, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
  }
  /// The next line the child prints ("" at end of file).
  std::string line() {
    std::string l;
    char c;
    while (read(from_child, &c, 1) == 1 && c != '\n')
      l += c;
    return l;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

} // namespace corvid::test
