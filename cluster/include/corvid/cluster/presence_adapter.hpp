#pragma once
// Replicates a Presence across the cluster. Local changes leave as CRDT deltas batched for at
// most `batch` (Phoenix.Tracker waits 1.5 s); a new member gets the whole state, both ways.
// Deltas of one sender are numbered: a member that missed one asks for the whole state rather
// than merge out of causal order. A member going down makes its entries leave (kept, and
// joining again if it comes back from a partition); after `permdown_after` they are dropped,
// as they are at once when it comes back as a new incarnation.
//
//   corvid::pubsub::presence who{hub};
//   auto pa = corvid::cluster::presence_adapter::start(rt, node, who);
//   who.track(user, "room:1", "alice");   // listed on every node within ~10 ms

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "corvid/cluster/node.hpp"
#include "corvid/pubsub/presence.hpp"

namespace corvid::cluster {

struct presence_adapter_options {
  std::chrono::milliseconds batch{10};              ///< local changes wait at most this long
  std::chrono::milliseconds permdown_after{1200000}; ///< a member down this long is dropped (Phoenix: 20 min)
};

/// Counters of one adapter (monotonic).
struct presence_adapter_stats {
  uint64_t deltas_sent = 0;
  uint64_t deltas_merged = 0;
  uint64_t full_states_sent = 0;
  uint64_t resyncs = 0;  ///< deltas missed, so the whole state was asked for
};

class presence_adapter : public std::enable_shared_from_this<presence_adapter> {
public:
  /// Hooks `p` to `n`: stop the node before `p` goes.
  static std::shared_ptr<presence_adapter> start(runtime& rt, std::shared_ptr<node> n, pubsub::presence& p,
                                                 presence_adapter_options o = {});
  presence_adapter_stats stats() const;

  presence_adapter(std::shared_ptr<node> n, pubsub::presence& p, presence_adapter_options o)
    : node_(std::move(n)), presence_(p), opts_(o) {}

private:
  struct peer {
    uint64_t incarnation = 0;
    uint64_t seq = 0;       // the last delta merged
    bool synced = false;    // a whole state has been merged since it came up
    bool asked = false;     // a whole state has been asked for
    std::optional<std::chrono::steady_clock::time_point> down_since;
  };
  void hook();
  v1::Frame frame_of(const pubsub::presence_delta& d, bool full) const;
  void flush();                                   // io thread
  void send_state(const std::string& to);         // io thread
  void arrived(const node_id& from, const v1::PresenceDelta& d);
  void membership(const node_id& n, bool up);
  void sweep();

  std::shared_ptr<node> node_;
  pubsub::presence& presence_;
  presence_adapter_options opts_;
  mutable std::mutex m_;
  uint64_t seq_ = 0;                   // deltas sent
  std::map<std::string, peer> peers_;  // by node name
  presence_adapter_stats stats_;
};

} // namespace corvid::cluster
