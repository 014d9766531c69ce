// relation_store: linear scans up to small_max entries, a hash set past them.

#include "relation_store.hpp"

#include <algorithm>

namespace corvid::detail {

bool relation_store::insert(const relation& r) {
  if (big_)
    return big_->insert(r).second;
  if (std::find(small_.begin(), small_.end(), r) != small_.end())
    return false;
  if (small_.size() < small_max) {
    small_.push_back(r);
    return true;
  }
  big_ = std::make_unique<std::unordered_set<relation, relation_hash>>(small_.begin(), small_.end());
  std::vector<relation>{}.swap(small_);
  return big_->insert(r).second;
}

bool relation_store::erase(const relation& r) {
  if (big_) {
    bool had = big_->erase(r) > 0;
    if (big_->empty())
      big_.reset();  // a supervisor whose children all ended gives the memory back
    return had;
  }
  auto i = std::find(small_.begin(), small_.end(), r);
  if (i == small_.end())
    return false;
  *i = small_.back();  // order does not matter
  small_.pop_back();
  if (small_.empty())
    std::vector<relation>{}.swap(small_);
  return true;
}

std::vector<relation> relation_store::take() {
  std::vector<relation> out;
  if (big_) {
    out.assign(big_->begin(), big_->end());
    big_.reset();
  } else {
    out.swap(small_);
  }
  return out;
}

std::vector<relation> relation_store::list() const {
  if (big_)
    return {big_->begin(), big_->end()};
  return small_;
}

} // namespace corvid::detail
