#pragma once
// The node's state, shared by its parts: membership and connections (node.cpp), the runtime's
// transport and the process signals from peers (node_signals.cpp), failure detection
// (node_failure.cpp). Private to cluster/.

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <caf/all.hpp>

#include "corvid/cluster/connection.hpp"
#include "corvid/cluster/listener.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/runtime.hpp"
#include "phi_detector.hpp"
#include "wire_values.hpp"

namespace corvid::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class node_impl : public transport, public std::enable_shared_from_this<node_impl> {
public:
  node_impl(runtime& rt, node_options o) : rt_(rt), opts_(std::move(o)), self_(local_node(rt)) {}

  error start();
  void stop();
  uint16_t port() const { return listener_ ? listener_->port() : 0; }

  std::vector<member_info> members() const;
  void on_membership(std::function<void(const node_id&, bool)> f);
  node_id self() const { return self_; }

  size_t send_to_members(const v1::Frame& f, const std::string& only, lane l);
  void on_frame(v1::Frame::BodyCase body, std::function<void(const node_id&, v1::Frame&&)> h);
  void every(std::chrono::milliseconds interval, std::function<void()> f);

  // -- transport: called by the runtime from any thread ------------------------------

  caf::error send(const pid& to, const pid& from, const caf::message& m, reply_handle reply) override;
  void exit(const pid& to, const pid& from, const caf::error& reason) override;
  void link(const pid& local, const pid& remote) override;
  void unlink(const pid& local, const pid& remote) override;
  void monitor(const pid& watcher, const pid& target, uint64_t ref) override;
  void demonitor(const pid& watcher, const pid& target, uint64_t ref) override;
  void linked_exited(const pid& local, const pid& remote, const caf::error& reason) override;

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
    // Failure detection (io thread): heartbeat gaps, and an open question to another member.
    std::optional<phi_detector> fd;
    uint64_t probe_ref = 0;
    std::chrono::steady_clock::time_point probe_deadline{}, vouched_at{};
  };

  // -- membership and connections ----------------------------------------------------

  // `address`: where a dialed connection went (the peer's listen address if its Hello has none).
  handlers handlers_for(bool dialed, std::string address = {});
  void up(const connection& c, bool dialed, const std::string& dialed_address);
  void closed(const connection& c, const error& e);

  // Empties a peer's state (under the lock); settle_down then tells the processes.
  peer_state take_down(peer_state& p);
  void settle_down(peer_state& p);

  // Tells a new member whom this node knows, so the mesh completes itself.
  void gossip(const connection& c);

  // Dials every wanted address that has no connection, every `redial` interval.
  void tick();

  // Re-resolves the DNS name when due; its current records replace the previous ones.
  void resolve();

  void arm(const std::shared_ptr<asio::steady_timer>& t, std::chrono::milliseconds interval,
           std::function<void()> f);
  void dial(const std::string& address);

  // -- frames from a peer (on the io thread) -----------------------------------------

  void frame(const connection& c, v1::Frame&& f);
  void on_send(const connection& c, v1::Send& s);
  void answer(const node_id& peer, uint64_t ref, caf::expected<caf::message> r);
  void on_reply(const connection& c, v1::Reply& r);
  void on_exit(const connection& c, const v1::Exit& x);

  // A remote process links to or monitors a local one: hook its exit.
  void serve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link);
  void unserve(const connection& c, const v1::Pid& target_w, const v1::Pid& watcher_w, uint64_t ref, bool is_link);
  void served_exited(const node_id& peer, uint64_t key, const caf::error& why);

  void notify_watcher(const connection& c, const pid& target, const pid& watcher, uint64_t ref, bool is_link,
                      const caf::error& why);
  void on_down(const connection& c, const v1::Down& d);
  void on_service(const connection& c, v1::Frame&& f);
  void on_members(const v1::Members& ms);

  // -- failure detection (io thread) -----------------------------------------------------

  std::chrono::steady_clock::time_point now() const { return std::chrono::steady_clock::now(); }

  phi_detector new_detector() const;

  // A member's heartbeat: the only regular signal, so the one its detector learns from.
  void heard(const connection& c);
  double phi_of(const peer_state& p, std::chrono::steady_clock::time_point t) const;

  // Suspects members whose heartbeats are late: asks another member, or declares them down.
  void suspect_check();
  void on_probe(const connection& c, const v1::Probe& pr);
  void on_probe_ack(const v1::ProbeAck& a);

  // -- helpers (callers hold m_ where noted) ------------------------------------------

  // The connected peer that holds `remote`, or why not (lock held).
  std::pair<peer_state*, caf::error> peer_of(const pid& remote);

  // Who is at the other end of `c` (empty if it belongs to no member).
  node_id peer_id(const connection& c);

  // The connection to `peer` if that incarnation is still a member.
  std::optional<connection> conn_of(const node_id& peer);
  peer_state* peer_by_conn(const connection& c);
  std::shared_ptr<reply_handle> take_call(const pid& to, uint64_t ref);
  caf::error send_control(const pid& remote, v1::Frame f);
  bool watch(const pid& local, const pid& remote, uint64_t ref, bool is_link);
  void unwatch(const pid& local, const pid& remote, uint64_t ref, bool is_link);
  static std::string node_name(const pid& p);
  void telemetry_member(const char* name, const node_id& n);
  runtime& rt_;
  node_options opts_;
  node_id self_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  asio::steady_timer timer_{io_};
  asio::steady_timer stop_timer_{io_};
  std::vector<std::shared_ptr<asio::steady_timer>> periodic_;  // every(): touched on the io thread only
  std::thread thread_;
  std::optional<listener> listener_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex m_;
  std::map<std::string, peer_state> peers_;  // by node name
  std::set<std::string> wanted_;             // addresses to stay connected to
  std::set<std::string> dialing_;
  std::set<std::string> dns_addresses_;   // what the DNS name resolved to last
  std::set<std::string> self_addresses_;  // addresses that turned out to be this node
  std::map<std::string, std::string> reached_;  // dialed address -> the member found there
  tcp::resolver resolver_{io_};
  std::chrono::steady_clock::time_point next_resolve_{};
  uint64_t next_ref_ = 1;
  std::vector<std::function<void(const node_id&, bool)>> on_member_;
  std::map<int, std::function<void(const node_id&, v1::Frame&&)>> on_service_;
};

} // namespace corvid::cluster
