// The introspection copy of links and monitors (see relations.hpp). Never holds two blocks'
// mutexes at once: each side is updated under its own lock, so a record may briefly name a
// process that just ended; readers skip those.

#include "relations.hpp"

#include <algorithm>
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

void add(process_block& b, relation r) {
  std::lock_guard<std::mutex> g{b.mtx};
  if (!b.alive.load(std::memory_order_relaxed))
    return;  // a dead process keeps no records
  if (r.kind == relation_kind::link
      && std::any_of(b.relations.begin(), b.relations.end(),
                     [&](const relation& x) { return x.kind == r.kind && x.other == r.other; }))
    return;  // links are a set, as in OTP
  b.relations.push_back(r);
}

template <class Pred>
void erase_if(process_block& b, Pred pred, bool first_only) {
  std::lock_guard<std::mutex> g{b.mtx};
  auto& v = b.relations;
  if (first_only) {
    if (auto i = std::find_if(v.begin(), v.end(), pred); i != v.end())
      v.erase(i);
  } else {
    std::erase_if(v, pred);
  }
  if (v.empty())
    v.shrink_to_fit();  // a process that once had many children gives the memory back
}

} // namespace

void note_link(runtime_state& st, process_block& self, const pid& other) {
  add(self, {other.id(), 0, relation_kind::link});
  if (auto b = local_block(st, other))
    add(*b, {self.id, 0, relation_kind::link});
}

void note_unlink(runtime_state& st, process_block& self, const pid& other) {
  note_link_gone(self, other.id());
  if (auto b = local_block(st, other))
    note_link_gone(*b, self.id);
}

void note_link_gone(process_block& self, uint64_t other) {
  erase_if(self, [&](const relation& r) { return r.kind == relation_kind::link && r.other == other; }, false);
}

void note_monitor(runtime_state& st, process_block& self, uint64_t ref, const pid& target) {
  add(self, {target.id(), ref, relation_kind::monitors});
  if (auto b = local_block(st, target))
    add(*b, {self.id, ref, relation_kind::monitored_by});
}

void note_demonitor(runtime_state& st, process_block& self, uint64_t ref) {
  uint64_t target = 0;
  {
    std::lock_guard<std::mutex> g{self.mtx};
    auto& v = self.relations;
    auto i = std::find_if(v.begin(), v.end(),
                          [&](const relation& r) { return r.kind == relation_kind::monitors && r.ref == ref; });
    if (i == v.end())
      return;
    target = i->other;
    v.erase(i);
  }
  if (auto b = local_block(st, pid{target}))
    erase_if(*b, [&](const relation& r) {
      return r.kind == relation_kind::monitored_by && r.ref == ref && r.other == self.id;
    }, true);
}

void forget_relations(runtime_state& st, process_block& self) {
  std::vector<relation> mine;
  {
    std::lock_guard<std::mutex> g{self.mtx};
    mine.swap(self.relations);
  }
  for (auto& r : mine) {
    auto b = local_block(st, pid{r.other});
    if (!b)
      continue;
    switch (r.kind) {
      case relation_kind::link:
        note_link_gone(*b, self.id);
        break;
      case relation_kind::monitors:
        erase_if(*b, [&](const relation& x) {
          return x.kind == relation_kind::monitored_by && x.ref == r.ref && x.other == self.id;
        }, true);
        break;
      case relation_kind::monitored_by:
        erase_if(*b, [&](const relation& x) {
          return x.kind == relation_kind::monitors && x.ref == r.ref && x.other == self.id;
        }, true);
        break;
    }
  }
}

} // namespace corvid::detail
