// Two nodes of a cluster in one process on loopback: participants on one node, the admin on
// the other; Presence, tallies and motions must agree across them.

#include "app_env.hpp"
#include "hall.hpp"

using namespace convention;
using namespace convention::test;
using corvid::live::test::eventually;

namespace {

const std::string cluster_secret = "a convention test secret that is long enough for the cluster";

app_options node_options_for(const std::string& name, std::vector<std::string> seeds = {}) {
  auto o = test_options();
  corvid::cluster::node_options n;
  n.listen_host = "127.0.0.1";
  n.listen_port = 0;
  n.seeds = std::move(seeds);
  n.wire.secret = cluster_secret;
  n.wire.heartbeat_interval = std::chrono::milliseconds(100);
  n.wire.dead_after = std::chrono::milliseconds(2000);
  n.redial = std::chrono::milliseconds(100);
  o.node = n;
  o.node_name = name;
  return o;
}

}  // namespace

TEST_SUITE("convention cluster") {

TEST_CASE("an admin on node B sees participants of node A, their votes, and opens motions they see") {
  app_env a{node_options_for("a@conv")};
  app_env b{node_options_for("b@conv", {"127.0.0.1:" + std::to_string(a.a.node_port())})};

  page_client admin{b.a.port()};
  REQUIRE(admin.open("/admin", admin_headers()));
  admin.submit("open_motion", "text=Motion+from+B");
  // The motion reaches node A through the motions topic of the replicated presence.
  REQUIRE(eventually([&] { return a.a.convention_hall().motion().text == "Motion from B"; }, 20s));

  page_client alice{a.a.port()};
  REQUIRE(alice.open("/"));
  alice.submit("join", "name=alice");
  REQUIRE(alice.until([](const page_client& c) { return c.slot("<p id=\"motion-text\" class=\"big\">") == "Motion from B"; }));
  alice.click("vote", {{"vote", "yes"}});

  REQUIRE(admin.until([](const page_client& c) {
    return c.slot("<b id=\"t-present\">") == "1" && c.slot("<b id=\"t-yes\">") == "1";
  }, 20s));
  // The feed's batch may come in the delivery after the tally's.
  REQUIRE(admin.until([](const page_client& c) { return c.has("alice joined on a@conv") && c.has("alice voted yes"); }, 20s));
  // Each node's chair counts its own replica: they agree once both have seen the vote.
  CHECK(eventually([&] { return a.a.convention_hall().current_tally() == b.a.convention_hall().current_tally(); }, 20s));
  auto sb = b.a.snapshot().cluster;
  CHECK(sb.members == 1);
  CHECK(sb.members_up == 1);
  CHECK(sb.deltas_merged + sb.full_states_sent > 0);  // alice reached B through the replication

  // And back: a motion opened on A reaches the admin on B (and resets its count).
  REQUIRE(!a.a.convention_hall().open_motion("Motion from A"));
  REQUIRE(admin.until([](const page_client& c) {
    return c.slot("<b id=\"motion-text\">") == "Motion from A" && c.slot("<b id=\"t-yes\">") == "0";
  }, 20s));
}

TEST_CASE("motions opened on two nodes at once settle on the same record everywhere") {
  app_env a{node_options_for("a@race")};
  app_env b{node_options_for("b@race", {"127.0.0.1:" + std::to_string(a.a.node_port())})};
  REQUIRE(eventually([&] { return b.a.node_port() != 0; }));
  // Both nodes agree there is no motion once they are connected: open one on each at once.
  REQUIRE(!a.a.convention_hall().open_motion("from a"));
  REQUIRE(!b.a.convention_hall().open_motion("from b"));
  REQUIRE(eventually([&] {
    auto ma = a.a.convention_hall().motion(), mb = b.a.convention_hall().motion();
    return ma == mb && ma.version >= 1;
  }, 20s));
  auto m = a.a.convention_hall().motion();
  // If they raced (both version 1), the greater node name wins; otherwise the later version.
  if (m.version == 1) CHECK(m.node == "b@race");
  CHECK(m.text == (m.node == "b@race" ? "from b" : "from a"));
}

}
