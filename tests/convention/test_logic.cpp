// The convention's logic without a server: motion records, tallies, feed events, change
// batches, the safe/naive settings, text cleaning, flags, the inbox's keys and the stats JSON.

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <caf/make_message.hpp>

#include "events.hpp"
#include "flags.hpp"
#include "inbox.hpp"
#include "messages.hpp"
#include "motion.hpp"
#include "options.hpp"
#include "roster.hpp"
#include "stats.hpp"
#include "tally.hpp"
#include "text.hpp"

using namespace convention;
namespace ps = corvid::pubsub;

namespace {

ps::key_presences entry(ps::meta m, std::string node = "a") {
  ps::key_presences kp;
  kp.metas.push_back(ps::presence_meta{std::move(m), "ref", "", 1, std::move(node)});
  return kp;
}

}  // namespace

TEST_SUITE("convention logic") {

TEST_CASE("motion records: the greater (version, node) wins on every node, whatever the order") {
  motion_record a{2, "a@h", "x"}, b{2, "b@h", "y"}, c{3, "a@h", "z"};
  CHECK(newer(b, a));
  CHECK_FALSE(newer(a, b));
  CHECK(newer(c, b));
  CHECK_FALSE(newer(a, a));
  ps::presence_list one{{"a@h", entry(to_meta(a))}, {"b@h", entry(to_meta(b))}};
  ps::presence_list other{{"b@h", entry(to_meta(b))}, {"a@h", entry(to_meta(a))}};
  CHECK(winner(one) == b);
  CHECK(winner(other) == b);
  CHECK(winner({}) == motion_record{});
  CHECK_FALSE(motion_record{}.open());
}

TEST_CASE("a motion survives the trip through presence meta; junk meta is no motion") {
  motion_record m{7, "n@h", "Adopt the budget"};
  CHECK(motion_from_meta(to_meta(m)) == m);
  CHECK_FALSE(motion_from_meta({{"version", "x1"}, {"node", "n"}, {"text", "t"}}));
  CHECK_FALSE(motion_from_meta({{"node", "n"}, {"text", "t"}}));
  auto next = next_motion(m, "b@h", "  Next  ");
  CHECK(next.version == 8);
  CHECK(next.node == "b@h");
  CHECK(next.text == "Next");
  CHECK(next.id() == "8@b@h");
}

TEST_CASE("the tally counts each present participant once and only votes for the current motion") {
  participant alice{"p1", "alice", "a", vote::yes, "2@a"};
  participant bob{"p2", "bob", "a", vote::no, "2@a"};
  participant carol{"p3", "carol", "b", vote::yes, "1@a"};  // voted on the previous motion
  participant dave{"p4", "dave", "b", std::nullopt, ""};
  ps::presence_list l{{"p1", entry(to_meta(alice))}, {"p2", entry(to_meta(bob))},
                      {"p3", entry(to_meta(carol), "b")}, {"p4", entry(to_meta(dave), "b")}};
  auto t = count(l, "2@a");
  CHECK(t == tally{1, 1, 0, 4});
  CHECK(t.voted() == 2);
  CHECK(count(l, "1@a") == tally{1, 0, 0, 4});
  // A chair counts the participants it already read (by id): the same numbers.
  std::map<std::string, participant> known{{"p1", alice}, {"p2", bob}, {"p3", carol}, {"p4", dave}};
  CHECK(count(known, "2@a") == t);
  CHECK(count(known, "1@a") == tally{1, 0, 0, 4});
  // ... and keeps it one change at a time: bob leaves, then carol votes again for this motion.
  tally kept = t;
  count_in(kept, bob, "2@a", true);
  CHECK(kept == tally{1, 0, 0, 3});
  count_in(kept, carol, "2@a", true);
  carol.motion_id = "2@a";
  count_in(kept, carol, "2@a");
  CHECK(kept == tally{2, 0, 0, 3});
  CHECK(participant_from_meta("p1", to_meta(alice), "a") == alice);
  CHECK(parse_vote("abstain") == vote::abstain);
  CHECK_FALSE(parse_vote("maybe"));
}

TEST_CASE("participant changes come from comparing with the presence, not from the diff's shape") {
  participant alice{"p1", "alice", "a", std::nullopt, ""};
  participant voted = alice;
  voted.cast = vote::yes;
  voted.motion_id = "1@a";
  std::map<std::string, participant> known;

  auto c = reconcile(known, {"p1"}, {{"p1", entry(to_meta(alice))}});
  REQUIRE(c.events.size() == 1);
  CHECK(format(c.events[0]) == "alice joined on a");
  CHECK(c.upserts == std::vector<participant>{alice});

  // A vote whose join half arrives alone (another node's update split over two diffs) ...
  c = reconcile(known, {"p1"}, {{"p1", entry(to_meta(voted))}});
  REQUIRE(c.events.size() == 1);
  CHECK(format(c.events[0]) == "alice voted yes");
  CHECK(c.removed.empty());
  // ... and its leave half, with the new meta still listed: nothing changes, nobody left.
  c = reconcile(known, {"p1"}, {{"p1", entry(to_meta(voted))}});
  CHECK(c.events.empty());
  CHECK(c.upserts.empty());
  CHECK(c.removed.empty());

  c = reconcile(known, {"p1"}, {});
  CHECK(c.removed == std::vector<std::string>{"p1"});
  REQUIRE(c.events.size() == 1);
  CHECK(format(c.events[0]) == "alice left");
  CHECK(known.empty());
  CHECK(reconcile(known, {"p1"}, {}).events.empty());  // gone already

  // First seen with a vote already cast (join and vote reached this node in one delta): both lines.
  c = reconcile(known, {"p9"}, {{"p9", entry(to_meta(participant{"p9", "bob", "b", vote::no, "1@a"}), "b")}});
  REQUIRE(c.events.size() == 2);
  CHECK(format(c.events[1]) == "bob voted no");

  ps::presence_diff d{participants_topic, {{"p2", entry({})}}, {{"p2", entry({})}, {"p3", entry({})}}};
  CHECK(touched(d) == std::vector<std::string>{"p2", "p3"});
}

TEST_CASE("while an update travels, a key's newest meta is the participant") {
  participant alice{"p1", "alice", "a", std::nullopt, ""};
  participant voted = alice;
  voted.cast = vote::no;
  voted.motion_id = "1@a";
  auto kp = entry(to_meta(alice));
  kp.metas.push_back(ps::presence_meta{to_meta(voted), "ref2", "ref", 1, "a"});
  CHECK(participant_of("p1", kp) == voted);
  CHECK(count({{"p1", kp}}, "1@a") == tally{0, 1, 0, 1});
  CHECK_FALSE(participant_of("p1", {}));
}

TEST_CASE("change batches merge in order, keep at most max_feed lines, and a resync sticks") {
  participant alice{"p1", "alice", "a", std::nullopt, ""};
  roster_update first;
  add(first, {{alice}, {}, {{feed_event::kind::joined, "alice", "a", {}, 1}}});
  first.seq = 1;
  roster_update second;
  add(second, {{}, {"p1"}, {{feed_event::kind::left, "alice", "a", {}, 2}}});
  second.seq = 2;
  merge(first, second);
  CHECK(first.upserts.empty());
  CHECK(first.removed == std::set<std::string>{"p1"});
  CHECK(first.seq == 2);
  CHECK(first.events.size() == 2);

  roster_update back;
  add(back, {{alice}, {}, {}});
  back.seq = 3;
  back.resync = true;
  merge(first, back);
  CHECK(first.removed.empty());
  CHECK(first.upserts.count("p1") == 1);
  CHECK(first.resync);

  roster_update many;
  for (std::uint64_t i = 0; i < max_feed + 20; ++i) add(many, {{}, {}, {{feed_event::kind::left, "x", "a", {}, i}}});
  CHECK(many.events.size() == max_feed);
  CHECK(many.events.back().seq == max_feed + 19);
}

TEST_CASE("safe and naive settings differ in every respect the post-mortem names") {
  app_options o;
  o.interval = std::chrono::milliseconds(250);
  auto safe = tuning_for(o);
  CHECK(safe.throttle == std::chrono::milliseconds(250));
  CHECK(safe.render_every == std::chrono::milliseconds(250));
  CHECK(safe.inbox_capacity > 0);
  CHECK(safe.inbox_capacity <= 1024);
  CHECK(safe.poll.count() == 0);
  CHECK(safe.streams);
  o.naive = true;
  auto naive = tuning_for(o);
  CHECK(naive.throttle.count() == 0);
  CHECK(naive.render_every.count() == 0);
  CHECK(naive.inbox_capacity == 0);
  CHECK(naive.poll == std::chrono::seconds(1));
  CHECK_FALSE(naive.streams);
  CHECK(naive.session_mailbox > 1'000'000);
}

TEST_CASE("typed text is trimmed, cut at a character boundary, and refused when not UTF-8") {
  CHECK(clean_text("  alice \n", 40) == "alice");
  CHECK(clean_text("   ", 40).empty());
  CHECK(clean_text("\xff\xfe", 40).empty());
  CHECK(clean_text("h\xc3\xa9llo", 2) == "h");  // é is two bytes: never cut inside it
}

TEST_CASE("flags: values, --naive, errors, cluster flags need --node") {
  auto f = parse_flags({"--port", "0", "--interval-ms", "50", "--naive", "--admin-token", "0123456789abcdef",
                        "--host", "0.0.0.0", "--stats-port", "9999", "--max-connections", "19000"});
  REQUIRE(f.error.empty());
  CHECK(f.app.max_connections == 19000);
  CHECK(parse_flags({}).app.max_connections == 10000);
  CHECK_FALSE(parse_flags({"--max-connections", "0"}).error.empty());
  CHECK(f.app.port == 0);
  CHECK(f.app.interval == std::chrono::milliseconds(50));
  CHECK(f.app.naive);
  CHECK(f.app.admin_token == "0123456789abcdef");
  CHECK(f.app.host == "0.0.0.0");
  CHECK(f.app.stats_port == 9999);
  CHECK_FALSE(f.app.node);
  CHECK(parse_flags({"--help"}).help);
  CHECK_FALSE(parse_flags({"--port", "70000"}).error.empty());
  CHECK_FALSE(parse_flags({"--interval-ms", "0"}).error.empty());
  CHECK_FALSE(parse_flags({"--port"}).error.empty());
  CHECK_FALSE(parse_flags({"--bogus"}).error.empty());
  CHECK_FALSE(parse_flags({"--seed", "127.0.0.1:7101"}).error.empty());
  CHECK_FALSE(parse_flags({"--net-ticktime", "60"}).error.empty());  // needs --node
  {
    auto dir = std::filesystem::temp_directory_path() / ("conv-flags-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto secret = (dir / "secret").string();
    std::ofstream{secret} << std::string(40, 's') << "\n";
    auto c = parse_flags({"--node", "a@127.0.0.1:7101", "--secret-file", secret, "--net-ticktime", "60"});
    REQUIRE(c.error.empty());
    REQUIRE(c.app.node);
    CHECK(c.app.node->wire.dead_after == std::chrono::seconds(60));
    CHECK(c.app.node->wire.heartbeat_interval == std::chrono::seconds(15));
    CHECK(c.app.node->phi_threshold == 0);
    CHECK(parse_flags({"--node", "a@127.0.0.1:7101", "--secret-file", secret}).app.node->phi_threshold > 0);
    for (auto* bad : {"3", "601", "1m", ""})
      CHECK_FALSE(parse_flags({"--node", "a@127.0.0.1:7101", "--secret-file", secret, "--net-ticktime", bad}).error.empty());
    std::filesystem::remove_all(dir);
  }
  CHECK(usage().find("--interval-ms") != std::string::npos);
}

TEST_CASE("the inbox coalesces tallies and motions by key, never change batches") {
  auto key = inbox_key();
  CHECK(key(caf::make_message(tally_update{})) == std::optional<std::string>{"tally"});
  CHECK(key(caf::make_message(motion_changed{})) == std::optional<std::string>{"motion"});
  CHECK_FALSE(key(caf::make_message(roster_update{})));
}

TEST_CASE("the stats JSON carries what the load tool reads") {
  stats s;
  s.node = "a@h";
  s.votes = tally{3, 2, 1, 10};
  s.sessions.max_length = 4;
  s.sessions.capacity = 1024;
  s.inboxes.max_length = 9;
  s.inboxes.capacity = 64;
  s.chair.max_high_water = 7;
  s.chair.capacity = 100'000;
  s.rss_bytes = 123;
  auto j = boost::json::parse(to_json(s)).as_object();
  CHECK(j.at("participants").to_number<std::int64_t>() == 10);
  CHECK(j.at("votes").at("yes").to_number<std::int64_t>() == 3);
  CHECK(j.at("votes").at("abstain").to_number<std::int64_t>() == 1);
  CHECK(j.at("mailbox").at("max_length").to_number<std::int64_t>() == 9);
  CHECK(j.at("mailbox").at("capacity").to_number<std::int64_t>() == 1024);
  CHECK(j.at("chair").at("max_high_water").to_number<std::int64_t>() == 7);
  CHECK(j.at("chair").at("capacity").to_number<std::int64_t>() == 100'000);
  CHECK(j.at("rss_bytes").to_number<std::int64_t>() == 123);
}

}
