// The channel against hostile input: invalid UTF-8 in paths, values and frames, and log lines an
// attacker shapes (escaped, budgeted), at the message level.

#include <doctest/doctest.h>

#include "channel_fixture.hpp"

using namespace corvid::live::channel_test;

TEST_SUITE("live.hardening") {
  TEST_CASE("utf-8: a raw non-UTF-8 path is a bad_encoding error, not a page whose session cannot verify") {
    // Found by fuzz/http_request: Beast passes bytes >= 0x80 through in a request target.
    fixture f;
    CHECK(split_url("/counter\xea\x9d").error().code == errc::bad_encoding);
    CHECK(render_page(f.routes, f.sessions, f.csrf, "/counter\xea?start=3").error().code == errc::bad_encoding);
    auto rendered = render_page(f.routes, f.sessions, f.csrf, "/counter?note=%FF");
    REQUIRE(rendered.ok());
    const std::string* page = &rendered->html;
    auto at = page->find("data-phx-session=\"") + 18;
    CHECK(f.sessions.verify(page->substr(at, page->find('"', at) - at), std::chrono::seconds(60)).ok());
  }

  TEST_CASE("utf-8: %FF in a form value reaches the view repaired; the reply frame is valid UTF-8") {
    fixture f;
    f.join_echo();
    f.send_event("5", "form", "say", "body=caf%C3%A9+%FF%C3+ok");
    REQUIRE(f.host.frames.size() == 1);
    CHECK(browser_would_take(f.host.frames[0]));
    CHECK(f.host.frames[0].find("caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD ok") != std::string::npos);
  }

  TEST_CASE("utf-8: a view's own invalid text leaves the frame encoder as U+FFFD") {
    fixture f;
    f.join_echo();
    f.send_event("5", "click", "cut", json::object{});
    REQUIRE(f.host.frames.size() == 1);
    CHECK(browser_would_take(f.host.frames[0]));
    CHECK(f.host.frames[0].find("caf\xEF\xBF\xBD") != std::string::npos);
  }

  TEST_CASE("utf-8: JSON input with a lone surrogate escape is malformed, nothing reaches a view") {
    fixture f;
    f.join_echo();
    f.ch.handle_frame(R"(["4","5","lv:phx-1","event",{"type":"click","event":"say","value":{"body":"\ud800"}}])");
    CHECK(f.host.frames.empty());  // refs unreadable: nobody to answer
  }

  TEST_CASE("logs: an attacker's topic with newlines and ANSI escapes is logged escaped, through telemetry") {
    log_capture logs;
    fixture f;
    f.ch.handle_frame(R"(["5","5","lv:y\n\u001b[31mcorvid.live: FAKE admin login","phx_join",{"session":"forged"}])");
    auto lines = logs.take();
    REQUIRE_FALSE(lines.empty());
    bool saw = false;
    for (auto& [name, msg] : lines) {
      CAPTURE(msg);
      CHECK_FALSE(has_raw_control(msg));
      if (msg.find("FAKE admin login") != std::string::npos) {
        saw = true;
        CHECK(name == "corvid.live.log.client");
        CHECK(msg.find("\\n") != std::string::npos);
        CHECK(msg.find("\\x1b") != std::string::npos);
      }
    }
    CHECK(saw);
  }

  TEST_CASE("logs: a view exception goes through telemetry as its own kind, escaped") {
    log_capture logs;
    fixture f;
    f.join_echo();
    f.send_event("5", "click", "boom", json::object{});
    auto lines = logs.take();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].first == "corvid.live.log.view");
    CHECK_FALSE(has_raw_control(lines[0].second));
    CHECK(lines[0].second.find("handle_event threw: boom\\n\\x1b[2Kcorvid.live: FAKE view line") != std::string::npos);
  }

  TEST_CASE("logs: a flood of malformed frames does not use up the budget of view errors") {
    log_capture logs;
    fixture f;
    f.join_echo();
    for (int i = 0; i < 100; ++i) f.ch.handle_frame("not json");
    f.send_event("5", "click", "boom", json::object{});
    auto lines = logs.take();
    std::size_t client = 0, view = 0;
    for (auto& [name, msg] : lines) {
      if (name == "corvid.live.log.client") ++client;
      if (name == "corvid.live.log.view") ++view;
    }
    CHECK(client >= 1);
    CHECK(client <= 20);  // 10 a second; the flood may straddle two windows
    CHECK(view == 1);
  }
}
