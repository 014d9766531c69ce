#pragma once
// Presence (Phoenix.Presence): track processes under a topic and key with metadata; list who
// is there; every subscriber of the topic receives a `presence_diff` (joins and leaves, key ->
// metas) on each change. A tracked process that exits leaves by itself. The state is a
// delta-state CRDT (crdt.hpp): a cluster adapter ships take_delta() and calls merge().
//
//   corvid::pubsub::hub ps{rt};
//   corvid::pubsub::presence who{ps};
//   ps.subscribe(watcher, "room:1");              // watcher gets presence_diff messages
//   who.track(user, "room:1", "alice", {{"status", "online"}});
//   who.list("room:1");                           // {"alice": [{status: online, ref: "n:1"}]}

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include "corvid/pubsub/crdt.hpp"
#include "corvid/runtime/pid.hpp"

namespace corvid::pubsub {

class hub;

namespace detail {
struct presence_impl;
}

/// One presence of a key, as list() and diffs show it.
struct presence_meta {
  pubsub::meta meta;
  std::string ref;       ///< phx_ref: the dot that added it, "node:clock"
  std::string prev_ref;  ///< phx_ref_prev: set on the join half of an update
  uint64_t pid_id = 0;   ///< the tracked process (on `node`)
  std::string node;
};

/// Key -> its presences (a key may be tracked by several processes, e.g. several tabs).
using presence_list = std::map<std::string, std::vector<presence_meta>>;

/// Broadcast (locally) on `topic` after every change: Phoenix's "presence_diff".
struct presence_diff {
  std::string topic;
  presence_list joins;
  presence_list leaves;
};

/// Presence over a hub; thread-safe. Destroy it before the hub.
class presence {
public:
  /// The hub's node name and incarnation are this replica's id.
  explicit presence(hub& h);
  ~presence();
  presence(const presence&) = delete;
  presence& operator=(const presence&) = delete;

  /// Tracks `p` under (topic, key); errc::already_registered if it is, errc::down if p is gone.
  caf::error track(const pid& p, const std::string& topic, const std::string& key, meta m = {});
  /// Stops tracking (no-op if not tracked).
  void untrack(const pid& p, const std::string& topic, const std::string& key);
  /// Replaces the metadata (a leave plus a join in the diff); errc::not_found if not tracked.
  caf::error update(const pid& p, const std::string& topic, const std::string& key, meta m);
  /// Who is on `topic` now.
  presence_list list(const std::string& topic) const;
  /// Number of listed entries (all topics, all nodes that are up).
  size_t size() const;

  /// Cluster: local changes since the last call, to ship to the other nodes.
  presence_delta take_delta();
  /// Cluster: joins a delta (or whole state) from another node; diffs go out locally.
  void merge(const presence_delta& d);
  /// Cluster: `r` is unreachable (netsplit); its entries leave but are kept for replica_up.
  void replica_down(const replica_id& r);
  /// Cluster: `r` is reachable again; its kept entries join. Also re-admits a dropped `r`.
  void replica_up(const replica_id& r);
  /// Cluster: `r` is gone for good; its entries leave and its context is deleted.
  void drop_replica(const replica_id& r);
  /// Cluster: drop_replica for every incarnation of `node`.
  void drop_node(const std::string& node);
  /// This replica: the hub's (node, incarnation).
  const replica_id& self() const;
  /// The whole replicated state (for a node joining late).
  presence_delta state() const;

private:
  std::shared_ptr<detail::presence_impl> impl_;
};

} // namespace corvid::pubsub

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::pubsub::presence_diff)
