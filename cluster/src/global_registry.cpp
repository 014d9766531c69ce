// Cluster-wide names. Every node keeps, per name, the claims it knows of; the winner is the
// claim with the smallest (hybrid logical clock, node name) stamp, so every node that knows
// the same claims picks the same one. A node speaks only for its own processes: it announces
// their claims and releases, sends all of them to each member that comes up, and is the one
// that ends its process when that process's claim loses. Claims of a lost member are dropped.
// Frames to the members are sent while m_ is held, so that they leave in the order the table
// changed (the node never calls back into a service while holding its own lock).

#include "corvid/cluster/global_registry.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "corvid/cluster/node.hpp"
#include "corvid/runtime.hpp"
#include "wire_values.hpp"

namespace corvid::cluster {

namespace {

// A claim's place in the total order: the claiming node's clock, then its name.
struct stamp {
  uint64_t ms = 0;
  uint32_t count = 0;
  std::string node;
  friend auto operator<=>(const stamp&, const stamp&) = default;
};

struct claim {
  pid who;          // as this node names it
  node_id owner;    // the node of `who`, which made the claim
  stamp at;
  uint64_t hook = 0;  // the on_exit_of hook, for this node's own processes
};

// A process of this node that lost its name to `winner`.
struct loss {
  std::string name;
  pid loser, winner;
  std::string winner_node;
};

constexpr size_t sync_batch = 1000;  // claims per RegistrySync frame (control frames are not chunked)

uint64_t wall_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

const claim& winner(const std::vector<claim>& cs) {
  return *std::min_element(cs.begin(), cs.end(), [](const claim& a, const claim& b) { return a.at < b.at; });
}

} // namespace

class global_registry_impl : public std::enable_shared_from_this<global_registry_impl> {
public:
  global_registry_impl(runtime& rt, std::shared_ptr<node> n)
    : rt_(rt), node_(std::move(n)), self_(node_->self()) {}

  void start() {
    std::weak_ptr<global_registry_impl> w = shared_from_this();
    auto h = [w](const node_id& from, v1::Frame&& f) {
      if (auto me = w.lock())
        me->frame(from, f);
    };
    for (auto body : {v1::Frame::kRegistryClaim, v1::Frame::kRegistryRelease, v1::Frame::kRegistrySync})
      node_->on_frame(body, h);
    node_->on_membership([w](const node_id& n, bool up) {
      if (auto me = w.lock())
        me->membership(n, up);
    });
    // Members that came up before this registry existed: ask them for theirs, too.
    std::lock_guard<std::mutex> g{m_};
    send_own({}, true);
  }

  void stop() {
    std::lock_guard<std::mutex> g{m_};
    if (stopped_)
      return;
    stopped_ = true;
    for (auto& [name, cs] : names_)
      for (auto& c : cs)
        if (c.owner == self_)
          cancel_on_exit_of(c.who, c.hook);
    names_.clear();
    send_own({}, false);  // an empty first batch: the members drop this node's names
  }

  caf::error register_name(const std::string& name, const pid& p) {
    if (name.empty() || !p || p.is_remote())
      return make_error(corvid::errc::bad_argument, "register_name needs a name and a pid of this node");
    std::lock_guard<std::mutex> g{m_};
    if (stopped_)
      return make_error(corvid::errc::down, "the global registry is stopped");
    if (auto i = names_.find(name); i != names_.end())
      return make_error(corvid::errc::already_registered, name + " is held by " + winner(i->second).who.to_string()
                                                     + " on " + winner(i->second).owner.name);
    auto at = tick();
    auto hook = on_exit_of(p, [w = weak_from_this(), name, at](const pid& who, const caf::error&) {
      if (auto me = w.lock())
        me->local_exited(name, who, at);
    });
    if (!hook)
      return make_error(corvid::errc::down, "cannot register a dead process");
    auto& c = names_[name].emplace_back(claim{p, self_, at, *hook});
    v1::Frame f;
    fill(*f.mutable_registry_claim(), name, c);
    (void) node_->send_to_members(f, {}, lane::control);
    return caf::none;
  }

  caf::error unregister_name(const std::string& name) {
    std::lock_guard<std::mutex> g{m_};
    auto i = names_.find(name);
    if (i == names_.end())
      return make_error(corvid::errc::not_found, name);
    auto mine = std::find_if(i->second.begin(), i->second.end(), [&](const claim& c) { return c.owner == self_; });
    if (mine != i->second.end()) {
      cancel_on_exit_of(mine->who, mine->hook);
      release_own(i, mine);
      return caf::none;
    }
    // Held by other nodes' processes: their nodes free it and tell everyone.
    for (auto& c : i->second) {
      v1::Frame f;
      release_frame(f, name, c.who);
      (void) node_->send_to_members(f, c.owner.name, lane::control);
    }
    return caf::none;
  }

  pid whereis(const std::string& name) const {
    std::lock_guard<std::mutex> g{m_};
    auto i = names_.find(name);
    return i == names_.end() ? pid{} : winner(i->second).who;
  }

  std::vector<std::string> registered() const {
    std::lock_guard<std::mutex> g{m_};
    std::vector<std::string> out;
    for (auto& [name, cs] : names_)
      out.push_back(name);
    return out;
  }

private:
  using table = std::map<std::string, std::vector<claim>>;  // no empty vectors

  // -- the hybrid logical clock (m_ held) ---------------------------------------------

  stamp tick() {
    auto now = wall_ms();
    if (now > hlc_ms_) {
      hlc_ms_ = now;
      hlc_count_ = 0;
    } else {
      ++hlc_count_;
    }
    return {hlc_ms_, hlc_count_, self_.name};
  }

  void receive(uint64_t ms, uint32_t count) {
    auto l = std::max({hlc_ms_, ms, wall_ms()});
    if (l == hlc_ms_ && l == ms)
      hlc_count_ = std::max(hlc_count_, count) + 1;
    else if (l == hlc_ms_)
      ++hlc_count_;
    else if (l == ms)
      hlc_count_ = count + 1;
    else
      hlc_count_ = 0;
    hlc_ms_ = l;
  }

  // -- frames (m_ held where noted) ---------------------------------------------------

  void fill(v1::RegistryClaim& w, const std::string& name, const claim& c) {
    w.set_name(name);
    *w.mutable_pid() = wire_pid(rt_, c.who);
    w.set_hlc_ms(c.at.ms);
    w.set_hlc_count(c.at.count);
  }

  void release_frame(v1::Frame& f, const std::string& name, const pid& who) {
    auto* r = f.mutable_registry_release();
    r->set_name(name);
    *r->mutable_pid() = wire_pid(rt_, who);
  }

  // Removes this node's claim `j` of the name at `i` and tells the members (m_ held; the
  // caller has cancelled or run its hook).
  void release_own(table::iterator i, std::vector<claim>::iterator j) {
    v1::Frame f;
    release_frame(f, i->first, j->who);
    i->second.erase(j);
    if (i->second.empty())
      names_.erase(i);
    (void) node_->send_to_members(f, {}, lane::control);
  }

  // Every claim of this node's processes to `only` (all members up if empty), m_ held.
  void send_own(const std::string& only, bool want_reply) {
    std::vector<std::pair<const std::string*, const claim*>> mine;
    for (auto& [name, cs] : names_)
      for (auto& c : cs)
        if (c.owner == self_)
          mine.emplace_back(&name, &c);
    size_t i = 0;
    do {
      v1::Frame f;
      auto* s = f.mutable_registry_sync();
      s->set_first(i == 0);
      s->set_want_reply(want_reply && i == 0);
      for (size_t k = 0; k < sync_batch && i < mine.size(); ++k, ++i)
        fill(*s->add_claims(), *mine[i].first, *mine[i].second);
      (void) node_->send_to_members(f, only, lane::control);
    } while (i < mine.size());
  }

  void frame(const node_id& from, v1::Frame& f) {
    std::vector<loss> losses;
    {
      std::lock_guard<std::mutex> g{m_};
      if (stopped_)
        return;
      std::set<std::string> touched;
      switch (f.body_case()) {
        case v1::Frame::kRegistryClaim: take_claim(from, f.registry_claim(), touched); break;
        case v1::Frame::kRegistryRelease: take_release(from, f.registry_release()); break;
        case v1::Frame::kRegistrySync: take_sync(from, f.registry_sync(), touched); break;
        default: return;
      }
      for (auto& name : touched)
        resolve(name, losses);
    }
    for (auto& l : losses)
      lost(l);
  }

  // m_ held.
  void take_claim(const node_id& from, const v1::RegistryClaim& w, std::set<std::string>& touched) {
    node_id owner{w.pid().node(), w.pid().incarnation()};
    if (owner != from || w.name().empty() || w.pid().id() == 0)
      return;  // a node claims for its own processes only
    receive(w.hlc_ms(), w.hlc_count());
    auto& cs = names_[w.name()];
    std::erase_if(cs, [&](const claim& c) { return c.owner.name == owner.name; });  // its earlier one
    cs.push_back(claim{runtime_pid(rt_, w.pid()), owner, {w.hlc_ms(), w.hlc_count(), owner.name}, 0});
    touched.insert(w.name());
  }

  // m_ held.
  void take_release(const node_id& from, const v1::RegistryRelease& w) {
    auto i = names_.find(w.name());
    if (i == names_.end())
      return;
    auto who = runtime_pid(rt_, w.pid());
    auto j = std::find_if(i->second.begin(), i->second.end(), [&](const claim& c) { return c.who == who; });
    if (j == i->second.end())
      return;
    if (j->owner == self_) {  // another node's unregister_name
      cancel_on_exit_of(j->who, j->hook);
      release_own(i, j);
    } else if (j->owner == from) {
      i->second.erase(j);
      if (i->second.empty())
        names_.erase(i);
    }
  }

  // m_ held.
  void take_sync(const node_id& from, const v1::RegistrySync& s, std::set<std::string>& touched) {
    if (s.first())
      drop_claims_of(from, false);
    for (auto& w : s.claims())
      take_claim(from, w, touched);
    if (s.want_reply())
      send_own(from.name, false);
  }

  // Drops the claims of `n` (any incarnation unless `exact`), m_ held.
  void drop_claims_of(const node_id& n, bool exact) {
    for (auto i = names_.begin(); i != names_.end();) {
      std::erase_if(i->second, [&](const claim& c) { return c.owner.name == n.name && (!exact || c.owner == n); });
      i = i->second.empty() ? names_.erase(i) : std::next(i);
    }
  }

  // Ends this node's claims on `name` that are not the winner (m_ held; `losses` are told
  // after the lock is released).
  void resolve(const std::string& name, std::vector<loss>& losses) {
    auto i = names_.find(name);
    if (i == names_.end())
      return;
    auto win = winner(i->second);
    for (;;) {
      auto j = std::find_if(i->second.begin(), i->second.end(),
                            [&](const claim& c) { return c.owner == self_ && c.at != win.at; });
      if (j == i->second.end())
        return;
      losses.push_back({name, j->who, win.who, win.owner.name});
      cancel_on_exit_of(j->who, j->hook);
      release_own(i, j);  // the name keeps the winner, so `i` stays valid
    }
  }

  void lost(const loss& l) {
    auto why = make_error(corvid::errc::name_conflict, l.name + " is held by " + l.winner.to_string() + " on " + l.winner_node);
    if (telemetry::wanted("corvid.cluster.name_conflict"))
      telemetry::execute({"corvid.cluster.name_conflict", {},
                          {{"name", l.name}, {"loser", l.loser.to_string()}, {"winner", l.winner.to_string()},
                           {"winner_node", l.winner_node}}});
    deliver_exit(l.loser, l.winner, std::move(why));
  }

  void membership(const node_id& n, bool up) {
    std::lock_guard<std::mutex> g{m_};
    if (stopped_)
      return;
    if (up)
      send_own(n.name, false);
    else
      drop_claims_of(n, true);
  }

  void local_exited(const std::string& name, const pid& who, const stamp& at) {
    std::lock_guard<std::mutex> g{m_};
    auto i = names_.find(name);
    if (stopped_ || i == names_.end())
      return;
    auto j = std::find_if(i->second.begin(), i->second.end(),
                          [&](const claim& c) { return c.owner == self_ && c.who == who && c.at == at; });
    if (j != i->second.end())
      release_own(i, j);
  }

  runtime& rt_;
  std::shared_ptr<node> node_;
  const node_id self_;
  mutable std::mutex m_;
  table names_;
  uint64_t hlc_ms_ = 0;
  uint32_t hlc_count_ = 0;
  bool stopped_ = false;
};

caf::expected<std::shared_ptr<global_registry>> global_registry::start(runtime& rt, std::shared_ptr<node> n) {
  if (!n)
    return make_error(corvid::errc::bad_argument, "global_registry needs a node");
  auto impl = std::make_shared<global_registry_impl>(rt, std::move(n));
  impl->start();
  return std::make_shared<global_registry>(std::move(impl));
}

global_registry::~global_registry() { stop(); }

void global_registry::stop() {
  if (p_)
    p_->stop();
}

caf::error global_registry::register_name(const std::string& name, const pid& p) {
  return p_->register_name(name, p);
}

caf::error global_registry::unregister_name(const std::string& name) { return p_->unregister_name(name); }

pid global_registry::whereis(const std::string& name) const { return p_->whereis(name); }

std::vector<std::string> global_registry::registered() const { return p_->registered(); }

} // namespace corvid::cluster
