// The live server's budgets (issue 10, defect 3) and the connection-level items of defect 7, over real
// sockets on 127.0.0.1 (port 0). Every wait is on a condition with a generous deadline.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "server_env.hpp"

using namespace corvid::live;
using namespace corvid::live::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// A join of the page's view under another element id (the same session token: one page, many views).
json::array join_view(ws_client& c, const page_tokens& p, const std::string& id) { return c.join_as(id, p.csrf, p.session); }

std::string reason_of(const json::array& f) {
  auto* r = f.at(4).at("response").as_object().if_contains("reason");
  return r && r->is_string() ? std::string(r->as_string()) : std::string{};
}

struct reopen_gate {
  ~reopen_gate() { view_gate.release(); }  // never leave a session stuck, whatever fails
};

}  // namespace

TEST_SUITE("live.budgets") {
  TEST_CASE("max_views_per_connection: joins past it are refused with a reason; a rejoin of a joined topic is not") {
    server_options o;
    o.channel.max_views = 3;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    CHECK(status_of(join_view(c, p, p.id)) == "ok");
    CHECK(status_of(join_view(c, p, "second")) == "ok");
    CHECK(status_of(join_view(c, p, "third")) == "ok");
    auto fourth = join_view(c, p, "fourth");
    CHECK(status_of(fourth) == "error");
    CHECK(reason_of(fourth) == "too many views");
    CHECK(e.rejected(rejection::views) == 1);
    CHECK(status_of(join_view(c, p, "second")) == "ok");  // replaces the joined one
    // the views still work
    REQUIRE_FALSE(c.send(c.click_frame(p)));
    auto r = c.read_json();
    REQUIRE(r);
    CHECK(response_of(*r).at("diff").at("0") == "1");
    CHECK(server_options{}.channel.max_views >= 8);  // nested child views fit by default
  }

  TEST_CASE("a topic over 256 bytes is malformed, not a view") {
    env e{};
    auto p = fetch_page(e.port);
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    auto before = e.rejected(rejection::malformed);
    json::object payload{{"url", "http://127.0.0.1:" + std::to_string(e.port) + "/"}, {"session", p.session}};
    REQUIRE_FALSE(c.send(json::serialize(json::array{"4", "4", "lv:" + std::string(300, 'x'), "phx_join", payload})));
    REQUIRE_FALSE(c.send(R"([null,"5","phoenix","heartbeat",{}])"));
    auto r = c.read_json();  // no reply to the first: the heartbeat's comes first
    REQUIRE(r);
    CHECK(r->at(1) == "5");
    CHECK(e.rejected(rejection::malformed) == before + 1);
  }

  TEST_CASE("inbound_bytes_total: frames queued in all sessions are bounded together; over it, events get an ok reply") {
    server_options o;
    o.channel.limits.max_bytes = 4096;
    o.inbound_bytes = 1 << 20;  // the per-session bound is not what trips here
    o.inbound_bytes_total = 8192;
    o.channel.event_rate = 0;
    // Held on a worker while the I/O thread goes on reading: a session's turns for frames never
    // run on the I/O thread here (one could take the hold there, blocking every read).
    o.io_turn_limit = std::chrono::microseconds(0);
    env e{o};
    auto p = fetch_page(e.port);
    ws_client busy{e.port}, other{e.port};
    connect_and_join(busy, p);
    view_gate.close();
    reopen_gate reopen;
    REQUIRE_FALSE(static_cast<bool>(corvid::send(last_session, std::string("hold"))));  // busy on a worker
    REQUIRE(eventually([&] { return view_gate.is_holding(); }));
    json::object payload{{"type", "form"}, {"event", "say"}, {"value", "body=" + std::string(3000, 'y')}};
    auto say = [&](int ref) { return json::serialize(json::array{"4", std::to_string(ref), "lv:" + p.id, "event", payload}); };
    REQUIRE_FALSE(busy.send(say(100)));
    REQUIRE_FALSE(busy.send(say(101)));  // two queue while it is busy: about 6.3 KB in all
    REQUIRE(eventually([&] { return e.srv->queued_inbound_bytes() > 6000; }));

    connect_and_join(other, p);  // a join is small: it fits
    REQUIRE_FALSE(other.send(say(200)));
    auto r = other.read_json();
    REQUIRE(r);
    CHECK(r->at(1) == "200");
    CHECK(status_of(*r) == "ok");
    CHECK(response_of(*r).as_object().empty());  // refused for the total, released, dropped
    CHECK(e.rejected(rejection::inbound) >= 1);

    view_gate.release();
    for (int i = 0; i < 2; ++i) REQUIRE(busy.read_json());  // the two that waited
    REQUIRE(eventually([&] {  // the bytes are released once handled: the other session is served again
      if (other.send(say(300))) return false;
      auto again = other.read_json();
      return again && response_of(*again).as_object().contains("diff");
    }));
  }

  TEST_CASE("the rate is checked before a frame is parsed: frames over it cost no parse (not counted as malformed)") {
    server_options o;
    o.channel.event_rate = 0.5;
    o.channel.event_burst = 5;
    o.channel.event_overrun_close = 1000;
    env e{o};
    ws_client c{e.port};
    REQUIRE_FALSE(c.connect());
    for (int i = 0; i < 20; ++i) REQUIRE_FALSE(c.send("{not json" + std::to_string(i)));
    REQUIRE(eventually([&] { return e.rejected(rejection::rate) + e.rejected(rejection::malformed) == 20; }));
    CHECK(e.rejected(rejection::malformed) <= 6);  // the burst (and at most one refill) were parsed
    CHECK(e.rejected(rejection::rate) >= 14);
  }

  TEST_CASE("first_join_timeout: websockets that join nothing are closed (1008); one that joined stays") {
    server_options o;
    o.channel.first_join_timeout = 300ms;
    env e{o};
    auto p = fetch_page(e.port);
    ws_client joined{e.port};
    connect_and_join(joined, p);
    // connected after: their deadlines are the later ones (one server-wide queue watches them all)
    std::vector<std::unique_ptr<ws_client>> idle;
    for (int i = 0; i < 3; ++i) {
      idle.push_back(std::make_unique<ws_client>(e.port));
      REQUIRE_FALSE(idle.back()->connect());
    }
    for (auto& c : idle) CHECK(c->wait_close() == 1008);
    CHECK(e.rejected(rejection::join_timeout) == 3);
    REQUIRE_FALSE(joined.send(R"([null,"77","phoenix","heartbeat",{}])"));
    auto r = joined.read_json();
    REQUIRE(r);
    CHECK(r->at(1) == "77");
    CHECK(eventually([&] { return live_sessions(*e.rt) == 1; }));
  }

  TEST_CASE("max_connections_per_client: a client behind a trusted proxy is held to it; others and loopback are not") {
    server_options o;
    o.max_connections_per_client = 2;
    o.trusted_proxies = {"127.0.0.1"};
    env e{o};
    auto p = fetch_page(e.port);
    const header_list alice{{"X-Forwarded-For", "198.51.100.20, 203.0.113.7"}};  // the proxy added the last
    std::vector<std::unique_ptr<ws_client>> held;
    for (int i = 0; i < 2; ++i) {
      held.push_back(std::make_unique<ws_client>(e.port));
      REQUIRE_FALSE(held.back()->connect(std::nullopt, std::nullopt, alice));
    }
    ws_client third{e.port};
    CHECK(third.connect(std::nullopt, std::nullopt, alice));
    CHECK(third.refused_status == 503);
    CHECK(e.rejected(rejection::per_client) == 1);
    ws_client bob{e.port};
    CHECK_FALSE(bob.connect(std::nullopt, std::nullopt, {{"X-Forwarded-For", "203.0.113.8"}}));
    held.pop_back();  // one of alice's goes: room for one more
    REQUIRE(eventually([&] { return e.srv->connections() == 2; }));
    ws_client again{e.port};
    CHECK_FALSE(again.connect(std::nullopt, std::nullopt, alice));
    CHECK(status_of(again.join(p)) == "ok");
  }

  TEST_CASE("write_timeout: a client that stops reading is dropped even when its outbound queue has room") {
    server_options o;
    o.write_timeout = 300ms;
    o.outbound_frames = 1 << 20;  // the queue bounds are not what trips here
    o.outbound_bytes = std::size_t{1} << 32;
    env e{o};
    auto p = fetch_page(e.port);
    have_session = false;
    ws_client c{e.port};
    connect_and_join(c, p);
    REQUIRE(eventually([&] { return have_session.load(); }));
    for (int i = 0; i < 400; ++i) (void)corvid::send(last_session, i);  // 400 x 32 KiB: past the kernel's buffers
    CHECK(eventually([&] { return e.srv->metrics().slow_drops.load() == 1; }, 30s));
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
  }
}

TEST_SUITE("live.static") {
  struct static_env {
    temp_dir dir, outside;
    std::optional<env> e;
    static_env() {
      std::filesystem::create_directories(dir.path / "css");
      std::ofstream(dir.path / "css/app.css") << "body { color: red }\n";
      std::ofstream(dir.path / "notes.txt") << "<script>alert(1)</script>\n";
      std::ofstream(outside.path / "secret.txt") << "do not serve\n";
      std::filesystem::create_symlink(outside.path / "secret.txt", dir.path / "leak.txt");
      std::filesystem::create_symlink("css/app.css", dir.path / "inside.css");
      REQUIRE(::mkfifo((dir.path / "pipe").c_str(), 0600) == 0);
      server_options o;
      o.static_dir = dir.path;
      e.emplace(o);
    }
  };

  TEST_CASE("a file is served with an ETag and nosniff; a matching If-None-Match gets 304; HEAD has no body") {
    static_env s;
    auto r = http_get(s.e->port, "/static/css/app.css");
    CHECK(r.status == 200);
    CHECK(r.body == "body { color: red }\n");
    CHECK(r.nosniff == "nosniff");
    REQUIRE_FALSE(r.etag.empty());
    auto again = http_get(s.e->port, "/static/css/app.css", std::nullopt, {{"If-None-Match", r.etag}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    auto head = http_get(s.e->port, "/static/notes.txt", std::nullopt, {}, "HEAD");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(http_get(s.e->port, "/static/inside.css").status == 200);  // a link that stays inside is fine
    CHECK(http_get(s.e->port, "/").nosniff == "nosniff");
  }

  TEST_CASE("no way out of the folder, no directories, no FIFOs (which would block the I/O thread)") {
    static_env s;
    CHECK(http_get(s.e->port, "/static/leak.txt").status == 404);
    CHECK(http_get(s.e->port, "/static/../secret.txt").status == 404);
    CHECK(http_get(s.e->port, "/static/css").status == 404);
    CHECK(http_get(s.e->port, "/static/css/").status == 404);
    CHECK(http_get(s.e->port, "/static/").status == 404);
    CHECK(http_get(s.e->port, "/static/pipe").status == 404);
    CHECK(http_get(s.e->port, "/static/nothing.js").status == 404);
    CHECK(http_get(s.e->port, "/static/notes.txt").status == 200);  // and the server still answers
  }
}
