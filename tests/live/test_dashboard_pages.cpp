// The dashboard's pages as a plain HTTP client sees them (the first, dead render of each view),
// over a real socket on 127.0.0.1. The browser tests drive the same pages live.

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include "corvid/pubsub/adapter.hpp"
#include "server_env.hpp"

using namespace corvid::live;
using namespace corvid::live::test;

namespace {

const std::string token = "a-dashboard-token-for-the-page-tests-0123456789";

http_result get(const dash_env& e, const std::string& path) {
  return http_get(e.port, path, std::nullopt, {{"Authorization", "Bearer " + token}});
}

// A pid as the page shows it: "<0.42.0>" HTML-escaped.
std::string shown(const corvid::pid& p) {
  auto t = p.to_string();
  return "&lt;" + t.substr(1, t.size() - 2) + "&gt;";
}

}  // namespace

TEST_SUITE("live.dashboard.pages") {
  TEST_CASE("the pubsub page lists the gaps this node reported, latest first, with their missed range") {
    dashboard_mount m;
    m.auth.token = token;
    dash_env e{m, true};
    REQUIRE(e.mount_error.empty());
    corvid::pubsub::remote_broadcast b;
    b.topic = "t";
    b.origin = "a@host";
    b.incarnation = 7;
    for (uint64_t seq : {1, 3, 9}) {  // missed 2, then 4 to 8
      b.seq = seq;
      REQUIRE(e.hub->deliver_remote(b) == caf::none);
    }
    REQUIRE(e.hub->stats().gaps == 2);
    auto r = get(e, "/dashboard/pubsub");
    REQUIRE(r.status == 200);
    auto rows = between(r.body, "<tbody id=\"gap-rows\">", "</tbody>");
    auto later = rows.find("4–8");
    auto earlier = rows.find(">2<");
    CHECK(later != std::string::npos);
    CHECK(earlier != std::string::npos);
    CHECK(later < earlier);
    CHECK(rows.find("a@host") != std::string::npos);
    CHECK(rows.find(">7<") != std::string::npos);  // the origin's incarnation
  }

  TEST_CASE("one process's page shows its real links, who monitors it and its restart history (the queued-types peek is tested in runtime)") {
    dashboard_mount m;
    m.auth.token = token;
    dash_env e{m};
    REQUIRE(e.mount_error.empty());
    auto& rt = *e.rt;
    // A worker under a supervisor that crashes once on its first int; a watcher monitors it.
    auto sup = corvid::start_supervisor(rt, {}, {corvid::child_spec::worker("crashy", [](corvid::process&) -> corvid::behavior {
      return {[](int) { throw std::runtime_error("boom"); }, [](const std::string&) {}};
    })});
    REQUIRE(sup);
    auto first = (*corvid::which_children(*sup))[0].current;
    REQUIRE(corvid::send(first, 1) == caf::none);
    corvid::pid second;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!second && std::chrono::steady_clock::now() < until) {  // the restart is asynchronous
      auto k = corvid::which_children(*sup);
      if (k && (*k)[0].current && (*k)[0].current != first) second = (*k)[0].current;
      else std::this_thread::yield();
    }
    REQUIRE(second);
    std::promise<void> watching;
    auto watched = watching.get_future();
    auto watcher = corvid::spawn(rt, [&watching, second](corvid::process& self) -> corvid::behavior {
      self.monitor(second);
      watching.set_value();
      return {[](corvid::down_signal&) {}};
    });
    REQUIRE(watcher);
    REQUIRE(watched.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = get(e, "/dashboard/process/" + std::to_string(second.id()));
    REQUIRE(r.status == 200);
    auto links = between(r.body, "<ul id=\"proc-links\">", "</ul>");
    CHECK(links.find(shown(*sup)) != std::string::npos);
    CHECK(links.find("supervisor") != std::string::npos);
    auto mons = between(r.body, "<ul id=\"proc-monitors\">", "</ul>");
    CHECK(mons.find(shown(*watcher)) != std::string::npos);
    CHECK(mons.find("monitors this process") != std::string::npos);
    auto history = between(r.body, "<table id=\"proc-history\">", "</table>");
    CHECK(history.find(shown(first)) != std::string::npos);
    CHECK(history.find("boom") != std::string::npos);
    corvid::exit(*watcher, corvid::reason::kill());
    corvid::exit(*sup, corvid::reason::shutdown());
  }
}
