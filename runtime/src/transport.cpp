// Nodes and the transport seam: interning (node, incarnation) into pids, and the entry
// points a cluster uses to reach local processes.

#include "corvid/runtime/transport.hpp"

#include <map>
#include <tuple>
#include <vector>

#include <caf/all.hpp>

#include "corvid/runtime/runtime.hpp"
#include "process_actor.hpp"
#include "runtime_state.hpp"

namespace corvid {

namespace detail {

namespace {

// Process-wide: pids of every runtime in this OS process index the same table.
struct node_table {
  std::mutex m;
  std::vector<node_entry> entries;  // index i + 1
  std::map<std::tuple<runtime_state*, std::string, uint64_t>, uint32_t> index;
};

node_table& nodes() {
  static node_table t;
  return t;
}

constexpr uint32_t max_nodes = (uint32_t{1} << (64 - pid::local_bits)) - 1;

} // namespace

uint32_t intern_node(runtime_state* owner, const node_id& node) {
  auto& t = nodes();
  std::lock_guard<std::mutex> g{t.m};
  auto key = std::make_tuple(owner, node.name, node.incarnation);
  if (auto i = t.index.find(key); i != t.index.end())
    return i->second;
  if (t.entries.size() >= max_nodes)
    return 0;  // table full: the caller reports noconnection
  t.entries.push_back({owner, node});
  auto idx = static_cast<uint32_t>(t.entries.size());
  t.index.emplace(std::move(key), idx);
  return idx;
}

std::optional<node_entry> node_entry_of(uint32_t index) {
  auto& t = nodes();
  std::lock_guard<std::mutex> g{t.m};
  if (index == 0 || index > t.entries.size())
    return std::nullopt;
  return t.entries[index - 1];
}

void forget_nodes(runtime_state* owner) {
  auto& t = nodes();
  std::lock_guard<std::mutex> g{t.m};
  for (auto& e : t.entries)
    if (e.owner == owner)
      e.owner = nullptr;
}

caf::expected<std::shared_ptr<corvid::transport>> transport_of(const pid& remote) {
  auto e = node_entry_of(remote.node_index());
  if (!e || !e->owner)
    return make_error(errc::noconnection, "unknown node of " + remote.to_string());
  std::lock_guard<std::mutex> g{e->owner->transport_m};
  if (!e->owner->transport)
    return make_error(errc::noconnection, "no cluster: cannot reach " + e->node.name);
  return e->owner->transport;
}

} // namespace detail

void set_transport(runtime& rt, std::shared_ptr<transport> t) {
  auto& st = rt.state();
  std::lock_guard<std::mutex> g{st.transport_m};
  st.transport = std::move(t);
}

node_id local_node(runtime& rt) { return rt.state().node; }

pid remote_pid(runtime& rt, const node_id& node, uint64_t id) {
  auto& st = rt.state();
  id &= (uint64_t{1} << pid::local_bits) - 1;
  if (node == st.node) {
    if (auto b = st.table.find(id))
      return pid{b};
    return pid{id};
  }
  auto idx = detail::intern_node(&st, node);
  return pid{(uint64_t{idx} << pid::local_bits) | id};
}

std::optional<node_id> node_of(const pid& p) {
  if (!p.is_remote())
    return std::nullopt;
  if (auto e = detail::node_entry_of(p.node_index()))
    return e->node;
  return std::nullopt;
}

caf::error deliver_message(const pid& to, const pid& from, caf::message m, reply_handle reply) {
  auto b = to.block();
  if (!b) {
    auto err = make_error(errc::down, "no such process: " + to.to_string());
    reply.fail(err);
    return err;
  }
  detail::envelope e{std::move(m), from, std::move(reply)};
  auto err = detail::push(*b, std::move(e), false, caf::timespan{0});
  if (err && e.reply)
    e.reply.fail(err);  // refused (still ours): the caller learns why, not merely that it is down
  return err;
}

void deliver_exit(const pid& to, const pid& from, caf::error reason) {
  (void) detail::deliver_signal(to, caf::make_message(exit_signal{from, std::move(reason)}));
}

void deliver_down(const pid& watcher, uint64_t ref, const pid& who, caf::error reason) {
  (void) detail::deliver_signal(watcher, caf::make_message(down_signal{ref, who, std::move(reason)}));
}

reply_handle reply_to(std::function<void(caf::expected<caf::message>)> f) {
  auto slot = std::make_shared<detail::reply_slot>();
  slot->on_done = std::move(f);
  return reply_handle{std::move(slot)};
}

} // namespace corvid
