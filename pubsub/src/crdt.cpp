// The observed-remove set with causal context behind Presence.

#include "corvid/pubsub/crdt.hpp"

namespace corvid::pubsub {

std::string to_string(const dot& d) { return d.node + ":" + std::to_string(d.clock); }

bool causal_context::contains(const dot& d) const {
  auto i = clocks.find(d.node);
  if (i != clocks.end() && d.clock <= i->second)
    return true;
  return cloud.count(d) > 0;
}

void causal_context::add(const dot& d) {
  if (!contains(d)) {
    cloud.insert(d);
    compact();
  }
}

void causal_context::join(const causal_context& other) {
  for (auto& [node, c] : other.clocks) {
    auto& mine = clocks[node];
    mine = std::max(mine, c);
  }
  for (auto& d : other.cloud)
    if (!contains(d))
      cloud.insert(d);
  compact();
}

void causal_context::compact() {
  for (auto i = cloud.begin(); i != cloud.end();) {
    auto& c = clocks[i->node];
    if (i->clock <= c) {
      i = cloud.erase(i);  // already covered
    } else if (i->clock == c + 1) {
      c = i->clock;        // contiguous: fold in (the set is ordered by node, then clock)
      i = cloud.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = clocks.begin(); i != clocks.end();)
    i = i->second == 0 ? clocks.erase(i) : std::next(i);
}

uint64_t presence_state::clock() const {
  auto i = data_.context.clocks.find(node_);
  return i == data_.context.clocks.end() ? 0 : i->second;
}

dot presence_state::add(presence_entry e) {
  dot d{node_, clock() + 1};
  data_.context.add(d);
  data_.entries.emplace(d, e);
  pending_.context.add(d);
  pending_.entries.emplace(d, std::move(e));
  return d;
}

bool presence_state::remove(const dot& d) {
  if (data_.entries.erase(d) == 0)
    return false;
  pending_.entries.erase(d);  // added and removed within one delta: only the dot remains
  pending_.context.add(d);
  return true;
}

presence_changes presence_state::merge(const presence_delta& other) {
  presence_changes ch;
  // Ours that the other has seen and no longer holds: removed there.
  for (auto i = data_.entries.begin(); i != data_.entries.end();) {
    if (other.context.contains(i->first) && !other.entries.count(i->first)) {
      ch.leaves.emplace_back(i->first, std::move(i->second));
      i = data_.entries.erase(i);
    } else {
      ++i;
    }
  }
  // Theirs that we have never seen: added there.
  for (auto& [d, e] : other.entries) {
    if (!data_.context.contains(d)) {
      data_.entries.emplace(d, e);
      ch.joins.emplace_back(d, e);
    }
  }
  data_.context.join(other.context);
  return ch;
}

presence_changes presence_state::drop_node(const std::string& node) {
  presence_changes ch;
  for (auto i = data_.entries.begin(); i != data_.entries.end();) {
    if (i->first.node == node) {
      ch.leaves.emplace_back(i->first, std::move(i->second));
      i = data_.entries.erase(i);
    } else {
      ++i;
    }
  }
  return ch;
}

presence_delta presence_state::take_delta() {
  presence_delta d = std::move(pending_);
  pending_ = presence_delta{};
  return d;
}

} // namespace corvid::pubsub
