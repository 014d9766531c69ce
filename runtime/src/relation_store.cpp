// relation_store: linear scans up to small_max entries, a hash set past them.

#include "relation_store.hpp"

#include <algorithm>

namespace corvid::detail {

bool relation_store::insert(const relation& r) {
  if (!sets_)
    sets_ = std::make_unique<sets>();
  auto& [small, big] = *sets_;
  if (big)
    return big->insert(r).second;
  if (std::find(small.begin(), small.end(), r) != small.end())
    return false;
  if (small.size() < small_max) {
    small.push_back(r);
    return true;
  }
  big = std::make_unique<std::unordered_set<relation, relation_hash>>(small.begin(), small.end());
  std::vector<relation>{}.swap(small);
  return big->insert(r).second;
}

bool relation_store::erase(const relation& r) {
  if (!sets_)
    return false;
  auto& [small, big] = *sets_;
  bool had = false;
  if (big) {
    had = big->erase(r) > 0;
    if (big->empty())
      big.reset();  // a supervisor whose children all ended gives the memory back
  } else if (auto i = std::find(small.begin(), small.end(), r); i != small.end()) {
    *i = small.back();  // order does not matter
    small.pop_back();
    had = true;
  }
  if (!big && small.empty())
    sets_.reset();
  return had;
}

std::vector<relation> relation_store::take() {
  std::vector<relation> out;
  if (!sets_)
    return out;
  if (sets_->big)
    out.assign(sets_->big->begin(), sets_->big->end());
  else
    out.swap(sets_->small);
  sets_.reset();
  return out;
}

std::vector<relation> relation_store::list() const {
  if (!sets_)
    return {};
  if (sets_->big)
    return {sets_->big->begin(), sets_->big->end()};
  return sets_->small;
}

} // namespace corvid::detail
