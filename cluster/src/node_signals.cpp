// The runtime's transport over a node's connections: sends and calls on the data lane,
// exit, link, monitor and down on the control lane, and the frames that carry them in.
#include "node_impl.hpp"

namespace corvid::cluster {

caf::error node_impl::send(const pid& to, const pid& from, const caf::message& m, reply_handle reply) {
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

void node_impl::exit(const pid& to, const pid& from, const caf::error& reason) {
  v1::Frame f;
  auto* x = f.mutable_exit();
  *x->mutable_to() = wire_pid(rt_, to);
  *x->mutable_from() = wire_pid(rt_, from);
  *x->mutable_reason() = wire_error(reason);
  (void) send_control(to, std::move(f));
}

void node_impl::link(const pid& local, const pid& remote) {
  if (!watch(local, remote, 0, true))
    return deliver_exit(local, remote, make_error(corvid::errc::noconnection, node_name(remote)));
  v1::Frame f;
  *f.mutable_link()->mutable_to() = wire_pid(rt_, remote);
  *f.mutable_link()->mutable_from() = wire_pid(rt_, local);
  (void) send_control(remote, std::move(f));
}

void node_impl::unlink(const pid& local, const pid& remote) {
  unwatch(local, remote, 0, true);
  v1::Frame f;
  *f.mutable_unlink()->mutable_to() = wire_pid(rt_, remote);
  *f.mutable_unlink()->mutable_from() = wire_pid(rt_, local);
  (void) send_control(remote, std::move(f));
}

void node_impl::monitor(const pid& watcher, const pid& target, uint64_t ref) {
  if (!watch(watcher, target, ref, false))
    return deliver_down(watcher, ref, target, make_error(corvid::errc::noconnection, node_name(target)));
  v1::Frame f;
  auto* m = f.mutable_monitor();
  *m->mutable_to() = wire_pid(rt_, target);
  *m->mutable_from() = wire_pid(rt_, watcher);
  m->set_ref(ref);
  (void) send_control(target, std::move(f));
}

void node_impl::demonitor(const pid& watcher, const pid& target, uint64_t ref) {
  unwatch(watcher, target, ref, false);
  v1::Frame f;
  auto* m = f.mutable_demonitor();
  *m->mutable_to() = wire_pid(rt_, target);
  *m->mutable_from() = wire_pid(rt_, watcher);
  m->set_ref(ref);
  (void) send_control(target, std::move(f));
}

void node_impl::linked_exited(const pid& local, const pid& remote, const caf::error& reason) {
  unwatch(local, remote, 0, true);
  exit(remote, local, reason);
}

void node_impl::on_send(const connection& c, v1::Send& s) {
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

void node_impl::answer(const node_id& peer, uint64_t ref, caf::expected<caf::message> r) {
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

void node_impl::on_reply(const connection& c, v1::Reply& r) {
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

void node_impl::on_exit(const connection& c, const v1::Exit& x) {
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
void node_impl::serve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link) {
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

void node_impl::unserve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link) {
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

void node_impl::served_exited(const node_id& peer, uint64_t key, const caf::error& why) {
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

void node_impl::notify_watcher(const connection& c, const pid& target, const pid& watcher, uint64_t ref, bool is_link,
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

void node_impl::on_down(const connection& c, const v1::Down& d) {
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

} // namespace corvid::cluster
