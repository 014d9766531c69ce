#pragma once
// The demo as a node of a cluster: the flags, and what they start (the node, pubsub and
// Presence across it). Without --node the demo is a single node and none of this runs.
//
//   live_demo --port 4001 --node a@127.0.0.1:7101 --secret-file demo.secret
//   live_demo --port 4002 --node b@127.0.0.1:7102 --secret-file demo.secret --seed a@127.0.0.1:7101
//
// --node NAME@HOST:PORT   this node's name and where it listens for the others
// --seed [NAME@]HOST:PORT a member to join through (repeatable)
// --dns NAME:PORT         join the members that NAME resolves to (all A/AAAA records, re-resolved)
// --secret-file FILE      the cluster secret (at least 32 bytes), the same file on every node
// --tls-dir DIR           mutual TLS: DIR/ca.pem, DIR/node.pem, DIR/node.key
// --net-ticktime S        Erlang's net_ticktime: a member silent for S seconds is down (a tick
//                         every S/4, no phi suspicion); for loaded machines (default: phi accrual)

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "corvid/cluster/metrics.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/cluster/presence_adapter.hpp"
#include "corvid/cluster/pubsub_adapter.hpp"
#include "corvid/live/dashboard.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"

namespace demo {

struct cluster_flags {
  std::string node;  // NAME@HOST:PORT; empty = single node
  std::vector<std::string> seeds;
  std::string dns;
  std::string secret_file;
  std::string tls_dir;
  std::optional<std::string> net_ticktime;  // seconds, as given; none = the node's phi accrual detector

  /// Takes `arg` (and its value through `next`) if it is a cluster flag.
  template <class Next>
  bool take(const std::string& arg, Next&& next) {
    if (arg == "--node") node = next();
    else if (arg == "--seed") seeds.push_back(next());
    else if (arg == "--dns") dns = next();
    else if (arg == "--secret-file") secret_file = next();
    else if (arg == "--tls-dir") tls_dir = next();
    else if (arg == "--net-ticktime") net_ticktime = next();
    else return false;
    return true;
  }
  /// The runtime's node name ("" for a single node).
  std::string node_name() const { return node.substr(0, node.rfind('@')); }
  /// --net-ticktime in seconds; 0 when not given or not valid.
  unsigned ticktime_seconds() const;
  /// Why these flags cannot start a node, or "".
  std::string check() const;
  /// The node's options, with the secret read from its file; an error message on failure.
  std::optional<corvid::cluster::node_options> options(std::string& error) const;
};

/// The running cluster side of the demo: stop() before the hub and presence go.
struct demo_cluster {
  std::shared_ptr<corvid::cluster::node> node;
  std::shared_ptr<corvid::cluster::pubsub_adapter> pubsub;
  std::shared_ptr<corvid::cluster::presence_adapter> presence;
  void stop() {
    if (node) node->stop();
  }
  /// Rows for the dashboard's nodes table.
  std::vector<corvid::live::dashboard_node> rows() const;
  /// Per-peer queues, round trips and states in the Prometheus text format.
  std::string metrics() const;
};

}  // namespace demo
