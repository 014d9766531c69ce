// The subscriber table (partitioned by pid, copy-on-write lists) and the fan-out paths:
// inline pushes for small fan-outs, helper processes in bounded chunks for big ones.

#include "corvid/pubsub/hub.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <caf/atom.hpp>

#include "corvid/runtime/process.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/telemetry.hpp"
#include "corvid/runtime/transport.hpp"
#include "corvid/runtime/tsan.hpp"

namespace corvid::pubsub::detail {

using pid_list = std::vector<pid>;

/// The subscribers of one topic within one partition, as a broadcast reads them.
struct sub_list {
  pid_list pids;  // delivered by send_many, in chunks
};
using continue_atom = caf::atom_constant<caf::atom("ps_cont")>;

struct partition;

/// A broadcast's hold on a topic's subscriber list, shared with the table until the table
/// changes it (partition::writable). Dropping the hold releases, for ThreadSanitizer, what
/// writable() acquires with a fence after seeing it was the last holder: TSan does not model
/// fences, so without this it reports the reader's last use against the writer's change.
struct list_ref {
  std::shared_ptr<const sub_list> p;
  list_ref() = default;
  list_ref(const std::shared_ptr<sub_list>& x) : p(x) {}  // implicit: taken from the table
  list_ref(const list_ref&) = default;
  list_ref(list_ref&&) noexcept = default;
  list_ref& operator=(list_ref x) noexcept {
    drop();
    p = std::move(x.p);
    return *this;
  }
  ~list_ref() { drop(); }
  const sub_list* operator->() const { return p.get(); }
  void drop() {
    if (p)
      CORVID_TSAN_RELEASE(p.get());
    p.reset();
  }
};

/// A slice of one broadcast for one partition's helper process.
struct dispatch_job {
  list_ref subs;
  caf::message msg;
  uint64_t skip = 0;
  size_t next = 0;
};

} // namespace corvid::pubsub::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::pubsub::detail::dispatch_job)

namespace corvid::pubsub::detail {

/// The subscribers of one topic within one partition.
struct topic_subs {
  std::shared_ptr<sub_list> list;               // shared with in-flight broadcasts: copied on write then
  boost::unordered_flat_map<uint64_t, uint32_t> pos;  // pid id -> index in list->pids (flat: ~20 B an entry, not 40)
  std::unordered_map<uint64_t, caf::message> metas;  // only subscribers that gave metadata
  uint64_t broadcasts = 0;  // delivered to this partition's share of the topic (under the partition's lock)
  size_t size() const { return list->pids.size(); }
};

/// A subscribing process: its topics (in this partition) and its exit hook.
struct member {
  pid who;
  uint64_t hook = 0;
  // Keys of partition::topics (a node-based map: they stay put until the topic has no subscriber),
  // the first one inline: most processes subscribe to one topic, and a copy of its name cost ~48 B.
  boost::container::small_vector<const std::string*, 1> topics;
};

struct alignas(64) partition {
  std::mutex m;
  std::unordered_map<std::string, topic_subs> topics;
  std::unordered_map<uint64_t, member> members;
  size_t subscriptions = 0;
  pid helper;
  std::atomic<int64_t> inflight{0};  // jobs queued at or running in the helper
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};

  /// The list of `ts`, private to the table again (copied if a broadcast still reads it).
  static sub_list& writable(topic_subs& ts) {
    if (!ts.list) {
      ts.list = std::make_shared<sub_list>();
    } else if (ts.list.use_count() > 1) {
      ts.list = std::make_shared<sub_list>(*ts.list);
    } else {
      std::atomic_thread_fence(std::memory_order_acquire);  // readers released it
      CORVID_TSAN_ACQUIRE(ts.list.get());                    // (their list_ref said so to TSan)
    }
    return *ts.list;
  }

  void remove_from_topic(const std::string& topic, uint64_t id) {
    auto i = topics.find(topic);
    if (i == topics.end())
      return;
    auto& ts = i->second;
    ts.metas.erase(id);
    auto j = ts.pos.find(id);
    if (j != ts.pos.end()) {
      auto idx = j->second;
      ts.pos.erase(j);
      auto& v = writable(ts).pids;
      if (idx + 1 != v.size()) {
        v[idx] = std::move(v.back());
        ts.pos[v[idx].id()] = idx;
      }
      v.pop_back();
    } else {
      return;
    }
    --subscriptions;
    if (ts.size() == 0)
      topics.erase(i);
  }

  /// Pushes `m` to subs[from, to) but `skip`, and counts what was pushed and refused.
  void push_range(const pid_list& subs, size_t from, size_t to, const caf::message& m, uint64_t skip) {
    // Counted before the push: a subscriber may handle its copy before send_many returns, and
    // whoever saw every copy handled must not read `delivered` short. What was not pushed (the
    // skipped sender, refusals) comes off once send_many is done.
    const uint64_t range = to - from;
    delivered.fetch_add(range, std::memory_order_relaxed);
    // send_many shares `m` and wakes the whole range as one scheduler batch.
    auto [ok, bad] = ::corvid::send_many(subs.data() + from, subs.data() + to, m, skip);
    if (ok != range)
      delivered.fetch_sub(range - ok, std::memory_order_relaxed);
    if (bad)
      failed.fetch_add(bad, std::memory_order_relaxed);
  }
};

struct hub_state : std::enable_shared_from_this<hub_state> {
  runtime* rt = nullptr;
  hub_options opts;
  std::vector<std::unique_ptr<partition>> parts;
  std::atomic<uint64_t> broadcasts{0};
  std::atomic<uint64_t> dispatched{0};
  std::atomic<uint64_t> gaps{0};
  std::mutex gaps_m;
  std::deque<gap_report> recent_gaps;  // the last recent_gap_count, under gaps_m
  static constexpr size_t recent_gap_count = 20;
  std::atomic<uint64_t> seq{0};
  std::mutex publish_m;  // numbering and forwarding are one step: other nodes see seq order
  std::mutex seen_m;     // held while delivering remote broadcasts: they reach mailboxes in order
  std::unique_ptr<sequencer> order;
  std::mutex helpers_m;
  std::condition_variable helpers_cv;
  size_t helpers_alive = 0;

  partition& part_of(uint64_t pid_id) { return *parts[pid_id % parts.size()]; }

  void drop_member(uint64_t id) {
    auto& part = part_of(id);
    std::lock_guard<std::mutex> g{part.m};
    auto i = part.members.find(id);
    if (i == part.members.end())
      return;
    for (auto* t : i->second.topics)
      part.remove_from_topic(*t, id);  // may erase *t's entry, last
    part.members.erase(i);
  }

  caf::error dispatch(const std::string& topic, const caf::message& m, uint64_t skip);
  /// Delivers here: by the named dispatcher if `via` is not empty, else by dispatch().
  caf::error deliver_here(const std::string& topic, const caf::message& m, const pid& skip, std::string_view via);
  caf::error subscribe(const pid& p, const std::string& topic, const caf::message* meta);
  void start_helper(size_t k);
};

/// The state of one helper process: jobs in arrival order, served `chunk` deliveries per turn.
struct helper_queue {
  std::shared_ptr<hub_state> hub;
  partition* part = nullptr;
  std::deque<dispatch_job> jobs;
  bool nudged = false;

  void work(process& self) {
    auto budget = hub->opts.chunk;
    while (budget > 0 && !jobs.empty()) {
      auto& j = jobs.front();
      auto& pids = j.subs->pids;
      auto end = std::min(pids.size(), j.next + budget);
      part->push_range(pids, j.next, end, j.msg, j.skip);
      budget -= end - j.next;
      j.next = end;
      if (j.next == pids.size()) {
        jobs.pop_front();
        part->inflight.fetch_sub(1, std::memory_order_release);
      }
    }
    if (!jobs.empty() && !nudged) {
      nudged = true;  // end this turn; other messages (and the runtime's drain batch) come between
      (void) self.send(self.self(), continue_atom::value);
    }
  }
};

void hub_state::start_helper(size_t k) {
  auto q = std::make_shared<helper_queue>();
  q->hub = shared_from_this();
  q->part = parts[k].get();
  spawn_options so;
  so.label = "corvid.pubsub.dispatch";
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = size_t{1} << 20;
  auto p = spawn(*rt, [q](process& self) -> behavior {
    self.hold(q);
    return {
      [q, &self](dispatch_job& j) {
        q->jobs.push_back(std::move(j));
        if (!q->nudged)
          q->work(self);
      },
      [q, &self](continue_atom) {
        q->nudged = false;
        q->work(self);
      },
    };
  }, std::move(so));
  if (!p)
    return;  // no helper: this partition delivers inline
  std::weak_ptr<hub_state> w = shared_from_this();
  auto hook = on_exit_of(*p, [w](const pid&, const caf::error&) {
    if (auto s = w.lock()) {
      std::lock_guard<std::mutex> g{s->helpers_m};
      --s->helpers_alive;
      s->helpers_cv.notify_all();
    }
  });
  if (hook) {
    std::lock_guard<std::mutex> g{helpers_m};
    ++helpers_alive;
  }
  parts[k]->helper = *p;
}

caf::error hub_state::dispatch(const std::string& topic, const caf::message& m, uint64_t skip) {
  struct slice {
    partition* part;
    list_ref subs;
  };
  std::vector<slice> slices;
  slices.reserve(parts.size());
  size_t total = 0;
  for (auto& pp : parts) {
    std::lock_guard<std::mutex> g{pp->m};
    auto i = pp->topics.find(topic);
    if (i == pp->topics.end())
      continue;
    total += i->second.size();
    ++i->second.broadcasts;
    slices.push_back({pp.get(), i->second.list});
  }
  if (total == 0)
    return caf::none;
  broadcasts.fetch_add(1, std::memory_order_relaxed);
  bool big = total >= opts.dispatch_threshold;
  for (auto& s : slices) {
    auto& part = *s.part;
    if (s.subs->pids.empty())
      continue;
    // Inline only when the helper has nothing queued for this partition: keeps per-sender order.
    bool inline_ok = !part.helper || (!big && part.inflight.load(std::memory_order_acquire) == 0);
    if (!inline_ok) {
      part.inflight.fetch_add(1, std::memory_order_acq_rel);
      auto err = ::corvid::send(part.helper, dispatch_job{s.subs, m, skip, 0});
      if (!err) {
        dispatched.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      part.inflight.fetch_sub(1, std::memory_order_acq_rel);  // helper full or gone: deliver here
    }
    part.push_range(s.subs->pids, 0, s.subs->pids.size(), m, skip);
  }
  return caf::none;
}

caf::error no_dispatcher(std::string_view name) {
  return make_error(errc::not_found, "no dispatcher named " + std::string{name});
}

caf::error hub_state::deliver_here(const std::string& topic, const caf::message& m, const pid& skip,
                                   std::string_view via) {
  if (via.empty())
    return dispatch(topic, m, skip.id());
  auto d = opts.dispatchers.find(via);
  if (d == opts.dispatchers.end())
    return no_dispatcher(via);
  std::vector<subscriber> subs;
  for (auto& pp : parts) {
    std::lock_guard<std::mutex> g{pp->m};
    auto i = pp->topics.find(topic);
    if (i == pp->topics.end())
      continue;
    auto& ts = i->second;
    ++ts.broadcasts;
    for (auto& p : ts.list->pids) {
      auto mi = ts.metas.find(p.id());
      subs.push_back({p, mi == ts.metas.end() ? caf::message{} : mi->second});
    }
  }
  if (subs.empty())
    return caf::none;
  broadcasts.fetch_add(1, std::memory_order_relaxed);
  d->second(subs, skip, m);
  return caf::none;
}

caf::error publish(hub_state& st, const std::string& topic, caf::message m, const route& r) {
  if (topic.empty())
    return make_error(errc::bad_argument, "empty topic");
  if (!r.via.empty() && st.opts.dispatchers.find(r.via) == st.opts.dispatchers.end())
    return no_dispatcher(r.via);  // before anything goes to other nodes
  bool direct = !r.to_node.empty();
  bool here = !direct || r.to_node == st.opts.node;
  bool away = r.remote && (!direct || r.to_node != st.opts.node);
  if (direct && away && !st.opts.adapter)
    return make_error(errc::not_found, "no cluster adapter: node " + std::string{r.to_node} + " unknown");
  caf::error err;
  if (here)
    err = st.deliver_here(topic, m, r.skip, r.via);
  if (away && st.opts.adapter) {
    remote_broadcast rb{topic, std::move(m), st.opts.node, 0, r.skip.id(),
                        std::string{r.to_node}, std::string{r.via}, st.opts.incarnation};
    caf::error e;
    if (direct) {  // not sequenced: the other nodes would see their numbers as gaps
      e = st.opts.adapter->forward(rb);
    } else {
      std::lock_guard<std::mutex> g{st.publish_m};
      rb.seq = st.seq.fetch_add(1, std::memory_order_relaxed) + 1;
      e = st.opts.adapter->forward(rb);
    }
    if (e && !err)
      err = std::move(e);
  }
  return err;
}

} // namespace corvid::pubsub::detail

namespace corvid::pubsub {

hub::hub(runtime& rt, hub_options opts) : st_(std::make_shared<detail::hub_state>()) {
  if (opts.partitions == 0)
    opts.partitions = 1;
  if (opts.chunk == 0)
    opts.chunk = 1;
  // By default the hub is the runtime's node: the same name and incarnation as its pids.
  if (opts.node.empty() || opts.node == "nonode@nohost")
    opts.node = local_node(rt).name;
  if (opts.incarnation == 0)
    opts.incarnation = local_node(rt).incarnation;
  st_->rt = &rt;
  st_->opts = std::move(opts);
  st_->order = std::make_unique<sequencer>(st_->opts.ordering, st_->opts.adapter && st_->opts.adapter->can_resend());
  for (size_t k = 0; k < st_->opts.partitions; ++k)
    st_->parts.push_back(std::make_unique<detail::partition>());
  for (size_t k = 0; k < st_->opts.partitions; ++k)
    st_->start_helper(k);
}

hub::~hub() {
  for (auto& pp : st_->parts) {
    std::lock_guard<std::mutex> g{pp->m};
    for (auto& [id, mem] : pp->members)
      cancel_on_exit_of(mem.who, mem.hook);
    pp->members.clear();
    pp->topics.clear();
    pp->subscriptions = 0;
    if (pp->helper)
      exit(pp->helper, reason::shutdown());
  }
  std::unique_lock<std::mutex> g{st_->helpers_m};
  st_->helpers_cv.wait_for(g, std::chrono::seconds(5), [this] { return st_->helpers_alive == 0; });
}

caf::error hub::subscribe(const pid& p, const std::string& topic) {
  return st_->subscribe(p, topic, nullptr);
}

caf::error hub::subscribe(const pid& p, const std::string& topic, caf::message meta) {
  return st_->subscribe(p, topic, &meta);
}

} // namespace corvid::pubsub

namespace corvid::pubsub::detail {

/// Subscribes `p`; a `meta` (even an empty one) replaces the metadata of an existing subscription.
caf::error hub_state::subscribe(const pid& p, const std::string& topic, const caf::message* meta) {
  if (topic.empty())
    return make_error(errc::bad_argument, "empty topic");
  if (!p.alive())
    return make_error(errc::down, "cannot subscribe " + p.to_string());
  auto set_meta = [&](topic_subs& ts) {
    if (!meta)
      return;
    if (meta->empty())
      ts.metas.erase(p.id());
    else
      ts.metas[p.id()] = *meta;
  };
  auto& part = part_of(p.id());
  std::lock_guard<std::mutex> g{part.m};
  auto [mi, fresh] = part.members.try_emplace(p.id());
  auto& mem = mi->second;
  if (fresh) {
    std::weak_ptr<hub_state> w = shared_from_this();
    auto hook = on_exit_of(p, [w](const pid& who, const caf::error&) {
      if (auto s = w.lock())
        s->drop_member(who.id());
    });
    if (!hook) {
      part.members.erase(mi);
      return std::move(hook.error());
    }
    mem.who = p;
    mem.hook = *hook;
  } else {
    for (auto* t : mem.topics) {
      if (*t == topic) {
        set_meta(part.topics[topic]);
        return caf::none;
      }
    }
  }
  auto ti = part.topics.try_emplace(topic).first;
  mem.topics.push_back(&ti->first);
  auto& ts = ti->second;
  set_meta(ts);
  auto& l = partition::writable(ts);
  ts.pos.emplace(p.id(), static_cast<uint32_t>(l.pids.size()));
  l.pids.push_back(p);
  ++part.subscriptions;
  return caf::none;
}

} // namespace corvid::pubsub::detail

namespace corvid::pubsub {

void hub::unsubscribe(const pid& p, const std::string& topic) {
  auto& part = st_->part_of(p.id());
  std::lock_guard<std::mutex> g{part.m};
  auto mi = part.members.find(p.id());
  if (mi == part.members.end())
    return;
  auto& ts = mi->second.topics;
  for (auto i = ts.begin(); i != ts.end(); ++i) {
    if (**i == topic) {
      ts.erase(i);
      part.remove_from_topic(topic, p.id());
      break;
    }
  }
  if (ts.empty()) {
    cancel_on_exit_of(mi->second.who, mi->second.hook);
    part.members.erase(mi);
  }
}

caf::error hub::publish(const std::string& topic, caf::message m, const pid& skip, bool remote) {
  return detail::publish(*st_, topic, std::move(m), {skip, remote, {}, {}});
}

caf::error hub::deliver_remote(const remote_broadcast& b) {
  if (b.origin == st_->opts.node)
    return caf::none;  // our own broadcast, echoed back
  if (!b.target.empty() && b.target != st_->opts.node)
    return caf::none;  // a direct broadcast to another node
  if (b.seq == 0)
    return b.payload.empty() ? caf::none : st_->deliver_here(b.topic, b.payload, pid{}, b.dispatcher);  // `from` is remote: nobody here to skip
  sequencer::step out;
  std::unique_lock<std::mutex> g{st_->seen_m};
  st_->order->arrived(b, sequencer::clock::now(), out);
  return settle(std::move(g), out);
}

void hub::origin_status(const std::string& origin, uint64_t incarnation, uint64_t latest) {
  if (origin == st_->opts.node)
    return;
  sequencer::step out;
  std::unique_lock<std::mutex> g{st_->seen_m};
  st_->order->status(origin, incarnation, latest, sequencer::clock::now(), out);
  (void) settle(std::move(g), out);
}

void hub::resend_gone(const std::string& origin, uint64_t incarnation, uint64_t from, uint64_t to) {
  sequencer::step out;
  std::unique_lock<std::mutex> g{st_->seen_m};
  st_->order->gone(origin, incarnation, from, to, out);
  (void) settle(std::move(g), out);
}

void hub::tick() {
  sequencer::step out;
  std::unique_lock<std::mutex> g{st_->seen_m};
  st_->order->expire(sequencer::clock::now(), out);
  (void) settle(std::move(g), out);
}

size_t hub::held() const {
  std::lock_guard<std::mutex> g{st_->seen_m};
  return st_->order->held();
}

// Delivers in order (still under the lock that ordered them), then reports and asks unlocked.
caf::error hub::settle(std::unique_lock<std::mutex> g, sequencer::step& out) {
  caf::error err;
  for (auto& d : out.deliver)
    if (d.payload.empty())
      continue;  // counted in its origin's order, but undecodable here (the adapter said why)
    else if (auto e = st_->deliver_here(d.topic, d.payload, pid{}, d.dispatcher); e && !err)
      err = std::move(e);
  g.unlock();
  for (auto& gap : out.gaps) {
    st_->gaps.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lg{st_->gaps_m};
      if (st_->recent_gaps.size() == detail::hub_state::recent_gap_count)
        st_->recent_gaps.pop_front();
      st_->recent_gaps.push_back({gap, std::chrono::system_clock::now()});
    }
    if (telemetry::wanted("corvid.pubsub.gap"))
      telemetry::execute({"corvid.pubsub.gap",
                          {{"expected", double(gap.expected)}, {"received", double(gap.received)}},
                          {{"origin", gap.origin}}});
    if (st_->opts.on_gap)
      st_->opts.on_gap(gap);
  }
  for (auto& r : out.resend)
    st_->opts.adapter->request_resend(r);
  return err;
}

std::vector<pid> hub::subscribers(const std::string& topic) const {
  std::vector<pid> out;
  for (auto& pp : st_->parts) {
    std::lock_guard<std::mutex> g{pp->m};
    auto i = pp->topics.find(topic);
    if (i == pp->topics.end())
      continue;
    for (auto& p : i->second.list->pids)
      if (p.alive())
        out.push_back(p);
  }
  return out;
}

size_t hub::subscriber_count(const std::string& topic) const {
  size_t n = 0;
  for (auto& pp : st_->parts) {
    std::lock_guard<std::mutex> g{pp->m};
    auto i = pp->topics.find(topic);
    if (i != pp->topics.end())
      n += i->second.size();
  }
  return n;
}

std::vector<gap_report> hub::recent_gaps() const {
  std::lock_guard<std::mutex> g{st_->gaps_m};
  return {st_->recent_gaps.begin(), st_->recent_gaps.end()};
}

std::vector<topic_info> hub::topics() const {
  // every partition holding a topic counts each of its broadcasts: the oldest share has them all
  std::unordered_map<std::string, topic_info> all;
  for (auto& pp : st_->parts) {
    std::lock_guard<std::mutex> g{pp->m};
    for (auto& [topic, ts] : pp->topics) {
      auto& t = all[topic];
      t.subscribers += ts.size();
      t.broadcasts = std::max(t.broadcasts, ts.broadcasts);
    }
  }
  std::vector<topic_info> out;
  out.reserve(all.size());
  for (auto& [topic, t] : all) {
    t.topic = topic;
    out.push_back(std::move(t));
  }
  return out;
}

hub_stats hub::stats() const {
  hub_stats s;
  s.broadcasts = st_->broadcasts.load(std::memory_order_relaxed);
  s.dispatched = st_->dispatched.load(std::memory_order_relaxed);
  s.gaps = st_->gaps.load(std::memory_order_relaxed);
  for (auto& pp : st_->parts) {
    s.delivered += pp->delivered.load(std::memory_order_relaxed);
    s.failed += pp->failed.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> g{pp->m};
    s.subscriptions += pp->subscriptions;
  }
  return s;
}

const std::string& hub::node() const { return st_->opts.node; }

uint64_t hub::incarnation() const { return st_->opts.incarnation; }

runtime& hub::rt() const { return *st_->rt; }

} // namespace corvid::pubsub
