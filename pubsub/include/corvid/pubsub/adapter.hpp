#pragma once
// The seam a cluster plugs into: what a hub hands to other nodes and takes back from them.
// Single-node hubs have no adapter; a later cluster module implements `cluster_adapter`
// and calls hub::deliver_remote for what arrives, so users' code does not change.
//
//   struct loopback : corvid::pubsub::cluster_adapter {
//     corvid::pubsub::hub* peer = nullptr;
//     caf::error forward(const corvid::pubsub::remote_broadcast& b) override {
//       return peer->deliver_remote(b);   // a real adapter serializes and sends b
//     }
//   };

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

namespace corvid::pubsub {

/// A broadcast as it travels between nodes: stamped with its origin and a per-origin sequence.
struct remote_broadcast {
  std::string topic;
  caf::message payload;
  std::string origin;    ///< node name of the publishing hub
  uint64_t seq = 0;      ///< 1, 2, 3... per origin; a receiver seeing a jump reports a gap
  uint64_t from = 0;     ///< pid id of the sender to skip (broadcast_from), 0 = none
  std::string target;    ///< direct_broadcast: the one node that delivers it (seq is 0: not sequenced)
  std::string dispatcher;  ///< broadcast_via: the dispatcher's name, the same on every node
  uint64_t incarnation = 0;  ///< of the origin: a restarted origin numbers from 1 again
};

/// Broadcasts of `origin` that never arrived and cannot be repaired: [expected, received).
struct sequence_gap {
  std::string origin;
  uint64_t expected = 0;  ///< the first sequence number missed
  uint64_t received = 0;  ///< the one delivered next (one past the last missed)
  uint64_t incarnation = 0;
};

/// A receiver asks `origin` for its broadcasts [from, to] again.
struct resend_request {
  std::string origin;
  uint64_t incarnation = 0;
  uint64_t from = 0;
  uint64_t to = 0;
};

/// Transport underneath a hub: ships local broadcasts to the other nodes. Must not block.
class cluster_adapter {
public:
  virtual ~cluster_adapter() = default;
  /// Called once per broadcast (never for local_broadcast), on the caller's thread. A `target`
  /// names the only node that should get it; sending it to every node is correct, only wasteful.
  virtual caf::error forward(const remote_broadcast& b) = 0;
  /// True if request_resend can repair holes; otherwise the hub reports a hole at once.
  virtual bool can_resend() const { return false; }
  /// Asks the origin to send a range again (it answers through hub::deliver_remote, or
  /// hub::resend_gone for what it no longer has). Must not block.
  virtual void request_resend(const resend_request&) {}
};

} // namespace corvid::pubsub
