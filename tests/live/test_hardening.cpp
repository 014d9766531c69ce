// The live server against an attacker: UTF-8, secrets, DNS rebinding, origins (real sockets, port 0).
// Every wait is on a condition with a generous deadline; nothing sleeps to synchronize.

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

TEST_SUITE("live.hardening") {
  TEST_CASE("utf-8 over a socket: %FF in a form value comes back as a valid text frame (U+FFFD)") {
    env e;
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(c.join(p)) == "ok");
    json::object payload{{"type", "form"}, {"event", "say"}, {"value", "body=a%FFb%E2%82"}};
    REQUIRE_FALSE(c.send(json::serialize(json::array{"4", "5", "lv:" + p.id, "event", payload})));
    auto r = c.read_json();  // Beast's client, like a browser, fails on a text frame that is not UTF-8
    REQUIRE(r);
    CHECK(status_of(*r) == "ok");
    CHECK(response_of(*r).at("diff").at("1") == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  }

  TEST_CASE("utf-8 over a socket: the server closes a text frame that is not UTF-8 with 1007") {
    env e;
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    REQUIRE_FALSE(c.send("[null,\"1\",\"phoenix\",\"heartbeat\",{\"x\":\"\xFF\"}]"));
    CHECK(c.wait_close() == 1007);
  }

  TEST_CASE("secret: without one configured, a token forged with the old fixed development secret is refused") {
    temp_dir state;
    scoped_env no_secret{"CORVID_SECRET", nullptr}, xdg{"XDG_STATE_HOME", state.path.c_str()};
    env e{{}, true};
    token_signer dev_sessions{"corvid-dev-secret: set CORVID_SECRET in production!", "corvid.live.session"};
    token_signer dev_csrf{"corvid-dev-secret: set CORVID_SECRET in production!", "corvid.live.csrf"};
    session_claims forged{"/", "/", std::chrono::duration_cast<std::chrono::seconds>(
                                        token_signer::clock::now().time_since_epoch()).count(), "ADMN", "", {}};
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    auto r = c.join_as("phx-forged", csrf_token_for(dev_csrf, forged), dev_sessions.sign(forged));
    CHECK(status_of(r) == "error");
    CHECK(response_of(r).at("reason") == "unauthorized");
    CHECK(status_of(c.join(fetch_page(e.port))) == "ok");  // its own pages still join
  }

  TEST_CASE("secret: the generated one is kept in $XDG_STATE_HOME/corvid/secret (0600); pages rejoin after a restart") {
    temp_dir state;
    scoped_env no_secret{"CORVID_SECRET", nullptr}, xdg{"XDG_STATE_HOME", state.path.c_str()};
    page_tokens p;
    {
      env first{{}, true};
      p = fetch_page(first.port);
    }
    auto file = state.path / "corvid" / "secret";
    REQUIRE(std::filesystem::exists(file));
    CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    env second{{}, true};
    ws_client c{second.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(c.join(p)) == "ok");  // the page of the first server
  }

  TEST_CASE("secret: start() refuses, with a reason, short secrets, unsafe files and a public address without one") {
    temp_dir state;
    scoped_env no_secret{"CORVID_SECRET", nullptr}, xdg{"XDG_STATE_HOME", state.path.c_str()};
    corvid::runtime rt;
    auto start = [&](server_options o) {
      o.port = 0;
      server s{rt, std::move(o)};
      return s.start();
    };
    server_options short_secret;
    short_secret.secret = "31 bytes are one byte too few!!";
    CHECK(start(short_secret).find("at least 32") != std::string::npos);
    {
      scoped_env weak{"CORVID_SECRET", "weak"};
      CHECK(start({}).find("CORVID_SECRET has 4 bytes") != std::string::npos);
    }
    server_options open_file;
    open_file.secret_file = state.path / "open";
    { std::ofstream(open_file.secret_file) << std::string(40, 'k'); }
    std::filesystem::permissions(open_file.secret_file, std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write |
                                                            std::filesystem::perms::others_read);
    CHECK(start(open_file).find("only its owner may read it") != std::string::npos);
    server_options pub;
    pub.address = "0.0.0.0";
    CHECK(start(pub).find("no secret configured") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(state.path / "corvid"));  // nothing made for a public address
    pub.secret = std::string(32, 's');
    CHECK(start(pub).find("refusing to serve /metrics") != std::string::npos);  // metrics need authentication there
    pub.metrics_path = "";
    CHECK(start(pub).empty());  // a configured secret: fine anywhere
    rt.shutdown_all(5s);
  }

  TEST_CASE("a start that fails (its port taken) undoes itself: no upload directory is left, a retry can work") {
    temp_dir tmp;
    scoped_env tmpdir{"TMPDIR", tmp.path.c_str()};
    auto entries = [&] {
      return std::distance(std::filesystem::directory_iterator{tmp.path}, std::filesystem::directory_iterator{});
    };
    corvid::runtime rt;
    server_options o;
    o.port = 0;
    o.secret = std::string(32, 's');
    server first{rt, o};
    REQUIRE(first.start().empty());
    CHECK(entries() == 1);  // first's private upload directory
    o.port = first.port();
    {
      server second{rt, o};
      CHECK(second.start().find("cannot listen on 127.0.0.1:" + std::to_string(o.port)) != std::string::npos);
      CHECK(entries() == 1);
      first.stop();
      CHECK(entries() == 0);
      CHECK(second.start().empty());  // the port is free now
      CHECK(entries() == 1);
    }  // the destructor stops it
    CHECK(entries() == 0);
    rt.shutdown_all(5s);
  }

  TEST_CASE("dns rebinding: a Host outside the allow-list gets 400 for pages and upgrades") {
    env e;
    const std::string port = std::to_string(e.port);
    CHECK(http_get(e.port, "/", "rebind.attacker.example:" + port).status == 400);
    CHECK(http_get(e.port, "/metrics", "rebind.attacker.example").status == 400);
    ws_client c{e.port};  // the attacker's page: Origin and Host both name the attacker's host
    CHECK(c.connect(std::nullopt, "rebind.attacker.example:" + port));
    CHECK(c.refused_status == 400);
    // loopback names are served
    CHECK(http_get(e.port, "/", "localhost:" + port).status == 200);
    CHECK(http_get(e.port, "/", "[::1]:" + port).status == 200);
    CHECK(http_get(e.port, "/", "127.0.0.1:" + port).status == 200);
    ws_client l{e.port};
    CHECK_FALSE(l.connect(std::nullopt, "localhost:" + port));
    CHECK(e.rejected(rejection::host) == 3);
    CHECK(http_get(e.port, "/metrics").body.find("corvid_live_rejections_total{kind=\"host\"} 3\n") != std::string::npos);
  }

  TEST_CASE("allowed_hosts: names the server is configured with are served; ports count when given") {
    server_options o;
    o.allowed_hosts = {"App.Example", "api.example:8443"};
    env e{o};
    CHECK(http_get(e.port, "/", "app.example:9999").status == 200);
    CHECK(http_get(e.port, "/", "APP.example").status == 200);
    CHECK(http_get(e.port, "/", "api.example:8443").status == 200);
    CHECK(http_get(e.port, "/", "api.example:8444").status == 400);
    CHECK(http_get(e.port, "/", "app.example.attacker.example").status == 400);
    CHECK(http_get(e.port, "/", "").status == 400);
    ws_client c{e.port};
    CHECK_FALSE(c.connect(std::string("http://app.example:4000"), "app.example:4000"));
  }

  TEST_CASE("origin: the scheme counts; https://host is not the origin of an http server") {
    env e;
    const std::string host = "127.0.0.1:" + std::to_string(e.port);
    ws_client c{e.port};
    CHECK(c.connect("https://" + host));
    CHECK(c.refused_status == 403);
    ws_client n{e.port};
    CHECK(n.connect(std::string("null")));
    CHECK(n.refused_status == 403);
  }
}

