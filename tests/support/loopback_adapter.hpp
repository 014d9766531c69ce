#pragma once
// An in-memory cluster adapter: hands each broadcast straight to the other hubs'
// deliver_remote, on the caller's thread, and keeps a copy of what it sent. It cannot resend,
// so a hub behind it reports a hole at once.
//
//   auto link = std::make_shared<loopback_adapter>();
//   hub_options oa; oa.adapter = link;
//   hub a{rt, oa}, b{rt, ob};
//   link->connect(b);   // a's broadcasts now reach b's subscribers

#include <mutex>
#include <vector>

#include "corvid/pubsub/adapter.hpp"
#include "corvid/pubsub/hub.hpp"

namespace corvid::test {

class loopback_adapter : public pubsub::cluster_adapter {
public:
  /// Adds a hub that gets every broadcast from now on; it must outlive the adapter's use.
  void connect(pubsub::hub& peer) {
    std::lock_guard<std::mutex> g{m_};
    peers_.push_back(&peer);
  }
  caf::error forward(const pubsub::remote_broadcast& b) override {
    std::lock_guard<std::mutex> g{m_};  // one at a time: each peer sees the origin's order
    sent_.push_back(b);
    for (auto* h : peers_)
      if (auto e = h->deliver_remote(b))
        return e;
    return caf::none;
  }
  /// What forward() got, in order.
  std::vector<pubsub::remote_broadcast> sent() const {
    std::lock_guard<std::mutex> g{m_};
    return sent_;
  }

private:
  mutable std::mutex m_;
  std::vector<pubsub::hub*> peers_;
  std::vector<pubsub::remote_broadcast> sent_;
};

} // namespace corvid::test
