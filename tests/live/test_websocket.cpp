// The websocket itself over a real socket (RFC 6455 from the server's side): what a browser never
// sends but a bad peer may, control frames, both close handshakes, idle_timeout, reads cut anywhere.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "client_frames.hpp"
#include "server_env.hpp"

using namespace corvid::live;
using namespace corvid::live::test;

namespace {

namespace json = boost::json;

std::string join_text(const page_tokens& p, std::uint16_t port, const std::string& ref = "4") {
  json::object payload{{"url", "http://127.0.0.1:" + std::to_string(port) + "/"},
                       {"params", json::object{{"_csrf_token", p.csrf}}},
                       {"session", p.session},
                       {"static", nullptr}};
  return json::serialize(json::array{ref, ref, "lv:" + p.id, "phx_join", payload});
}

std::string heartbeat(const std::string& ref) { return R"([null,")" + ref + R"(","phoenix","heartbeat",{}])"; }

// The status of a reply frame with `ref`, skipping other frames; "" if none came.
std::string status_of_reply(raw_ws& c, const std::string& ref) {
  while (auto f = c.read_frame()) {
    if (f->opcode != 1) continue;
    auto v = json::parse(f->payload).as_array();
    if (v.at(1).is_string() && v.at(1).as_string() == ref && v.at(3).as_string() == "phx_reply")
      return std::string(v.at(4).at("status").as_string());
  }
  return "";
}

}  // namespace

TEST_SUITE("live.websocket") {
  TEST_CASE("a join cut into fragments, with a ping between them and sent a byte per TCP segment, is one message") {
    env e;
    auto p = fetch_page(e.port);
    raw_ws c{e.port};
    REQUIRE(c.upgrade() == 101);
    const auto text = join_text(p, e.port);
    const auto third = text.size() / 3;
    const auto bytes = client_frame(1, text.substr(0, third), false) + client_frame(9, "are you there") +
                       client_frame(0, text.substr(third, third), false) + client_frame(0, "", false) +
                       client_frame(0, text.substr(2 * third));
    REQUIRE(c.write(bytes, bytes.size()));
    auto pong = c.read_frame();
    REQUIRE(pong);
    CHECK(pong->opcode == 10);
    CHECK(pong->payload == "are you there");
    CHECK(status_of_reply(c, "4") == "ok");
    REQUIRE(c.write(client_frame(1, heartbeat("5"))));
    CHECK(status_of_reply(c, "5") == "ok");
  }

  TEST_CASE("the client's close frame is answered with its code; the connection and the session end") {
    env e;
    auto p = fetch_page(e.port);
    raw_ws c{e.port};
    REQUIRE(c.upgrade() == 101);
    REQUIRE(c.write(client_frame(1, join_text(p, e.port))));
    REQUIRE(status_of_reply(c, "4") == "ok");
    REQUIRE(c.write(client_frame(8, "\x0f\xa1see you")));  // 4001, an application's own code
    CHECK(c.read_until_close() == 4001);
    CHECK(c.closed_by_server());
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
    // a close frame without a code gets one without a code
    raw_ws d{e.port};
    REQUIRE(d.upgrade() == 101);
    REQUIRE(d.write(client_frame(8, "")));
    CHECK(d.read_until_close() == 1005);
    CHECK(d.closed_by_server());
  }

  TEST_CASE("what a browser never sends closes with 1002, counted as malformed; other sessions go on") {
    env e;
    auto p = fetch_page(e.port);
    ws_client good{e.port};
    REQUIRE_FALSE(good.connect());
    REQUIRE(status_of(good.join(p)) == "ok");
    const std::string hb = heartbeat("1");
    const std::vector<std::string> bad = {
        client_frame(1, hb, true, false),                         // not masked
        client_frame(1, hb, true, true, 4),                       // RSV1: no compression was agreed
        client_frame(3, hb),                                      // a reserved opcode
        client_frame(0, hb),                                      // a continuation of nothing
        client_frame(9, std::string(126, 'p')),                   // a control frame over 125 bytes
        client_frame(1, "[", false) + client_frame(2, "x"),       // a message inside a message
        client_frame(8, "\x03\xed"),                              // close code 1005 on the wire
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
      CAPTURE(i);
      raw_ws c{e.port};
      REQUIRE(c.upgrade() == 101);
      REQUIRE(c.write(bad[i]));
      CHECK(c.read_until_close() == 1002);
      CHECK(c.closed_by_server());
    }
    CHECK(e.rejected(rejection::malformed) == bad.size());
    CHECK(eventually([&] { return e.srv->connections() == 1; }));
    REQUIRE_FALSE(good.send(heartbeat("2")));
    auto r = good.read_json();
    REQUIRE(r);
    CHECK(status_of(*r) == "ok");
  }

  TEST_CASE("the server's close: the client that never answers it is cut off after disconnect_timeout") {
    server_options o;
    o.channel.first_join_timeout = 100ms;  // a socket that joins nothing is closed (1008)
    o.disconnect_timeout = 300ms;
    env e{o};
    raw_ws c{e.port};
    REQUIRE(c.upgrade() == 101);
    const auto asked = std::chrono::steady_clock::now();
    CHECK(c.read_until_close() == 1008);
    CHECK(c.closed_by_server());  // no answer from us: the server does not wait for ever
    CHECK(std::chrono::steady_clock::now() - asked >= 300ms);
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
    // one that answers is done at once
    raw_ws d{e.port};
    REQUIRE(d.upgrade() == 101);
    CHECK(d.read_until_close() == 1008);
    REQUIRE(d.write(client_frame(8, "\x03\xf0")));
    CHECK(d.closed_by_server(250ms));
  }

  TEST_CASE("idle_timeout counts what the client sends: heartbeats keep a connection past it, silence ends it") {
    server_options o;
    o.idle_timeout = 300ms;
    env e{o};
    auto p = fetch_page(e.port);
    raw_ws c{e.port};
    REQUIRE(c.upgrade() == 101);
    REQUIRE(c.write(client_frame(1, join_text(p, e.port))));
    REQUIRE(status_of_reply(c, "4") == "ok");
    const auto start = std::chrono::steady_clock::now();
    auto last_sent = start;
    for (int i = 0; std::chrono::steady_clock::now() - start < 1200ms; ++i) {  // four idle_timeouts
      last_sent = std::chrono::steady_clock::now();
      REQUIRE(c.write(client_frame(1, heartbeat("h" + std::to_string(i)))));
      REQUIRE(status_of_reply(c, "h" + std::to_string(i)) == "ok");
      CHECK_FALSE(c.read_frame(100ms));  // nothing else comes meanwhile
    }
    CHECK(e.srv->metrics().idle_closes.load() == 0);
    CHECK(c.closed_by_server());
    CHECK(std::chrono::steady_clock::now() - last_sent >= 300ms);
    CHECK(e.srv->metrics().idle_closes.load() == 1);
    CHECK(eventually([&] { return e.srv->connections() == 0 && live_sessions(*e.rt) == 0; }));
  }

  TEST_CASE("a session's turn runs on the I/O thread until one takes over io_turn_limit; then on the workers") {
    server_options o;
    o.io_threads = 1;
    o.io_turn_limit = std::chrono::microseconds(1000);
    env e{o};
    auto p = fetch_page(e.port);
    ws_client heavy{e.port}, other{e.port};
    connect_and_join(heavy, p);
    connect_and_join(other, p);
    REQUIRE_FALSE(heavy.send(heavy.click_frame(p, "spin")));  // 5 ms on the I/O thread, once
    REQUIRE(heavy.read_json());
    view_gate.close();
    struct reopen {
      ~reopen() { view_gate.release(); }
    } reopen_at_exit;
    // Held in a handler now: on a worker, so the one I/O thread still serves the other connection.
    REQUIRE_FALSE(heavy.send(heavy.click_frame(p, "hold")));
    REQUIRE(eventually([&] { return view_gate.is_holding(); }));
    REQUIRE_FALSE(other.send(heartbeat("7")));
    auto r = other.read_json(5s);
    REQUIRE(r);
    CHECK(status_of(*r) == "ok");
    view_gate.release();
    auto held = heavy.read_json();
    REQUIRE(held);
    CHECK(status_of(*held) == "ok");
  }
}
