// Nodes and the transport seam: pids that name processes on other nodes, messages that cross
// through the codec registry, and links, monitors and calls that follow a node's loss. Two
// runtimes in this process are joined by tests/support/loopback_transport.hpp.

#include <thread>

#include "../support/loopback_transport.hpp"
#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

namespace {

struct point {
  int x = 0, y = 0;
  friend bool operator==(const point&, const point&) = default;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(point)

namespace {

runtime_options node_opts(const char* name) {
  runtime_options o;
  o.threads = 2;
  o.node = name;
  return o;
}

// Two nodes joined by a loopback transport; both must end with no process left.
struct two_nodes {
  runtime a{node_opts("a@test")};
  runtime b{node_opts("b@test")};
  std::pair<std::shared_ptr<loopback>, std::shared_ptr<loopback>> net = loopback::join(a, b);
  ~two_nodes() {
    a.shutdown_all(5s);
    b.shutdown_all(5s);
    CHECK(a.process_count() == 0);
    CHECK(b.process_count() == 0);
  }
  pid seen_from_a(const pid& in_b) { return remote_pid(a, local_node(b), in_b.local_id()); }
};

// Echoes what it gets, with the sender's pid; reports to `box` and can be told to crash.
caf::expected<pid> echo(runtime& rt, inbox& box) {
  return spawn(rt, [&box](process& self) -> behavior {
    return {
      [&self, &box](const std::string& s) {
        box.put("got " + s + " from " + (self.sender().is_remote() ? "remote" : "local"));
        if (s == "crash")
          throw std::runtime_error("asked to");
        if (self.sender())
          (void) self.send(self.sender(), "echo " + s);
        return "re: " + s;
      },
      [](int x, pid who) { return std::make_tuple(x * 2, who); },
      [](const point& p) { return p.x + p.y; },
    };
  });
}

} // namespace

TEST_SUITE("node") {

TEST_CASE("a remote pid compares, hashes and prints apart from a local pid with the same number") {
  two_nodes n;
  inbox box;
  auto in_b = echo(n.b, box);
  REQUIRE(in_b);
  auto far = n.seen_from_a(*in_b);
  CHECK(far.is_remote());
  CHECK(!in_b->is_remote());
  CHECK(far.local_id() == in_b->local_id());
  CHECK(far != pid{in_b->local_id()});
  CHECK(std::hash<pid>{}(far) != std::hash<pid>{}(*in_b));
  CHECK(far.to_string() != in_b->to_string());
  CHECK(node_of(far) == std::optional<node_id>{local_node(n.b)});
  CHECK(node_of(*in_b) == std::nullopt);
  CHECK(local_node(n.a).name == "a@test");
  CHECK(local_node(n.a).incarnation != 0);
  // The node's own id resolves to the local pid.
  CHECK(remote_pid(n.b, local_node(n.b), in_b->local_id()) == *in_b);
  exit(*in_b, reason::shutdown());
}

TEST_CASE("send, cast and call reach a process on another node; pids in messages come back as they were") {
  two_nodes n;
  inbox box;
  auto in_b = echo(n.b, box);
  REQUIRE(in_b);
  auto far = n.seen_from_a(*in_b);
  CHECK(send(far, std::string{"hello"}) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"got hello from local"});  // a thread has no pid
  auto r = call<std::string>(far, 5s, std::string{"ping"});
  REQUIRE(r);
  CHECK(*r == "re: ping");
  CHECK(box.take() == std::optional<std::string>{"got ping from local"});
  inbox replies;
  auto in_a = spawn(n.a, [&replies, far](process& self) -> behavior {
    return {
      [&self, far](caf::ok_atom) {
        (void) self.send(far, std::string{"from a"});
        self.call(far, 5s, 21, self.self()).then(
          [&self](int x, pid who) { (void) self.send(self.self(), std::to_string(x) + (who == self.self() ? " me" : " other")); },
          [&self](caf::error& e) { (void) self.send(self.self(), describe(e)); });
      },
      [&replies](const std::string& s) { replies.put(s); },
    };
  });
  REQUIRE(in_a);
  send(*in_a, caf::ok_atom::value);
  CHECK(box.take() == std::optional<std::string>{"got from a from remote"});
  std::vector<std::string> got{*replies.take(), *replies.take()};
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"42 me", "echo from a"});
  exit(*in_a, reason::shutdown());
  exit(*in_b, reason::shutdown());
}

TEST_CASE("a type without a codec fails with no_codec naming it; once registered it crosses") {
  two_nodes n;
  inbox box;
  auto in_b = echo(n.b, box);
  REQUIRE(in_b);
  auto far = n.seen_from_a(*in_b);
  auto before = send(far, point{1, 2});
  CHECK(before == errc::no_codec);
  CHECK(describe(before).find("register_codec") != std::string::npos);
  auto reg = register_codec<point>(
    "test.point", [](const point& p, std::string& out) { out = std::to_string(p.x) + "," + std::to_string(p.y); },
    [](std::string_view in, point& p) {
      auto comma = in.find(',');
      if (comma == std::string_view::npos)
        return false;
      p.x = std::stoi(std::string{in.substr(0, comma)});
      p.y = std::stoi(std::string{in.substr(comma + 1)});
      return true;
    });
  CHECK((reg == caf::none || reg == errc::already_registered));  // doctest may run this case twice
  CHECK(register_codec<point>("test.point2", {}, {}) == errc::already_registered);
  auto sum = call<int>(far, 5s, point{3, 4});
  REQUIRE(sum);
  CHECK(*sum == 7);
  // Malformed bytes and unknown names are errors, not crashes.
  CHECK(decode_message(n.a, {{"test.point", "nonsense"}}).error() == errc::bad_argument);
  CHECK(decode_message(n.a, {{"no.such.type", ""}}).error() == errc::no_codec);
  CHECK(decode_message(n.a, {{"i32", "abc"}}).error() == errc::bad_argument);
  exit(*in_b, reason::shutdown());
}

TEST_CASE("monitors and links across nodes carry the reason; a dead remote process gives noproc") {
  two_nodes n;
  inbox box, notes;
  auto in_b = echo(n.b, box);
  REQUIRE(in_b);
  auto far = n.seen_from_a(*in_b);
  auto watcher = spawn(n.a, [&notes, far](process& self) -> behavior {
    self.trap_exit(true);
    self.on_down([&notes](down_signal& d) { notes.put("down " + describe(d.reason)); });
    self.on_exit_signal([&notes](exit_signal& s) { notes.put("exit " + describe(s.reason) + (s.from.is_remote() ? " remote" : "")); });
    self.monitor(far);
    self.link(far);
    return {[&self](pid p) {
      self.monitor(p);
      return 0;
    }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 5s, far));  // a second monitor, set for sure before the crash
  send(far, std::string{"crash"});
  std::multiset<std::string> got;
  for (int i = 0; i < 3; ++i)
    if (auto m = notes.take())
      got.insert(*m);
  CHECK(got == std::multiset<std::string>{"down exception: asked to", "down exception: asked to",
                                          "exit exception: asked to remote"});
  REQUIRE(call<int>(*watcher, 5s, far));  // now dead: noproc
  CHECK(notes.take() == std::optional<std::string>{"down noproc"});
  exit(*watcher, reason::kill());
}

TEST_CASE("a local process linked to a remote one takes it down when it crashes") {
  two_nodes n;
  inbox box;
  auto in_b = echo(n.b, box);
  REQUIRE(in_b);
  auto far = n.seen_from_a(*in_b);
  auto linker = spawn(n.a, [far](process& self) -> behavior {
    self.link(far);
    return {[](int) -> int { throw std::runtime_error("linker failed"); }, [](std::string s) { return s; }};
  });
  REQUIRE(linker);
  REQUIRE(call<std::string>(*linker, 5s, std::string{"linked"}));
  send(*linker, 1);
  CHECK(box.take(100ms) == std::nullopt);
  CHECK(eventually([&] { return !in_b->alive(); }));
  auto why = exit_reason(*in_b);
  REQUIRE(why);
  CHECK(describe(*why) == "exception: linker failed");
}

TEST_CASE("losing the node: monitors get noconnection, links exit, pending calls fail at once") {
  two_nodes n;
  auto silent = spawn(n.b, [held = std::make_shared<std::vector<reply_handle>>()](process& self) -> behavior {
    return {[&self, held](int) {
      held->push_back(self.reply_later());  // never answers
      return 0;
    }};
  });
  REQUIRE(silent);
  auto far = n.seen_from_a(*silent);
  inbox notes;
  auto watcher = spawn(n.a, [&notes, far](process& self) -> behavior {
    self.trap_exit(true);
    self.on_down([&notes](down_signal& d) { notes.put("down " + describe(d.reason)); });
    self.on_exit_signal([&notes](exit_signal& s) { notes.put("exit " + describe(s.reason)); });
    self.monitor(far);
    self.link(far);
    return {[](int x) { return x; }};
  });
  REQUIRE(watcher);
  REQUIRE(call<int>(*watcher, 5s, 1));
  auto t0 = std::chrono::steady_clock::now();
  std::thread caller([&] {
    auto r = call<int>(far, 60s, 1);
    notes.put(r ? "replied" : "call " + describe(r.error()));
  });
  CHECK(eventually([&] { return info(*silent).mailbox.handled >= 1; }));
  n.net.first->disconnect();
  std::multiset<std::string> got;
  for (int i = 0; i < 3; ++i)
    if (auto m = notes.take())
      got.insert(m->substr(0, m->find(':')));
  caller.join();
  CHECK(got == std::multiset<std::string>{"down noconnection", "exit noconnection", "call noconnection"});
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  CHECK(send(far, 1) == errc::noconnection);
  exit(*watcher, reason::kill());
  exit(*silent, reason::kill());
}

TEST_CASE("without a transport, remote pids fail with noconnection") {
  runtime a{node_opts("solo@test")};
  auto far = remote_pid(a, {"gone@test", 7}, 5);
  CHECK(send(far, 1) == errc::noconnection);
  CHECK(call<int>(far, 1s, 1).error() == errc::noconnection);
  inbox notes;
  auto p = spawn(a, [&notes, far](process& self) -> behavior {
    self.on_down([&notes](down_signal& d) { notes.put(describe(d.reason)); });
    self.monitor(far);
    return {[](int x) { return x; }};
  });
  REQUIRE(p);
  auto m = notes.take();
  REQUIRE(m);
  CHECK(m->rfind("noconnection", 0) == 0);
  exit(*p, reason::shutdown());
  a.shutdown_all(5s);
}

} // TEST_SUITE
