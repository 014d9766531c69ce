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
  run();
  CHECK(info(*busy).mailbox.handled == 5);
  CHECK(prometheus_metrics(rt).find("corvid_messages_handled_total 5\n") != std::string::npos);
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
  telemetry::detach(id);
  std::lock_guard<std::mutex> g{m};
  CHECK(std::count(events.begin(), events.end(), "corvid.process.crash") == 1);
  CHECK(std::count(events.begin(), events.end(), "corvid.supervisor.restart") == 1);
  exit(*sup, reason::shutdown());
}

} // TEST_SUITE
