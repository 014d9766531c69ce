// Pubsub broadcasts as Broadcast frames between the members of a cluster, with the origin's
// replay buffer, its periodic status and the resend protocol.

#include "corvid/cluster/pubsub_adapter.hpp"

#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime/codec.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/telemetry.hpp"
#include "wire_values.hpp"

namespace corvid::cluster {

void pubsub_adapter::attach(pubsub::hub& h) {
  {
    std::lock_guard<std::mutex> g{hub_m_};
    hub_ = &h;
  }
  std::weak_ptr<pubsub_adapter> w = weak_from_this();
  node_->on_frame(v1::Frame::kBroadcast, [w](const node_id&, v1::Frame&& f) {
    if (auto me = w.lock())
      me->arrived(std::move(f));
  });
  node_->on_frame(v1::Frame::kPubsubStatus, [w](const node_id&, v1::Frame&& f) {
    auto me = w.lock();
    auto* h = me ? me->hub() : nullptr;
    if (h)
      h->origin_status(f.pubsub_status().origin(), f.pubsub_status().incarnation(), f.pubsub_status().latest());
  });
  node_->on_frame(v1::Frame::kPubsubGone, [w](const node_id&, v1::Frame&& f) {
    auto me = w.lock();
    auto* h = me ? me->hub() : nullptr;
    auto& x = f.pubsub_gone();
    if (h)
      h->resend_gone(x.origin(), x.incarnation(), x.from(), x.to());
  });
  node_->on_frame(v1::Frame::kPubsubResend, [w](const node_id& from, v1::Frame&& f) {
    if (auto me = w.lock())
      me->resend(from, f.pubsub_resend());
  });
  // A new member learns at once where this node's numbering stands for it.
  node_->on_membership([w](const node_id& n, bool up) {
    if (auto me = w.lock(); me && up)
      me->send_status(n.name);
  });
  node_->every(opts_.status_interval, [w] {
    auto me = w.lock();
    if (!me)
      return;
    me->send_status({});
    if (auto* h = me->hub())
      h->tick();
  });
}

pubsub::hub* pubsub_adapter::hub() const {
  std::lock_guard<std::mutex> g{hub_m_};
  return hub_;
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
  if (b.seq == 0) {  // direct: not sequenced, not kept
    (void) node_->send_to_members(f, b.target);
    return caf::none;
  }
  std::lock_guard<std::mutex> g{m_};
  // A member that cannot take it now (its lane is full) asks for it again after the next status.
  (void) node_->send_to_members(f);
  latest_ = b.seq;
  auto bytes = f.ByteSizeLong();
  buffer_.push_back({b.seq, bytes, std::move(f)});
  buffer_bytes_ += bytes;
  while (buffer_.size() > opts_.replay_count || (buffer_bytes_ > opts_.replay_bytes && buffer_.size() > 1)) {
    buffer_bytes_ -= buffer_.front().bytes;
    buffer_.pop_front();
  }
  return caf::none;
}

void pubsub_adapter::request_resend(const pubsub::resend_request& r) {
  v1::Frame f;
  auto* x = f.mutable_pubsub_resend();
  x->set_incarnation(r.incarnation);
  x->set_from(r.from);
  x->set_to(r.to);
  (void) node_->send_to_members(f, r.origin);
}

void pubsub_adapter::resend(const node_id& to, const v1::PubsubResend& r) {
  if (r.from() == 0 || r.to() < r.from())
    return;  // malformed: nothing to answer
  std::lock_guard<std::mutex> g{m_};
  ++stats_.resend_requests;
  auto self = node_->self();
  uint64_t oldest = buffer_.empty() ? latest_ + 1 : buffer_.front().seq;
  // Another incarnation's numbers (this node restarted) are all gone.
  if (r.incarnation() != self.incarnation)
    oldest = r.to() + 1;
  if (r.from() < oldest) {
    v1::Frame gf;
    auto* x = gf.mutable_pubsub_gone();
    x->set_origin(self.name);
    x->set_incarnation(r.incarnation());
    x->set_from(r.from());
    x->set_to(std::min(r.to(), oldest - 1));
    stats_.gone += x->to() - x->from() + 1;
    (void) node_->send_to_members(gf, to.name);
  }
  if (buffer_.empty() || r.incarnation() != self.incarnation || r.to() < oldest)
    return;
  // Seqs in the buffer are consecutive: index by offset.
  auto first = std::max(r.from(), oldest);
  for (auto seq = first; seq <= r.to() && seq <= latest_; ++seq) {
    (void) node_->send_to_members(buffer_[seq - oldest].frame, to.name);
    ++stats_.resent;
  }
}

void pubsub_adapter::send_status(const std::string& only) {
  std::lock_guard<std::mutex> g{m_};
  if (latest_ == 0 && only.empty())
    return;  // nothing broadcast yet: nothing to count (a new member still hears 0)
  v1::Frame f;
  auto* x = f.mutable_pubsub_status();
  auto self = node_->self();
  x->set_origin(self.name);
  x->set_incarnation(self.incarnation);
  x->set_latest(latest_);
  (void) node_->send_to_members(f, only);
}

pubsub_adapter_stats pubsub_adapter::stats() const {
  std::lock_guard<std::mutex> g{m_};
  auto s = stats_;
  s.buffered = buffer_.size();
  s.buffered_bytes = buffer_bytes_;
  return s;
}

void pubsub_adapter::arrived(v1::Frame&& f) {
  auto& x = *f.mutable_broadcast();
  auto payload = decode_message(rt_, take_terms(*x.mutable_elements()));
  pubsub::remote_broadcast b;
  b.topic = std::move(*x.mutable_topic());
  if (payload) {
    b.payload = std::move(*payload);
  } else if (telemetry::wanted("corvid.cluster.undecodable")) {
    // A type this node has no codec for: nothing to deliver it as. Its seq still counts
    // (an empty payload), so it is not mistaken for a hole and asked for again and again.
    telemetry::execute({"corvid.cluster.undecodable", {}, {{"topic", b.topic}, {"error", describe(payload.error())}}});
  }
  b.origin = std::move(*x.mutable_origin());
  b.incarnation = x.incarnation();
  b.seq = x.seq();
  b.from = x.from_id();
  b.target = std::move(*x.mutable_target());
  b.dispatcher = std::move(*x.mutable_dispatcher());
  if (auto* h = hub())
    (void) h->deliver_remote(b);
}

} // namespace corvid::cluster
