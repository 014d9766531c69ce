// The app on one node, over HTTP and the LiveView wire protocol: the admin guard, participants
// joining and voting, the admin's tally, streams and feed, a motion reaching participants, the
// stats JSON, and the naive mode working (and polling) too.

#include <boost/json.hpp>

#include "app_env.hpp"
#include "corvid/runtime/introspection.hpp"

using namespace convention;
using namespace convention::test;
using corvid::live::test::http_get;

namespace {

// A participant page that has joined under `name`.
void join_as(page_client& p, const std::string& name) {
  REQUIRE(p.open("/"));
  p.submit("join", "name=" + name);
  REQUIRE(p.until([&](const page_client& c) { return c.slot("<b id=\"me\">") == name; }));
}

std::int64_t stat(std::uint16_t port, const std::string& a, const std::string& b = "") {
  auto r = http_get(port, "/convention/stats");
  REQUIRE(r.status == 200);
  auto j = boost::json::parse(r.body);
  auto& v = b.empty() ? j.at(a) : j.at(a).at(b);
  return v.is_bool() ? v.as_bool() : v.to_number<std::int64_t>();
}

}  // namespace

TEST_SUITE("convention server") {

TEST_CASE("/admin without the token is sent to a page that says so; with it the chair's page opens") {
  app_env env{test_options()};
  auto r = http_get(env.a.port(), "/admin");
  CHECK(r.status == 303);
  CHECK(r.location == "/token-needed");
  auto wrong = http_get(env.a.port(), "/admin", std::nullopt, {{"Authorization", "Bearer not-the-token-at-all"}});
  CHECK(wrong.status == 303);
  auto page = http_get(env.a.port(), "/token-needed");
  CHECK(page.status == 200);
  CHECK(page.body.find("needs the admin token") != std::string::npos);
  auto ok = http_get(env.a.port(), "/admin", std::nullopt, admin_headers());
  CHECK(ok.status == 200);
  CHECK(ok.body.find("Convention chair") != std::string::npos);
  page_client sneaky{env.a.port()};
  CHECK_FALSE(sneaky.open("/admin"));  // no page without the token, and no join either
}

TEST_CASE("two participants vote; the admin sees them in its stream, the feed and the tally") {
  app_env env{test_options()};
  page_client admin{env.a.port()};
  REQUIRE(admin.open("/admin", admin_headers()));
  CHECK(admin.slot("<b id=\"t-present\">") == "0");

  admin.submit("open_motion", "text=Adopt+the+budget");
  REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"motion-text\">") == "Adopt the budget"; }));

  page_client alice{env.a.port()}, bob{env.a.port()};
  join_as(alice, "alice");
  join_as(bob, "bob");
  CHECK(alice.slot("<p id=\"motion-text\" class=\"big\">") == "Adopt the budget");
  alice.click("vote", {{"vote", "yes"}});
  bob.click("vote", {{"vote", "no"}});
  REQUIRE(alice.until([](const page_client& c) { return c.slot("Your vote: <b>") == "yes"; }));

  REQUIRE(admin.until([](const page_client& c) {
    return c.slot("<b id=\"t-present\">") == "2" && c.slot("<b id=\"t-yes\">") == "1" && c.slot("<b id=\"t-no\">") == "1";
  }));
  CHECK(admin.slot("<b id=\"t-none\">") == "0");
  // The feed's batch may come in the delivery after the tally's.
  REQUIRE(admin.until([](const page_client& c) { return c.has("bob voted no") && c.has("alice joined on"); }));
  CHECK(admin.has("\"alice\""));  // a stream insert of her row

  // A changed vote replaces the old one: still one vote per participant.
  alice.click("vote", {{"vote", "abstain"}});
  REQUIRE(admin.until([](const page_client& c) {
    return c.slot("<b id=\"t-yes\">") == "0" && c.slot("<b id=\"t-abstain\">") == "1" && c.slot("<b id=\"t-no\">") == "1";
  }));

  CHECK(stat(env.a.stats_port(), "participants") == 2);
  CHECK(stat(env.a.stats_port(), "votes", "abstain") == 1);
  CHECK(stat(env.a.stats_port(), "votes", "no") == 1);
  CHECK(stat(env.a.stats_port(), "inboxes", "processes") == 3);
  CHECK(stat(env.a.stats_port(), "inboxes", "capacity") == 64);
  CHECK(stat(env.a.stats_port(), "chair", "processes") == 1);
  CHECK(stat(env.a.stats_port(), "naive") == 0);

  // A new motion reaches the participants at once and starts the count over.
  admin.submit("open_motion", "text=Elect+the+board");
  REQUIRE(bob.until([](const page_client& c) { return c.slot("<p id=\"motion-text\" class=\"big\">") == "Elect the board"; }));
  REQUIRE(admin.until([](const page_client& c) {
    return c.slot("<b id=\"motion-text\">") == "Elect the board" && c.slot("<b id=\"t-abstain\">") == "0" &&
           c.slot("<b id=\"t-no\">") == "0" && c.slot("<b id=\"t-none\">") == "2";
  }));
}

TEST_CASE("a leaving participant leaves the admin's list and the count") {
  app_env env{test_options()};
  page_client admin{env.a.port()};
  REQUIRE(admin.open("/admin", admin_headers()));
  {
    page_client carol{env.a.port()};
    join_as(carol, "carol");
    REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"t-present\">") == "1"; }));
  }  // the socket closes
  REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"t-present\">") == "0" && c.has("carol left"); }));
}

TEST_CASE("an admin page lists at most admin_rows participants, the latest to join; the counts are everyone's") {
  auto o = test_options();
  o.admin_rows = 2;
  app_env env{o};
  page_client p1{env.a.port()}, p2{env.a.port()}, p3{env.a.port()}, p4{env.a.port()};
  join_as(p1, "pa");
  join_as(p2, "pb");
  join_as(p3, "pc");
  page_client admin{env.a.port()};
  REQUIRE(admin.open("/admin", admin_headers()));
  REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"t-present\">") == "3"; }));
  CHECK(admin.slot("<small id=\"rows-note\">") == "(the latest 2 to join or vote)");
  int rows = 0;
  for (auto* name : {"\"pa\"", "\"pb\"", "\"pc\""})
    rows += admin.has(name) ? 1 : 0;
  CHECK(rows == 2);  // the page got two rows, not three
  CHECK(admin.has(",-1,-2,false]"));  // each insert tells the client to keep the last 2

  join_as(p4, "pd");
  REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"t-present\">") == "4" && c.has("\"pd\""); }));
}

TEST_CASE("a participant page gets nothing while nothing changes (safe: no polling)") {
  app_env env{test_options()};
  page_client p{env.a.port()};
  join_as(p, "dave");
  CHECK(p.diffs_within(std::chrono::milliseconds(1500)) == 0);  // its deadline closes the socket
}

TEST_CASE("naive mode works too: polling pages, an admin page with a plain list, no inboxes") {
  app_env env{test_options(true)};
  page_client admin{env.a.port()};
  REQUIRE(admin.open("/admin", admin_headers()));
  CHECK(admin.has("naive mode"));
  admin.submit("open_motion", "text=Naive+motion");
  page_client erin{env.a.port()};
  join_as(erin, "erin");
  // The poll re-reads everything each second: the motion shows up without any push, and then
  // the page keeps getting diffs although nothing changed.
  REQUIRE(erin.until([](const page_client& c) { return c.slot("<p id=\"motion-text\" class=\"big\">") == "Naive motion"; }));
  erin.click("vote", {{"vote", "yes"}});
  REQUIRE(admin.until([](const page_client& c) { return c.slot("<b id=\"t-yes\">") == "1" && c.has("erin voted yes"); }));
  CHECK(erin.diffs_within(std::chrono::milliseconds(2500)) >= 1);  // last: its deadline closes the socket
  CHECK(stat(env.a.stats_port(), "naive") == 1);
  CHECK(stat(env.a.stats_port(), "inboxes", "processes") == 0);
  CHECK(stat(env.a.stats_port(), "sessions", "capacity") > 1'000'000);
}

}
