// The long-poll transport (live/src/longpoll.cpp) over real sockets, as phoenix.js's LongPoll drives
// it: GET without a token opens (410 + token), GETs hold for the window, POSTs carry ndjson frames.
#include <sodium.h>

#include <cstring>
#include <future>

#include "binary_push.hpp"
#include "server_env.hpp"

namespace corvid::live::test {
namespace {

namespace json = boost::json;

const header_list ndjson{{"Content-Type", "application/x-ndjson"}};

json::object answer_of(const http_result& r) {
  REQUIRE(r.status == 200);  // long-poll answers are always HTTP 200, the status is in the JSON
  return json::parse(r.body).as_object();
}

std::string join_line(const page_tokens& p);

struct lp_client {
  std::uint16_t port;
  std::string token;

  json::object get(const header_list& headers = {}) const {
    return answer_of(http_get(port, "/live/longpoll?vsn=2.0.0" + (token.empty() ? "" : "&token=" + token), std::nullopt,
                              headers));
  }
  json::object post(const std::string& body, const header_list& headers = ndjson) const {
    return answer_of(http_post(port, "/live/longpoll?vsn=2.0.0&token=" + token, body, headers));
  }
  void open() {
    auto a = get();
    REQUIRE(a.at("status") == 410);
    token = json::value_to<std::string>(a.at("token"));
    CHECK(a.at("messages").as_array().empty());
  }
  // Opens, joins the page's view and takes the join's reply.
  void join(const page_tokens& p) {
    open();
    REQUIRE(post(join_line(p)).at("status") == 200);
    auto r = frames();
    REQUIRE(r.size() == 1);
    REQUIRE(status_of(r[0]) == "ok");
  }
  // Polls until a frame arrives (a 204 after an empty window polls again).
  std::vector<json::array> frames() const {
    for (int i = 0; i < 20; ++i) {
      auto a = get();
      if (a.at("status") == 204) continue;
      REQUIRE(a.at("status") == 200);
      std::vector<json::array> out;
      for (auto& m : a.at("messages").as_array()) out.push_back(json::parse(m.as_string()).as_array());
      return out;
    }
    FAIL("no frames");
    return {};
  }
};

std::string join_line(const page_tokens& p) {
  json::object payload{{"url", "http://127.0.0.1/"},
                       {"params", json::object{{"_csrf_token", p.csrf}}},
                       {"session", p.session},
                       {"static", nullptr}};
  return json::serialize(json::array{"4", "4", "lv:" + p.id, "phx_join", payload});
}

std::string click_line(const page_tokens& p, int ref) {
  json::object payload{{"type", "click"}, {"event", "inc"}, {"value", json::object{}}};
  return json::serialize(json::array{"4", std::to_string(ref), "lv:" + p.id, "event", payload});
}

server_options quick_window() {
  server_options o;
  o.longpoll_window = 300ms;
  return o;
}

}  // namespace

TEST_SUITE("live.longpoll") {
  TEST_CASE("open, join, events: replies come with the next poll, in order; an empty window answers 204") {
    env e{quick_window()};
    auto p = fetch_page(e.port);
    CHECK(p.session.size() > 0);
    lp_client c{e.port, {}};
    c.open();
    CHECK(e.srv->longpoll_sessions() == 1);
    auto idle = c.get();  // nothing to send: held for the window
    CHECK(idle.at("status") == 204);
    CHECK(idle.at("token") == json::value(c.token));
    CHECK(c.post(join_line(p)).at("status") == 200);
    auto joined = c.frames();
    REQUIRE(joined.size() == 1);
    CHECK(status_of(joined[0]) == "ok");
    CHECK(response_of(joined[0]).at("rendered").at("0") == "0");
    CHECK(c.post(click_line(p, 5) + "\n" + click_line(p, 6) + "\r\n").at("status") == 200);
    std::vector<json::array> replies;
    while (replies.size() < 2) {
      auto more = c.frames();
      replies.insert(replies.end(), more.begin(), more.end());
    }
    CHECK(replies[0].at(1) == "5");
    CHECK(response_of(replies[0]).at("diff").at("0") == "1");
    CHECK(replies[1].at(1) == "6");
    CHECK(response_of(replies[1]).at("diff").at("0") == "2");
  }

  TEST_CASE("a held poll is answered as soon as the session has a frame for it") {
    server_options o;
    o.longpoll_window = 20s;  // longer than the test waits: only the frame can end the poll
    env e{o};
    auto p = fetch_page(e.port);
    lp_client c{e.port, {}};
    c.join(p);
    auto held = std::async(std::launch::async, [&] { return c.get(); });
    CHECK(held.wait_for(200ms) == std::future_status::timeout);  // held: nothing to send yet
    REQUIRE(c.post(click_line(p, 5)).at("status") == 200);
    REQUIRE(held.wait_for(10s) == std::future_status::ready);
    auto a = held.get();
    CHECK(a.at("status") == 200);
    CHECK(json::parse(a.at("messages").as_array().at(0).as_string()).as_array().at(1) == "5");
  }

  TEST_CASE("unknown tokens get 410 without a token; so does a POST; other methods 405") {
    env e;
    lp_client c{e.port, "not-a-token"};
    auto a = c.get();
    CHECK(a.at("status") == 410);
    CHECK_FALSE(a.contains("token"));
    CHECK(c.post("[]").at("status") == 410);
    CHECK(http_get(e.port, "/live/longpoll", std::nullopt, {}, "PUT").status == 405);
    CHECK(e.srv->longpoll_sessions() == 0);
  }

  TEST_CASE("a client that stops polling: its session ends after 1.5 windows, the process with it") {
    env e{quick_window()};
    auto p = fetch_page(e.port);
    lp_client c{e.port, {}};
    c.join(p);
    CHECK(live_sessions(*e.rt) == 1);
    CHECK(eventually([&] { return e.srv->longpoll_sessions() == 0; }));
    CHECK(eventually([&] { return live_sessions(*e.rt) == 0; }));
    CHECK(e.srv->metrics().idle_closes.load() == 1);
    CHECK(c.get().at("status") == 410);  // the client reconnects and rejoins
  }

  TEST_CASE("bad lines: not base64 is dropped and counted; a chunk outside an upload is refused; the session lives") {
    env e{quick_window()};
    auto p = fetch_page(e.port);
    lp_client c{e.port, {}};
    c.join(p);
    CHECK(c.post("%%% not base64 %%%\n" + click_line(p, 5)).at("status") == 200);
    CHECK(e.rejected(rejection::malformed) == 1);
    auto r = c.frames();
    REQUIRE(r.size() == 1);
    CHECK(response_of(r[0]).at("diff").at("0") == "1");  // the line after the bad one still counted
    // a well-formed binary push, base64 as the client sends it, to a topic with no upload
    const auto bin = binary_push("4", "9", "lvu:0", "chunk", "payload");
    std::string enc(sodium_base64_ENCODED_LEN(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(enc.data(), enc.size(), reinterpret_cast<const unsigned char*>(bin.data()), bin.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    enc.resize(std::strlen(enc.c_str()));
    CHECK(c.post(enc).at("status") == 200);
    r = c.frames();
    REQUIRE(r.size() == 1);
    CHECK(r[0].at(2) == "lvu:0");
    CHECK(status_of(r[0]) == "error");
    CHECK(e.srv->longpoll_sessions() == 1);
  }

  TEST_CASE("an event over max_frame_bytes ends its view with words for the user; the session stays") {
    server_options o = quick_window();
    o.channel.limits.max_bytes = 4096;
    env e{o};
    auto p = fetch_page(e.port);
    lp_client c{e.port, {}};
    c.join(p);
    json::object payload{{"type", "form"}, {"event", "say"}, {"value", "body=" + std::string(5000, 'x')}};
    CHECK(c.post(json::serialize(json::array{"4", "7", "lv:" + p.id, "event", payload})).at("status") == 200);
    auto r = c.frames();
    CHECK(e.rejected(rejection::frame_size) == 1);  // counted by the session, which has answered by now
    REQUIRE_FALSE(r.empty());
    CHECK(r.back().at(3) == "phx_error");
    CHECK(json::serialize(r.back().at(4)).find("too large") != std::string::npos);
    CHECK(e.srv->longpoll_sessions() == 1);
    // bodies over the long-poll limit are refused before they are read
    CHECK(http_post(e.port, "/live/longpoll?token=" + c.token, std::string(200 * 1024, 'x'), ndjson).status == 413);
    CHECK(http_post(e.port, "/", std::string(9000, 'x')).status == 413);  // elsewhere: 8 KiB
  }

  TEST_CASE("checks of the websocket apply: a foreign Origin gets 403 (the client gives up), the Host allow-list 400") {
    env e;
    lp_client c{e.port, {}};
    CHECK(c.get({{"Origin", "http://evil.example"}}).at("status") == 403);
    CHECK(e.rejected(rejection::origin) == 1);
    CHECK(http_get(e.port, "/live/longpoll", "rebind.attacker.example").status == 400);
    CHECK(e.srv->longpoll_sessions() == 0);
    c.open();  // without an Origin (a same-origin GET), or with the page's own
    lp_client d{e.port, {}};
    CHECK(d.get({{"Origin", "http://127.0.0.1:" + std::to_string(e.port)}}).at("status") == 410);
  }

  TEST_CASE("server stop answers a held poll, so the client reconnects at once") {
    server_options o;
    o.longpoll_window = 20s;
    env e{o};
    lp_client c{e.port, {}};
    c.open();
    auto held = std::async(std::launch::async, [&] { return http_get(e.port, "/live/longpoll?token=" + c.token); });
    REQUIRE(eventually([&] { return held.wait_for(0ms) == std::future_status::timeout; }));
    CHECK(held.wait_for(200ms) == std::future_status::timeout);
    e.srv->stop();
    REQUIRE(held.wait_for(10s) == std::future_status::ready);
    auto r = held.get();
    if (r.status == 200) CHECK(json::parse(r.body).at("status") == 410);  // or the connection went with the server
  }

  TEST_CASE("longpoll = false: not served, and pages do not offer it") {
    server_options o;
    o.longpoll = false;
    env e{o};
    CHECK(http_get(e.port, "/live/longpoll").status == 404);
    CHECK(http_get(e.port, "/").body.find("corvid-longpoll-fallback-ms") == std::string::npos);
    env f;
    CHECK(http_get(f.port, "/").body.find("<meta name=\"corvid-longpoll-fallback-ms\" content=\"2500\">") !=
          std::string::npos);
  }
}

}  // namespace corvid::live::test
