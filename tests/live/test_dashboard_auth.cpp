// The dashboard's authentication (mount_dashboard, server::protect), over real sockets on 127.0.0.1.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include <boost/json.hpp>

#include "corvid/live/token.hpp"
#include "server_env.hpp"

using namespace corvid::live;
using namespace corvid::live::test;
namespace live = corvid::live;
namespace json = boost::json;
using namespace std::chrono_literals;


namespace {

// GET with extra headers ({name, value}).
http_result http_get_with(std::uint16_t port, const std::string& target, const header_list& headers) {
  return http_get(port, target, std::nullopt, headers);
}

// "name=value" of a Set-Cookie header.
std::string cookie_pair(const std::string& set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); }

const std::string token = "a-dashboard-token-for-the-tests-0123456789";

}  // namespace
TEST_SUITE("live.dashboard.auth") {
  TEST_CASE("without credentials the dashboard pages and /metrics answer 401; a bearer token opens them") {
    dashboard_mount m;
    m.auth.token = token;
    dash_env e{m};
    REQUIRE(e.mount_error.empty());
    for (auto* path : {"/dashboard", "/dashboard/processes", "/dashboard/process/1", "/metrics"}) {
      CAPTURE(path);
      CHECK(http_get_with(e.port, path, {}).status == 401);
      CHECK(http_get_with(e.port, path, {{"Authorization", "Bearer wrong-token-wrong-token"}}).status == 401);
      auto ok = http_get_with(e.port, path, {{"Authorization", "Bearer " + token}});
      CHECK(ok.status == 200);
      CHECK(ok.set_cookie.find("HttpOnly") != std::string::npos);
      CHECK(ok.set_cookie.find(token) == std::string::npos);  // a MAC, not the token
    }
    CHECK(http_get_with(e.port, "/dashboardx", {}).status == 404);  // a prefix guards its own path and below only
    CHECK(http_get_with(e.port, "/", {}).status == 200);            // other routes stay open
    CHECK(e.srv->metrics().rejected(rejection::auth) == 8);
  }

  TEST_CASE("?token= becomes a cookie and a redirect without the token; the cookie then opens the pages") {
    dashboard_mount m;
    m.auth.token = token;
    dash_env e{m};
    auto r = http_get_with(e.port, "/dashboard/processes?sort=name&token=" + token, {});
    CHECK(r.status == 303);
    CHECK(r.location == "/dashboard/processes?sort=name");
    REQUIRE(!r.set_cookie.empty());
    CHECK(http_get_with(e.port, "/dashboard?token=nope-nope-nope-nope", {}).status == 401);
    auto c = cookie_pair(r.set_cookie);
    CHECK(http_get_with(e.port, "/dashboard", {{"Cookie", "other=1; " + c}}).status == 200);
    CHECK(http_get_with(e.port, "/metrics", {{"Cookie", c}}).status == 200);
    CHECK(http_get_with(e.port, "/dashboard", {{"Cookie", c + "x"}}).status == 401);
  }

  TEST_CASE("basic auth: a 401 with a challenge, then the right user and password") {
    dashboard_mount m;
    m.auth.user = "ops";
    m.auth.password = "s3cret pass";
    dash_env e{m};
    auto no = http_get_with(e.port, "/dashboard", {});
    CHECK(no.status == 401);
    CHECK(no.challenge.rfind("Basic realm=", 0) == 0);
    CHECK(http_get_with(e.port, "/dashboard", {{"Authorization", "Basic b3BzOndyb25n"}}).status == 401);  // ops:wrong
    CHECK(http_get_with(e.port, "/dashboard", {{"Authorization", "Basic b3BzOnMzY3JldCBwYXNz"}}).status == 200);
  }

  TEST_CASE("a websocket without credentials cannot join a dashboard view, even with a valid page token") {
    dashboard_mount m;
    m.auth.token = token;
    dash_env e{m};
    auto page = http_get_with(e.port, "/dashboard", {{"Authorization", "Bearer " + token}});
    REQUIRE(page.status == 200);
    page_tokens p{between(page.body, "data-phx-session=\"", "\""), between(page.body, "name=\"csrf-token\" content=\"", "\""),
                  between(page.body, "<div id=\"", "\"")};
    auto join_dashboard = [&](ws_client& c) {
      json::object payload{{"url", "http://127.0.0.1:" + std::to_string(e.port) + "/dashboard"},
                           {"params", json::object{{"_csrf_token", p.csrf}}},
                           {"session", p.session},
                           {"static", nullptr}};
      REQUIRE_FALSE(c.send(json::serialize(json::array{"4", "4", "lv:" + p.id, "phx_join", payload})));
      auto r = c.read_json();
      REQUIRE(r);
      return *r;
    };
    ws_client anon{e.port};
    REQUIRE_FALSE(anon.connect());
    auto refused = join_dashboard(anon);
    CHECK(status_of(refused) == "error");
    CHECK(response_of(refused).at("reason").as_string() == "unauthorized");
    CHECK(e.srv->metrics().rejected(rejection::auth) == 1);

    ws_client authed{e.port};
    authed.cookie = cookie_pair(page.set_cookie);
    REQUIRE_FALSE(authed.connect());
    CHECK(status_of(join_dashboard(authed)) == "ok");
  }

  TEST_CASE("mounting refuses without credentials, and /metrics refuses an open address without authentication") {
    {
      dash_env e{dashboard_mount{}};
      CHECK(e.mount_error.find("refusing to mount the dashboard at /dashboard on 127.0.0.1 without authentication") !=
            std::string::npos);
    }
    {
      dashboard_mount m;
      m.auth.token = "short";
      dash_env e{m};
      CHECK(e.mount_error.find("at least 16") != std::string::npos);
    }
    {
      dashboard_mount m;
      m.open_on_loopback = true;  // loopback only: allowed, and the pages are open
      dash_env e{m};
      CHECK(e.mount_error.empty());
      CHECK(http_get_with(e.port, "/dashboard", {}).status == 200);
    }
    corvid::runtime rt;
    server_options pub;
    pub.address = "0.0.0.0";
    pub.port = 0;
    pub.secret = std::string(32, 's');
    {
      server srv{rt, pub};
      dashboard_mount m;
      m.open_on_loopback = true;
      CHECK(mount_dashboard(srv, rt, m).find("never open on a non-loopback address") != std::string::npos);
      CHECK(srv.start().find("refusing to serve /metrics on 0.0.0.0 without authentication") != std::string::npos);
    }
    {
      server srv{rt, pub};
      dashboard_mount m;
      m.auth.token = token;
      CHECK(mount_dashboard(srv, rt, m).empty());
      CHECK(srv.start().empty());  // the dashboard's credentials guard /metrics too
      CHECK(http_get_with(srv.port(), "/metrics", {}).status == 401);
      srv.stop();
    }
    rt.shutdown_all(5s);
  }
}

