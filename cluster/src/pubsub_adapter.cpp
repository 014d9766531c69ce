// Pubsub broadcasts as Broadcast frames between the members of a cluster.

#include "corvid/cluster/pubsub_adapter.hpp"

#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime/codec.hpp"
#include "wire_values.hpp"

namespace corvid::cluster {

void pubsub_adapter::attach(pubsub::hub& h) {
  {
    std::lock_guard<std::mutex> g{m_};
    hub_ = &h;
  }
  node_->on_frame(v1::Frame::kBroadcast, [w = weak_from_this()](const node_id&, v1::Frame&& f) {
    if (auto me = w.lock())
      me->arrived(std::move(f));
  });
}

caf::error pubsub_adapter::forward(const pubsub::remote_broadcast& b) {
  auto terms = encode_message(rt_, b.payload);
  if (!terms)
    return std::move(terms.error());
  v1::Frame f;
  auto* x = f.mutable_broadcast();
  x->set_topic(b.topic);
  x->set_origin(b.origin);
  x->set_incarnation(b.incarnation);
  x->set_seq(b.seq);
  x->set_from_id(b.from);
  x->set_target(b.target);
  x->set_dispatcher(b.dispatcher);
  put_terms(std::move(*terms), *x->mutable_elements());
  // A member that cannot take it now (its lane is full) misses it; its hub reports the gap.
  (void) node_->send_to_members(f, b.target);
  return caf::none;
}

void pubsub_adapter::arrived(v1::Frame&& f) {
  auto& x = *f.mutable_broadcast();
  auto payload = decode_message(rt_, take_terms(*x.mutable_elements()));
  if (!payload)
    return;  // a type this node has no codec for: nothing to deliver it as
  pubsub::remote_broadcast b;
  b.topic = std::move(*x.mutable_topic());
  b.payload = std::move(*payload);
  b.origin = std::move(*x.mutable_origin());
  b.incarnation = x.incarnation();
  b.seq = x.seq();
  b.from = x.from_id();
  b.target = std::move(*x.mutable_target());
  b.dispatcher = std::move(*x.mutable_dispatcher());
  std::lock_guard<std::mutex> g{m_};
  if (hub_)
    (void) hub_->deliver_remote(b);
}

} // namespace corvid::cluster
