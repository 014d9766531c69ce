#pragma once
// A runtime as a node of a cluster: it listens, dials its seeds, keeps one authenticated
// connection to every other member (full mesh, members spread by gossip), and carries
// send, call, exit, link and monitor between processes of different nodes. Installed as the
// runtime's transport, so process code does not change.
//
//   corvid::runtime rt{{.node = "a"}};
//   corvid::cluster::node_options o;
//   o.listen_port = 7101;
//   o.seeds = {"127.0.0.1:7102"};
//   o.wire.secret = read_secret_file();           // >= 32 bytes, the same on every node
//   auto n = corvid::cluster::node::start(rt, o);  // errors as values: bad options, port in use
//
// When a member is lost (its socket closes, or it stays silent past wire.dead_after): links to
// its processes exit with errc::noconnection, monitors get down noconnection, pending calls
// fail at once; it is redialled until it is back. A pid of an older incarnation is down.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/lane_stats.hpp"
#include "corvid/cluster/options.hpp"
#include "corvid/cluster/v1/wire.pb.h"
#include "corvid/runtime/transport.hpp"

namespace corvid {
class runtime;
}

namespace corvid::cluster {

/// How a node joins its cluster.
struct node_options {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;                      ///< 0 = any free port (see node::port())
  std::vector<std::string> seeds;                ///< "host:port" of members to join through
  std::string dns_name;                          ///< join every address this name resolves to (A and AAAA) ...
  uint16_t dns_port = 0;                         ///< ... at this port; re-resolved every dns_interval
  std::chrono::milliseconds dns_interval{5000};
  std::string advertise;                         ///< "host:port" the others dial to reach this node
                                                 ///< (behind NAT or a proxy); "" = listen host and port
  options wire;                                  ///< secret, limits, heartbeats (identity is the runtime's)
  std::chrono::milliseconds redial{500};         ///< retry interval for seeds and lost members
  /// Suspicion (phi accrual over heartbeat gaps) at which a member is suspected: another member
  /// is asked whether it still hears it, and unless one does within probe_timeout (or when there
  /// is no other member) it is declared down. 0 = off: only wire.dead_after ends a silent member.
  double phi_threshold = 8.0;
  std::chrono::milliseconds phi_min_std_dev{100};  ///< floor of the heartbeat gaps' deviation
  std::chrono::milliseconds acceptable_pause{250}; ///< added to the expected gap
  std::chrono::milliseconds probe_timeout{500};
};

/// One member as this node sees it.
struct member_info {
  node_id id;
  std::string address;
  bool up = false;
  std::optional<std::chrono::nanoseconds> round_trip;
  lane_stats control, data;
};

class node_impl;

/// A running node; stop() (or destruction) closes its connections and removes the transport.
class node {
public:
  /// Listens, dials the seeds and installs itself as `rt`'s transport.
  static result<std::shared_ptr<node>> start(runtime& rt, node_options opts);
  ~node();
  void stop();
  /// The port it listens on.
  uint16_t port() const;
  /// Every member known, up or not (this node excluded).
  std::vector<member_info> members() const;
  /// Adds a subscriber called on every member up (true) or down (false), on the I/O thread;
  /// also telemetry corvid.cluster.node_up/_down.
  void on_membership(std::function<void(const node_id&, bool up)> f);
  /// This node's name and incarnation.
  node_id self() const;

  /// For cluster services (pubsub, presence, registry): sends `f` on lane `l` to every member
  /// up, or only to the member named `only`; returns how many members took it.
  size_t send_to_members(const v1::Frame& f, const std::string& only = {}, lane l = lane::data);
  /// Frames whose body is `body` (a service's: Broadcast, PresenceDelta, registry frames) go to
  /// `h`, on the I/O thread, in the order the peer sent them. One handler per body kind.
  void on_frame(v1::Frame::BodyCase body, std::function<void(const node_id& from, v1::Frame&& f)> h);
  /// Runs `f` every `interval` on the I/O thread until stop() (a service's housekeeping).
  void every(std::chrono::milliseconds interval, std::function<void()> f);

  explicit node(std::shared_ptr<node_impl> p) : p_(std::move(p)) {}

private:
  std::shared_ptr<node_impl> p_;
};

} // namespace corvid::cluster
