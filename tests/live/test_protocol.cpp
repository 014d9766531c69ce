#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "corvid/live/protocol.hpp"

using namespace corvid::live;

TEST_SUITE("live.protocol") {
  TEST_CASE("a join frame parses into refs, topic, event and payload") {
    auto f = parse_frame(R"(["4","4","lv:phx-F1corvid","phx_join",{"url":"http://h/","session":"S"}])");
    REQUIRE(f.ok());
    CHECK(f->join_ref == "4");
    CHECK(f->ref == "4");
    CHECK(f->topic == "lv:phx-F1corvid");
    CHECK(f->event == "phx_join");
    CHECK(f->payload.at("session").as_string() == "S");
  }

  TEST_CASE("null refs (heartbeat, the dead view's leave) are nullopt") {
    auto hb = parse_frame(R"([null,"8","phoenix","heartbeat",{}])");
    REQUIRE(hb.ok());
    CHECK_FALSE(hb->join_ref.has_value());
    CHECK(hb->ref == "8");
    auto leave = parse_frame(R"([null,"31","lv:","phx_leave",{}])");
    REQUIRE(leave.ok());
    CHECK(leave->topic == "lv:");
  }

  TEST_CASE("malformed frames are errors, never crashes") {
    struct bad {
      std::string text;
      errc code;
    };
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    const bad cases[] = {
        {"", errc::malformed_json},
        {"nope", errc::malformed_json},
        {R"(["4","4","t","e",{})", errc::malformed_json},
        {R"(["4","4","t","e",{}]])", errc::malformed_json},
        {"[\"4\",\"4\",\"t\",\"e\",{\"x\":\"\xff\"}]", errc::malformed_json},  // invalid UTF-8
        {deep, errc::malformed_json},
        {"{}", errc::bad_frame},
        {"\"str\"", errc::bad_frame},
        {"[]", errc::bad_frame},
        {R"(["4","4","t","e"])", errc::bad_frame},
        {R"(["4","4","t","e",{},1])", errc::bad_frame},
        {R"([4,"4","t","e",{}])", errc::bad_frame},
        {R"(["4",{},"t","e",{}])", errc::bad_frame},
        {R"(["4","4",null,"e",{}])", errc::bad_frame},
        {R"(["4","4","t",7,{}])", errc::bad_frame},
        {R"(["4","4","t","",{}])", errc::bad_frame},
        {R"(["4","4","t","e",[]])", errc::bad_frame},
        {R"(["4","4","t","e","payload"])", errc::bad_frame},
        {R"(["4","4","t","e",null])", errc::bad_frame},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_frame(c.text);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == c.code);
      CHECK_FALSE(r.error().message.empty());
    }
  }

  TEST_CASE("oversize frames are refused before parsing; the default takes a 70 kB form change") {
    std::string big = R"(["4","4","t","e",{"x":")" + std::string(70 * 1024, 'a') + R"("}])";
    CHECK(parse_frame(big).ok());
    auto r = parse_frame(big, frame_limits{64 * 1024, 32});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::too_large);
  }

  TEST_CASE("the head of a frame whose payload was cut off") {
    auto h = parse_frame_head(R"( [ "4" , "17","lv:phx-F\"1","event",{"type":"form","value":"body=xxxx)");
    REQUIRE(h);
    CHECK(h->join_ref == "4");
    CHECK(h->ref == "17");
    CHECK(h->topic == "lv:phx-F\"1");
    CHECK(h->event == "event");
    h = parse_frame_head(R"([null,null,"phoenix","heartbeat",)");
    REQUIRE(h);
    CHECK_FALSE(h->join_ref);
    CHECK_FALSE(h->ref);
    CHECK(h->topic == "phoenix");
    for (const char* bad : {"", "[", R"(["4","17","lv:x","eve)", R"(["4","17","lv:x","event")", R"(["4",17,"lv:x","event",{)",
                            R"(["4","17",null,"event",{)", R"(["4","17","lv:x","",{)", R"({"4","17","lv:x","event",{)",
                            R"(["4","1\q","lv:x","event",{)", R"(["4","17","lv:x","event\)"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_frame_head(bad));
    }
  }

  TEST_CASE("replies echo the push's refs and topic") {
    auto f = parse_frame(R"(["4","8","lv:x","event",{}])");
    REQUIRE(f.ok());
    boost::json::object diff{{"0", "1"}};
    CHECK(encode_reply(*f, reply_status::ok, boost::json::object{{"diff", diff}}) ==
          R"(["4","8","lv:x","phx_reply",{"status":"ok","response":{"diff":{"0":"1"}}}])");
    CHECK(encode_reply(std::nullopt, "9", "phoenix", reply_status::ok, boost::json::object{}) ==
          R"([null,"9","phoenix","phx_reply",{"status":"ok","response":{}}])");
    CHECK(encode_reply("4", "4", "lv:x", reply_status::error, boost::json::object{{"reason", "stale"}}) ==
          R"(["4","4","lv:x","phx_reply",{"status":"error","response":{"reason":"stale"}}])");
  }

  TEST_CASE("join and event replies") {
    auto join = parse_frame(R"(["4","4","lv:x","phx_join",{"session":"S"}])");
    REQUIRE(join.ok());
    boost::json::object rendered{{"s", boost::json::array{"<p>", "</p>"}}, {"0", "0"}};
    CHECK(encode_join_reply(*join, rendered) ==
          R"(["4","4","lv:x","phx_reply",{"status":"ok","response":{"rendered":{"s":["<p>","</p>"],"0":"0"},"liveview_version":"1.2.12"}}])");
    auto ev = parse_frame(R"(["4","8","lv:x","event",{}])");
    REQUIRE(ev.ok());
    CHECK(encode_diff_reply(*ev, boost::json::object{{"0", "1"}}) ==
          R"(["4","8","lv:x","phx_reply",{"status":"ok","response":{"diff":{"0":"1"}}}])");
    CHECK(encode_diff_reply(*ev, boost::json::object{}) == R"(["4","8","lv:x","phx_reply",{"status":"ok","response":{}}])");
    CHECK(encode_frame_raw("4", std::nullopt, "lv:x", "diff", R"({"0":"2"})") == R"(["4",null,"lv:x","diff",{"0":"2"}])");
  }

  TEST_CASE("server pushes") {
    CHECK(encode_diff("4", "lv:x", boost::json::object{{"0", "100"}}) == R"(["4",null,"lv:x","diff",{"0":"100"}])");
    CHECK(encode_live_patch("4", "lv:x", "/?page=3", nav_kind::push) ==
          R"(["4",null,"lv:x","live_patch",{"to":"/?page=3","kind":"push"}])");
    CHECK(encode_live_redirect("23", "lv:x", "/other", nav_kind::replace) ==
          R"(["23",null,"lv:x","live_redirect",{"to":"/other","kind":"replace"}])");
    CHECK(encode_live_redirect("23", "lv:x", "/other", nav_kind::push, "F") ==
          R"(["23",null,"lv:x","live_redirect",{"to":"/other","kind":"push","flash":"F"}])");
    CHECK(encode_redirect("4", "lv:x", "/login") == R"(["4",null,"lv:x","redirect",{"to":"/login"}])");
    CHECK(encode_phx_error("21", "lv:x", "channel_crash") ==
          R"(["21","21","lv:x","phx_error",{"reason":"channel_crash"}])");
    CHECK(encode_phx_error("21", "lv:x", "message too large", "Too large.") ==
          R"(["21","21","lv:x","phx_error",{"reason":"message too large","message":"Too large."}])");
    CHECK(encode_phx_close("21", "lv:x") == R"(["21","21","lv:x","phx_close",{}])");
  }

  TEST_CASE("non-finite numbers encode as null, so the frame stays JSON") {
    // Found by fuzz/live_frame: 1e400 from a client parses to infinity, which Boost.JSON writes as `Infinity`.
    auto f = parse_frame(R"(["4","5","lv:x","event",{"type":"hook","event":"e","value":{"x":1e400,"y":[-1e400]}}])");
    REQUIRE(f.ok());
    auto reply = parse_frame(encode_reply(*f, reply_status::ok, f->payload));
    REQUIRE(reply.ok());
    auto& value = reply->payload.at("response").at("value");
    CHECK(value.at("x").is_null());
    CHECK(value.at("y").at(0).is_null());
    boost::json::object nan{{"n", std::nan("")}, {"ok", 1.5}};
    auto pushed = parse_frame(encode_frame("1", std::nullopt, "lv:x", "event", nan));
    REQUIRE(pushed.ok());
    CHECK(pushed->payload.at("n").is_null());
    CHECK(pushed->payload.at("ok").as_double() == 1.5);
  }

  TEST_CASE("strings in frames are JSON-escaped") {
    CHECK(encode_redirect(std::nullopt, "t\"", "/a\nb") == R"([null,null,"t\"","redirect",{"to":"/a\nb"}])");
  }
}
