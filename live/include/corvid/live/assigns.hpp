// A view's state: named values plus the set of names changed since the last render.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "corvid/live/value.hpp"

namespace corvid::live {

/// Names of assigns changed since the last clear_changes(); the diff re-renders only what reads them.
using change_set = std::set<std::string, std::less<>>;

/// name -> value with change tracking. Assigning an equal value changes nothing.
class assigns {
 public:
  /// Stores `v`; marks `name` changed only if it is new or differs. Returns whether it changed.
  bool assign(std::string_view name, value v);
  /// Mutates in place (no copy of large lists) and marks `name` changed unconditionally.
  template <class F>
  void update(std::string_view name, F&& f) {
    f(slot(name));
    touch(name);
  }
  /// Marks `name` changed without touching its value (e.g. after an in-place edit).
  void touch(std::string_view name);

  /// The value, or nullptr if `name` was never assigned.
  const value* find(std::string_view name) const noexcept;
  /// The value, or a null value if `name` was never assigned.
  const value& operator[](std::string_view name) const noexcept;
  std::size_t size() const noexcept { return values_.size(); }

  const change_set& changed() const noexcept { return changed_; }
  bool is_changed(std::string_view name) const noexcept { return changed_.find(name) != changed_.end(); }
  void clear_changes() noexcept { changed_.clear(); }

 private:
  value& slot(std::string_view name);

  std::map<std::string, value, std::less<>> values_;
  change_set changed_;
};

}  // namespace corvid::live
