#pragma once
// Carries a pubsub hub's broadcasts across a cluster: one frame per member per broadcast
// (fanned out to subscribers there), payloads encoded with the codec registry, each stamped
// with (origin, incarnation, seq). Nothing is lost silently: the origin keeps its recent
// broadcasts (bounded by count and bytes) and tells every member its latest seq on the data
// lane, behind the broadcasts; a member that finds a hole asks for exactly that range, and
// what has left the buffer is reported to the receiving hub's on_gap as an exact range.
//
//   auto adapter = std::make_shared<corvid::cluster::pubsub_adapter>(rt, node);
//   corvid::pubsub::hub ps{rt, {.adapter = adapter}};
//   adapter->attach(ps);   // broadcasts from other nodes now reach ps's subscribers

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "corvid/cluster/node.hpp"
#include "corvid/pubsub/adapter.hpp"

namespace corvid::pubsub {
class hub;
}

namespace corvid::cluster {

/// What the origin keeps for resends, and how often members hear its latest seq.
struct pubsub_adapter_options {
  size_t replay_count = 10000;                      ///< broadcasts kept
  size_t replay_bytes = 16u << 20;                  ///< their encoded bytes, at most
  std::chrono::milliseconds status_interval{200};   ///< also how often held holes are checked
};

/// Counters of one adapter (monotonic).
struct pubsub_adapter_stats {
  uint64_t resend_requests = 0;  ///< ranges other members asked for
  uint64_t resent = 0;           ///< broadcasts sent again from the buffer
  uint64_t gone = 0;             ///< broadcasts asked for that had left the buffer
  size_t buffered = 0;           ///< broadcasts in the buffer now
  size_t buffered_bytes = 0;
};

class pubsub_adapter : public pubsub::cluster_adapter, public std::enable_shared_from_this<pubsub_adapter> {
public:
  pubsub_adapter(runtime& rt, std::shared_ptr<node> n, pubsub_adapter_options o = {})
    : rt_(rt), node_(std::move(n)), opts_(o) {}
  /// The hub that receives the other nodes' broadcasts; call once the hub exists. Stop the
  /// node before the hub goes.
  void attach(pubsub::hub& h);
  /// Encodes `b` (errc::no_codec for a payload type without a codec), keeps it for resends
  /// and sends it to the members up.
  caf::error forward(const pubsub::remote_broadcast& b) override;
  bool can_resend() const override { return true; }
  void request_resend(const pubsub::resend_request& r) override;
  pubsub_adapter_stats stats() const;

private:
  struct kept {
    uint64_t seq;
    size_t bytes;
    v1::Frame frame;
  };
  void arrived(v1::Frame&& f);
  void resend(const node_id& to, const v1::PubsubResend& r);
  void send_status(const std::string& only);
  pubsub::hub* hub() const;

  runtime& rt_;
  std::shared_ptr<node> node_;
  pubsub_adapter_options opts_;
  mutable std::mutex hub_m_;
  pubsub::hub* hub_ = nullptr;
  // Sends, the buffer and `latest_` change together, so a status never overtakes the
  // broadcasts it counts.
  mutable std::mutex m_;
  std::deque<kept> buffer_;
  size_t buffer_bytes_ = 0;
  uint64_t latest_ = 0;
  pubsub_adapter_stats stats_;
};

} // namespace corvid::cluster
