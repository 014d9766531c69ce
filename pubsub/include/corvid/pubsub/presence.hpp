#pragma once
// Presence (Phoenix.Presence): track processes under a topic and key with metadata; list who
// is there; every subscriber of the topic receives a `presence_diff` (joins and leaves, key ->
// metas) on each change. A tracked process that exits leaves by itself. The state is a
// delta-state CRDT (crdt.hpp): a cluster adapter ships take_delta() and calls merge(), and
// reports reachability with replica_down/replica_up (netsplit) and drop_replica (gone).
// A key's presences come as {metas, extra}: Phoenix's %{metas: [...]} plus what fetch adds.
//
//   corvid::pubsub::hub ps{rt};
//   corvid::pubsub::presence who{ps};
//   ps.subscribe(watcher, "room:1");              // watcher gets presence_diff messages
//   auto ref = who.track(user, "room:1", "alice", {{"status", "online"}});  // phx_ref, or an error
//   who.list("room:1");              // {"alice": {metas: [{status: online, ref: "n/1:1"}]}}

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

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
  std::string ref;       ///< phx_ref: the dot that added it, "node/incarnation:clock"
  std::string prev_ref;  ///< phx_ref_prev: set on the join half of an update
  uint64_t pid_id = 0;   ///< the tracked process (on `node`)
  std::string node;
};

/// The presences of one key (several processes may track it, e.g. several tabs).
struct key_presences {
  std::vector<presence_meta> metas;
  pubsub::meta extra;  ///< what the fetch hook added for the key, e.g. a user name loaded once
};

/// Key -> its presences, Phoenix's %{key => %{metas: [...]}}.
using presence_list = std::map<std::string, key_presences>;

/// Phoenix's fetch/2: enriches a topic's entries (in place) before list(), get_by_key() and diffs
/// show them. Runs under the presence's lock for diffs: it must not call this presence.
using fetch_fn = std::function<void(const std::string& topic, presence_list& entries)>;

/// How a presence shows its entries.
struct presence_options {
  fetch_fn fetch;  ///< none = entries as tracked
};

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
  explicit presence(hub& h, presence_options opts = {});
  ~presence();
  presence(const presence&) = delete;
  presence& operator=(const presence&) = delete;

  /// Tracks `p` under (topic, key); returns its phx_ref. errc::already_registered if it is
  /// tracked there, errc::down if p is gone.
  caf::expected<std::string> track(const pid& p, const std::string& topic, const std::string& key, meta m = {});
  /// Stops tracking (no-op if not tracked).
  void untrack(const pid& p, const std::string& topic, const std::string& key);
  /// Stops tracking `p` under every topic and key.
  void untrack(const pid& p);
  /// Replaces the metadata (a leave plus a join in the diff); returns the new phx_ref.
  /// errc::not_found if not tracked.
  caf::expected<std::string> update(const pid& p, const std::string& topic, const std::string& key, meta m);
  /// Same, with the new metadata computed from the current one.
  template <class F>
    requires std::is_invocable_r_v<meta, F, const meta&>
  caf::expected<std::string> update(const pid& p, const std::string& topic, const std::string& key, F&& f) {
    return update_with(p, topic, key, std::forward<F>(f));
  }
  /// The non-template form of update(..., f); `f` runs under the lock: it must not call this presence.
  caf::expected<std::string> update_with(const pid& p, const std::string& topic, const std::string& key,
                                         const std::function<meta(const meta&)>& f);
  /// Who is on `topic` now.
  presence_list list(const std::string& topic) const;
  /// At most `max` keys of `topic` (which ones is unspecified): a page that shows a bounded
  /// list of a large topic copies only what it shows.
  presence_list list(const std::string& topic, size_t max) const;
  /// The presences of `key` on `topic` (no metas if none).
  key_presences get_by_key(const std::string& topic, const std::string& key) const;
  /// Number of listed entries (all topics, all nodes that are up).
  size_t size() const;
  /// Each topic with entries, and how many (for dashboards).
  std::vector<std::pair<std::string, size_t>> topics() const;

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
