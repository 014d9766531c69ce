// Introspection: process list, dump, Prometheus text, telemetry on crashes and restarts.

#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("introspection") {

TEST_CASE_FIXTURE(det_fixture, "processes lists name, mailbox counters and supervisor, longest mailbox first") {
  spawn_options o;
  o.name = "busy";
  o.label = "worker";
  auto busy = spawn(rt, [](process&) -> behavior { return {[](int) {}}; }, o);
  auto quiet = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(busy);
  REQUIRE(quiet);
  run();
  for (int i = 0; i < 5; ++i)
    send(*busy, i);
  auto ps = processes(rt);
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].id == *busy);
  CHECK(ps[0].name == "busy");
  CHECK(ps[0].label == "worker");
  CHECK(ps[0].mailbox.length == 5);
  CHECK(ps[0].memory > 0);
  auto text = dump(rt);
  CHECK(text.find("busy") != std::string::npos);
  auto prom = prometheus_metrics(rt);
  CHECK(prom.find("corvid_processes 2\n") != std::string::npos);
  CHECK(prom.find("corvid_mailbox_length{pid=\"" + busy->to_string() + "\",name=\"busy\",label=\"worker\"} 5")
        != std::string::npos);
  auto t = totals(rt);  // the same sums, without a snapshot per process
  CHECK(t.processes == 2);
  CHECK(t.mailbox_length == 5);
  CHECK(t.memory == ps[0].memory + ps[1].memory);
  CHECK(t.handled == ps[0].mailbox.handled + ps[1].mailbox.handled);
  run();
  CHECK(info(*busy).mailbox.handled == 5);
  CHECK(prometheus_metrics(rt).find("corvid_messages_handled_total 5\n") != std::string::npos);
  t = totals(rt);
  CHECK(t.mailbox_length == 0);
  CHECK(t.handled == info(*busy).mailbox.handled + info(*quiet).mailbox.handled);
  CHECK(t.handled >= 5);
}

TEST_CASE_FIXTURE(fixture, "supervised children show their supervisor and restarts; telemetry sees both") {
  std::vector<std::string> events;
  std::mutex m;
  auto id = telemetry::attach("corvid.", [&](const telemetry::event& e) {
    std::lock_guard<std::mutex> g{m};
    events.emplace_back(e.name);
  });
  auto sup = start_supervisor(rt, {}, {child_spec::worker("w", [](process&) -> behavior {
    return {[](int) -> int { throw std::runtime_error("x"); }};
  })});
  REQUIRE(sup);
  auto w = which_children(*sup);
  REQUIRE(w);
  auto first = (*w)[0].current;
  CHECK(info(first).supervisor == *sup);
  send(first, 1);
  CHECK(wait_exit(first));
  CHECK(eventually([&] {
    auto k = which_children(*sup);
    return k && (*k)[0].current && (*k)[0].current != first;
  }));
  auto second = (*which_children(*sup))[0].current;
  CHECK(info(second).restarts == 1);
  CHECK(info(second).label == "w");
  auto d = details(second);
  REQUIRE(d);
  REQUIRE(d->restart_history.size() == 1);
  CHECK(d->restart_history[0].ended == first);
  CHECK(d->restart_history[0].reason.find("x") != std::string::npos);
  CHECK(std::chrono::system_clock::now() - d->restart_history[0].at < std::chrono::minutes(5));
  CHECK(d->links == std::vector<pid>{*sup});  // a supervisor links to its children
  auto sd = details(*sup);
  REQUIRE(sd);
  CHECK(sd->links == std::vector<pid>{second});  // the first child's link went with it
  telemetry::detach(id);
  std::lock_guard<std::mutex> g{m};
  CHECK(std::count(events.begin(), events.end(), "corvid.process.crash") == 1);
  CHECK(std::count(events.begin(), events.end(), "corvid.supervisor.restart") == 1);
  exit(*sup, reason::shutdown());
}

// A process that links, unlinks, monitors and demonitors `other` when told to; it traps exits,
// so the other's end leaves it running to be looked at.
init_fn relating_to(const pid& other) {
  return [other](process& self) -> behavior {
    self.trap_exit(true);
    auto ref = std::make_shared<uint64_t>(0);
    return {[&self, other, ref](const std::string& cmd) {
              if (cmd == "link") self.link(other);
              if (cmd == "unlink") self.unlink(other);
              if (cmd == "monitor") *ref = self.monitor(other);
              if (cmd == "demonitor") self.demonitor(*ref);
            },
            [](exit_signal&) {}, [](down_signal&) {}};
  };
}

TEST_CASE_FIXTURE(det_fixture, "details: a link shows on both sides until unlink or the other's exit") {
  auto b = spawn(rt, [](process& self) -> behavior {
    self.trap_exit(true);
    return {[](exit_signal&) {}};
  });
  REQUIRE(b);
  auto a = spawn(rt, relating_to(*b));
  REQUIRE(a);
  send(*a, std::string("link"));
  run();
  CHECK(details(*a)->links == std::vector<pid>{*b});
  CHECK(details(*b)->links == std::vector<pid>{*a});
  send(*a, std::string("link"));  // links are a set
  run();
  CHECK(details(*a)->links.size() == 1);
  send(*a, std::string("unlink"));
  run();
  CHECK(details(*a)->links.empty());
  CHECK(details(*b)->links.empty());
  send(*a, std::string("link"));
  run();
  exit(*b, reason::kill());
  run();
  CHECK_FALSE(details(*b));
  CHECK(details(*a)->links.empty());
  exit(*a, reason::kill());
  run();
}

TEST_CASE_FIXTURE(det_fixture, "details: a process linked to many children (past the small set) adds and drops each") {
  std::vector<pid> kids;
  auto parent = spawn(rt, [&kids](process& self) -> behavior {
    self.trap_exit(true);
    return {[&self, &kids](int n) {
              spawn_options o;
              o.link = true;
              for (int i = 0; i < n; ++i)
                kids.push_back(*self.spawn([](process&) -> behavior { return {[](int) {}}; }, o));
            },
            [](exit_signal&) {}};
  });
  REQUIRE(parent);
  send(*parent, 40);
  run();
  REQUIRE(kids.size() == 40);
  CHECK(details(*parent)->links == kids);  // sorted: oldest first
  for (size_t i = 0; i < kids.size(); i += 2)
    exit(kids[i], reason::kill());
  run();
  std::vector<pid> odd;
  for (size_t i = 1; i < kids.size(); i += 2)
    odd.push_back(kids[i]);
  CHECK(details(*parent)->links == odd);
  CHECK(details(kids[1])->links == std::vector<pid>{*parent});
  exit(*parent, reason::kill());  // its children go with it (they do not trap exits)
  run();
  for (auto& k : kids)
    CHECK_FALSE(details(k));
}

TEST_CASE_FIXTURE(det_fixture, "details: monitors and monitored_by until demonitor or either side's end") {
  auto c = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(c);
  auto a = spawn(rt, relating_to(*c));
  REQUIRE(a);
  send(*a, std::string("monitor"));
  run();
  CHECK(details(*a)->monitors == std::vector<pid>{*c});
  CHECK(details(*c)->monitored_by == std::vector<pid>{*a});
  CHECK(details(*a)->links.empty());
  send(*a, std::string("demonitor"));
  run();
  CHECK(details(*a)->monitors.empty());
  CHECK(details(*c)->monitored_by.empty());
  send(*a, std::string("monitor"));
  run();
  exit(*c, reason::shutdown());  // the watcher's record goes with the down notice
  run();
  CHECK(details(*a)->monitors.empty());

  auto e = spawn(rt, [](process&) -> behavior { return {[](int) {}}; });
  REQUIRE(e);
  auto w = spawn(rt, relating_to(*e));
  REQUIRE(w);
  send(*w, std::string("monitor"));
  run();
  CHECK(details(*e)->monitored_by == std::vector<pid>{*w});
  exit(*w, reason::kill());  // the watched side's record goes with the watcher
  run();
  CHECK(details(*e)->monitored_by.empty());
  exit(*a, reason::kill());
  exit(*e, reason::kill());
  run();
}

TEST_CASE_FIXTURE(det_fixture, "details: a peek at the types of the first queued messages, oldest first") {
  auto p = spawn(rt, [](process&) -> behavior { return {[](int) {}, [](const std::string&, int) {}, [](caf::atom_value) {}}; });
  REQUIRE(p);
  run();
  send(*p, 7);
  send(*p, std::string("hello"), 3);
  send(*p, caf::atom("tick"));
  auto d = details(*p, 2);
  REQUIRE(d);
  REQUIRE(d->queued.size() == 2);
  CHECK(d->queued[0] == "(int32_t)");
  CHECK(d->queued[1] == "(std::string, int32_t)");
  auto all = details(*p, 10);
  REQUIRE(all->queued.size() == 3);
  CHECK(all->queued[2] == "('tick')");
  CHECK(find_process(rt, p->id()) == *p);
  run();
  CHECK(details(*p)->queued.empty());
  exit(*p, reason::kill());
  run();
  CHECK_FALSE(find_process(rt, p->id()));
  CHECK_FALSE(details(*p));
}

} // TEST_SUITE
