// The websocket reader and framer (RFC 6455, the server's side) over byte streams cut anywhere.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "client_frames.hpp"
#include "ws_frame.hpp"

using namespace corvid::live::detail;
using corvid::live::test::client_frame;

namespace {

// What the reader handed on, as one line per event.
struct recorder final : ws_events {
  std::vector<std::string> got;
  void message(std::string data, bool binary) override { got.push_back((binary ? "bin:" : "text:") + data); }
  void oversized(std::string head, std::size_t size, bool binary) override {
    got.push_back((binary ? "big-bin:" : "big-text:") + std::to_string(size) + ":" + head);
  }
  void ping(std::string_view p) override { got.push_back("ping:" + std::string(p)); }
  void closed(std::uint16_t code, std::string_view reason) override {
    got.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
};

const ws_limits lim{1000, 64 * 1000, 16};

// Feeds `bytes` in pieces cut at `cuts` (ascending offsets); the failure, if any.
std::optional<ws_failure> feed_cut(ws_reader& r, recorder& ev, std::string bytes, const std::vector<std::size_t>& cuts,
                                   const ws_limits& l = lim) {
  std::size_t at = 0;
  for (auto c : cuts) {
    if (auto f = r.feed(bytes.data() + at, c - at, l, ev)) return f;
    at = c;
  }
  return r.feed(bytes.data() + at, bytes.size() - at, l, ev);
}

std::optional<ws_failure> feed_all(ws_reader& r, recorder& ev, std::string bytes, const ws_limits& l = lim) {
  return feed_cut(r, ev, std::move(bytes), {}, l);
}

std::uint16_t failure_code(std::string bytes, const ws_limits& l = lim) {
  ws_reader r;
  recorder ev;
  auto f = feed_all(r, ev, std::move(bytes), l);
  return f ? f->code : 0;
}

}  // namespace

TEST_SUITE("live.ws_frame") {
  TEST_CASE("a masked text frame cut at every byte boundary comes out whole, once") {
    const auto f = client_frame(1, "hello, wörld");
    for (std::size_t cut = 0; cut <= f.size(); ++cut) {
      ws_reader r;
      recorder ev;
      CHECK_FALSE(feed_cut(r, ev, f, {cut}));
      REQUIRE(ev.got.size() == 1);
      CHECK(ev.got[0] == "text:hello, wörld");
    }
    ws_reader r;
    recorder ev;
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < f.size(); ++i) every.push_back(i);
    CHECK_FALSE(feed_cut(r, ev, f, every));
    CHECK(ev.got == std::vector<std::string>{"text:hello, wörld"});
    CHECK(r.buffered() == 0);
  }

  TEST_CASE("fragments make one message; a ping between them is answered in place; empty frames count") {
    ws_reader r;
    recorder ev;
    auto bytes = client_frame(1, "ab", false) + client_frame(0, "", false) + client_frame(9, "are you there") +
                 client_frame(0, "c€", false) + client_frame(10, "late pong") + client_frame(0, "d", true) +
                 client_frame(2, "", true);
    CHECK_FALSE(feed_all(r, ev, bytes));
    CHECK(ev.got == std::vector<std::string>{"ping:are you there", "text:abc€d", "bin:"});
    // the euro sign cut between two fragments is still one valid character
    ws_reader r2;
    recorder ev2;
    CHECK_FALSE(feed_all(r2, ev2, client_frame(1, "\xE2\x82", false) + client_frame(0, "\xAC")));
    CHECK(ev2.got == std::vector<std::string>{"text:€"});
  }

  TEST_CASE("16- and 64-bit lengths, the masking key's phase kept across reads") {
    std::string big(70'000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
    const ws_limits wide{100'000, 100'000, 16};
    for (std::size_t n : {125u, 126u, 65'535u, 65'536u, 70'000u}) {
      ws_reader r;
      recorder ev;
      auto f = client_frame(2, std::string_view(big).substr(0, n));
      CHECK_FALSE(feed_cut(r, ev, f, {1, 3, 7, 13, f.size() / 2 + 1}, wide));
      REQUIRE(ev.got.size() == 1);
      CHECK(ev.got[0] == "bin:" + big.substr(0, n));
    }
  }

  TEST_CASE("a message over keep is dropped as it arrives: its head and size are handed on, then all is normal") {
    ws_reader r;
    recorder ev;
    std::string payload;
    for (int i = 0; i < 500; ++i) payload += static_cast<char>('a' + i % 26);
    auto bytes = client_frame(1, payload.substr(0, 5), false) + client_frame(0, payload.substr(5, 300), false) +
                 client_frame(0, payload.substr(305)) + client_frame(2, std::string(2000, 'z')) + client_frame(1, "next");
    const ws_limits small{100, 10'000, 16};
    CHECK_FALSE(feed_cut(r, ev, bytes, {3, 9, 200, 400}, small));
    CHECK(ev.got == std::vector<std::string>{"big-text:500:" + payload.substr(0, 16), "big-bin:2000:zzzzzzzzzzzzzzzz",
                                             "text:next"});
    CHECK(r.buffered() == 0);
    // a head larger than keep: all the message up to head_bytes
    ws_reader r2;
    recorder ev2;
    CHECK_FALSE(feed_all(r2, ev2, client_frame(1, payload), ws_limits{10, 10'000, 64}));
    CHECK(ev2.got == std::vector<std::string>{"big-text:500:" + payload.substr(0, 64)});
  }

  TEST_CASE("over max_message, counted over fragments, fails with 1009 before the bytes arrive") {
    const ws_limits l{10, 100, 4};
    CHECK(failure_code(client_frame(1, std::string(101, 'x')).substr(0, 8), l) == 1009);
    CHECK(failure_code(client_frame(1, std::string(60, 'x'), false) + client_frame(0, std::string(41, 'x')), l) == 1009);
    CHECK(failure_code(client_frame(1, std::string(60, 'x'), false) + client_frame(0, std::string(40, 'x')), l) == 0);
    ws_reader r;
    recorder ev;
    auto f = feed_all(r, ev, client_frame(2, std::string(200, 'x')) + client_frame(1, "after"), l);
    REQUIRE(f);
    CHECK(r.done());
    CHECK(ev.got.empty());  // nothing after the failure
    std::string more = client_frame(1, "ignored");
    CHECK_FALSE(r.feed(more.data(), more.size(), l, ev));
    CHECK(ev.got.empty());
  }

  TEST_CASE("what a server must refuse is a protocol error (1002)") {
    CHECK(failure_code(client_frame(1, "hi", true, false)) == 1002);         // not masked
    CHECK(failure_code(client_frame(1, "hi", true, true, 4)) == 1002);       // RSV1: no deflate was agreed
    CHECK(failure_code(client_frame(1, "hi", true, true, 1)) == 1002);       // RSV3
    for (unsigned op : {3u, 7u, 11u, 15u}) CHECK(failure_code(client_frame(op, "hi")) == 1002);
    CHECK(failure_code(client_frame(9, "x", false)) == 1002);                // fragmented ping
    CHECK(failure_code(client_frame(9, std::string(126, 'p'))) == 1002);     // control over 125 bytes
    CHECK(failure_code(client_frame(0, "lost")) == 1002);                    // continuation of nothing
    CHECK(failure_code(client_frame(1, "a", false) + client_frame(1, "b")) == 1002);  // a message inside one
    // lengths in a longer form than needed
    std::string f16 = client_frame(1, std::string(126, 'x'));
    f16[3] = 125;  // 16-bit length 125
    CHECK(failure_code(f16.substr(0, 8)) == 1002);
    std::string f64{'\x81', '\xff', 0, 0, 0, 0, 0, 0, '\x01', 0, 0, 0, 0, 0};  // 64-bit length 256
    CHECK(failure_code(f64) == 1002);
    std::string huge{'\x81', '\xff', '\x80', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // 2^63
    CHECK(failure_code(huge) == 1002);
  }

  TEST_CASE("a text message that is not UTF-8 fails with 1007; binary is not checked") {
    CHECK(failure_code(client_frame(1, "bad \xff byte")) == 1007);
    CHECK(failure_code(client_frame(1, "cut \xE2\x82")) == 1007);
    CHECK(failure_code(client_frame(1, "\xED\xA0\x80")) == 1007);  // a surrogate
    CHECK(failure_code(client_frame(2, "bad \xff byte")) == 0);
  }

  TEST_CASE("close frames: code and reason handed on, nothing read after; bad ones are errors") {
    ws_reader r;
    recorder ev;
    CHECK_FALSE(feed_all(r, ev, client_frame(1, "last") + client_frame(8, "\x03\xe8going away") + client_frame(1, "never")));
    CHECK(ev.got == std::vector<std::string>{"text:last", "close:1000:going away"});
    CHECK(r.done());
    ws_reader r2;
    recorder ev2;
    CHECK_FALSE(feed_all(r2, ev2, client_frame(8, "")));
    CHECK(ev2.got == std::vector<std::string>{"close:1005:"});
    CHECK(failure_code(client_frame(8, "\x03")) == 1002);              // a one-byte body
    CHECK(failure_code(client_frame(8, "\x03\xed")) == 1002);          // 1005 names a state, not a reason
    CHECK(failure_code(client_frame(8, std::string("\x03\xee", 2))) == 1002);  // 1006
    CHECK(failure_code(client_frame(8, std::string("\x00\x10", 2))) == 1002);  // 16
    CHECK(failure_code(client_frame(8, "\x13\x88")) == 1002);          // 5000
    CHECK(failure_code(client_frame(8, "\x0f\xa0")) == 0);             // 4000: an application's
    CHECK(failure_code(client_frame(8, "\x03\xe8\xff")) == 1007);      // a reason not UTF-8
  }

  TEST_CASE("server frames: header sizes at the length boundaries, close and pong frames") {
    unsigned char h[10];
    CHECK(ws_header(h, ws_op::text, 0) == 2);
    CHECK(ws_header(h, ws_op::text, 125) == 2);
    CHECK((h[0] == 0x81 && h[1] == 125));
    CHECK(ws_header(h, ws_op::text, 126) == 4);
    CHECK((h[1] == 126 && h[2] == 0 && h[3] == 126));
    CHECK(ws_header(h, ws_op::binary, 65'535) == 4);
    CHECK((h[0] == 0x82 && h[2] == 0xff && h[3] == 0xff));
    CHECK(ws_header(h, ws_op::text, 65'536) == 10);
    CHECK((h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0));
    CHECK(ws_close_frame(1009) == std::string("\x88\x02\x03\xf1", 4));
    CHECK(ws_close_frame(1005) == std::string("\x88\x00", 2));
    CHECK(ws_pong_frame("abc") == std::string("\x8a\x03" "abc", 5));
  }

  TEST_CASE("random messages, fragments, pings and cuts: the same events as sent") {
    std::mt19937 rng(20261201);
    for (int round = 0; round < 300; ++round) {
      std::string bytes;
      std::vector<std::string> want;
      const int n = 1 + static_cast<int>(rng() % 6);
      for (int m = 0; m < n; ++m) {
        const bool binary = rng() % 3 == 0;
        std::string payload(rng() % 1500, 'a');
        for (auto& c : payload) c = binary ? static_cast<char>(rng()) : static_cast<char>('a' + rng() % 26);
        std::size_t at = 0;
        bool first = true;
        do {
          const std::size_t len = std::min<std::size_t>(payload.size() - at, rng() % 700);
          const bool fin = at + len == payload.size();
          bytes += client_frame(first ? (binary ? 2 : 1) : 0, std::string_view(payload).substr(at, len), fin, true, 0,
                                static_cast<std::uint32_t>(rng()));
          if (fin && payload.size() <= lim.keep)
            want.push_back((binary ? "bin:" : "text:") + payload);
          else if (fin)
            want.push_back((binary ? "big-bin:" : "big-text:") + std::to_string(payload.size()) + ":" +
                           payload.substr(0, lim.head_bytes));
          if (rng() % 4 == 0) {
            std::string p(rng() % 126, 'p');
            bytes += client_frame(9, p, true, true, 0, static_cast<std::uint32_t>(rng()));
            want.push_back("ping:" + p);
          }
          at += len;
          first = false;
        } while (at < payload.size());
      }
      std::vector<std::size_t> cuts;
      for (std::size_t at = 0;;) {
        at += 1 + rng() % 300;
        if (at >= bytes.size()) break;
        cuts.push_back(at);
      }
      ws_reader r;
      recorder ev;
      REQUIRE_FALSE(feed_cut(r, ev, bytes, cuts));
      REQUIRE(ev.got == want);
      CHECK(r.buffered() == 0);
    }
  }
}
