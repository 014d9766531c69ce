// The LiveView channel at the message level: text frames in, text frames out, no sockets.

#include <doctest/doctest.h>

#include "channel_fixture.hpp"
#include "shared_diff.hpp"

using namespace corvid::live::channel_test;

TEST_SUITE("live.channel") {
  TEST_CASE("heartbeat gets an ok reply with the same ref") {
    fixture f;
    f.ch.handle_frame(R"([null,"9","phoenix","heartbeat",{}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][0].is_null());
    CHECK(out[0][1] == "9");
    CHECK(out[0][2] == "phoenix");
    CHECK(out[0][3] == "phx_reply");
    CHECK(status_of(out[0]) == "ok");
    CHECK(response(out[0]).empty());
  }

  TEST_CASE("join with a valid session: full rendered tree, version, title; mount then handle_params") {
    fixture f;
    auto r = f.join("http://h/counter?start=5&step=3");
    CHECK(r[0] == "4");
    CHECK(r[1] == "4");
    CHECK(r[2] == "lv:phx-1");
    CHECK(status_of(r) == "ok");
    auto& rendered = response(r).at("rendered").as_object();
    CHECK(rendered.contains("s"));
    CHECK(rendered.at("0") == "5");
    CHECK(rendered.at("1") == "3");
    CHECK(rendered.at("t") == "Counter");
    CHECK(response(r).at("liveview_version") == "1.2.12");
    REQUIRE(f.j.params_urls.size() == 1);
    CHECK(f.j.params_urls[0] == "http://h/counter?start=5&step=3");
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("join refused with reasons the client acts on: missing, tampered, expired session, bad csrf") {
    fixture f;
    auto refused = [&](const std::string& frame) {
      f.ch.handle_frame(frame);
      auto out = f.host.take();
      REQUIRE(out.size() == 1);
      CHECK(status_of(out[0]) == "error");
      return std::string(response(out[0]).at("reason").as_string());
    };
    SUBCASE("missing") {
      CHECK(refused(R"(["4","4","lv:phx-1","phx_join",{"url":"http://h/counter","params":{}}])") == "unauthorized");
    }
    SUBCASE("tampered") {
      auto tok = f.sessions.sign("/counter", "/counter");
      tok[3] = tok[3] == 'A' ? 'B' : 'A';
      CHECK(refused(f.join_frame("4", tok)) == "unauthorized");
    }
    SUBCASE("signed with another secret") {
      token_signer other{"another secret, also thirty-two bytes long", "corvid.live.session"};
      CHECK(refused(f.join_frame("4", other.sign("/counter", "/counter"))) == "unauthorized");
    }
    SUBCASE("expired: stale, so the client reloads for a fresh one") {
      auto old = token_signer::clock::now() - std::chrono::hours(24 * 30);
      CHECK(refused(f.join_frame("4", f.sessions.sign("/counter", "/counter", old))) == "stale");
    }
    SUBCASE("a CSRF token is not a session token") {
      CHECK(refused(f.join_frame("4", f.csrf.sign("/counter", "/counter"))) == "unauthorized");
    }
    SUBCASE("bad csrf") {
      f.ch.handle_frame(json::serialize(json::array{
          "4", "4", "lv:phx-1", "phx_join",
          json::object{{"url", "http://h/counter"}, {"params", json::object{{"_csrf_token", "nope"}}},
                       {"session", f.sessions.sign("/counter", "/counter")}}}));
      auto out = f.host.take();
      REQUIRE(out.size() == 1);
      CHECK(response(out[0]).at("reason") == "unauthorized");
    }
    CHECK(f.ch.joined() == 0);
  }

  TEST_CASE("click event: the reply carries the diff") {
    fixture f;
    f.join();
    auto r = f.event("5", "inc");
    CHECK(r[1] == "5");
    CHECK(r[3] == "phx_reply");
    CHECK(status_of(r) == "ok");
    CHECK(response(r).at("diff").as_object().at("0") == "1");
    auto r2 = f.event("6", "add", json::object{{"by", "10"}, {"value", ""}});  // phx-value-by
    CHECK(response(r2).at("diff").as_object().at("0") == "11");
  }

  TEST_CASE("an event that assigns an unchanged value replies {} (no diff)") {
    fixture f;
    f.join();
    auto r = f.event("5", "same");
    CHECK(status_of(r) == "ok");
    CHECK(response(r).empty());
    CHECK(f.host.flushes.empty());
    // and nothing is pushed later either
    f.ch.flush();
    CHECK(f.host.frames.empty());
  }

  TEST_CASE("form, keyup and bad payloads") {
    fixture f;
    f.join();
    f.ch.handle_frame(R"(["4","7","lv:phx-1","event",{"type":"form","event":"add","value":"by=2","meta":{}}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("diff").as_object().at("0") == "2");
    // a payload that cannot be decoded ends the view (an error reply would leave the form locked)
    f.ch.handle_frame(R"(["4","8","lv:phx-1","event",{"type":"form","event":"add","value":"by=%zz","meta":{}}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][3] == "phx_error");
    CHECK(f.ch.joined() == 0);
    f.join();
    f.ch.handle_frame(R"(["4","9","lv:phx-1","event",{"type":"click"}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][3] == "phx_error");
  }

  TEST_CASE("a keyup without a key reaches the view and gets an ok reply (the input stays usable)") {
    fixture f;
    f.join_echo();
    f.ch.handle_frame(R"(["4","7","lv:phx-1","event",{"type":"keyup","event":"say","value":{"value":"v"}}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
  }

  TEST_CASE("join_ref: pushes from an earlier join of the topic are dropped without a reply, as Phoenix does") {
    fixture f;
    f.join();  // join_ref "4"
    f.ch.handle_frame(f.join_frame("9", f.sessions.sign("/counter", "/counter")));  // the client rejoined
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    REQUIRE(status_of(out[0]) == "ok");
    auto push = [&](const char* join_ref, const char* ref, const char* event, const char* payload) {
      f.ch.handle_frame(std::string("[\"") + join_ref + "\",\"" + ref + "\",\"lv:phx-1\",\"" + event + "\"," + payload + "]");
      return f.host.take();
    };
    CHECK(push("4", "10", "event", R"({"type":"click","event":"inc","value":{}})").empty());
    CHECK(push("4", "11", "live_patch", R"({"url":"http://h/counter?step=5"})").empty());
    CHECK(push("4", "12", "phx_leave", "{}").empty());
    CHECK(f.ch.joined() == 1);  // the stale leave did not end the new mount
    auto r = push("9", "13", "event", R"({"type":"click","event":"inc","value":{}})");
    REQUIRE(r.size() == 1);
    CHECK(r[0][0] == "9");
    CHECK(response(r[0]).at("diff").as_object().at("0") == "1");  // the stale inc never reached the view
    CHECK(push("9", "14", "phx_leave", "{}").size() == 1);
    CHECK(f.ch.joined() == 0);
  }

  // The client keeps an element locked after an error reply to its event; Phoenix crashes the LiveView
  // instead (no handle_event clause matches), and the client's rejoin releases every lock.
  TEST_CASE("unknown event or status::error: no reply, phx_error ends the view, and the rejoin mounts afresh") {
    fixture f;
    for (const char* ev : {"nope", "fail"}) {
      CAPTURE(ev);
      f.join();
      CHECK(response(f.event("5", "inc")).at("diff").as_object().at("0") == "1");
      auto out = f.events("6", ev);
      REQUIRE(out.size() == 1);
      CHECK(out[0][0] == "4");
      CHECK(out[0][2] == "lv:phx-1");
      CHECK(out[0][3] == "phx_error");
      CHECK(out[0][4].as_object().at("reason") == "view crashed");  // the view's words stay in the log
      CHECK_FALSE(out[0][4].as_object().contains("message"));
      CHECK(f.ch.joined() == 0);
      auto rejoin = f.join();
      CHECK(rejoin[4].as_object().at("response").as_object().at("rendered").as_object().at("0") == "0");
    }
    CHECK(f.j.terminated == 3);  // two crashes, and the second join replacing the first rejoin
    CHECK(f.host.closes.empty());
  }

  TEST_CASE("lv:clear-flash: an ok reply without a diff, the view untouched") {
    fixture f;
    f.join();
    auto r = f.event("5", "lv:clear-flash", json::object{{"key", "info"}});
    CHECK(status_of(r) == "ok");
    CHECK(response(r).empty());
    CHECK(response(f.event("6", "inc")).at("diff").as_object().at("0") == "1");
  }

  TEST_CASE("flash: put_flash shows in the diff; lv:clear-flash clears one kind, then all; a client live_patch clears it") {
    fixture f;
    f.join("http://h/flash");
    CHECK(response(f.event("5", "save")).at("diff").as_object().at("0") == "Saved!");
    CHECK(response(f.event("6", "oops")).at("diff").as_object().at("1") == "Oops");
    auto cleared = f.event("7", "lv:clear-flash", json::object{{"key", "info"}});
    CHECK(status_of(cleared) == "ok");
    CHECK(response(cleared).at("diff").as_object() == json::object{{"0", ""}});
    CHECK(response(f.event("8", "lv:clear-flash")).at("diff").as_object() == json::object{{"1", ""}});
    f.event("9", "save");
    f.ch.handle_frame(R"(["4","10","lv:phx-1","live_patch",{"url":"http://h/flash?tab=2"}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("diff").as_object().at("0") == "");
  }

  TEST_CASE("flash: push_navigate carries it, signed, to the next view's mount; a forged or foreign token carries nothing") {
    fixture f;
    f.join("http://h/flash");
    auto out = f.events("5", "save_and_go");
    REQUIRE(out.size() == 2);
    REQUIRE(out[0][3] == "live_redirect");
    auto token = std::string(out[0][4].as_object().at("flash").as_string());
    f.ch.handle_frame(R"(["4","6","lv:phx-1","phx_leave",{}])");
    f.host.take();
    auto join_with = [&](const std::string& ref, const std::string& flash_token) {
      auto session = f.sessions.sign("/flash", "/flash");
      json::object payload{{"redirect", "http://h/flash?next=1"},
                           {"params", json::object{{"_csrf_token", f.csrf_for(session)}, {"_mounts", 0}}},
                           {"session", session},
                           {"static", nullptr},
                           {"flash", flash_token}};
      f.ch.handle_frame(json::serialize(json::array{ref, ref, "lv:phx-1", "phx_join", payload}));
      auto r = f.host.take();
      REQUIRE(r.size() == 1);
      REQUIRE(status_of(r[0]) == "ok");
      return response(r[0]).at("rendered").as_object();
    };
    CHECK(join_with("7", token).at("0") == "Saved, moving on");
    CHECK(join_with("8", token + "x").at("0") == "");                               // tampered
    CHECK(join_with("9", f.sessions.sign("flash", R"({"info":"forged"})")).at("0") == "");  // another purpose's key
  }

  TEST_CASE("push_event: events ride in the render's top-level e (join, reply, server push); status::reply answers a hook with r") {
    fixture f;
    auto joined = f.join("http://h/hook");
    CHECK(response(joined).at("rendered").as_object().at("e") == json::parse(R"([["chart:init",{"points":3}]])"));
    json::object hook{{"type", "hook"}, {"event", "ping"}, {"value", json::object{{"x", 1}}}};
    f.ch.handle_frame(json::serialize(json::array{"4", "5", "lv:phx-1", "event", hook}));
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("diff") == json::parse(R"({"r":{"pong":true}})"));  // even without other changes
    CHECK(response(f.event("6", "zoom")).at("diff") == json::parse(R"({"e":[["chart:zoom",{"level":2},true]]})"));
    f.ch.handle_info(caf::make_message(1));
    f.ch.flush();
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][3] == "diff");
    CHECK(out[0][4] == json::parse(R"({"e":[["chart:tick",{}]]})"));
  }

  TEST_CASE("temporary_assign: the list is sent once, then forgotten without a diff; a new one sends only itself") {
    fixture f;
    auto joined = f.join("http://h/feed");
    auto& rendered = response(joined).at("rendered").as_object();
    CHECK(rendered.at("0").as_object().at("k").as_object().at("kc") == 2);  // a and b, rendered once
    auto counted = response(f.event("5", "count")).at("diff").as_object();
    CHECK(counted == json::object{{"1", "3"}});  // the reset to [] sent nothing
    auto posted = response(f.event("6", "post")).at("diff").as_object();
    CHECK(posted.at("0").as_object().at("k").as_object().at("kc") == 1);  // only the new message
    CHECK(posted.at("1") == "4");
  }

  TEST_CASE("views that keep failing: the connection is closed (1008) instead of rejoining without end") {
    fixture f;
    f.cfg.view_crash_rate = 0.001;  // no refill within the test
    f.cfg.view_crash_burst = 3;
    channel ch{f.cfg, f.host};
    auto fail_once = [&] {
      ch.handle_frame(f.join_frame("4", f.sessions.sign("/counter", "/counter")));
      ch.handle_frame(R"(["4","5","lv:phx-1","event",{"type":"click","event":"nope","value":{}}])");
      return f.host.take();
    };
    for (int i = 0; i < 3; ++i) {
      CHECK(fail_once().back()[3] == "phx_error");
      CHECK(f.host.closes.empty());
    }
    CHECK(fail_once().back()[3] == "phx_error");
    REQUIRE(f.host.closes.size() == 1);
    CHECK(f.host.closes[0] == 1008);
    ch.handle_frame(f.join_frame("4", f.sessions.sign("/counter", "/counter")));
    CHECK(f.host.frames.empty());  // given up: nothing more is answered
  }

  TEST_CASE("an event over the event rate gets an ok reply without a diff, so the element is released") {
    fixture f;
    f.cfg.event_rate = 0.001;
    f.cfg.event_burst = 2;
    channel ch{f.cfg, f.host};
    ch.handle_frame(f.join_frame("4", f.sessions.sign("/counter", "/counter")));
    ch.handle_frame(R"(["4","5","lv:phx-1","event",{"type":"click","event":"inc","value":{}}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 2);
    CHECK(response(out[1]).at("diff").as_object().at("0") == "1");
    ch.handle_frame(R"(["4","6","lv:phx-1","event",{"type":"click","event":"inc","value":{}}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][1] == "6");
    CHECK(status_of(out[0]) == "ok");
    CHECK(response(out[0]).empty());
    ch.handle_frame(R"([null,"7","phoenix","heartbeat",{}])");  // anything else: an error reply as before
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "error");
    CHECK(response(out[0]).at("reason") == "rate limited");
  }

  TEST_CASE("a message over the frame limit: an event ends its view with words for the user, a join is refused with them; others are dropped") {
    fixture f;
    f.cfg.limits.max_bytes = 1000;
    f.join();
    SUBCASE("an event of the joined view") {
      f.ch.handle_oversized(R"(["4","5","lv:phx-1","event",{"type":"form","event":"typing","value":"body=xxxx)", 70000);
      auto out = f.host.take();
      REQUIRE(out.size() == 1);
      CHECK(out[0][3] == "phx_error");
      CHECK(out[0][4].as_object().at("reason") == "message too large");
      CHECK(out[0][4].as_object().at("message") ==
            "Your last change was too large for the server (70000 bytes; the limit is 1000) and was not applied.");
      CHECK(f.ch.joined() == 0);
      f.join();  // the client's rejoin works as ever
      CHECK(f.ch.joined() == 1);
    }
    SUBCASE("a join: an error reply with words for the user (unanswered, the client waits out its timeout)") {
      f.ch.handle_oversized(R"(["9","9","lv:phx-2","phx_join",{"url":"http://x/?q=xxxx)", 70000);
      auto out = f.host.take();
      REQUIRE(out.size() == 1);
      CHECK(out[0][0] == "9");
      CHECK(out[0][2] == "lv:phx-2");
      CHECK(status_of(out[0]) == "error");
      CHECK(response(out[0]).at("reason") == "message too large");
      CHECK(response(out[0]).at("message") == "This page's join was too large for the server (70000 bytes; the limit is 1000).");
      CHECK(f.ch.joined() == 1);
    }
    SUBCASE("from an earlier join, of no view, not an event, or not a frame at all") {
      for (const char* head : {R"(["3","5","lv:phx-1","event",{"ty)", R"(["4","5","lv:other","event",{)",
                               R"(["4","5","lv:phx-1","leave",{"ur)", R"(["4","5","lv:phx-1")", "xxxxxxxx", ""}) {
        CAPTURE(head);
        f.ch.handle_oversized(head, 70000);
        CHECK(f.host.frames.empty());
        CHECK(f.ch.joined() == 1);
      }
    }
  }

  TEST_CASE("per-view figures: joins and events count under the view's pattern, leaving takes it off live; the slowest kept") {
    fixture f;
    live_metrics m;
    f.cfg.metrics = &m;
    f.join();
    f.event("5", "inc");
    f.event("6", "inc");
    auto all = m.views.all();
    REQUIRE(all.size() == 1);
    CHECK(all[0].first == "/counter");
    auto& v = *all[0].second;
    CHECK(v.live == 1);
    CHECK(v.mounts == 1);
    CHECK(v.mount_us.count() == 1);
    CHECK(v.events == 2);
    CHECK(v.event_us.count() == 2);
    CHECK(v.diff_bytes > 0);
    CHECK(m.views.slowest().size() == 2);
    CHECK(m.views.slowest().front().view == "/counter");
    CHECK(m.views.slowest().front().event == "inc");
    f.ch.handle_frame(R"(["4","7","lv:phx-1","phx_leave",{}])");
    CHECK(v.live == 0);
    for (std::uint64_t us = 1; us <= 30; ++us) m.views.maybe_slow(us * 1000, "/x", "e", "<0.1.0>", 1);
    auto slow = m.views.slowest();
    REQUIRE(slow.size() == view_stats_table::keep);
    CHECK(slow.front().us == 30000);
    CHECK(slow.back().us == 21000);
  }

  TEST_CASE("unknown topics, events and malformed frames never crash") {
    fixture f;
    f.ch.handle_frame(R"(["4","5","lv:nobody","event",{"type":"click","event":"inc","value":{}}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("reason") == "unmatched topic");
    f.join();
    f.ch.handle_frame(R"(["4","6","lv:phx-1","frobnicate",{}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "error");
    for (const char* bad : {"", "nope", "[1,2,3]", R"(["4","4","t","e"])", "{}"}) f.ch.handle_frame(bad);
    CHECK(f.host.frames.empty());  // no refs to answer to
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("a view that throws: phx_error so the client rejoins, the channel lives on") {
    fixture f;
    f.join();
    auto out = f.events("5", "boom");
    REQUIRE(out.size() == 1);
    CHECK(out[0][3] == "phx_error");
    CHECK(f.ch.joined() == 0);
    CHECK(f.j.terminated == 1);
    f.join();  // the client's rejoin
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("server-side updates: the first after a quiet interval goes at once, a burst after it in one diff at its end") {
    fixture f;
    f.join();
    auto value_of = [](const json::array& frame) { return frame[4].as_object().at("0"); };
    f.ch.handle_info(caf::make_message(1));
    auto first = f.host.take();
    REQUIRE(first.size() == 1);  // no push before: no wait, and no timer
    CHECK(first[0][0] == "4");
    CHECK(first[0][1].is_null());
    CHECK(first[0][3] == "diff");
    CHECK(value_of(first[0]) == "1");
    CHECK(f.host.flushes.empty());

    f.host.clock += 5ms;
    for (int i = 2; i <= 100; ++i) f.ch.handle_info(caf::make_message(i));
    CHECK(f.host.frames.empty());         // within the interval: nothing yet
    REQUIRE(f.host.flushes.size() == 1);  // one timer for the whole burst, due when the interval ends
    CHECK(f.host.flushes[0] == 11ms);
    f.host.clock += 11ms;
    f.ch.flush();
    auto burst = f.host.take();
    REQUIRE(burst.size() == 1);
    CHECK(value_of(burst[0]) == "100");

    // right after that flush the interval starts again: the next change waits for its end
    f.ch.handle_info(caf::make_message(101));
    CHECK(f.host.frames.empty());
    REQUIRE(f.host.flushes.size() == 2);
    CHECK(f.host.flushes[1] == 16ms);
    f.host.clock += 16ms;
    f.ch.flush();
    REQUIRE(f.host.take().size() == 1);

    // a quiet interval later, the next one goes at once again
    f.host.clock += 16ms;
    f.ch.handle_info(caf::make_message(102));
    auto late = f.host.take();
    REQUIRE(late.size() == 1);
    CHECK(value_of(late[0]) == "102");
    CHECK(f.host.flushes.size() == 2);

    // a message that changes nothing sends nothing and asks for no flush
    f.host.clock += 1ms;
    f.ch.handle_info(caf::make_message(102));
    f.ch.handle_info(caf::make_message(std::string("ignored")));
    CHECK(f.host.frames.empty());
    CHECK(f.host.flushes.size() == 2);
  }

  TEST_CASE("coalescing off (0 ms): every change is pushed at once") {
    fixture f;
    f.cfg.coalesce = 0ms;
    f.join();
    f.ch.handle_info(caf::make_message(1));
    f.ch.handle_info(caf::make_message(2));
    auto out = f.host.take();
    REQUIRE(out.size() == 2);
    CHECK(out[1][4].as_object().at("0") == "2");
    CHECK(f.host.flushes.empty());
  }

  TEST_CASE("an event reply includes pending server-side changes; the later flush sends nothing") {
    fixture f;
    f.join();
    f.ch.handle_info(caf::make_message(40));  // goes at once (nothing pushed before)
    REQUIRE(f.host.take().size() == 1);
    f.ch.handle_info(caf::make_message(41));  // within the interval: pending
    CHECK(f.host.frames.empty());
    auto r = f.event("5", "inc");
    CHECK(response(r).at("diff").as_object().at("0") == "42");
    f.ch.flush();
    CHECK(f.host.frames.empty());
  }

  TEST_CASE("live_patch from the client calls handle_params and replies with the diff") {
    fixture f;
    f.join();
    f.ch.handle_frame(R"(["4","6","lv:phx-1","live_patch",{"url":"http://h/counter?step=9"}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
    CHECK(response(out[0]).at("diff").as_object().at("1") == "9");
    REQUIRE(f.j.params_urls.size() == 2);
    CHECK(f.j.params_urls[1] == "http://h/counter?step=9");
    // a patch URL of another view makes the client live-redirect instead
    f.ch.handle_frame(R"(["4","7","lv:phx-1","live_patch",{"url":"http://h/other"}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(response(out[0]).at("link_redirect") == true);
  }

  TEST_CASE("push_patch from an event: handle_params runs, the reply has the diff, then a live_patch push") {
    fixture f;
    f.join();
    auto out = f.events("6", "patch");
    REQUIRE(out.size() == 2);
    CHECK(response(out[0]).at("diff").as_object().at("1") == "7");
    CHECK(out[1][3] == "live_patch");
    CHECK(out[1][4].as_object().at("to") == "/counter?step=7");
    CHECK(out[1][4].as_object().at("kind") == "push");
    CHECK(f.j.params_urls.back() == "http://h/counter?step=7");
  }

  TEST_CASE("live navigation: push_navigate sends live_redirect; the client's redirect join mounts the new view") {
    fixture f;
    f.join();
    auto out = f.events("6", "go");
    REQUIRE(out.size() == 2);
    CHECK(out[0][3] == "live_redirect");
    CHECK(out[0][4].as_object().at("to") == "/other");
    f.ch.handle_frame(R"(["4","7","lv:phx-1","phx_leave",{}])");
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
    CHECK(f.j.terminated == 1);
    CHECK(f.ch.joined() == 0);
    // the same session token, with "redirect" instead of "url"
    f.ch.handle_frame(f.join_frame("9", f.sessions.sign("/counter", "/counter"), "http://h/other", "redirect"));
    out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
    CHECK(response(out[0]).at("rendered").as_object().at("s").as_array()[0] == "<p>other</p>");
  }

  TEST_CASE("a rejoin (reconnect) replaces the view and gets a full tree again") {
    fixture f;
    f.join();
    f.event("5", "inc");
    f.ch.handle_frame(f.join_frame("21", f.sessions.sign("/counter", "/counter")));
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][0] == "21");
    auto& rendered = response(out[0]).at("rendered").as_object();
    CHECK(rendered.contains("s"));
    CHECK(rendered.at("0") == "0");  // a fresh mount
    CHECK(f.j.terminated == 1);
    CHECK(f.ch.joined() == 1);
  }

  TEST_CASE("leave of a topic never joined (the client's dead view) is answered ok") {
    fixture f;
    f.ch.handle_frame(R"([null,"31","lv:","phx_leave",{}])");
    auto out = f.host.take();
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "ok");
  }

  TEST_CASE("close terminates every view") {
    fixture f;
    f.join();
    f.ch.close();
    CHECK(f.j.terminated == 1);
    CHECK(f.ch.joined() == 0);
  }

  TEST_CASE("the dead render: page with container, signed session, csrf meta, and the view's HTML") {
    fixture f;
    auto rendered = render_page(f.routes, f.sessions, f.csrf, "/counter?start=3");
    REQUIRE(rendered.ok());
    const std::string* page = &rendered->html;
    CHECK(page->find("data-phx-main") != std::string::npos);
    CHECK(page->find(R"(<p id="count">3</p>)") != std::string::npos);
    CHECK(page->find("<title data-suffix=\" · corvid\">Counter · corvid</title>") != std::string::npos);
    auto at = page->find("data-phx-session=\"") + 18;
    auto token = page->substr(at, page->find('"', at) - at);
    auto claims = f.sessions.verify(token, std::chrono::seconds(60));
    REQUIRE(claims.ok());
    CHECK(claims->view == "/counter");
    CHECK(render_page(f.routes, f.sessions, f.csrf, "/missing").error().code == errc::not_found);
  }

  TEST_CASE("routes: exact segments and :params") {
    router r;
    r.add("/", make_view<other_view>);
    r.add("/rooms/:id", make_view<other_view>);
    CHECK(r.find("/")->pattern == "/");
    auto m = r.find("/rooms/a%20b");
    REQUIRE(m);
    CHECK(m->path_params.at("id") == "a b");
    CHECK_FALSE(r.find("/rooms"));
    CHECK_FALSE(r.find("/rooms/1/2"));
    auto u = split_url("http://h:4000/rooms/7?x=1&y=a+b#frag");
    REQUIRE(u.ok());
    CHECK(u->path == "/rooms/7");
    CHECK(u->query.at("y") == "a b");
    CHECK(split_url("http://h:4000")->path == "/");
  }

  TEST_CASE("a message every session gets alike is rendered once: each connection sends its head around one body") {
    std::vector<std::unique_ptr<fixture>> conns;
    for (int i = 0; i < 20; ++i) {
      conns.push_back(std::make_unique<fixture>());
      conns.back()->join();
    }
    journal j;
    const auto t = counter_view(j).render();  // the template every counter page renders
    const auto before = detail::memo_stats(t);
    for (auto& c : conns) {
      c->ch.handle_info(caf::make_message(41));
      c->ch.flush();
      auto out = c->host.take();
      REQUIRE(out.size() == 1);
      CHECK(out[0] == json::parse(R"(["4",null,"lv:phx-1","diff",{"0":"41"}])"));
    }
    auto after = detail::memo_stats(t);
    CHECK(after.renders - before.renders == 1);
    CHECK(after.bodies - before.bodies == 1);
    CHECK(after.body_hits - before.body_hits == 19);
    // a per-session change after it diffs against what that connection was sent
    conns[0]->ch.handle_info(caf::make_message(41));
    conns[0]->ch.flush();
    CHECK(conns[0]->host.take().empty());
    CHECK(response(conns[0]->event("6", "inc")).at("diff") == json::parse(R"({"0":"42"})"));
    conns[1]->ch.handle_info(caf::make_message(42));
    conns[1]->ch.flush();
    auto out = conns[1]->host.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0][4] == json::parse(R"({"0":"42"})"));
  }

  TEST_CASE("a view that places no components keeps no table; cid frames and events aimed at a cid are still answered") {
    fixture f;
    f.join();
    auto push = [&](const std::string& ref, const std::string& event, json::object payload) {
      f.ch.handle_frame(json::serialize(json::array{"4", ref, "lv:phx-1", event, std::move(payload)}));
      auto out = f.host.take();
      REQUIRE(out.size() == 1);
      CHECK(out[0][3] == "phx_reply");
      CHECK(out[0][4].at("status") == "ok");
      return out[0];
    };
    CHECK(response(push("5", "cids_will_destroy", json::object{{"cids", json::array{2}}})).empty());
    CHECK(json::serialize(response(push("6", "cids_destroyed", json::object{{"cids", json::array{2}}})).at("cids")) == "[]");
    json::object aimed{{"type", "click"}, {"event", "inc"}, {"value", json::object{}}, {"cid", 3}};
    CHECK(response(push("7", "event", aimed)).empty());  // no such component: answered, nothing changes
    CHECK(response(f.event("8", "inc")).at("diff") == json::parse(R"({"0":"1"})"));
  }
}
