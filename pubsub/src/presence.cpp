// Presence: the CRDT plus indexes (by local pid, by topic) and diff broadcasting.

#include "corvid/pubsub/presence.hpp"

#include <limits>
#include <mutex>
#include <set>
#include <unordered_map>

#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/process.hpp"

namespace corvid::pubsub::detail {

struct presence_impl : std::enable_shared_from_this<presence_impl> {
  struct tracked {
    pid who;
    uint64_t hook = 0;
    std::map<std::pair<std::string, std::string>, dot> dots;  // (topic, key) -> dot
  };

  hub* h = nullptr;
  presence_options opts;
  mutable std::mutex m;
  presence_state crdt;
  std::unordered_map<uint64_t, tracked> local;                // by local pid id
  /// A topic's visible entries by key: get_by_key is a lookup, not a scan of the topic (a chair
  /// reading each key of a diff at 20,000 participants spent the presence lock scanning).
  struct topic_entries {
    std::unordered_map<std::string, std::set<dot>> keys;
    size_t size = 0;
  };
  std::unordered_map<std::string, topic_entries> by_topic;  // visible entries only

  presence_impl(hub& hb, presence_options o)
    : h(&hb), opts(std::move(o)), crdt(replica_id{hb.node(), hb.incarnation()}) {}

  static presence_meta view(const dot& d, const presence_entry& e) {
    return presence_meta{e.meta, to_string(d), {}, e.pid_id, d.replica.node};
  }

  void index(const presence_changes& ch) {
    for (auto& [d, e] : ch.leaves) {
      auto t = by_topic.find(e.topic);
      if (t == by_topic.end())
        continue;
      auto k = t->second.keys.find(e.key);
      if (k == t->second.keys.end() || !k->second.erase(d))
        continue;
      if (k->second.empty())
        t->second.keys.erase(k);
      if (--t->second.size == 0)
        by_topic.erase(t);
    }
    for (auto& [d, e] : ch.joins) {
      auto& t = by_topic[e.topic];
      if (t.keys[e.key].insert(d).second)
        ++t.size;
    }
  }

  void fetch(const std::string& topic, presence_list& l) const {
    if (opts.fetch && !l.empty())
      opts.fetch(topic, l);
  }

  /// Indexes the changes and broadcasts one diff per topic (under the lock: diffs stay in order).
  void publish(const presence_changes& ch, const std::string& prev_ref = {}) {
    index(ch);
    std::map<std::string, presence_diff> diffs;
    for (auto& [d, e] : ch.leaves)
      diffs[e.topic].leaves[e.key].metas.push_back(view(d, e));
    for (auto& [d, e] : ch.joins) {
      auto v = view(d, e);
      v.prev_ref = prev_ref;
      diffs[e.topic].joins[e.key].metas.push_back(std::move(v));
    }
    for (auto& [topic, diff] : diffs) {
      diff.topic = topic;
      fetch(topic, diff.joins);
      fetch(topic, diff.leaves);
      (void) h->local_broadcast(topic, std::move(diff));
    }
  }

  /// Removes the local entry added with `d`, noting the leave.
  void leave(const dot& d, presence_changes& ch) {
    auto e = crdt.entries().find(d);
    if (e != crdt.entries().end()) {
      ch.leaves.emplace_back(d, e->second);
      crdt.remove(d);
    }
  }

  /// Removes every entry of a local process; `exited`: its exit hook is running, leave it.
  void forget(uint64_t pid_id, bool exited) {
    std::lock_guard<std::mutex> g{m};
    auto i = local.find(pid_id);
    if (i == local.end())
      return;
    presence_changes ch;
    for (auto& [tk, d] : i->second.dots)
      leave(d, ch);
    if (!exited)
      cancel_on_exit_of(i->second.who, i->second.hook);
    local.erase(i);
    publish(ch);
  }

  /// Adds the presences of one key (its visible entries `dots`) to `out`.
  void collect(const std::string& key, const std::set<dot>& dots, presence_list& out) const {
    auto& metas = out[key].metas;
    for (auto& d : dots) {
      auto e = crdt.entries().find(d);
      if (e != crdt.entries().end())
        metas.push_back(view(d, e->second));
    }
    if (metas.empty())
      out.erase(key);
  }
};

} // namespace corvid::pubsub::detail

namespace corvid::pubsub {

presence::presence(hub& h, presence_options opts)
  : impl_(std::make_shared<detail::presence_impl>(h, std::move(opts))) {}

presence::~presence() {
  std::lock_guard<std::mutex> g{impl_->m};
  for (auto& [id, t] : impl_->local)
    cancel_on_exit_of(t.who, t.hook);
  impl_->local.clear();
}

caf::expected<std::string> presence::track(const pid& p, const std::string& topic, const std::string& key,
                                           meta m) {
  if (topic.empty())
    return make_error(errc::bad_argument, "empty topic");
  if (!p.alive())
    return make_error(errc::down, "cannot track " + p.to_string());
  auto& im = *impl_;
  std::lock_guard<std::mutex> g{im.m};
  auto [ti, fresh] = im.local.try_emplace(p.id());
  auto& t = ti->second;
  if (fresh) {
    std::weak_ptr<detail::presence_impl> w = impl_;
    auto hook = on_exit_of(p, [w](const pid& who, const caf::error&) {
      if (auto s = w.lock())
        s->forget(who.id(), true);
    });
    if (!hook) {
      im.local.erase(ti);
      return std::move(hook.error());
    }
    t.who = p;
    t.hook = *hook;
  } else if (t.dots.count({topic, key})) {
    return make_error(errc::already_registered, key + " is tracked on " + topic);
  }
  presence_entry e{topic, key, p.id(), std::move(m)};
  auto d = im.crdt.add(e);
  t.dots.emplace(std::make_pair(topic, key), d);
  presence_changes ch;
  ch.joins.emplace_back(d, std::move(e));
  im.publish(ch);
  return to_string(d);
}

void presence::untrack(const pid& p, const std::string& topic, const std::string& key) {
  auto& im = *impl_;
  std::lock_guard<std::mutex> g{im.m};
  auto ti = im.local.find(p.id());
  if (ti == im.local.end())
    return;
  auto& t = ti->second;
  auto di = t.dots.find({topic, key});
  if (di == t.dots.end())
    return;
  presence_changes ch;
  im.leave(di->second, ch);
  t.dots.erase(di);
  if (t.dots.empty()) {
    cancel_on_exit_of(t.who, t.hook);
    im.local.erase(ti);
  }
  im.publish(ch);
}

void presence::untrack(const pid& p) { impl_->forget(p.id(), false); }

caf::expected<std::string> presence::update(const pid& p, const std::string& topic, const std::string& key,
                                            meta m) {
  return update_with(p, topic, key, [&m](const meta&) { return std::move(m); });
}

caf::expected<std::string> presence::update_with(const pid& p, const std::string& topic, const std::string& key,
                                                 const std::function<meta(const meta&)>& f) {
  auto& im = *impl_;
  std::lock_guard<std::mutex> g{im.m};
  auto ti = im.local.find(p.id());
  if (ti == im.local.end() || !ti->second.dots.count({topic, key}))
    return make_error(errc::not_found, key + " is not tracked on " + topic);
  auto& d = ti->second.dots[{topic, key}];
  auto cur = im.crdt.entries().find(d);
  presence_entry ne{topic, key, p.id(), f(cur != im.crdt.entries().end() ? cur->second.meta : meta{})};
  presence_changes ch;
  im.leave(d, ch);
  auto old_ref = to_string(d);
  d = im.crdt.add(ne);
  ch.joins.emplace_back(d, std::move(ne));
  im.publish(ch, old_ref);
  return to_string(d);
}

presence_list presence::list(const std::string& topic) const {
  return list(topic, std::numeric_limits<size_t>::max());
}

presence_list presence::list(const std::string& topic, size_t max) const {
  auto& im = *impl_;
  presence_list out;
  {
    std::lock_guard<std::mutex> g{im.m};
    auto i = im.by_topic.find(topic);
    if (i != im.by_topic.end())
      for (auto& [key, dots] : i->second.keys) {
        if (out.size() >= max)
          break;
        im.collect(key, dots, out);
      }
  }
  im.fetch(topic, out);
  return out;
}

key_presences presence::get_by_key(const std::string& topic, const std::string& key) const {
  auto& im = *impl_;
  presence_list out;
  {
    std::lock_guard<std::mutex> g{im.m};
    auto i = im.by_topic.find(topic);
    if (i != im.by_topic.end())
      if (auto k = i->second.keys.find(key); k != i->second.keys.end())
        im.collect(key, k->second, out);
  }
  im.fetch(topic, out);
  auto k = out.find(key);
  return k == out.end() ? key_presences{} : std::move(k->second);
}

size_t presence::size() const {
  std::lock_guard<std::mutex> g{impl_->m};
  size_t n = 0;
  for (auto& [topic, t] : impl_->by_topic)
    n += t.size;
  return n;
}

std::vector<std::pair<std::string, size_t>> presence::topics() const {
  std::lock_guard<std::mutex> g{impl_->m};
  std::vector<std::pair<std::string, size_t>> out;
  out.reserve(impl_->by_topic.size());
  for (auto& [topic, t] : impl_->by_topic)
    out.emplace_back(topic, t.size);
  return out;
}

presence_delta presence::take_delta() {
  std::lock_guard<std::mutex> g{impl_->m};
  return impl_->crdt.take_delta();
}

void presence::merge(const presence_delta& d) {
  std::lock_guard<std::mutex> g{impl_->m};
  impl_->publish(impl_->crdt.merge(d));
}

void presence::replica_down(const replica_id& r) {
  std::lock_guard<std::mutex> g{impl_->m};
  impl_->publish(impl_->crdt.replica_down(r));
}

void presence::replica_up(const replica_id& r) {
  std::lock_guard<std::mutex> g{impl_->m};
  impl_->publish(impl_->crdt.replica_up(r));
}

void presence::drop_replica(const replica_id& r) {
  std::lock_guard<std::mutex> g{impl_->m};
  impl_->publish(impl_->crdt.drop_replica(r));
}

void presence::drop_node(const std::string& node) {
  std::lock_guard<std::mutex> g{impl_->m};
  impl_->publish(impl_->crdt.drop_node(node));
}

const replica_id& presence::self() const { return impl_->crdt.self(); }

presence_delta presence::state() const {
  std::lock_guard<std::mutex> g{impl_->m};
  return impl_->crdt.state();
}

} // namespace corvid::pubsub
