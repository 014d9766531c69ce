// Presence deltas and whole states as PresenceDelta frames; resync on a missed delta;
// leaves for members down, drops for members gone.

#include "corvid/cluster/presence_adapter.hpp"

#include "corvid/runtime/telemetry.hpp"

namespace corvid::cluster {

namespace {

void put_dot(const pubsub::dot& d, v1::PresenceDot& w) {
  w.set_node(d.replica.node);
  w.set_incarnation(d.replica.incarnation);
  w.set_clock(d.clock);
}

pubsub::dot take_dot(const v1::PresenceDot& w) { return {{w.node(), w.incarnation()}, w.clock()}; }

void encode(const pubsub::presence_delta& d, v1::PresenceDelta& w) {
  for (auto& [r, clock] : d.context.clocks)
    put_dot({r, clock}, *w.add_clocks());
  for (auto& dt : d.context.cloud)
    put_dot(dt, *w.add_cloud());
  for (auto& [dt, e] : d.entries) {
    auto* we = w.add_entries();
    put_dot(dt, *we->mutable_dot());
    we->set_topic(e.topic);
    we->set_key(e.key);
    we->set_pid_id(e.pid_id);
    for (auto& [k, v] : e.meta)
      (*we->mutable_meta())[k] = v;
  }
}

pubsub::presence_delta decode(const v1::PresenceDelta& w) {
  pubsub::presence_delta d;
  for (auto& c : w.clocks())
    d.context.clocks[{c.node(), c.incarnation()}] = c.clock();
  for (auto& c : w.cloud())
    d.context.cloud.insert(take_dot(c));
  for (auto& e : w.entries())
    d.entries.emplace(take_dot(e.dot()),
                      pubsub::presence_entry{e.topic(), e.key(), e.pid_id(), {e.meta().begin(), e.meta().end()}});
  return d;
}

} // namespace

std::shared_ptr<presence_adapter> presence_adapter::start(runtime&, std::shared_ptr<node> n, pubsub::presence& p,
                                                          presence_adapter_options o) {
  auto a = std::make_shared<presence_adapter>(std::move(n), p, o);
  a->hook();
  return a;
}

void presence_adapter::hook() {
  std::weak_ptr<presence_adapter> w = weak_from_this();
  node_->on_frame(v1::Frame::kPresenceDelta, [w](const node_id& from, v1::Frame&& f) {
    if (auto me = w.lock())
      me->arrived(from, f.presence_delta());
  });
  node_->on_frame(v1::Frame::kPresenceWant, [w](const node_id& from, v1::Frame&&) {
    if (auto me = w.lock())
      me->send_state(from.name);
  });
  node_->on_membership([w](const node_id& n, bool up) {
    if (auto me = w.lock())
      me->membership(n, up);
  });
  node_->every(opts_.batch, [w] {
    if (auto me = w.lock()) {
      me->flush();
      me->sweep();
    }
  });
}

presence_adapter_stats presence_adapter::stats() const {
  std::lock_guard<std::mutex> g{m_};
  return stats_;
}

// `d` as this replica's PresenceDelta frame (its seq is set by the sender).
v1::Frame presence_adapter::frame_of(const pubsub::presence_delta& d, bool full) const {
  v1::Frame f;
  auto* x = f.mutable_presence_delta();
  auto self = node_->self();
  x->set_node(self.name);
  x->set_incarnation(self.incarnation);
  x->set_full(full);
  encode(d, *x);
  return f;
}

// Deltas and whole states are sent from the io thread only, so their numbering is their order.
void presence_adapter::flush() {
  auto d = presence_.take_delta();
  if (d.empty())
    return;
  auto f = frame_of(d, false);
  auto* x = f.mutable_presence_delta();
  std::lock_guard<std::mutex> g{m_};
  x->set_seq(++seq_);
  // A member whose lane refuses it sees the next seq jump and asks for the whole state.
  (void) node_->send_to_members(f);
  ++stats_.deltas_sent;
}

void presence_adapter::send_state(const std::string& to) {
  flush();  // what take_delta holds goes the usual way first, so `seq` covers it
  auto f = frame_of(presence_.state(), true);
  auto* x = f.mutable_presence_delta();
  std::lock_guard<std::mutex> g{m_};
  x->set_seq(seq_);
  (void) node_->send_to_members(f, to);
  ++stats_.full_states_sent;
}

void presence_adapter::arrived(const node_id& from, const v1::PresenceDelta& d) {
  if (d.node() != from.name || d.incarnation() != from.incarnation)
    return;  // only a replica's own state travels from it
  bool want = false;
  {
    std::lock_guard<std::mutex> g{m_};
    auto& p = peers_[from.name];
    if (p.incarnation != from.incarnation) {
      p = peer{};  // a new life of that node: nothing of the old one holds
      p.incarnation = from.incarnation;
    }
    if (d.full()) {
      p.seq = d.seq();
      p.synced = true;
      p.asked = false;
    } else if (p.synced && d.seq() == p.seq + 1) {
      p.seq = d.seq();
      ++stats_.deltas_merged;
    } else if (p.synced && d.seq() <= p.seq) {
      return;  // already in a whole state merged since
    } else {
      // A delta missed (or one before the first whole state): merging it out of causal order
      // could lose entries, so wait for the whole state, asked for once.
      p.synced = false;
      if (p.asked)
        return;
      p.asked = want = true;
      ++stats_.resyncs;
    }
  }
  if (want) {
    if (telemetry::wanted("corvid.presence.resync"))
      telemetry::execute({"corvid.presence.resync", {}, {{"node", from.name}}});
    v1::Frame f;
    f.mutable_presence_want();
    (void) node_->send_to_members(f, from.name);
    return;
  }
  presence_.merge(decode(d));
}

void presence_adapter::membership(const node_id& n, bool up) {
  std::optional<uint64_t> old;
  {
    std::lock_guard<std::mutex> g{m_};
    auto& p = peers_[n.name];
    if (up) {
      if (p.incarnation != 0 && p.incarnation != n.incarnation)
        old = p.incarnation;
      p = peer{};
      p.incarnation = n.incarnation;
    } else if (p.incarnation == n.incarnation) {
      p.synced = false;
      p.down_since = std::chrono::steady_clock::now();
    }
  }
  if (!up)
    return presence_.replica_down({n.name, n.incarnation});  // its entries leave, kept for a heal
  if (old)
    presence_.drop_replica({n.name, *old});  // a restart: the old life's entries are gone for good
  presence_.replica_up({n.name, n.incarnation});
  send_state(n.name);
}

void presence_adapter::sweep() {
  std::vector<pubsub::replica_id> gone;
  {
    std::lock_guard<std::mutex> g{m_};
    auto now = std::chrono::steady_clock::now();
    for (auto i = peers_.begin(); i != peers_.end();) {
      if (i->second.down_since && now - *i->second.down_since >= opts_.permdown_after) {
        gone.push_back({i->first, i->second.incarnation});
        i = peers_.erase(i);
      } else {
        ++i;
      }
    }
  }
  for (auto& r : gone)
    presence_.drop_replica(r);
}

} // namespace corvid::cluster
