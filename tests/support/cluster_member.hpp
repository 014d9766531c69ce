#pragma once
// A cluster member for tests: a runtime plus its node on loopback, with short heartbeats,
// that stops its node and checks for leaked processes when it goes away.

#include <memory>
#include <string>
#include <vector>

#include "../runtime/fixture.hpp"
#include "corvid/cluster/node.hpp"

namespace corvid::test {

inline const std::string secret = "a test secret that is long enough for the cluster";

inline runtime_options opts_for(const std::string& name) {
  runtime_options o;
  o.threads = 1;
  o.node = name;
  return o;
}

inline cluster::node_options node_opts(std::vector<std::string> seeds = {}) {
  cluster::node_options o;
  o.seeds = std::move(seeds);
  o.wire.secret = secret;
  o.wire.heartbeat_interval = std::chrono::milliseconds(100);
  o.wire.dead_after = std::chrono::milliseconds(1000);
  o.redial = std::chrono::milliseconds(100);
  return o;
}

/// Tag: a member built from node_options of the test's own making.
struct custom_t {};
inline constexpr custom_t custom{};

struct member {
  explicit member(const std::string& name, std::vector<std::string> seeds = {})
    : member(name, custom, node_opts(std::move(seeds))) {}
  member(const std::string& name, custom_t, cluster::node_options o) : rt(std::make_unique<runtime>(opts_for(name))) {
    auto n = cluster::node::start(*rt, std::move(o));
    REQUIRE_MESSAGE(n, (n ? "" : cluster::to_string(n.err())));
    node = n.value();
  }
  ~member() { stop(); }
  void stop() {
    if (node)
      node->stop();
    node.reset();
    if (rt) {
      rt->shutdown_all(5s);
      CHECK(rt->process_count() == 0);
    }
    rt.reset();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }
  size_t up_count() const {
    size_t n = 0;
    for (auto& m : node->members())
      n += m.up ? 1 : 0;
    return n;
  }
  std::unique_ptr<runtime> rt;
  std::shared_ptr<cluster::node> node;
};

/// `p`, a process of `owner`, as `viewer` names it.
inline pid as_seen_from(member& viewer, member& owner, const pid& p) {
  return remote_pid(*viewer.rt, local_node(*owner.rt), p.local_id());
}

} // namespace corvid::test
