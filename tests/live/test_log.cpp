#include <doctest/doctest.h>

#include <string>

#include "corvid/live/log.hpp"

using namespace corvid::live;
using namespace std::chrono_literals;

TEST_SUITE("live.log") {
  TEST_CASE("escape: newlines, ANSI escapes, C1 and bidi controls, invalid UTF-8; printable text kept") {
    CHECK(log_escape("join of lv:x refused") == "join of lv:x refused");
    CHECK(log_escape("a\nb\r\tc") == "a\\nb\\r\\tc");
    CHECK(log_escape("\x1b[31mred\x1b[0m\x7f") == "\\x1b[31mred\\x1b[0m\\x7f");
    CHECK(log_escape("caf\xC3\xA9 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
    CHECK(log_escape("\xC2\x9B" "2J") == "\\u{009B}2J");           // C1 CSI
    CHECK(log_escape("user\xE2\x80\xAEnimda") == "user\\u{202E}nimda");  // right-to-left override
    CHECK(log_escape("\xFF\xC3") == "\\xff\\xc3");
    CHECK(log_escape(std::string("nul\0x", 5)) == "nul\\x00x");
    CHECK(log_escape(log_escape("a\n\x1b")) == log_escape("a\n\x1b"));  // escaping twice changes nothing
  }

  TEST_CASE("escape: long text is cut and the rest counted") {
    auto s = log_escape(std::string(1000, 'a'), 100);
    CHECK(s == std::string(100, 'a') + " ... (900 more bytes)");
    CHECK(log_escape(std::string(50, 'a'), 100) == std::string(50, 'a'));
    CHECK(log_escape(std::string(1000, 'a')).size() < max_log_line + 32);
  }

  TEST_CASE("budget: each kind its own lines a second; suppressed lines are counted with the next one") {
    log_budget b{3};
    auto t0 = log_budget::clock::now();
    for (int i = 0; i < 3; ++i) CHECK(b.admit(log_kind::client, t0) == std::uint64_t{0});
    CHECK_FALSE(b.admit(log_kind::client, t0 + 10ms));
    CHECK_FALSE(b.admit(log_kind::client, t0 + 500ms));
    CHECK(b.admit(log_kind::view, t0 + 500ms) == std::uint64_t{0});  // another kind: its own budget
    CHECK(b.admit(log_kind::client, t0 + 1000ms) == std::uint64_t{2});  // a new window, two were dropped
    CHECK(b.admit(log_kind::client, t0 + 1001ms) == std::uint64_t{0});
  }
}
