#pragma once
// Presence's replicated state: a delta-state CRDT (an observed-remove set with a causal
// context, like Phoenix.Tracker's). Each node stamps what it adds with a dot (node, clock);
// a remove is the dot without the entry. States and deltas have one type and `merge` joins
// them: commutative, associative, idempotent; a remove wins over the add it observed, never
// over a newer add. The cluster ships `take_delta()` results and calls `merge` on arrival.
//
//   corvid::pubsub::presence_state a{"a@host"}, b{"b@host"};
//   auto d = a.add({"room:1", "alice", 7, {{"status", "away"}}});
//   b.merge(a.take_delta());          // b now lists alice
//   a.remove(d);
//   b.merge(a.take_delta());          // and no longer does

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace corvid::pubsub {

/// Presence metadata, e.g. {{"status", "online"}}.
using meta = std::map<std::string, std::string>;

/// One event of one node: the node's name and its clock at that event.
struct dot {
  std::string node;
  uint64_t clock = 0;
  friend auto operator<=>(const dot&, const dot&) = default;
  friend bool operator==(const dot&, const dot&) = default;
};

/// "node:clock", used as Phoenix's phx_ref.
std::string to_string(const dot& d);

/// The events a state has seen: a contiguous clock per node plus stray dots.
struct causal_context {
  std::map<std::string, uint64_t> clocks;
  std::set<dot> cloud;

  bool contains(const dot& d) const;
  void add(const dot& d);
  void join(const causal_context& other);
  /// Folds stray dots that became contiguous into the clocks.
  void compact();
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

/// What a merge (or a node drop) changed.
struct presence_changes {
  std::vector<std::pair<dot, presence_entry>> joins;
  std::vector<std::pair<dot, presence_entry>> leaves;
  bool empty() const { return joins.empty() && leaves.empty(); }
};

/// The replica of one node. Not thread-safe (presence guards it).
class presence_state {
public:
  explicit presence_state(std::string node = "nonode@nohost") : node_(std::move(node)) {}

  /// Adds an entry under a fresh dot of this node (recorded in the pending delta).
  dot add(presence_entry e);
  /// Removes the entry added with `d`; false if there is none.
  bool remove(const dot& d);
  /// Joins a delta or a whole state of another (or this) node.
  presence_changes merge(const presence_delta& other);
  /// Removes every entry of `node` (it went down); a local change, not shipped as a delta.
  presence_changes drop_node(const std::string& node);
  /// The local changes since the last call, as a delta to ship; resets it.
  presence_delta take_delta();
  /// The whole state, as a delta (for a node that joins late).
  const presence_delta& state() const { return data_; }
  const std::map<dot, presence_entry>& entries() const { return data_.entries; }
  const std::string& node() const { return node_; }
  uint64_t clock() const;

private:
  std::string node_;
  presence_delta data_;
  presence_delta pending_;
};

} // namespace corvid::pubsub
