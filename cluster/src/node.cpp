// A runtime as a cluster node: membership (seeds, gossip, redial), and the runtime's
// transport over authenticated connections: sends and calls on the data lane, signals
// (exit, link, monitor, down) on the control lane, and what a lost member leaves behind.

#include "corvid/cluster/node.hpp"

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <caf/all.hpp>

#include "corvid/cluster/connection.hpp"
#include "corvid/cluster/listener.hpp"
#include "corvid/runtime.hpp"
#include "wire_values.hpp"

namespace corvid::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class node_impl : public transport, public std::enable_shared_from_this<node_impl> {
public:
  node_impl(runtime& rt, node_options o) : rt_(rt), opts_(std::move(o)), self_(local_node(rt)) {}

  error start() {
    opts_.wire.node_name = self_.name;
    opts_.wire.incarnation = self_.incarnation;
    if (auto e = validate(opts_.wire))
      return e;
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts_.listen_host, ec);
    if (ec)
      return {errc::invalid_argument, "listen host " + opts_.listen_host + ": " + ec.message()};
    auto l = listener::open(io_, tcp::endpoint{addr, opts_.listen_port}, opts_.wire, handlers_for(false));
    if (!l)
      return l.err();
    listener_ = l.value();
    opts_.wire.listen_address = opts_.listen_host + ":" + std::to_string(listener_->port());
    for (auto& s : opts_.seeds)
      wanted_.insert(s);
    thread_ = std::thread([this] { io_.run(); });
    asio::post(io_, [this] { tick(); });  // stop() joins this thread before `this` goes
    return {};
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    set_transport(rt_, nullptr);
    std::vector<connection> conns;
    std::vector<peer_state> gone;
    {
      std::lock_guard<std::mutex> g{m_};
      for (auto& [name, p] : peers_) {
        if (p.conn)
          conns.push_back(*p.conn);
        gone.push_back(take_down(p));
      }
    }
    for (auto& p : gone)
      settle_down(p);
    asio::post(io_, [this, conns] {
      if (listener_)
        listener_->close();
      for (auto& c : conns)
        c.close();
      timer_.cancel();
      work_.reset();
      // Connections still dialing or in their handshake belong to no member and would keep
      // the loop running: give the closes a moment to reach the peers, then stop it.
      stop_timer_.expires_after(std::chrono::milliseconds(100));
      stop_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
    });
    if (thread_.joinable())
      thread_.join();
  }

  uint16_t port() const { return listener_ ? listener_->port() : 0; }

  std::vector<member_info> members() const {
    std::lock_guard<std::mutex> g{m_};
    std::vector<member_info> out;
    for (auto& [name, p] : peers_) {
      member_info mi;
      mi.id = p.id;
      mi.address = p.address;
      mi.up = p.conn.has_value();
      if (p.conn) {
        mi.round_trip = p.conn->last_round_trip();
        mi.control = p.conn->stats(lane::control);
        mi.data = p.conn->stats(lane::data);
      }
      out.push_back(std::move(mi));
    }
    return out;
  }

  void on_membership(std::function<void(const node_id&, bool)> f) {
    std::lock_guard<std::mutex> g{m_};
    on_member_.push_back(std::move(f));
  }

  node_id self() const { return self_; }

  size_t send_to_members(const v1::Frame& f, const std::string& only, lane l) {
    std::vector<connection> to;
    {
      std::lock_guard<std::mutex> g{m_};
      for (auto& [name, p] : peers_)
        if (p.conn && (only.empty() || name == only))
          to.push_back(*p.conn);
    }
    size_t n = 0;
    for (auto& c : to)
      n += c.send(l, f) ? 0 : 1;
    return n;
  }

  void on_frame(v1::Frame::BodyCase body, std::function<void(const node_id&, v1::Frame&&)> h) {
    std::lock_guard<std::mutex> g{m_};
    on_service_[body] = std::move(h);
  }

  // -- transport: called by the runtime from any thread ------------------------------

  caf::error send(const pid& to, const pid& from, const caf::message& m, reply_handle reply) override {
    auto terms = encode_message(rt_, m);
    if (!terms) {
      reply.fail(terms.error());
      return std::move(terms.error());
    }
    v1::Frame f;
    auto* s = f.mutable_send();
    s->set_to_id(to.local_id());
    *s->mutable_from() = wire_pid(rt_, from);
    put_terms(std::move(*terms), *s->mutable_elements());
    uint64_t ref = 0;
    std::optional<connection> c;
    {
      std::lock_guard<std::mutex> g{m_};
      auto [p, err] = peer_of(to);
      if (err) {
        reply.fail(err);
        return err;
      }
      c = p->conn;
      if (reply) {
        ref = next_ref_++;
        s->set_call_ref(ref);
        p->calls.emplace(ref, std::make_shared<reply_handle>(std::move(reply)));
      }
    }
    if (auto e = c->send(lane::data, std::move(f))) {
      auto err = runtime_error(e);
      if (ref != 0)
        if (auto rh = take_call(to, ref))
          rh->fail(err);
      return err;
    }
    return caf::none;
  }

  void exit(const pid& to, const pid& from, const caf::error& reason) override {
    v1::Frame f;
    auto* x = f.mutable_exit();
    *x->mutable_to() = wire_pid(rt_, to);
    *x->mutable_from() = wire_pid(rt_, from);
    *x->mutable_reason() = wire_error(reason);
    (void) send_control(to, std::move(f));
  }

  void link(const pid& local, const pid& remote) override {
    if (!watch(local, remote, 0, true))
      return deliver_exit(local, remote, make_error(corvid::errc::noconnection, node_name(remote)));
    v1::Frame f;
    *f.mutable_link()->mutable_to() = wire_pid(rt_, remote);
    *f.mutable_link()->mutable_from() = wire_pid(rt_, local);
    (void) send_control(remote, std::move(f));
  }

  void unlink(const pid& local, const pid& remote) override {
    unwatch(local, remote, 0, true);
    v1::Frame f;
    *f.mutable_unlink()->mutable_to() = wire_pid(rt_, remote);
    *f.mutable_unlink()->mutable_from() = wire_pid(rt_, local);
    (void) send_control(remote, std::move(f));
  }

  void monitor(const pid& watcher, const pid& target, uint64_t ref) override {
    if (!watch(watcher, target, ref, false))
      return deliver_down(watcher, ref, target, make_error(corvid::errc::noconnection, node_name(target)));
    v1::Frame f;
    auto* m = f.mutable_monitor();
    *m->mutable_to() = wire_pid(rt_, target);
    *m->mutable_from() = wire_pid(rt_, watcher);
    m->set_ref(ref);
    (void) send_control(target, std::move(f));
  }

  void demonitor(const pid& watcher, const pid& target, uint64_t ref) override {
    unwatch(watcher, target, ref, false);
    v1::Frame f;
    auto* m = f.mutable_demonitor();
    *m->mutable_to() = wire_pid(rt_, target);
    *m->mutable_from() = wire_pid(rt_, watcher);
    m->set_ref(ref);
    (void) send_control(target, std::move(f));
  }

  void linked_exited(const pid& local, const pid& remote, const caf::error& reason) override {
    unwatch(local, remote, 0, true);
    exit(remote, local, reason);
  }

private:
  // A local process watching a remote one (link or monitor), kept to settle a lost member.
  struct watch_entry {
    pid local, remote;
    uint64_t ref = 0;
    bool is_link = false;
  };
  // A hook on a local process on behalf of a remote watcher.
  struct served_entry {
    pid target, watcher;
    uint64_t ref = 0;
    bool is_link = false;
    uint64_t hook = 0;
  };
  struct peer_state {
    node_id id;
    std::string address;
    std::optional<connection> conn;
    bool conn_dialed = false;  // this node dialed `conn` (ties between simultaneous dials)
    std::map<uint64_t, std::shared_ptr<reply_handle>> calls;
    std::vector<watch_entry> watches;
    std::map<uint64_t, served_entry> served;
  };

  // -- membership and connections ----------------------------------------------------

  // `dialed_address`: where a dialed connection went (an acceptor's Hello carries no listen
  // address: its listener copied the options before the port was known).
  handlers handlers_for(bool dialed, std::string dialed_address = {}) {
    handlers h;
    std::weak_ptr<node_impl> w = shared_from_this();
    h.on_up = [w, dialed, dialed_address](const connection& c) {
      if (auto me = w.lock())
        me->up(c, dialed, dialed_address);
    };
    h.on_frame = [w](const connection& c, lane, v1::Frame&& f) {
      if (auto me = w.lock())
        me->frame(c, std::move(f));
    };
    h.on_closed = [w](const connection& c, const error& e) {
      if (auto me = w.lock())
        me->closed(c, e);
    };
    return h;
  }

  void up(const connection& c, bool dialed, const std::string& dialed_address) {
    auto pi = c.peer();
    if (!pi)
      return;
    std::optional<peer_state> replaced;
    std::vector<std::function<void(const node_id&, bool)>> cb;
    {
      std::lock_guard<std::mutex> g{m_};
      auto& p = peers_[pi->node_name];
      if (p.conn && p.id.incarnation == pi->incarnation) {
        // Both sides dialed at once. Both keep the connection dialed by the smaller name.
        auto smaller = std::min(self_.name, pi->node_name);
        auto new_dialer = dialed ? self_.name : pi->node_name;
        auto old_dialer = p.conn_dialed ? self_.name : pi->node_name;
        if (new_dialer != smaller || old_dialer == smaller) {
          c.close();
          return;
        }
        p.conn->close();  // its on_closed finds no peer: the member stays up
      } else if (p.conn || (p.id.incarnation != 0 && p.id.incarnation != pi->incarnation)) {
        replaced = take_down(p);  // a restarted node: its old processes are gone
      }
      p.id = {pi->node_name, pi->incarnation};
      p.address = pi->listen_address.empty() ? dialed_address : pi->listen_address;
      p.conn = c;
      p.conn_dialed = dialed;
      if (!p.address.empty())
        wanted_.insert(p.address);
      cb = on_member_;
    }
    if (replaced) {
      settle_down(*replaced);
      for (auto& f : cb)
        f(replaced->id, false);
    }
    gossip(c);
    telemetry_member("corvid.cluster.node_up", {pi->node_name, pi->incarnation});
    for (auto& f : cb)
      f({pi->node_name, pi->incarnation}, true);
  }

  void closed(const connection& c, const error& e) {
    std::optional<peer_state> gone;
    std::vector<std::function<void(const node_id&, bool)>> cb;
    {
      std::lock_guard<std::mutex> g{m_};
      for (auto& [name, p] : peers_) {
        if (p.conn && *p.conn == c) {
          gone = take_down(p);
          cb = on_member_;
          break;
        }
      }
    }
    if (!gone)
      return;  // a dial or handshake that failed, or a duplicate we closed
    settle_down(*gone);
    if (telemetry::wanted("corvid.cluster.node_down"))
      telemetry::execute({"corvid.cluster.node_down", {},
                          {{"node", gone->id.name}, {"reason", to_string(e)}}});
    for (auto& f : cb)
      f(gone->id, false);
  }

  // Empties a peer's state (under the lock); settle_down then tells the processes.
  peer_state take_down(peer_state& p) {
    peer_state out;
    out.id = p.id;
    out.calls.swap(p.calls);
    out.watches.swap(p.watches);
    out.served.swap(p.served);
    p.conn.reset();
    return out;
  }

  void settle_down(peer_state& p) {
    auto why = make_error(corvid::errc::noconnection, p.id.name);
    for (auto& [ref, rh] : p.calls)
      rh->fail(why);
    for (auto& w : p.watches) {
      if (w.is_link)
        deliver_exit(w.local, w.remote, why);
      else
        deliver_down(w.local, w.ref, w.remote, why);
    }
    for (auto& [k, s] : p.served)
      cancel_on_exit_of(s.target, s.hook);
  }

  // Tells a new member whom this node knows, so the mesh completes itself.
  void gossip(const connection& c) {
    v1::Frame f;
    auto* ms = f.mutable_members();
    std::lock_guard<std::mutex> g{m_};
    for (auto& [name, p] : peers_) {
      if (!p.conn || p.address.empty())
        continue;
      auto* m = ms->add_members();
      m->set_name(name);
      m->set_incarnation(p.id.incarnation);
      m->set_address(p.address);
      m->set_state(v1::Member::ALIVE);
    }
    (void) c.send(lane::control, std::move(f));
  }

  // Dials every wanted address that has no connection, every `redial` interval.
  void tick() {
    if (stopped_)
      return;
    std::vector<std::string> to_dial;
    {
      std::lock_guard<std::mutex> g{m_};
      std::set<std::string> connected;
      for (auto& [name, p] : peers_)
        if (p.conn)
          connected.insert(p.address);
      for (auto& a : wanted_)
        if (a != opts_.wire.listen_address && !connected.count(a) && !dialing_.count(a))
          to_dial.push_back(a);
    }
    for (auto& a : to_dial)
      dial(a);
    timer_.expires_after(opts_.redial);
    timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      if (auto me = w.lock(); me && !ec)
        me->tick();
    });
  }

  void dial(const std::string& address) {
    auto colon = address.rfind(':');
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address.substr(0, colon == std::string::npos ? 0 : colon), ec);
    if (colon == std::string::npos || ec)
      return;  // not host:port: nothing to dial (validated at start for seeds)
    auto port = static_cast<uint16_t>(std::stoul(address.substr(colon + 1)));
    auto h = handlers_for(true, address);
    auto on_closed = h.on_closed;
    std::weak_ptr<node_impl> w = shared_from_this();
    h.on_closed = [w, address, on_closed](const connection& c, const error& e) {
      if (auto me = w.lock()) {
        std::lock_guard<std::mutex> g{me->m_};
        me->dialing_.erase(address);
      }
      on_closed(c, e);
    };
    auto on_up = h.on_up;
    h.on_up = [w, address, on_up](const connection& c) {
      if (auto me = w.lock()) {
        std::lock_guard<std::mutex> g{me->m_};
        me->dialing_.erase(address);
      }
      on_up(c);
    };
    {
      std::lock_guard<std::mutex> g{m_};
      dialing_.insert(address);
    }
    auto c = connection::dial(io_, tcp::endpoint{addr, port}, opts_.wire, h);
    if (!c) {
      std::lock_guard<std::mutex> g{m_};
      dialing_.erase(address);
    }
  }

  // -- frames from a peer (on the io thread) -----------------------------------------

  void frame(const connection& c, v1::Frame&& f) {
    switch (f.body_case()) {
      case v1::Frame::kSend: return on_send(c, *f.mutable_send());
      case v1::Frame::kReply: return on_reply(c, *f.mutable_reply());
      case v1::Frame::kExit: return on_exit(c, f.exit());
      case v1::Frame::kLink: return serve(c, f.link().to(), f.link().from(), 0, true);
      case v1::Frame::kUnlink: return unserve(c, f.unlink().to(), f.unlink().from(), 0, true);
      case v1::Frame::kMonitor: return serve(c, f.monitor().to(), f.monitor().from(), f.monitor().ref(), false);
      case v1::Frame::kDemonitor:
        return unserve(c, f.demonitor().to(), f.demonitor().from(), f.demonitor().ref(), false);
      case v1::Frame::kDown: return on_down(c, f.down());
      case v1::Frame::kMembers: return on_members(f.members());
      case v1::Frame::kHeartbeat: return;  // the connection's
      default: return on_service(c, std::move(f));
    }
  }

  void on_send(const connection& c, v1::Send& s) {
    auto to = remote_pid(rt_, self_, s.to_id());
    auto from = runtime_pid(rt_, s.from());
    auto terms = take_terms(*s.mutable_elements());
    reply_handle reply;
    if (s.has_call_ref()) {
      auto ref = s.call_ref();
      // The reply may come long after this connection is gone (or this node): name the peer,
      // never hold the connection itself.
      reply = reply_to([w = weak_from_this(), peer = peer_id(c), ref](caf::expected<caf::message> r) {
        if (auto me = w.lock())
          me->answer(peer, ref, std::move(r));
      });
    }
    auto msg = decode_message(rt_, terms);
    if (!msg)
      return reply.fail(msg.error());
    (void) deliver_message(to, from, std::move(*msg), std::move(reply));
  }

  void answer(const node_id& peer, uint64_t ref, caf::expected<caf::message> r) {
    auto c = conn_of(peer);
    if (!c)
      return;  // the caller's node is gone: its call failed there already
    v1::Frame f;
    auto* rep = f.mutable_reply();
    rep->set_call_ref(ref);
    if (r) {
      auto terms = encode_message(rt_, *r);
      if (!terms) {
        *rep->mutable_error() = wire_error(terms.error());
      } else {
        put_terms(std::move(*terms), *rep->mutable_ok()->mutable_elements());
      }
    } else {
      *rep->mutable_error() = wire_error(r.error());
    }
    (void) c->send(lane::data, std::move(f));
  }

  void on_reply(const connection& c, v1::Reply& r) {
    std::shared_ptr<reply_handle> rh;
    {
      std::lock_guard<std::mutex> g{m_};
      auto p = peer_by_conn(c);
      if (!p)
        return;
      auto i = p->calls.find(r.call_ref());
      if (i == p->calls.end())
        return;  // the caller gave up already
      rh = std::move(i->second);
      p->calls.erase(i);
    }
    if (r.has_error())
      return rh->fail(runtime_error(r.error()));
    auto m = decode_message(rt_, take_terms(*r.mutable_ok()->mutable_elements()));
    if (m)
      rh->deliver_message(std::move(*m));
    else
      rh->fail(m.error());
  }

  void on_exit(const connection& c, const v1::Exit& x) {
    auto to = runtime_pid(rt_, x.to());
    auto from = runtime_pid(rt_, x.from());
    auto reason = runtime_error(x.reason());
    if (reason == caf::exit_reason::kill || !from)
      return corvid::exit(to, reason);  // exit/2: kill stays untrappable
    // From a linked process, or exit/2 from a remote process: trappable, with its sender.
    {
      std::lock_guard<std::mutex> g{m_};
      if (auto p = peer_by_conn(c)) {
        std::erase_if(p->watches, [&](const watch_entry& w) { return w.is_link && w.local == to && w.remote == from; });
        for (auto i = p->served.begin(); i != p->served.end(); ++i) {
          if (i->second.is_link && i->second.target == to && i->second.watcher == from) {
            cancel_on_exit_of(to, i->second.hook);
            p->served.erase(i);
            break;
          }
        }
      }
    }
    deliver_exit(to, from, std::move(reason));
  }

  // A remote process links to or monitors a local one: hook its exit.
  void serve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link) {
    auto target = runtime_pid(rt_, target_w);
    auto watcher = runtime_pid(rt_, watcher_w);
    uint64_t key;
    {
      std::lock_guard<std::mutex> g{m_};
      key = next_ref_++;
    }
    auto hook = on_exit_of(target, [w = weak_from_this(), peer = peer_id(c), key](const pid&, const caf::error& why) {
      if (auto me = w.lock())
        me->served_exited(peer, key, why);
    });
    if (!hook)
      return notify_watcher(c, target, watcher, ref, is_link, reason::noproc());
    std::lock_guard<std::mutex> g{m_};
    auto p = peer_by_conn(c);
    if (!p) {
      cancel_on_exit_of(target, *hook);
      return;
    }
    p->served.emplace(key, served_entry{target, watcher, ref, is_link, *hook});
  }

  void unserve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link) {
    auto target = runtime_pid(rt_, target_w);
    auto watcher = runtime_pid(rt_, watcher_w);
    std::lock_guard<std::mutex> g{m_};
    auto p = peer_by_conn(c);
    if (!p)
      return;
    for (auto i = p->served.begin(); i != p->served.end(); ++i) {
      auto& s = i->second;
      if (s.target == target && s.watcher == watcher && s.ref == ref && s.is_link == is_link) {
        cancel_on_exit_of(target, s.hook);
        p->served.erase(i);
        return;
      }
    }
  }

  void served_exited(const node_id& peer, uint64_t key, const caf::error& why) {
    served_entry s;
    connection c{nullptr};
    {
      std::lock_guard<std::mutex> g{m_};
      auto i = peers_.find(peer.name);
      if (i == peers_.end() || i->second.id.incarnation != peer.incarnation || !i->second.conn)
        return;
      auto j = i->second.served.find(key);
      if (j == i->second.served.end())
        return;
      s = j->second;
      i->second.served.erase(j);
      c = *i->second.conn;
    }
    notify_watcher(c, s.target, s.watcher, s.ref, s.is_link, why);
  }

  void notify_watcher(const connection& c, const pid& target, const pid& watcher, uint64_t ref, bool is_link,
                      const caf::error& why) {
    v1::Frame f;
    if (is_link) {
      auto* x = f.mutable_exit();
      *x->mutable_to() = wire_pid(rt_, watcher);
      *x->mutable_from() = wire_pid(rt_, target);
      *x->mutable_reason() = wire_error(why);
    } else {
      auto* d = f.mutable_down();
      d->set_ref(ref);
      *d->mutable_who() = wire_pid(rt_, target);
      *d->mutable_watcher() = wire_pid(rt_, watcher);
      *d->mutable_reason() = wire_error(why);
    }
    (void) c.send(lane::control, std::move(f));
  }

  void on_down(const connection& c, const v1::Down& d) {
    auto watcher = runtime_pid(rt_, d.watcher());
    auto who = runtime_pid(rt_, d.who());
    {
      std::lock_guard<std::mutex> g{m_};
      if (auto p = peer_by_conn(c))
        std::erase_if(p->watches, [&](const watch_entry& w) {
          return !w.is_link && w.local == watcher && w.ref == d.ref();
        });
    }
    deliver_down(watcher, d.ref(), who, runtime_error(d.reason()));
  }

  void on_service(const connection& c, v1::Frame&& f) {
    std::function<void(const node_id&, v1::Frame&&)> h;
    node_id from;
    {
      std::lock_guard<std::mutex> g{m_};
      auto p = peer_by_conn(c);
      auto i = on_service_.find(f.body_case());
      if (!p || i == on_service_.end())
        return;  // a body no service here handles (a newer minor's): skipped
      h = i->second;
      from = p->id;
    }
    h(from, std::move(f));
  }

  void on_members(const v1::Members& ms) {
    std::lock_guard<std::mutex> g{m_};
    for (auto& m : ms.members())
      if (m.name() != self_.name && !m.address().empty())
        wanted_.insert(m.address());
  }

  // -- helpers (callers hold m_ where noted) ------------------------------------------

  // The connected peer that holds `remote`, or why not (lock held).
  std::pair<peer_state*, caf::error> peer_of(const pid& remote) {
    auto n = node_of(remote);
    if (!n)
      return {nullptr, make_error(corvid::errc::noconnection, "unknown node of " + remote.to_string())};
    auto i = peers_.find(n->name);
    if (i == peers_.end() || !i->second.conn)
      return {nullptr, make_error(corvid::errc::noconnection, n->name)};
    if (i->second.id.incarnation != n->incarnation)
      return {nullptr, make_error(corvid::errc::down, "a process of an earlier incarnation of " + n->name)};
    return {&i->second, caf::none};
  }

  // Who is at the other end of `c` (empty if it belongs to no member).
  node_id peer_id(const connection& c) {
    std::lock_guard<std::mutex> g{m_};
    auto p = peer_by_conn(c);
    return p ? p->id : node_id{};
  }

  // The connection to `peer` if that incarnation is still a member.
  std::optional<connection> conn_of(const node_id& peer) {
    std::lock_guard<std::mutex> g{m_};
    auto i = peers_.find(peer.name);
    if (i == peers_.end() || i->second.id.incarnation != peer.incarnation)
      return std::nullopt;
    return i->second.conn;
  }

  peer_state* peer_by_conn(const connection& c) {
    for (auto& [name, p] : peers_)
      if (p.conn && *p.conn == c)
        return &p;
    return nullptr;
  }

  std::shared_ptr<reply_handle> take_call(const pid& to, uint64_t ref) {
    std::lock_guard<std::mutex> g{m_};
    auto n = node_of(to);
    if (!n)
      return nullptr;
    auto i = peers_.find(n->name);
    if (i == peers_.end())
      return nullptr;
    auto j = i->second.calls.find(ref);
    if (j == i->second.calls.end())
      return nullptr;
    auto rh = std::move(j->second);
    i->second.calls.erase(j);
    return rh;
  }

  caf::error send_control(const pid& remote, v1::Frame f) {
    std::optional<connection> c;
    {
      std::lock_guard<std::mutex> g{m_};
      auto [p, err] = peer_of(remote);
      if (err)
        return err;
      c = p->conn;
    }
    if (auto e = c->send(lane::control, std::move(f)))
      return runtime_error(e);
    return caf::none;
  }

  bool watch(const pid& local, const pid& remote, uint64_t ref, bool is_link) {
    std::lock_guard<std::mutex> g{m_};
    auto [p, err] = peer_of(remote);
    if (err)
      return false;
    p->watches.push_back({local, remote, ref, is_link});
    return true;
  }

  void unwatch(const pid& local, const pid& remote, uint64_t ref, bool is_link) {
    std::lock_guard<std::mutex> g{m_};
    auto [p, err] = peer_of(remote);
    if (err)
      return;
    std::erase_if(p->watches, [&](const watch_entry& w) {
      return w.local == local && w.remote == remote && w.ref == ref && w.is_link == is_link;
    });
  }

  static std::string node_name(const pid& p) {
    auto n = node_of(p);
    return n ? n->name : p.to_string();
  }

  void telemetry_member(const char* name, const node_id& n) {
    if (telemetry::wanted(name))
      telemetry::execute({name, {}, {{"node", n.name}, {"incarnation", std::to_string(n.incarnation)}}});
  }

  runtime& rt_;
  node_options opts_;
  node_id self_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  asio::steady_timer timer_{io_};
  asio::steady_timer stop_timer_{io_};
  std::thread thread_;
  std::optional<listener> listener_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex m_;
  std::map<std::string, peer_state> peers_;  // by node name
  std::set<std::string> wanted_;             // addresses to stay connected to
  std::set<std::string> dialing_;
  uint64_t next_ref_ = 1;
  std::vector<std::function<void(const node_id&, bool)>> on_member_;
  std::map<int, std::function<void(const node_id&, v1::Frame&&)>> on_service_;
};

result<std::shared_ptr<node>> node::start(runtime& rt, node_options opts) {
  auto impl = std::make_shared<node_impl>(rt, std::move(opts));
  if (auto e = impl->start())
    return e;
  set_transport(rt, impl);
  return std::make_shared<node>(impl);
}

node::~node() { stop(); }

void node::stop() {
  if (p_)
    p_->stop();
}

uint16_t node::port() const { return p_->port(); }

std::vector<member_info> node::members() const { return p_->members(); }

void node::on_membership(std::function<void(const node_id&, bool)> f) { p_->on_membership(std::move(f)); }

node_id node::self() const { return p_->self(); }

size_t node::send_to_members(const v1::Frame& f, const std::string& only, lane l) {
  return p_->send_to_members(f, only, l);
}

void node::on_frame(v1::Frame::BodyCase body, std::function<void(const node_id&, v1::Frame&&)> h) {
  p_->on_frame(body, std::move(h));
}

} // namespace corvid::cluster
