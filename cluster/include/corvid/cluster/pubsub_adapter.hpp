#pragma once
// Carries a pubsub hub's broadcasts across a cluster: one frame per member per broadcast
// (fanned out to subscribers there), payloads encoded with the codec registry, each stamped
// with (origin, incarnation, seq) so that a receiving hub reports gaps.
//
//   auto adapter = std::make_shared<corvid::cluster::pubsub_adapter>(rt, node);
//   corvid::pubsub::hub ps{rt, {.adapter = adapter}};
//   adapter->attach(ps);   // broadcasts from other nodes now reach ps's subscribers

#include <memory>
#include <mutex>

#include "corvid/cluster/node.hpp"
#include "corvid/pubsub/adapter.hpp"

namespace corvid::pubsub {
class hub;
}

namespace corvid::cluster {

class pubsub_adapter : public pubsub::cluster_adapter, public std::enable_shared_from_this<pubsub_adapter> {
public:
  pubsub_adapter(runtime& rt, std::shared_ptr<node> n) : rt_(rt), node_(std::move(n)) {}
  /// The hub that receives the other nodes' broadcasts; call once the hub exists.
  void attach(pubsub::hub& h);
  /// Encodes `b` (errc::no_codec for a payload type without a codec) and sends it to the members.
  caf::error forward(const pubsub::remote_broadcast& b) override;

private:
  void arrived(v1::Frame&& f);
  runtime& rt_;
  std::shared_ptr<node> node_;
  std::mutex m_;
  pubsub::hub* hub_ = nullptr;
};

} // namespace corvid::cluster
