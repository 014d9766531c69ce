// Chaos (issue 10; run by scripts/chaos.sh, not part of the test command): three nodes as OS
// processes under a broadcast storm, one killed with SIGKILL and restarted every few seconds.
// Nothing may be lost silently: every node's deliveries from each origin incarnation are in
// order without duplicates, and every skipped number lies in a reported gap; once the killing
// stops, every node receives every other's last broadcast and Presence converges.
//   CHAOS_SECONDS (default 60), CHAOS_KILL_EVERY_MS (default 3000)

#include <random>
#include <sstream>

#include "../support/child_node.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

long env_or(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v ? std::atol(v) : fallback;
}

std::string ask(child_node& c, const std::string& cmd) {
  c.say(cmd);
  return c.line();
}

} // namespace

TEST_CASE("chaos: kill -9 and restart under a broadcast storm; nothing lost silently, presence converges") {
  const auto seconds = std::chrono::seconds(env_or("CHAOS_SECONDS", 60));
  const auto kill_every = std::chrono::milliseconds(env_or("CHAOS_KILL_EVERY_MS", 3000));
  const std::vector<std::string> names{"a@chaos", "b@chaos", "c@chaos"};
  std::vector<std::unique_ptr<child_node>> nodes(3);
  auto start = [&](size_t i) {
    std::string seed;
    for (size_t j = 0; j < nodes.size(); ++j)
      if (j != i && nodes[j])
        seed = nodes[j]->address();
    nodes[i] = std::make_unique<child_node>(names[i], seed);
    REQUIRE(ask(*nodes[i], "subscribe storm") == "ok");
    REQUIRE(ask(*nodes[i], "track room " + names[i]) == "ok");
  };
  for (size_t i = 0; i < 3; ++i)
    start(i);
  auto all_members = [&] {
    return eventually([&] {
      for (auto& n : nodes)
        if (ask(*n, "members") != "2")
          return false;
      return true;
    }, 20s);
  };
  REQUIRE(all_members());

  std::mt19937 rng{std::random_device{}()};
  size_t kills = 0, broadcasts = 0;
  auto t_end = std::chrono::steady_clock::now() + seconds;
  auto next_kill = std::chrono::steady_clock::now() + kill_every;
  while (std::chrono::steady_clock::now() < t_end) {
    for (auto& n : nodes) {
      auto r = ask(*n, "publish storm 20");
      REQUIRE_MESSAGE(r.rfind("ok ", 0) == 0, "publish said: " << r);
      broadcasts += 20;
    }
    if (std::chrono::steady_clock::now() >= next_kill) {
      auto victim = std::uniform_int_distribution<size_t>{0, 2}(rng);
      nodes[victim].reset();  // SIGKILL, reaped
      start(victim);          // the same name, a new incarnation
      ++kills;
      next_kill = std::chrono::steady_clock::now() + kill_every;
    }
  }

  // Calm: everyone is a member again, publishes once more, and everyone gets those last ones.
  REQUIRE(all_members());
  std::vector<std::pair<std::string, uint64_t>> last;  // origin/incarnation, its last number
  for (size_t i = 0; i < 3; ++i) {
    auto r = ask(*nodes[i], "publish storm 20");
    REQUIRE(r.rfind("ok ", 0) == 0);
    last.emplace_back(names[i] + "/" + std::to_string(nodes[i]->incarnation), std::stoull(r.substr(3)));
  }
  CHECK(eventually([&] {
    for (size_t i = 0; i < 3; ++i)
      for (size_t j = 0; j < 3; ++j)
        if (i != j && std::stoull(ask(*nodes[i], "last " + last[j].first)) != last[j].second)
          return false;
    return true;
  }, 20s));
  size_t received = 0, gaps = 0;
  for (size_t i = 0; i < 3; ++i) {
    auto r = ask(*nodes[i], "check");
    CHECK_MESSAGE(r.rfind("ok ", 0) == 0, names[i] << ": " << r);
    std::istringstream is{r.substr(r.find(' ') + 1)};
    size_t got = 0, g = 0;
    is >> got >> g;
    received += got;
    gaps += g;
  }
  const std::string want = "a@chaos@a@chaos b@chaos@b@chaos c@chaos@c@chaos";
  CHECK(eventually([&] {
    for (auto& n : nodes)
      if (ask(*n, "list room") != want)
        return false;
    return true;
  }, 20s));
  MESSAGE("chaos: " << kills << " kills, " << broadcasts << " broadcasts, " << received
                    << " deliveries checked on the survivors, " << gaps << " gaps reported");
}
