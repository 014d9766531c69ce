#pragma once
// Presence's replicated state: a delta-state CRDT (an observed-remove set with a causal
// context, like Phoenix.Tracker.State). Each replica stamps what it adds with a dot (replica,
// clock); a remove is the dot without the entry. States and deltas have one type and `merge`
// joins them: commutative, associative, idempotent; a remove wins over the add it observed,
// never over a newer add. The cluster ships `take_delta()` results and calls `merge` on arrival.
//
//   corvid::pubsub::presence_state a{{"a@host", 1}}, b{{"b@host", 1}};
//   auto d = a.add({"room:1", "alice", 7, {{"status", "away"}}});
//   b.merge(a.take_delta());          // b now lists alice
//   a.remove(d);
//   b.merge(a.take_delta());          // and no longer does
//
// As in Phoenix: only a replica removes its own entries (a merge never does); a peer that is
// down (netsplit) is hidden until it is up again; dropping a replica deletes its entries and
// its context, and it stays dropped (third parties' copies are ignored) until replica_up.
// Unlike Phoenix, a replica never seen before is accepted on first merge without replica_up,
// and a newer incarnation of a node name drops the older one: there is no membership here.

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace corvid::pubsub {

/// Presence metadata, e.g. {{"status", "online"}}.
using meta = std::map<std::string, std::string>;

/// A replica: a node name and its incarnation, Phoenix's {name, vsn}. A node restarted under
/// the same name is a new replica, so its restarted clock is not mistaken for old events.
struct replica_id {
  std::string node;
  uint64_t incarnation = 0;
  friend auto operator<=>(const replica_id&, const replica_id&) = default;
  friend bool operator==(const replica_id&, const replica_id&) = default;
};

/// "node/incarnation".
std::string to_string(const replica_id& r);

/// One event of one replica: the replica and its clock at that event.
struct dot {
  replica_id replica;
  uint64_t clock = 0;
  friend auto operator<=>(const dot&, const dot&) = default;
  friend bool operator==(const dot&, const dot&) = default;
};

/// "node/incarnation:clock", used as Phoenix's phx_ref.
std::string to_string(const dot& d);

/// The events a state has seen: a contiguous clock per replica plus stray dots.
struct causal_context {
  std::map<replica_id, uint64_t> clocks;
  std::set<dot> cloud;

  bool contains(const dot& d) const;
  void add(const dot& d);
  void join(const causal_context& other);
  /// Folds stray dots that became contiguous into the clocks.
  void compact();
  /// Forgets every event of `r`.
  void erase(const replica_id& r);
};

/// One tracked presence: a process (by id, on the dot's node) under a topic and key.
struct presence_entry {
  std::string topic;
  std::string key;
  uint64_t pid_id = 0;
  pubsub::meta meta;
  friend bool operator==(const presence_entry&, const presence_entry&) = default;
};

/// A whole state or a delta: entries by the dot that added them, plus what was seen.
struct presence_delta {
  causal_context context;
  std::map<dot, presence_entry> entries;
  bool empty() const { return context.clocks.empty() && context.cloud.empty() && entries.empty(); }
};

/// What became visible (joins) or invisible (leaves) through a change.
struct presence_changes {
  std::vector<std::pair<dot, presence_entry>> joins;
  std::vector<std::pair<dot, presence_entry>> leaves;
  bool empty() const { return joins.empty() && leaves.empty(); }
};

/// The replica of one node. Not thread-safe (presence guards it).
class presence_state {
public:
  explicit presence_state(replica_id self) : self_(std::move(self)) {}
  explicit presence_state(std::string node = "nonode@nohost", uint64_t incarnation = 1)
    : self_{std::move(node), incarnation} {}

  /// Adds an entry under a fresh dot of this replica (recorded in the pending delta).
  dot add(presence_entry e);
  /// Removes this replica's entry added with `d`; false if there is none.
  bool remove(const dot& d);
  /// Joins a delta or a whole state of another replica. Changes of a down replica stay hidden.
  presence_changes merge(const presence_delta& other);
  /// A netsplit: `r`'s entries are kept but leave the lists until replica_up.
  presence_changes replica_down(const replica_id& r);
  /// `r` is reachable again: its kept entries join; a dropped `r` is accepted again by merge.
  presence_changes replica_up(const replica_id& r);
  /// `r` is gone for good: its entries and its context are deleted (a local change, not shipped).
  presence_changes drop_replica(const replica_id& r);
  /// drop_replica for every incarnation of `node`.
  presence_changes drop_node(const std::string& node);
  /// The local changes since the last call, as a delta to ship; resets it.
  presence_delta take_delta();
  /// The whole state, as a delta (for a node that joins late), down replicas included.
  const presence_delta& state() const { return data_; }
  /// Every entry held, down replicas included (see visible()).
  const std::map<dot, presence_entry>& entries() const { return data_.entries; }
  /// False for a replica that is down (or dropped); its entries are not listed.
  bool visible(const replica_id& r) const;
  const replica_id& self() const { return self_; }
  uint64_t clock() const;

private:
  enum class status { up, down };
  /// Whether a merge may take `r`'s entries and context; registers a replica seen for the first time.
  bool admit(const replica_id& r, presence_changes& ch);
  void drop(const replica_id& r, presence_changes& ch);
  /// Sets `r`'s status; on a change its entries go to `out` (they joined or left the lists).
  void set_status(const replica_id& r, status s, std::vector<std::pair<dot, presence_entry>>& out);

  replica_id self_;
  presence_delta data_;
  presence_delta pending_;
  std::map<replica_id, status> peers_;
  std::set<replica_id> dropped_;
};

} // namespace corvid::pubsub
