#pragma once
// Topics and fan-out (Phoenix.PubSub): processes subscribe to topics; a broadcast builds its
// message once and pushes that same refcounted message into every subscriber's mailbox, where
// the subscriber's own overflow policy applies (a full `coalesce` box keeps only the latest).
// A broadcast never blocks; big fan-outs are split per partition and pushed by helper
// processes in bounded chunks. A subscriber that exits is unsubscribed by itself.
// Unlike Phoenix, where a dispatcher is a module every node has, a dispatcher here is a
// function registered by name in hub_options: functions cannot travel, names can.
//
//   corvid::runtime rt;
//   corvid::pubsub::hub ps{rt};
//   auto p = corvid::spawn(rt, [](corvid::process&) -> corvid::behavior {
//     return {[](const std::string& topic, int n) { std::cout << topic << " " << n << "\n"; }};
//   });
//   ps.subscribe(*p, "room:1");
//   ps.broadcast("room:1", std::string{"room:1"}, 42);  // p gets ("room:1", 42)

#include <cstddef>
#include <cstdint>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include "corvid/pubsub/adapter.hpp"
#include "corvid/pubsub/sequencer.hpp"
#include "corvid/runtime/pid.hpp"

namespace corvid {
class runtime;
}

namespace corvid::pubsub {

/// One subscriber as a dispatcher sees it: the process and the metadata it subscribed with.
struct subscriber {
  pid who;
  caf::message meta;
};

/// Delivers a broadcast its own way (Phoenix.PubSub's dispatcher): gets the topic's local
/// subscribers with their metadata, the sender to skip (may be none) and the message, and sends.
using dispatcher = std::function<void(const std::vector<subscriber>& subs, const pid& from, const caf::message& m)>;

namespace detail {
struct hub_state;
/// How one broadcast travels: `to_node` empty = everywhere (if `remote`), `via` empty = default dispatcher.
struct route {
  const pid& skip;
  bool remote = true;
  std::string_view to_node;
  std::string_view via;
};
caf::error publish(hub_state& st, const std::string& topic, caf::message m, const route& r);
} // namespace detail

/// How a hub partitions and delivers.
struct hub_options {
  std::string node;                    ///< the origin stamped on broadcasts; "" = the runtime's node name
  uint64_t incarnation = 0;            ///< tells a restarted node from its old life; 0 = the runtime's
  size_t partitions = 8;               ///< subscriber-table shards (by pid), one helper process each
  size_t dispatch_threshold = 2048;    ///< fan-outs this large go through the helpers, smaller ones inline
  size_t chunk = 1024;                 ///< deliveries a helper makes per handler turn (fairness between jobs)
  std::shared_ptr<cluster_adapter> adapter;            ///< none = single node
  std::function<void(const sequence_gap&)> on_gap;     ///< called for each range of broadcasts lost for good
  sequencer_options ordering;                          ///< holding behind a hole while the adapter repairs it
  std::map<std::string, dispatcher, std::less<>> dispatchers;       ///< by name, for broadcast_via; register the same on every node
};

/// Counters of a hub (monotonic, except subscriptions).
struct hub_stats {
  uint64_t broadcasts = 0;     ///< broadcast calls with at least one local subscriber
  uint64_t delivered = 0;      ///< messages accepted by subscribers' mailboxes (incl. coalesced); not via dispatchers
  uint64_t failed = 0;         ///< refused by a mailbox policy (reject, drop_newest) or dead; not via dispatchers
  uint64_t dispatched = 0;     ///< partition jobs handed to helper processes
  uint64_t gaps = 0;           ///< ranges of other nodes' broadcasts lost for good (see on_gap)
  size_t subscriptions = 0;    ///< (process, topic) pairs now
};

/// A gap as hub::recent_gaps() keeps it: when it was reported here.
struct gap_report {
  sequence_gap gap;
  std::chrono::system_clock::time_point at;
};

/// One topic with local subscribers, as hub::topics() lists it.
struct topic_info {
  std::string topic;
  size_t subscribers = 0;   ///< local subscriptions now
  uint64_t broadcasts = 0;  ///< broadcasts delivered here since the topic last had no local subscriber
};

/// A pub/sub server over one runtime. Thread-safe; destroy it before its runtime.
class hub {
public:
  explicit hub(runtime& rt, hub_options opts = {});
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  /// Subscribes `p` to `topic` (once: subscribing again is a no-op). errc::down if p is gone.
  caf::error subscribe(const pid& p, const std::string& topic);
  /// Same, with metadata that dispatchers see; subscribing again replaces it.
  caf::error subscribe(const pid& p, const std::string& topic, caf::message meta);
  /// Removes the subscription (no-op if absent).
  void unsubscribe(const pid& p, const std::string& topic);

  /// Sends the message to every subscriber of `topic`, here and (via the adapter) on other nodes.
  template <class... Ts>
  caf::error broadcast(const std::string& topic, Ts&&... xs) {
    return publish(topic, caf::make_message(std::forward<Ts>(xs)...), pid{}, true);
  }
  /// Same, skipping `from` (typically the sending process itself).
  template <class... Ts>
  caf::error broadcast_from(const pid& from, const std::string& topic, Ts&&... xs) {
    return publish(topic, caf::make_message(std::forward<Ts>(xs)...), from, true);
  }
  /// Same as broadcast, this node only.
  template <class... Ts>
  caf::error local_broadcast(const std::string& topic, Ts&&... xs) {
    return publish(topic, caf::make_message(std::forward<Ts>(xs)...), pid{}, false);
  }
  /// Same as broadcast, delivered by the node named `node` only (this one: a local broadcast).
  /// errc::not_found when another node is named and no cluster adapter is installed.
  template <class... Ts>
  caf::error direct_broadcast(const std::string& node, const std::string& topic, Ts&&... xs) {
    return detail::publish(*st_, topic, caf::make_message(std::forward<Ts>(xs)...), {pid{}, true, node, {}});
  }
  /// broadcast_from (`from` may be none) delivered by the dispatcher registered as `via` on
  /// every node; errc::not_found if this hub has none of that name.
  template <class... Ts>
  caf::error broadcast_via(const std::string& via, const pid& from, const std::string& topic, Ts&&... xs) {
    return detail::publish(*st_, topic, caf::make_message(std::forward<Ts>(xs)...), {from, true, {}, via});
  }
  /// The general form: `m` is pushed as is to each subscriber but `skip`; `remote` = also forward.
  caf::error publish(const std::string& topic, caf::message m, const pid& skip, bool remote);
  /// Entry point for the cluster adapter: delivers a broadcast that came from another node, in
  /// its origin's order (held behind a hole while the adapter asks for a resend).
  caf::error deliver_remote(const remote_broadcast& b);
  /// Cluster adapter: `origin`'s latest seq, sent periodically, so a lost tail is noticed.
  void origin_status(const std::string& origin, uint64_t incarnation, uint64_t latest);
  /// Cluster adapter: `origin` cannot resend [from, to]; reported through on_gap.
  void resend_gone(const std::string& origin, uint64_t incarnation, uint64_t from, uint64_t to);
  /// Cluster adapter, periodically: reports holes held past ordering.hold_for.
  void tick();
  /// Remote broadcasts held behind holes now.
  size_t held() const;

  /// The live subscribers of `topic`.
  std::vector<pid> subscribers(const std::string& topic) const;
  size_t subscriber_count(const std::string& topic) const;
  /// Every topic with local subscribers (for dashboards: a walk of the whole table).
  std::vector<topic_info> topics() const;
  /// The last 20 gaps reported here, oldest first (the dashboard lists them).
  std::vector<gap_report> recent_gaps() const;
  hub_stats stats() const;
  const std::string& node() const;
  uint64_t incarnation() const;
  runtime& rt() const;

private:
  friend std::function<void(caf::message)> to_topic(hub& h, std::string topic, pid self);
  caf::error settle(std::unique_lock<std::mutex> g, sequencer::step& out);
  std::shared_ptr<detail::hub_state> st_;
};

} // namespace corvid::pubsub
