#pragma once
// The seam between the runtime and a cluster: how processes reach pids on other nodes.
//
// A runtime is one node: `runtime_options::node` names it and every start gets a new
// incarnation. A cluster module implements `transport` and installs it with set_transport;
// from then on send, cast, call, exit, link and monitor on a remote pid go through it, and
// everything else stays local (each of those checks once whether its target is remote).
// What arrives from other nodes enters through the deliver_* functions below.
//
//   struct my_cluster : corvid::transport { ... };
//   corvid::set_transport(rt, std::make_shared<my_cluster>(...));
//   corvid::pid far = corvid::remote_pid(rt, {"b@10.0.0.2", inc}, 42);
//   corvid::send(far, std::string{"hi"});   // encoded with the codec registry (codec.hpp)

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "corvid/runtime/pid.hpp"
#include "corvid/runtime/process.hpp"

namespace corvid {

class runtime;

/// A node of a cluster: its name and the incarnation it runs (new at every start).
struct node_id {
  std::string name;
  uint64_t incarnation = 0;
  friend bool operator==(const node_id&, const node_id&) = default;
};

/// What a cluster provides to the runtime. Calls come from any thread and must not block.
class transport {
public:
  virtual ~transport() = default;
  /// Delivers `m` to the remote process `to`. `reply` is empty for sends; for calls the
  /// transport answers it (or fails it: timeout, down, noconnection) when the reply comes.
  virtual caf::error send(const pid& to, const pid& from, const caf::message& m, reply_handle reply) = 0;
  /// An exit signal (OTP exit/2) to the remote process `to`; `from` is empty from threads.
  virtual void exit(const pid& to, const pid& from, const caf::error& reason) = 0;
  /// `local` links to / unlinks from the remote `remote`. The transport tells `local`
  /// (deliver_exit) when `remote` ends or its node is lost (errc::noconnection), and tells
  /// the remote side when `local` ends.
  virtual void link(const pid& local, const pid& remote) = 0;
  virtual void unlink(const pid& local, const pid& remote) = 0;
  /// `watcher` monitors the remote `target` under `ref`; a deliver_down follows its end.
  virtual void monitor(const pid& watcher, const pid& target, uint64_t ref) = 0;
  virtual void demonitor(const pid& watcher, const pid& target, uint64_t ref) = 0;
  /// A local process linked to remote ones has ended: tell their nodes.
  virtual void linked_exited(const pid& local, const pid& remote, const caf::error& reason) = 0;
};

/// Installs the cluster of this runtime (nullptr removes it: remote pids then fail with
/// errc::noconnection).
void set_transport(runtime& rt, std::shared_ptr<transport> t);
/// This runtime's own node.
node_id local_node(runtime& rt);
/// The pid of process `id` on `node` as this runtime sees it; `node` equal to local_node(rt)
/// gives the local pid.
pid remote_pid(runtime& rt, const node_id& node, uint64_t id);
/// The node of a remote pid (nullopt for local or empty pids).
std::optional<node_id> node_of(const pid& p);

/// Entry points for a transport: what arrived for local processes.
/// A message from the remote `from` for the local `to`, under `to`'s mailbox policy; `reply`
/// (from reply_to) for a call.
caf::error deliver_message(const pid& to, const pid& from, caf::message m, reply_handle reply = {});
/// A reply handle whose answer goes to `f` (once), e.g. to send it back to the caller's node.
/// Dropped unanswered, it gives `f` errc::down.
reply_handle reply_to(std::function<void(caf::expected<caf::message>)> f);
/// An exit signal from the remote `from` (trapped as exit_signal, or ends `to` if abnormal).
void deliver_exit(const pid& to, const pid& from, caf::error reason);
/// A monitor's notice that the remote `who` watched by `watcher` under `ref` ended.
void deliver_down(const pid& watcher, uint64_t ref, const pid& who, caf::error reason);

} // namespace corvid
