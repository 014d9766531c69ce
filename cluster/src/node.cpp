// A runtime as a cluster node: membership (seeds, gossip, redial), and the runtime's
// transport over authenticated connections: sends and calls on the data lane, signals
// (exit, link, monitor, down) on the control lane, and what a lost member leaves behind.
#include "node_impl.hpp"

namespace corvid::cluster {

error node_impl::start() {
  opts_.wire.node_name = self_.name;
  opts_.wire.incarnation = self_.incarnation;
  if (auto e = validate(opts_.wire))
    return e;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(opts_.listen_host, ec);
  if (ec)
    return {errc::invalid_argument, "listen host " + opts_.listen_host + ": " + ec.message()};
  // Accepted connections announce it too (":0" becomes the bound port).
  opts_.wire.listen_address =
    opts_.advertise.empty() ? opts_.listen_host + ":" + std::to_string(opts_.listen_port) : opts_.advertise;
  auto l = listener::open(io_, tcp::endpoint{addr, opts_.listen_port}, opts_.wire, handlers_for(false));
  if (!l)
    return l.err();
  listener_ = l.value();
  if (opts_.advertise.empty())
    opts_.wire.listen_address = opts_.listen_host + ":" + std::to_string(listener_->port());
  for (auto& s : opts_.seeds)
    wanted_.insert(s);
  if (!opts_.dns_name.empty() && opts_.dns_port == 0)
    return {errc::invalid_argument, "dns_name " + opts_.dns_name + " needs a dns_port"};
  thread_ = std::thread([this] { io_.run(); });
  if (opts_.phi_threshold > 0) {
    auto check = std::max(std::chrono::milliseconds(10), std::min(opts_.wire.heartbeat_interval / 4,
                                                                  std::chrono::milliseconds(50)));
    every(check, [this] { suspect_check(); });  // stop() joins the io thread before `this` goes
  }
  asio::post(io_, [this] { tick(); });  // stop() joins this thread before `this` goes
  return {};
}

void node_impl::stop() {
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
    resolver_.cancel();
    for (auto& t : periodic_)
      t->cancel();
    work_.reset();
    // Connections still dialing or in their handshake belong to no member and would keep
    // the loop running: give the closes a moment to reach the peers, then stop it.
    stop_timer_.expires_after(std::chrono::milliseconds(100));
    stop_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
  });
  if (thread_.joinable())
    thread_.join();
}

std::vector<member_info> node_impl::members() const {
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

void node_impl::on_membership(std::function<void(const node_id&, bool)> f) {
  std::lock_guard<std::mutex> g{m_};
  on_member_.push_back(std::move(f));
}

size_t node_impl::send_to_members(const v1::Frame& f, const std::string& only, lane l) {
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

void node_impl::on_frame(v1::Frame::BodyCase body, std::function<void(const node_id&, v1::Frame&&)> h) {
  std::lock_guard<std::mutex> g{m_};
  on_service_[body] = std::move(h);
}

void node_impl::every(std::chrono::milliseconds interval, std::function<void()> f) {
  auto t = std::make_shared<asio::steady_timer>(io_);
  asio::post(io_, [this, t, interval, f = std::move(f)]() mutable {
    if (stopped_)
      return;
    periodic_.push_back(t);
    arm(t, interval, std::move(f));
  });
}

// `address`: where a dialed connection went (the peer's listen address if its Hello has none).
handlers node_impl::handlers_for(bool dialed, std::string address) {
  handlers h;
  std::weak_ptr<node_impl> w = shared_from_this();
  h.on_up = [w, dialed, address](const connection& c) {
    if (auto me = w.lock())
      me->up(c, dialed, address);
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

void node_impl::up(const connection& c, bool dialed, const std::string& dialed_address) {
  auto pi = c.peer();
  if (!pi)
    return;
  if (pi->node_name == self_.name) {
    c.close();  // dialed ourselves (a DNS name lists every member, this one too)
    return;
  }
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
    p.fd = new_detector();
    p.fd->heartbeat(now());  // the handshake just ended: a sign of life
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

void node_impl::closed(const connection& c, const error& e) {
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
node_impl::peer_state node_impl::take_down(peer_state& p) {
  peer_state out;
  out.id = p.id;
  out.calls.swap(p.calls);
  out.watches.swap(p.watches);
  out.served.swap(p.served);
  p.conn.reset();
  p.fd.reset();
  p.probe_ref = 0;
  return out;
}

void node_impl::settle_down(peer_state& p) {
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
void node_impl::gossip(const connection& c) {
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
void node_impl::tick() {
  if (stopped_)
    return;
  std::vector<std::string> to_dial;
  {
    std::lock_guard<std::mutex> g{m_};
    std::set<std::string> connected;
    for (auto& [name, p] : peers_)
      if (p.conn)
        connected.insert(p.address);
    // A seed or DNS address that led to a member that is up (it may advertise another).
    for (auto& [address, name] : reached_)
      if (auto i = peers_.find(name); i != peers_.end() && i->second.conn)
        connected.insert(address);
    for (auto* set : {&wanted_, &dns_addresses_})
      for (auto& a : *set)
        if (a != opts_.wire.listen_address && !self_addresses_.count(a) && !connected.count(a) && !dialing_.count(a))
          to_dial.push_back(a);
  }
  resolve();
  for (auto& a : to_dial)
    dial(a);
  timer_.expires_after(opts_.redial);
  timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
    if (auto me = w.lock(); me && !ec)
      me->tick();
  });
}

// Re-resolves the DNS name when due; its current records replace the previous ones.
void node_impl::resolve() {
  if (opts_.dns_name.empty() || std::chrono::steady_clock::now() < next_resolve_)
    return;
  next_resolve_ = std::chrono::steady_clock::now() + opts_.dns_interval;
  resolver_.async_resolve(opts_.dns_name, std::to_string(opts_.dns_port),
                          [w = weak_from_this()](const boost::system::error_code& ec, tcp::resolver::results_type rs) {
                            auto me = w.lock();
                            if (!me || me->stopped_)
                              return;
                            if (ec) {
                              if (telemetry::wanted("corvid.cluster.dns_error"))
                                telemetry::execute({"corvid.cluster.dns_error", {},
                                                    {{"name", me->opts_.dns_name}, {"error", ec.message()}}});
                              return;  // keep what the last resolution found
                            }
                            std::set<std::string> found;
                            for (auto& r : rs)
                              found.insert(r.endpoint().address().to_string() + ":" + std::to_string(r.endpoint().port()));
                            std::lock_guard<std::mutex> g{me->m_};
                            me->dns_addresses_ = std::move(found);
                          });
}

void node_impl::arm(const std::shared_ptr<asio::steady_timer>& t, std::chrono::milliseconds interval,
         std::function<void()> f) {
  t->expires_after(interval);
  t->async_wait([w = weak_from_this(), t, interval, f = std::move(f)](const boost::system::error_code& ec) mutable {
    auto me = w.lock();
    if (!me || ec || me->stopped_)
      return;
    f();
    me->arm(t, interval, std::move(f));
  });
}

void node_impl::dial(const std::string& address) {
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
      if (auto pi = c.peer(); pi && pi->node_name == me->self_.name)
        me->self_addresses_.insert(address);  // never dialed again
      else if (pi)
        me->reached_[address] = pi->node_name;
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

void node_impl::frame(const connection& c, v1::Frame&& f) {
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
    case v1::Frame::kHeartbeat: return heard(c);
    case v1::Frame::kProbe: return on_probe(c, f.probe());
    case v1::Frame::kProbeAck: return on_probe_ack(f.probe_ack());
    default: return on_service(c, std::move(f));
  }
}

void node_impl::on_service(const connection& c, v1::Frame&& f) {
  std::function<void(const node_id&, v1::Frame&&)> h;
  node_id from;
  {
    std::lock_guard<std::mutex> g{m_};
    // By identity, not by connection: a duplicate connection being closed (both sides
    // dialed at once) may still carry a peer's frames, and they are as authentic.
    auto pi = c.peer();
    auto p = pi ? peers_.find(pi->node_name) : peers_.end();
    auto i = on_service_.find(f.body_case());
    if (p == peers_.end() || p->second.id.incarnation != pi->incarnation || i == on_service_.end())
      return;  // a stranger's, or a body no service here handles (a newer minor's): skipped
    h = i->second;
    from = p->second.id;
  }
  h(from, std::move(f));
}

void node_impl::on_members(const v1::Members& ms) {
  std::lock_guard<std::mutex> g{m_};
  for (auto& m : ms.members())
    if (m.name() != self_.name && !m.address().empty())
      wanted_.insert(m.address());
}

// The connected peer that holds `remote`, or why not (lock held).
std::pair<node_impl::peer_state*, caf::error> node_impl::peer_of(const pid& remote) {
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
node_id node_impl::peer_id(const connection& c) {
  std::lock_guard<std::mutex> g{m_};
  auto p = peer_by_conn(c);
  return p ? p->id : node_id{};
}

// The connection to `peer` if that incarnation is still a member.
std::optional<connection> node_impl::conn_of(const node_id& peer) {
  std::lock_guard<std::mutex> g{m_};
  auto i = peers_.find(peer.name);
  if (i == peers_.end() || i->second.id.incarnation != peer.incarnation)
    return std::nullopt;
  return i->second.conn;
}

node_impl::peer_state* node_impl::peer_by_conn(const connection& c) {
  for (auto& [name, p] : peers_)
    if (p.conn && *p.conn == c)
      return &p;
  return nullptr;
}

std::shared_ptr<reply_handle> node_impl::take_call(const pid& to, uint64_t ref) {
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

caf::error node_impl::send_control(const pid& remote, v1::Frame f) {
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

bool node_impl::watch(const pid& local, const pid& remote, uint64_t ref, bool is_link) {
  std::lock_guard<std::mutex> g{m_};
  auto [p, err] = peer_of(remote);
  if (err)
    return false;
  p->watches.push_back({local, remote, ref, is_link});
  return true;
}

void node_impl::unwatch(const pid& local, const pid& remote, uint64_t ref, bool is_link) {
  std::lock_guard<std::mutex> g{m_};
  auto [p, err] = peer_of(remote);
  if (err)
    return;
  std::erase_if(p->watches, [&](const watch_entry& w) {
    return w.local == local && w.remote == remote && w.ref == ref && w.is_link == is_link;
  });
}

std::string node_impl::node_name(const pid& p) {
  auto n = node_of(p);
  return n ? n->name : p.to_string();
}

void node_impl::telemetry_member(const char* name, const node_id& n) {
  if (telemetry::wanted(name))
    telemetry::execute({name, {}, {{"node", n.name}, {"incarnation", std::to_string(n.incarnation)}}});
}

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

void node::every(std::chrono::milliseconds interval, std::function<void()> f) { p_->every(interval, std::move(f)); }

void node::on_frame(v1::Frame::BodyCase body, std::function<void(const node_id&, v1::Frame&&)> h) {
  p_->on_frame(body, std::move(h));
}

} // namespace corvid::cluster
