// The live server's limits and /metrics, over real sockets on 127.0.0.1 (port 0).
// Every wait is on a condition with a generous deadline; nothing sleeps to synchronize.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
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

TEST_SUITE("live.flash") {
  TEST_CASE("a full redirect's flash (the __phoenix_flash__ cookie): shown by the dead render, handed to the join, cookie deleted") {
    env e{};
    token_signer flash{"limits test secret, at least thirty-two bytes", "corvid.live.flash"};
    const auto token = flash.sign("flash", R"({"info":"Saved"})");
    auto r = http_get(e.port, "/", std::nullopt, {{"Cookie", "other=1; __phoenix_flash__=" + token}});
    REQUIRE(r.status == 200);
    CHECK(r.body.find("<u>Saved</u>") != std::string::npos);
    CHECK(r.set_cookie == "__phoenix_flash__=; Max-Age=0; Path=/");
    auto static_token = between(r.body, "data-phx-static=\"", "\"");
    CHECK(static_token == token);
    page_tokens p{between(r.body, "data-phx-session=\"", "\""), between(r.body, "name=\"csrf-token\" content=\"", "\""),
                  between(r.body, "<div id=\"", "\"")};
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    auto joined = c.join_as(p.id, p.csrf, p.session, static_token);
    REQUIRE(status_of(joined) == "ok");
    CHECK(response_of(joined).at("rendered").at("2") == "Saved");

    token_signer other{"limits test secret, at least thirty-two bytes", "corvid.live.session"};
    auto forged = http_get(e.port, "/", std::nullopt, {{"Cookie", "__phoenix_flash__=" + other.sign("flash", R"({"info":"x"})")}});
    CHECK(forged.body.find("<u></u>") != std::string::npos);
    CHECK(between(forged.body, "data-phx-static=\"", "\"").empty());
  }
}

namespace {
// Connects and joins `c`; last_session is then its session, for pushes from the test.
void join_for_pushes(ws_client& c, const page_tokens& p) {
  have_session = false;
  REQUIRE_FALSE(c.connect());
  CHECK(status_of(c.join(p)) == "ok");
  REQUIRE(eventually([&] { return have_session.load(); }));
}
}  // namespace

TEST_SUITE("live.limits") {
  TEST_CASE("/metrics: runtime metrics plus live counters that move with mounts, events and diffs") {
    env e;
    auto before = http_get(e.port, "/metrics");
    REQUIRE(before.status == 200);
    CHECK(before.body.find("corvid_processes") != std::string::npos);
    CHECK(before.body.find("corvid_live_mounts_total 0\n") != std::string::npos);
    CHECK(before.body.find("corvid_live_rejections_total{kind=\"csrf\"} 0\n") != std::string::npos);

    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(c.join(p)) == "ok");
    REQUIRE_FALSE(c.send(c.click_frame(p)));
    auto r = c.read_json();
    REQUIRE(r);
    CHECK(response_of(*r).at("diff").at("0") == "1");

    auto after = http_get(e.port, "/metrics").body;
    CHECK(after.find("corvid_live_mounts_total 1\n") != std::string::npos);
    CHECK(after.find("corvid_live_events_total 1\n") != std::string::npos);
    CHECK(after.find("corvid_live_sessions 1\n") != std::string::npos);
    CHECK(e.srv->metrics().diff_bytes.load() > 0);
    CHECK(after.find("corvid_live_diff_bytes_total 0\n") == std::string::npos);
  }

  TEST_CASE("max_connections: 503 for pages and upgrades beyond it, served again once one closes") {
    server_options o;
    o.max_connections = 3;
    env e{o};
    std::vector<tcp_conn> held;
    for (int i = 0; i < 3; ++i) {
      held.emplace_back(e.port);
      REQUIRE(held.back().connected());
    }
    REQUIRE(eventually([&] { return e.srv->open_connections() == 3; }));

    auto page = http_get(e.port, "/");
    CHECK(page.status == 503);
    CHECK(page.body == "too many connections\n");
    ws_client c{e.port};
    CHECK(c.connect());
    CHECK(c.refused_status == 503);
    CHECK(e.rejected(rejection::connections) >= 2);
    CHECK(e.srv->open_connections() == 3);

    held.pop_back();  // one goes: room for one more
    REQUIRE(eventually([&] { return e.srv->open_connections() == 2; }));
    CHECK(http_get(e.port, "/").status == 200);
    REQUIRE(eventually([&] { return e.srv->open_connections() == 2; }));  // that request's connection is gone
    CHECK(http_get(e.port, "/metrics").body.find("corvid_live_rejections_total{kind=\"connections\"} ") !=
          std::string::npos);
  }

  TEST_CASE("max_frame_bytes: an event over it ends its view with words for the user on an open socket; 64x closes 1009") {
    CHECK(server_options{}.channel.limits.max_bytes >= 1u << 20);  // a 70 kB form change is legitimate
    server_options o;
    o.channel.limits.max_bytes = 4096;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client big{e.port}, other{e.port};
    REQUIRE_FALSE(big.connect());
    REQUIRE_FALSE(other.connect());
    CHECK(status_of(big.join(p)) == "ok");
    CHECK(status_of(other.join(p)) == "ok");
    json::object payload{{"type", "form"}, {"event", "inc"}, {"value", "body=" + std::string(8192, 'x')}};
    REQUIRE_FALSE(big.send(json::serialize(json::array{"4", "20", "lv:" + p.id, "event", payload})));
    auto err = big.read_json();
    REQUIRE(err);
    CHECK(err->at(3) == "phx_error");
    CHECK(err->at(4).at("reason") == "message too large");
    CHECK(std::string(err->at(4).at("message").as_string()).find("too large") != std::string::npos);
    CHECK(status_of(big.join(p)) == "ok");  // the client's rejoin, on the same socket
    REQUIRE_FALSE(big.send(big.click_frame(p)));
    auto r = big.read_json();
    REQUIRE(r);
    CHECK(response_of(*r).at("diff").at("0") == "1");
    REQUIRE_FALSE(big.send(std::string(4096 * 64 + 1, ' ')));
    CHECK(big.wait_close() == 1009);
    REQUIRE_FALSE(other.send(other.click_frame(p)));
    r = other.read_json();
    REQUIRE(r);
    CHECK(response_of(*r).at("diff").at("0") == "1");
    CHECK(e.rejected(rejection::frame_size) == 2);
    CHECK(eventually([&] { return e.srv->connections() == 1; }));
  }

  TEST_CASE("inbound_bytes: frames beyond the bytes queued for a busy session are not queued; their events get an ok reply") {
    server_options o;
    o.channel.limits.max_bytes = 4096;
    o.inbound_bytes = 8192;
    o.channel.event_rate = 0;
    // Held on a worker while the I/O thread goes on reading: a session's turns for frames never
    // run on the I/O thread here (one could take the hold there, blocking every read).
    o.io_turn_limit = std::chrono::microseconds(0);
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    connect_and_join(c, p);
    view_gate.close();
    struct reopen {
      ~reopen() { view_gate.release(); }  // never leave the session stuck, whatever fails
    } reopen_at_exit;
    REQUIRE_FALSE(static_cast<bool>(corvid::send(last_session, std::string("hold"))));  // busy on a worker
    REQUIRE(eventually([&] { return view_gate.is_holding(); }));
    json::object payload{{"type", "form"}, {"event", "say"}, {"value", "body=" + std::string(3000, 'y')}};
    for (int i = 0; i < 6; ++i)  // two fit in 8192 bytes while it is busy; four do not
      REQUIRE_FALSE(c.send(json::serialize(json::array{"4", std::to_string(100 + i), "lv:" + p.id, "event", payload})));
    for (int i = 2; i < 6; ++i) {
      auto r = c.read_json();
      REQUIRE(r);
      CHECK(r->at(1) == json::value(std::to_string(100 + i)));
      CHECK(status_of(*r) == "ok");
      CHECK(response_of(*r).as_object().empty());  // released, dropped
    }
    view_gate.release();
    for (int i = 0; i < 2; ++i) {
      auto r = c.read_json();
      REQUIRE(r);
      CHECK(r->at(1) == json::value(std::to_string(100 + i)));
      CHECK(status_of(*r) == "ok");
      if (i == 0) CHECK(response_of(*r).as_object().contains("diff"));  // the second one changes nothing
    }
  }

  TEST_CASE("event rate: events over the token bucket get an ok reply without a diff; a client that keeps going is closed (1008)") {
    server_options o;
    o.channel.event_rate = 0.5;  // slow refill: the test's own pace does not matter
    o.channel.event_burst = 6;
    o.channel.event_overrun_close = 10;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(c.join(p)) == "ok");  // one token
    int ok = 0, limited = 0;
    for (int i = 0; i < 30; ++i) (void)c.send(c.click_frame(p));
    while (auto r = c.read_json()) {
      if (status_of(*r) != "ok") continue;
      if (response_of(*r).as_object().contains("diff")) ++ok;
      else if (response_of(*r).as_object().empty()) ++limited;  // released, dropped
    }
    CHECK(ok >= 5);
    CHECK(ok <= 7);
    CHECK(limited >= 7);
    CHECK(c.close_code() == 1008);
    CHECK(e.rejected(rejection::rate) >= 10);
  }

  TEST_CASE("frames keep their order and bytes whether written from the session, in parts, or from the queue") {
    server_options o;
    o.outbound_frames = 4096;
    o.outbound_bytes = 256 << 20;  // nothing dropped here: the client reads it all, late
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    join_for_pushes(c, p);
    // 1,600 diffs of 32 KiB (50 MiB: more than loopback buffers, 4 MiB to send and up to 32 MiB to
    // receive) while the client reads nothing: the first go straight from the
    // session, then the socket's buffers fill (a write goes in part, the rest from the I/O thread)
    // and the rest queue. Events in between are all answered: those the session took in order (the
    // count they show grows), those its full mailbox refused at once by the I/O thread (empty).
    constexpr int pushes = 1600, events = 40;
    int sent = 0, asked = 0;
    while (sent < pushes) {
      if (corvid::send(last_session, sent + 1)) {
        REQUIRE(eventually([&] { return !corvid::send(last_session, sent + 1); }));  // a full mailbox: retry
      }
      ++sent;
      if (sent % (pushes / events) == 0) {
        ++asked;
        REQUIRE_FALSE(c.send(R"(["4",")" + std::to_string(100 + asked) + R"(","lv:)" + p.id + R"(","event",{"type":"click","event":"inc","value":{}}])"));
      }
    }
    int pushed = 0, replies = 0;
    std::int64_t last_count = 0;
    std::set<std::string> refs;
    while (pushed < pushes || replies < events) {
      auto f = c.read_json(20s);
      REQUIRE(f);
      if ((*f)[3] == "diff") {
        auto blob = std::string((*f)[4].as_object().at("1").as_string());
        ++pushed;
        REQUIRE(blob == std::to_string(pushed) + std::string(32 * 1024, 'x'));  // in order, every byte
      } else {
        REQUIRE((*f)[3] == "phx_reply");
        ++replies;
        refs.insert(std::string((*f)[1].as_string()));
        CHECK(status_of(*f) == "ok");
        auto resp = response_of(*f);
        auto& r = resp.as_object();
        if (auto d = r.find("diff"); d != r.end()) {
          auto count = std::stoll(std::string(d->value().as_object().at("0").as_string()));
          CHECK(count == last_count + 1);
          last_count = count;
        }
      }
    }
    CHECK(refs.size() == static_cast<std::size_t>(events));
    CHECK(last_count + static_cast<std::int64_t>(e.rejected(rejection::inbound)) == events);
    CHECK(c.close_code() == 0);
    CHECK(e.srv->metrics().slow_drops.load() == 0);
  }

  TEST_CASE("a client that never reads is dropped once its outbound queue is full; the session goes") {
    server_options o;
    o.outbound_frames = 8;
    o.outbound_bytes = 1 << 20;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    join_for_pushes(c, p);
    // Push 32 KiB diffs without reading: the kernel buffers fill, then the queue, then the drop.
    int n = 0;
    CHECK(eventually([&] {
      (void)corvid::send(last_session, ++n);
      return e.srv->metrics().slow_drops.load() == 1;
    }, 30s));
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
    CHECK(http_get(e.port, "/metrics").body.find("corvid_live_slow_client_drops_total 1\n") != std::string::npos);
  }

  TEST_CASE("idle_timeout: a connection without frames is closed and its session stopped") {
    server_options o;
    o.idle_timeout = 300ms;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(c.join(p)) == "ok");
    c.wait_close();  // nothing sent: the server ends it
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
  }

  TEST_CASE("disconnect: a session whose socket dropped is gone") {
    server_options o;
    o.disconnect_timeout = 500ms;
    env e{o};
    auto p = fetch_page(e.port);
    {
      ws_client c{e.port};
      REQUIRE_FALSE(c.connect());
      CHECK(status_of(c.join(p)) == "ok");
      CHECK(live_sessions(*e.rt) == 1);
      c.cancel();  // an abrupt drop, no close handshake
    }
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
  }

  TEST_CASE("origin: same host by default; allowed_origins when given; refusals are 403 and counted") {
    SUBCASE("default: Origin's host must be the Host header") {
      env e;
      ws_client good{e.port}, bad{e.port};
      CHECK_FALSE(good.connect());
      CHECK(bad.connect(std::string("http://evil.example")));
      CHECK(bad.refused_status == 403);
      CHECK(e.rejected(rejection::origin) == 1);
    }
    SUBCASE("allow-list") {
      server_options o;
      o.allowed_origins = {"https://app.example", "//other.example:8443"};
      env e{o};
      ws_client a{e.port}, b{e.port}, same{e.port};
      CHECK_FALSE(a.connect(std::string("https://app.example")));
      CHECK_FALSE(b.connect(std::string("http://other.example:8443")));
      CHECK(same.connect());  // not listed
      CHECK(same.refused_status == 403);
    }
  }

  TEST_CASE("join security: tampered or missing session and foreign CSRF tokens are refused as the client expects") {
    env e;
    auto p = fetch_page(e.port), q = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    auto tampered = p.session;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    auto r = c.join(p, "", tampered);
    CHECK(status_of(r) == "error");
    CHECK(response_of(r).at("reason") == "unauthorized");
    r = c.join(p, q.csrf);  // the CSRF token of another page
    CHECK(response_of(r).at("reason") == "unauthorized");
    r = c.join(p, "not-a-token");
    CHECK(response_of(r).at("reason") == "unauthorized");
    CHECK(e.rejected(rejection::token) == 1);
    CHECK(e.rejected(rejection::csrf) == 2);
    CHECK(status_of(c.join(p)) == "ok");
  }

  TEST_CASE("a flood of malformed frames: error replies or closes, while another session works normally") {
    server_options o;
    o.channel.event_rate = 0;  // the flood is about malformed input, not the rate
    o.channel.limits.max_bytes = 8192;
    env e{o};
    auto p = fetch_page(e.port);

    std::atomic<bool> attacker_ok{true};
    std::atomic<int> sent{0}, reconnects{0};
    std::thread attacker([&] {
      auto c = std::make_unique<ws_client>(e.port);
      if (c->connect()) {
        attacker_ok = false;
        return;
      }
      const std::string deep = std::string(200, '[') + std::string(200, ']');
      for (int i = 0; i < 3000 && attacker_ok; ++i) {
        bool expect_reply = false, expect_close = false;
        std::string f;
        bool binary = false;
        switch (i % 10) {
          case 0: f = "not json at all"; break;
          case 1: f = "[\"1\",\"2\""; break;
          case 2: f = "{\"a\":1}"; break;
          case 3: f = deep; break;
          case 4: f = R"([null,"7","phoenix","nope",{}])"; expect_reply = true; break;
          case 5: f = R"(["4","8","lv:nobody","event",{"type":"click","event":"inc","value":{}}])"; expect_reply = true; break;
          case 6: f = R"(["4","9","elsewhere","shout",{}])"; expect_reply = true; break;
          case 7: f = R"([1,2,3,4,5])"; break;
          case 8:
            if (i % 100 == 8) f = std::string(10000, 'x');  // read and dropped: not a frame, nobody to answer
            else f = "[null,null,null,null,null]";
            break;
          case 9:
            if (i % 100 == 9) { f = std::string(10000, 'b'); binary = true; expect_close = true; }  // an oversized chunk: 1009
            else if (i % 100 == 59) { f = "binary"; binary = true; }  // not a chunk: dropped, counted as malformed
            else f = "[]";
            break;
        }
        if (c->send(f, binary)) {
          attacker_ok = false;
          break;
        }
        ++sent;
        if (expect_reply) {
          auto r = c->read_json();
          if (!r || status_of(*r) != "error") attacker_ok = false;
        } else if (expect_close) {
          c->wait_close();
          c = std::make_unique<ws_client>(e.port);
          ++reconnects;
          if (c->connect()) attacker_ok = false;
        }
      }
    });

    // Meanwhile a well-behaved session joins and clicks, and gets correct diffs.
    ws_client good{e.port};
    REQUIRE_FALSE(good.connect());
    CHECK(status_of(good.join(p)) == "ok");
    for (int n = 1; n <= 200; ++n) {
      REQUIRE_FALSE(good.send(good.click_frame(p)));
      auto r = good.read_json();
      REQUIRE(r);
      REQUIRE(status_of(*r) == "ok");
      CHECK(response_of(*r).at("diff").at("0") == json::value(std::to_string(n)));
    }
    attacker.join();
    CHECK(attacker_ok);
    CHECK(sent == 3000);
    CHECK(reconnects == 30);
    CHECK(e.rejected(rejection::malformed) >= 1000);
    CHECK(e.rejected(rejection::frame_size) == 60);  // 30 text frames dropped, 30 binary ones closed
    // the node still serves pages and new sessions
    auto q = fetch_page(e.port);
    ws_client late{e.port};
    REQUIRE_FALSE(late.connect());
    CHECK(status_of(late.join(q)) == "ok");
  }
}

