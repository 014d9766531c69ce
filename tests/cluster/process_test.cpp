// Nodes as separate OS processes: kill -9 and SIGSTOP/SIGCONT of a member, seen from a node
// in this test process (tests/cluster/test_node.cpp is the other side).

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>

#include "../support/child_node.hpp"
#include "../support/rss.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

// A port free on 127.0.0.2 now (the tests listen on several loopback addresses at one port).
uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f000002);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Asks a child for its member count until it is `n` (or 10 s pass).
bool members_become(child_node& c, int n) {
  return eventually([&] {
    c.say("members");
    return c.line() == std::to_string(n);
  }, 10s);
}

} // namespace


TEST_SUITE("cluster processes") {

TEST_CASE("kill -9 of a member: monitors see noconnection within a second, calls fail at once") {
  // Inboxes first: they outlive the processes that report into them.
  inbox notes;
  member a{"a@proc"};
  child_node b{"b@proc", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 1; }, 10s));
  auto far = remote_pid(*a.rt, {"b@proc", b.incarnation}, b.echo_id);
  REQUIRE(call<std::string>(far, 5s, std::string{"hi"}) == std::string{"re: hi"});
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

TEST_CASE("nodes find each other through a DNS name that lists them all, re-resolved as it changes") {
  // The name is the test's own: a private /etc/hosts, bind-mounted in a mount namespace of the
  // node that resolves it (root is needed, as for the partition tests' network tricks).
  auto hosts = std::filesystem::temp_directory_path() / ("corvid-hosts-" + std::to_string(getpid()));
  {
    std::ofstream out{hosts};
    out << std::ifstream{"/etc/hosts"}.rdbuf() << "\n127.0.0.2 corvid-dns.test\n127.0.0.3 corvid-dns.test\n";
  }
  auto port = std::to_string(free_port());
  child_node a{"a@dns", "", {"--listen", "127.0.0.2:" + port}};
  child_node b{"b@dns", "", {"--listen", "127.0.0.3:" + port}};
  std::vector<std::string> in_namespace{"unshare", "--mount", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
                                        hosts.string()};
  child_node c{"c@dns", "", {"--dns", "corvid-dns.test:" + port}, in_namespace};
  CHECK(members_become(c, 2));
  CHECK(members_become(a, 2));
  CHECK(members_become(b, 2));
  // A new record: the next resolution finds it.
  child_node d{"d@dns", "", {"--listen", "127.0.0.4:" + port}};
  std::ofstream{hosts, std::ios::app} << "127.0.0.4 corvid-dns.test\n";
  CHECK(members_become(d, 3));
  CHECK(members_become(c, 3));
  std::filesystem::remove(hosts);
}

TEST_CASE("a frozen peer flooded: the sender holds at most its lane cap, sends are refused, a healthy peer still answers") {
  auto o = node_opts();
  o.phi_threshold = 0;                 // keep the frozen peer a member: the queue is what is tested
  o.wire.dead_after = 60s;
  o.wire.stuck_after = 60s;
  o.wire.data = {4096, 16u << 20};     // 16 MiB of data-lane queue per peer
  member a{"a@flood", custom, o};
  child_node frozen{"f@flood", a.address()};
  child_node healthy{"h@flood", a.address()};
  REQUIRE(eventually([&] { return a.up_count() == 2; }, 10s));
  auto far = remote_pid(*a.rt, {"f@flood", frozen.incarnation}, frozen.echo_id);
  auto ok = remote_pid(*a.rt, {"h@flood", healthy.incarnation}, healthy.echo_id);
  kill(frozen.os_pid, SIGSTOP);
  const std::string chunk(4096, 'x');
  size_t rss0 = rss_bytes(), refused = 0, accepted = 0, answers = 0;
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 1000; ++i) {
      auto e = send(far, chunk);
      if (e == errc::overloaded)
        ++refused;
      else if (!e)
        ++accepted;
    }
    // The healthy peer's lanes are its own: its calls go through during the flood.
    if (call<std::string>(ok, 10s, std::string{"still there"}) == std::string{"re: still there"})
      ++answers;
  }
  size_t rss1 = rss_bytes();
  MESSAGE("accepted " << accepted << " refused " << refused << " RSS +" << (rss1 - std::min(rss0, rss1)) / 1024 << " KiB");
  CHECK(refused > 0);                                    // the cap was reached
  CHECK(accepted * chunk.size() <= 24u << 20);           // no more than the cap (plus framing slack) was taken
  CHECK_RSS(rss1 <= rss0 + (16u << 20) + (16u << 20));   // cap + 16 MiB
  CHECK(answers > 0);
  for (auto& m : a.node->members())
    if (m.id.name == "f@flood")
      CHECK(m.data.queued_bytes <= 16u << 20);
  kill(frozen.os_pid, SIGCONT);
}

TEST_CASE("a frozen member is found by its late heartbeats and confirmed by another member, well before dead_after") {
  auto o = node_opts();
  o.wire.dead_after = 10s;  // only the failure detector may act within this test
  member a{"a@frozen", custom, o};
  child_node x{"x@frozen", a.address()};
  o.seeds = {a.address()};
  member b{"b@frozen", custom, o};
  REQUIRE(eventually([&] { return a.up_count() == 2 && b.up_count() == 2; }, 10s));
  std::atomic<int> asked{0};
  auto tid = telemetry::attach("corvid.cluster.suspect", [&](const telemetry::event& e) {
    if (e.name == "corvid.cluster.suspect")
      ++asked;
  });
  kill(x.os_pid, SIGSTOP);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(eventually([&] { return a.up_count() == 1 && b.up_count() == 1; }, 9s));
  auto took = std::chrono::steady_clock::now() - t0;
  telemetry::detach(tid);
  MESSAGE("detected in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 5s);        // dead_after is 10 s
  CHECK(asked.load() > 0); // a suspect is probed through the other member first
  kill(x.os_pid, SIGCONT);
}

} // TEST_SUITE
