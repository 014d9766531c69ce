// The introspection copy of links and monitors (see relations.hpp). Never holds two blocks'
// mutexes at once: each side is updated under its own lock, so a record may briefly name a
// process that just ended; readers skip those.

#include "relations.hpp"

#include <mutex>

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

void add(process_block& b, const relation& r) {
  std::lock_guard<std::mutex> g{b.mtx};
  if (b.alive.load(std::memory_order_relaxed))  // a dead process keeps no records
    b.relations.insert(r);
}

void remove(process_block& b, const relation& r) {
  std::lock_guard<std::mutex> g{b.mtx};
  b.relations.erase(r);
}

void remove(runtime_state& st, uint64_t id, const relation& r) {
  if (auto b = local_block(st, pid{id}))
    remove(*b, r);
}

} // namespace

void note_link(runtime_state& st, process_block& self, const pid& other) {
  add(self, {other.id(), 0, relation_kind::link});
  if (auto b = local_block(st, other))
    add(*b, {self.id, 0, relation_kind::link});
}

void note_unlink(runtime_state& st, process_block& self, const pid& other) {
  note_link_gone(self, other.id());
  remove(st, other.id(), {self.id, 0, relation_kind::link});
}

void note_link_gone(process_block& self, uint64_t other) {
  remove(self, {other, 0, relation_kind::link});
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

void forget_relations(runtime_state& st, process_block& self) {
  std::vector<relation> mine;
  {
    std::lock_guard<std::mutex> g{self.mtx};
    mine = self.relations.take();
  }
  for (auto& r : mine) {
    switch (r.kind) {
      case relation_kind::link:
        remove(st, r.other, {self.id, 0, relation_kind::link});
        break;
      case relation_kind::monitors:
        remove(st, r.other, {self.id, r.ref, relation_kind::monitored_by});
        break;
      case relation_kind::monitored_by:
        remove(st, r.other, {self.id, r.ref, relation_kind::monitors});
        break;
    }
  }
}

} // namespace corvid::detail
