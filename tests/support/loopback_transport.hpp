#pragma once
// Two runtimes in one OS process joined as two nodes: a transport that passes every message
// through the codec registry (as a real cluster would) and keeps links and monitors across.
// `disconnect()` plays a lost node. For tests of code that must work across nodes.
//
//   corvid::runtime a{{.node = "a@test"}}, b{{.node = "b@test"}};
//   auto net = corvid::test::loopback::join(a, b);
//   corvid::pid far = corvid::remote_pid(a, corvid::local_node(b), pid_in_b.id());

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "corvid/runtime.hpp"
#include "corvid/runtime/codec.hpp"
#include "corvid/runtime/transport.hpp"

namespace corvid::test {

class loopback : public transport, public std::enable_shared_from_this<loopback> {
public:
  loopback(runtime& self, runtime& peer) : self_(self), peer_(peer) {}

  /// Connects a and b both ways; keep the pair alive as long as the nodes talk.
  static std::pair<std::shared_ptr<loopback>, std::shared_ptr<loopback>> join(runtime& a, runtime& b) {
    auto ab = std::make_shared<loopback>(a, b);
    auto ba = std::make_shared<loopback>(b, a);
    ab->other_ = ba;
    ba->other_ = ab;
    set_transport(a, ab);
    set_transport(b, ba);
    return {ab, ba};
  }

  /// The peer node is lost: links get exit noconnection, monitors down noconnection, calls fail.
  void disconnect() {
    std::map<uint64_t, watch> ws;
    std::map<uint64_t, std::shared_ptr<reply_handle>> calls;
    {
      std::lock_guard<std::mutex> g{m_};
      up_ = false;
      ws.swap(watches_);
      calls.swap(calls_);
    }
    for (auto& [k, w] : ws) {
      cancel_on_exit_of(w.target_in_peer, w.hook);
      auto why = make_error(errc::noconnection, local_node(peer_).name);
      if (w.is_link)
        deliver_exit(w.local, w.target, why);
      else
        deliver_down(w.local, w.ref, w.target, why);
    }
    for (auto& [k, rh] : calls)
      rh->fail(make_error(errc::noconnection, local_node(peer_).name));
    if (auto o = other_.lock())
      o->mark_down();
  }

  caf::error send(const pid& to, const pid& from, const caf::message& m, reply_handle reply) override {
    if (!is_up())
      return fail(reply, make_error(errc::noconnection, local_node(peer_).name));
    auto terms = encode_message(self_, m);
    if (!terms)
      return fail(reply, terms.error());
    auto from_terms = encode_message(self_, caf::make_message(from));
    // --- the wire ---
    auto msg = decode_message(peer_, *terms);
    auto from_peer = decode_message(peer_, *from_terms);
    if (!msg || !from_peer)
      return fail(reply, msg ? from_peer.error() : msg.error());
    reply_handle back;
    if (reply) {
      auto id = next_++;
      {
        std::lock_guard<std::mutex> g{m_};
        calls_.emplace(id, std::make_shared<reply_handle>(std::move(reply)));
      }
      back = reply_to([me = weak_from_this(), id](caf::expected<caf::message> r) {
        if (auto t = me.lock())
          t->answer(id, std::move(r));
      });
    }
    return deliver_message(in_peer(to), from_peer->get_as<pid>(0), std::move(*msg), std::move(back));
  }

  void exit(const pid& to, const pid&, const caf::error& reason) override {
    if (is_up())
      corvid::exit(in_peer(to), reason);
  }

  void link(const pid& local, const pid& remote) override { watch_peer(local, remote, 0, true); }
  void unlink(const pid& local, const pid& remote) override { unwatch(local, remote, 0, true); }
  void monitor(const pid& watcher, const pid& target, uint64_t ref) override { watch_peer(watcher, target, ref, false); }
  void demonitor(const pid& watcher, const pid& target, uint64_t ref) override { unwatch(watcher, target, ref, false); }

  void linked_exited(const pid& local, const pid& remote, const caf::error& reason) override {
    unwatch(local, remote, 0, true);
    if (!is_up())
      return;
    auto from = remote_pid(peer_, local_node(self_), local.local_id());
    deliver_exit(in_peer(remote), from, reason);
  }

private:
  struct watch {
    pid local, target, target_in_peer;
    uint64_t ref = 0;
    bool is_link = false;
    uint64_t hook = 0;
  };

  static caf::error fail(reply_handle& r, caf::error e) {
    r.fail(e);
    return e;
  }
  bool is_up() {
    std::lock_guard<std::mutex> g{m_};
    return up_;
  }
  void mark_down() {
    std::lock_guard<std::mutex> g{m_};
    up_ = false;
  }
  pid in_peer(const pid& remote) { return remote_pid(peer_, local_node(peer_), remote.local_id()); }

  void answer(uint64_t id, caf::expected<caf::message> r) {
    std::shared_ptr<reply_handle> rh;
    {
      std::lock_guard<std::mutex> g{m_};
      auto i = calls_.find(id);
      if (i == calls_.end())
        return;
      rh = std::move(i->second);
      calls_.erase(i);
    }
    if (!r)
      return rh->fail(r.error());
    // The reply crosses back through the codecs as well.
    auto terms = encode_message(peer_, *r);
    auto back = terms ? decode_message(self_, *terms) : caf::expected<caf::message>{terms.error()};
    if (back)
      rh->deliver_message(std::move(*back));
    else
      rh->fail(back.error());
  }

  void watch_peer(const pid& local, const pid& target, uint64_t ref, bool is_link) {
    auto key = next_++;
    auto target_in_peer = in_peer(target);
    auto hook = on_exit_of(target_in_peer, [me = weak_from_this(), key](const pid&, const caf::error& why) {
      if (auto t = me.lock())
        t->fire(key, why);
    });
    if (!hook || !is_up()) {
      auto why = !is_up() ? make_error(errc::noconnection, local_node(peer_).name) : reason::noproc();
      if (is_link)
        deliver_exit(local, target, why);
      else
        deliver_down(local, ref, target, why);
      return;
    }
    std::lock_guard<std::mutex> g{m_};
    watches_.emplace(key, watch{local, target, target_in_peer, ref, is_link, *hook});
  }

  void unwatch(const pid& local, const pid& target, uint64_t ref, bool is_link) {
    std::lock_guard<std::mutex> g{m_};
    for (auto i = watches_.begin(); i != watches_.end(); ++i) {
      auto& w = i->second;
      if (w.local == local && w.target == target && w.ref == ref && w.is_link == is_link) {
        cancel_on_exit_of(w.target_in_peer, w.hook);
        watches_.erase(i);
        return;
      }
    }
  }

  void fire(uint64_t key, const caf::error& why) {
    watch w;
    {
      std::lock_guard<std::mutex> g{m_};
      auto i = watches_.find(key);
      if (i == watches_.end())
        return;
      w = i->second;
      watches_.erase(i);
    }
    if (w.is_link)
      deliver_exit(w.local, w.target, why);
    else
      deliver_down(w.local, w.ref, w.target, why);
  }

  runtime& self_;
  runtime& peer_;
  std::weak_ptr<loopback> other_;
  std::mutex m_;
  bool up_ = true;
  std::atomic<uint64_t> next_{1};
  std::map<uint64_t, watch> watches_;
  std::map<uint64_t, std::shared_ptr<reply_handle>> calls_;
};

} // namespace corvid::test
