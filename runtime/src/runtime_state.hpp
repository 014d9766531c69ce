#pragma once
// Shared state of one runtime: the process table and the registry, both sharded.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/transport.hpp"
#include "process_block.hpp"
#include "word_lock.hpp"

namespace corvid::detail {

using drain_atom = caf::atom_constant<caf::atom("cv_drain")>;
using reply_atom = caf::atom_constant<caf::atom("cv_reply")>;
using timer_atom = caf::atom_constant<caf::atom("cv_timer")>;
using calltmo_atom = caf::atom_constant<caf::atom("cv_calltmo")>;
using idle_atom = caf::atom_constant<caf::atom("cv_idle")>;
using ready_atom = caf::atom_constant<caf::atom("cv_ready")>;

constexpr size_t shard_count = 16;

struct process_table {
  struct shard {
    word_lock m;  // taken at every spawn and exit, held for a hash-map step
    // Open addressing: no node allocated per process (a node-based map cost ~450 instructions
    // and a malloc per spawn).
    boost::unordered_flat_map<uint64_t, std::weak_ptr<process_block>> map;
  };
  std::array<shard, shard_count> shards;
  std::atomic<size_t> live{0};
  std::mutex idle_m;
  std::condition_variable idle_cv;  // notified when `live` drops

  void add(const std::shared_ptr<process_block>& b);
  void remove(uint64_t id);
  std::shared_ptr<process_block> find(uint64_t id);
  void for_each(const std::function<void(const std::shared_ptr<process_block>&)>& f);
};

struct registry_state {
  struct shard {
    std::mutex m;
    std::unordered_map<std::string, pid> names;
    std::unordered_map<std::string, std::vector<pid>> keys;
  };
  std::array<shard, shard_count> shards;
  shard& of(const std::string& k) { return shards[std::hash<std::string>{}(k) % shard_count]; }
};

struct runtime_state {
  runtime* owner = nullptr;
  caf::actor_system* sys = nullptr;
  runtime_options opts;
  process_table table;
  registry_state registry;
  // Runtime-wide totals, so that counters survive the processes that made them.
  std::atomic<uint64_t> spawned{0};
  std::atomic<uint64_t> crashed{0};
  std::atomic<uint64_t> restarts{0};
  std::atomic<uint64_t> exited_handled{0};
  std::atomic<uint64_t> exited_dropped{0};
  std::atomic<uint64_t> exited_coalesced{0};
  // This node, and the cluster that reaches the others (null: single node).
  node_id node;
  std::mutex transport_m;
  std::shared_ptr<corvid::transport> transport;
};

/// Nodes seen by this OS process's runtimes, interned so that a pid holds a small index.
/// An entry belongs to the runtime that learned of the node (whose transport reaches it).
struct node_entry {
  runtime_state* owner = nullptr;  // null once that runtime is gone
  node_id node;
};
/// The index for (owner, node), made on first use (never 0, which means "local").
uint32_t intern_node(runtime_state* owner, const node_id& node);
/// A copy of an entry (nullopt for an unknown index).
std::optional<node_entry> node_entry_of(uint32_t index);
/// Detaches a runtime from its entries as it shuts down.
void forget_nodes(runtime_state* owner);
/// The transport that reaches a remote pid, or errc::noconnection.
caf::expected<std::shared_ptr<corvid::transport>> transport_of(const pid& remote);

/// The actor of a live process (null if it has exited).
caf::actor handle_of(const pid& p);
/// Runs the on_exit_of hooks of an exiting process.
void run_exit_hooks(process_block& b, const caf::error& reason);
/// Drops every registry entry of an exiting process.
void registry_cleanup(runtime_state& st, process_block& b);

} // namespace corvid::detail
