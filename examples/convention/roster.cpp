#include "roster.hpp"

namespace convention {

namespace {
void keep_last(std::vector<feed_event>& v) {
  if (v.size() > max_feed) v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(max_feed));
}
void upsert(roster_update& r, participant p) {
  r.removed.erase(p.id);
  auto id = p.id;
  r.upserts.insert_or_assign(std::move(id), std::move(p));
}
void remove(roster_update& r, const std::string& id) {
  r.upserts.erase(id);
  r.removed.insert(id);
}
}  // namespace

void add(roster_update& into, diff_changes changes) {
  for (auto& id : changes.removed) remove(into, id);
  for (auto& p : changes.upserts) upsert(into, std::move(p));
  for (auto& e : changes.events) into.events.push_back(std::move(e));
  keep_last(into.events);
}

void merge(roster_update& into, roster_update later) {
  for (auto& id : later.removed) remove(into, id);
  for (auto& [id, p] : later.upserts) upsert(into, std::move(p));
  for (auto& e : later.events) into.events.push_back(std::move(e));
  keep_last(into.events);
  into.seq = later.seq;
  into.resync = into.resync || later.resync;
}

}  // namespace convention
