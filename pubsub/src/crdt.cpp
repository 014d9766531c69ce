// The observed-remove set with causal context behind Presence.

#include "corvid/pubsub/crdt.hpp"

#include <limits>

namespace corvid::pubsub {

namespace {

/// The entries of `r`: dots order by replica first, so they are one range.
template <class Map>
auto range_of(Map& m, const replica_id& r) {
  return std::make_pair(m.lower_bound(dot{r, 0}),
                        m.upper_bound(dot{r, std::numeric_limits<uint64_t>::max()}));
}

} // namespace

std::string to_string(const replica_id& r) { return r.node + "/" + std::to_string(r.incarnation); }

std::string to_string(const dot& d) { return to_string(d.replica) + ":" + std::to_string(d.clock); }

bool causal_context::contains(const dot& d) const {
  auto i = clocks.find(d.replica);
  if (i != clocks.end() && d.clock <= i->second)
    return true;
  return cloud.count(d) > 0;
}

void causal_context::add(const dot& d) {
  if (contains(d))
    return;
  auto i = clocks.find(d.replica);
  uint64_t c = i == clocks.end() ? 0 : i->second;
  if (d.clock != c + 1) {
    cloud.insert(d);
    return;
  }
  // Contiguous: extend the clock and fold in what the cloud held right after it. No full
  // compact() per dot: a delta of n local adds was O(n^2).
  c = d.clock;
  for (auto next = cloud.find(dot{d.replica, c + 1}); next != cloud.end(); next = cloud.find(dot{d.replica, c + 1})) {
    cloud.erase(next);
    ++c;
  }
  clocks[d.replica] = c;
}

void causal_context::join(const causal_context& other) {
  for (auto& [r, c] : other.clocks) {
    auto& mine = clocks[r];
    mine = std::max(mine, c);
  }
  for (auto& d : other.cloud)
    if (!contains(d))
      cloud.insert(d);
  compact();
}

void causal_context::compact() {
  for (auto i = cloud.begin(); i != cloud.end();) {
    auto& c = clocks[i->replica];
    if (i->clock <= c) {
      i = cloud.erase(i);  // already covered
    } else if (i->clock == c + 1) {
      c = i->clock;        // contiguous: fold in (the set is ordered by replica, then clock)
      i = cloud.erase(i);
    } else {
      ++i;
    }
  }
  for (auto i = clocks.begin(); i != clocks.end();)
    i = i->second == 0 ? clocks.erase(i) : std::next(i);
}

void causal_context::erase(const replica_id& r) {
  clocks.erase(r);
  auto [first, last] = range_of(cloud, r);
  cloud.erase(first, last);
}

uint64_t presence_state::clock() const {
  auto i = data_.context.clocks.find(self_);
  return i == data_.context.clocks.end() ? 0 : i->second;
}

bool presence_state::visible(const replica_id& r) const {
  if (r == self_)
    return true;
  auto i = peers_.find(r);
  return i != peers_.end() && i->second == status::up;
}

dot presence_state::add(presence_entry e) {
  dot d{self_, clock() + 1};
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

bool presence_state::admit(const replica_id& r, presence_changes& ch) {
  if (r == self_ || peers_.count(r))
    return true;
  if (dropped_.count(r))
    return false;
  // An older incarnation than one known is a previous life of that node: never taken in.
  if (r.node == self_.node && r.incarnation < self_.incarnation) {
    dropped_.insert(r);
    return false;
  }
  std::vector<replica_id> older;
  for (auto& [k, s] : peers_) {
    if (k.node != r.node)
      continue;
    if (k.incarnation > r.incarnation) {
      dropped_.insert(r);
      return false;
    }
    older.push_back(k);
  }
  for (auto& k : older)
    drop(k, ch);
  peers_.emplace(r, status::up);
  return true;
}

void presence_state::drop(const replica_id& r, presence_changes& ch) {
  bool shown = visible(r);
  auto [first, last] = range_of(data_.entries, r);
  for (auto i = first; i != last; ++i)
    if (shown)
      ch.leaves.emplace_back(i->first, std::move(i->second));
  data_.entries.erase(first, last);
  data_.context.erase(r);
  peers_.erase(r);
  dropped_.insert(r);
}

presence_changes presence_state::merge(const presence_delta& other) {
  presence_changes ch;
  std::set<replica_id> seen;
  for (auto& [r, c] : other.context.clocks)
    seen.insert(r);
  for (auto& d : other.context.cloud)
    seen.insert(d.replica);
  for (auto& [d, e] : other.entries)
    seen.insert(d.replica);
  std::set<replica_id> admitted;
  for (auto& r : seen)
    if (r != self_ && admit(r, ch))
      admitted.insert(r);
  // Others' entries that the other has seen and no longer holds: removed there. Our own
  // entries only we remove: a peer that lacks them has dropped us, not seen a remove. Only the
  // entries the other's context covers are looked at (a delta's few dots, not all we hold).
  auto gone = [&](std::map<dot, presence_entry>::iterator i) {
    if (visible(i->first.replica))
      ch.leaves.emplace_back(i->first, std::move(i->second));
    return data_.entries.erase(i);
  };
  for (auto& [r, c] : other.context.clocks) {
    if (r == self_)
      continue;
    for (auto i = data_.entries.lower_bound(dot{r, 0}); i != data_.entries.end() && i->first.replica == r &&
                                                         i->first.clock <= c;)
      i = other.entries.count(i->first) ? std::next(i) : gone(i);
  }
  for (auto& d : other.context.cloud) {
    if (d.replica == self_)
      continue;
    if (auto i = data_.entries.find(d); i != data_.entries.end() && !other.entries.count(d))
      gone(i);
  }
  // Theirs that we have never seen: added there.
  for (auto& [d, e] : other.entries) {
    if (!admitted.count(d.replica) || data_.context.contains(d))
      continue;
    data_.entries.emplace(d, e);
    if (visible(d.replica))
      ch.joins.emplace_back(d, e);
  }
  causal_context known;
  for (auto& [r, c] : other.context.clocks)
    if (admitted.count(r))
      known.clocks.emplace(r, c);
  for (auto& d : other.context.cloud)
    if (admitted.count(d.replica))
      known.cloud.insert(d);
  data_.context.join(known);
  return ch;
}

void presence_state::set_status(const replica_id& r, status s, std::vector<std::pair<dot, presence_entry>>& out) {
  auto [i, fresh] = peers_.try_emplace(r, s);
  if (!fresh && i->second == s)
    return;
  i->second = s;
  auto [first, last] = range_of(data_.entries, r);
  for (auto j = first; j != last; ++j)
    out.emplace_back(j->first, j->second);
}

presence_changes presence_state::replica_down(const replica_id& r) {
  presence_changes ch;
  if (r != self_ && !dropped_.count(r))
    set_status(r, status::down, ch.leaves);
  return ch;
}

presence_changes presence_state::replica_up(const replica_id& r) {
  presence_changes ch;
  if (r == self_)
    return ch;
  dropped_.erase(r);
  if (peers_.count(r))
    set_status(r, status::up, ch.joins);
  else
    admit(r, ch);
  return ch;
}

presence_changes presence_state::drop_replica(const replica_id& r) {
  presence_changes ch;
  if (r != self_)
    drop(r, ch);
  return ch;
}

presence_changes presence_state::drop_node(const std::string& node) {
  presence_changes ch;
  std::vector<replica_id> gone;
  for (auto& [r, s] : peers_)
    if (r.node == node)
      gone.push_back(r);
  for (auto& r : gone)
    drop(r, ch);
  return ch;
}

presence_delta presence_state::take_delta() {
  presence_delta d = std::move(pending_);
  pending_ = presence_delta{};
  return d;
}

} // namespace corvid::pubsub
