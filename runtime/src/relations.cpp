// The introspection copy of links and monitors (see relations.hpp). Never holds two blocks'
// mutexes at once: each side is updated under its own lock, so a record may briefly name a
// process that just ended; readers skip those.

#include "relations.hpp"

#include <mutex>

#include <caf/send.hpp>

#include "runtime_state.hpp"

namespace corvid::detail {

namespace {

std::shared_ptr<process_block> local_block(runtime_state& st, const pid& p) {
  if (p.is_remote())
    return nullptr;
  if (auto& b = p.block())
    return b;
  return st.table.find(p.id());
}

// close() clears `alive` under the same mutex before forget_relations takes the records: a
// record added is always taken, and one refused means the process has ended.
bool add(process_block& b, const relation& r) {
  std::lock_guard g{b.mtx};
  if (!b.alive.load(std::memory_order_relaxed))  // a dead process keeps no records
    return false;
  b.relations.insert(r);
  return true;
}

bool remove(process_block& b, const relation& r) {
  std::lock_guard g{b.mtx};
  return b.relations.erase(r);
}

void remove(runtime_state& st, uint64_t id, const relation& r) {
  if (auto b = local_block(st, pid{id}))
    remove(*b, r);
}

} // namespace

bool note_link(runtime_state& st, process_block& self, const pid& other) {
  if (!other.is_remote()) {
    auto b = local_block(st, other);
    if (!b || !add(*b, {self.id, 0, relation_kind::link}))
      return false;
  }
  add(self, {other.id(), 0, relation_kind::link});
  return true;
}

void note_unlink(runtime_state& st, process_block& self, const pid& other) {
  note_link_gone(self, other.id());
  remove(st, other.id(), {self.id, 0, relation_kind::link});
}

bool note_link_gone(process_block& self, uint64_t other) {
  return remove(self, {other, 0, relation_kind::link});
}

void note_monitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target) {
  add(self, {target.id(), ref, relation_kind::monitors});
  if (auto b = local_block(st, target))
    add(*b, {self.id, ref, relation_kind::monitored_by});
}

void note_demonitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target) {
  remove(self, {target.id(), ref, relation_kind::monitors});
  remove(st, target.id(), {self.id, ref, relation_kind::monitored_by});
}

std::vector<uint64_t> forget_relations(runtime_state& st, process_block& self) {
  std::vector<relation> mine;
  {
    std::lock_guard g{self.mtx};
    mine = self.relations.take();
  }
  std::vector<uint64_t> linked;
  for (auto& r : mine) {
    switch (r.kind) {
      case relation_kind::link:
        if (!pid{r.other}.is_remote())
          linked.push_back(r.other);  // its record goes when our link_exit arrives
        break;
      case relation_kind::monitors:
        remove(st, r.other, {self.id, r.ref, relation_kind::monitored_by});
        break;
      case relation_kind::monitored_by:
        remove(st, r.other, {self.id, r.ref, relation_kind::monitors});
        break;
    }
  }
  return linked;
}

void signal_links(runtime_state& st, const pid& self, const std::vector<uint64_t>& linked, const caf::error& reason) {
  for (auto id : linked)
    if (auto b = st.table.find(id))
      if (auto h = handle_of(pid{b}))  // normal priority, as CAF's own link exits
        caf::anon_send(h, link_exit{self, reason});
}

} // namespace corvid::detail
