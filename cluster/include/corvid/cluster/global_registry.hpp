#pragma once
// Cluster-wide unique names, like Erlang's `global`: a name registered on one node is found
// by whereis on every node, and is freed when its process exits or its node is lost.
//
//   auto reg = corvid::cluster::global_registry::start(rt, node);   // one per node
//   if (auto e = (*reg)->register_name("db", db_pid)) { /* already_registered, down, ... */ }
//   corvid::pid db = (*reg)->whereis("db");      // on any node; send/call work on it
//
// Every claim is stamped with its node's hybrid logical clock. When claims made concurrently
// or on both sides of a partition meet, the earliest stamp wins on every node (equal stamps:
// the smaller node name); the losing process gets the trappable exit errc::name_conflict,
// with the winner as the signal's sender and in the reason's context.
// Each node tells the others about its own processes only: the claims of a node that is not
// connected (yet) are not known here.

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "corvid/runtime/pid.hpp"

namespace corvid {
class runtime;
}

namespace corvid::cluster {

class node;
class global_registry_impl;

/// The global registry of one node; stop() (or destruction) withdraws its names from the cluster.
class global_registry {
public:
  /// Joins the registry of `n`'s cluster (exchanges tables with the members up).
  /// errc::bad_argument without a node.
  static caf::expected<std::shared_ptr<global_registry>> start(runtime& rt, std::shared_ptr<node> n);
  ~global_registry();
  void stop();

  /// Registers the local process `p` under `name` for the whole cluster. errc::already_registered
  /// if a live process holds it as this node knows, errc::down if `p` has exited,
  /// errc::bad_argument for an empty name or pid or a pid of another node.
  caf::error register_name(const std::string& name, const pid& p);
  /// Frees `name`: at once if a process of this node holds it, else once its node has
  /// done it (a request goes there). errc::not_found if nobody holds it.
  caf::error unregister_name(const std::string& name);
  /// The process holding `name` (local or remote), or an empty pid.
  pid whereis(const std::string& name) const;
  /// Every name held, sorted.
  std::vector<std::string> registered() const;

  explicit global_registry(std::shared_ptr<global_registry_impl> p) : p_(std::move(p)) {}

private:
  std::shared_ptr<global_registry_impl> p_;
};

} // namespace corvid::cluster
