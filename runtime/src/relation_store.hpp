#pragma once
// The set of one process's links and monitors kept for introspection (see relations.hpp): a
// small vector while it is small (most processes have one link, to their supervisor), a hash
// set once it grows, so a supervisor of 100k children adds and removes each in O(1).

#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

namespace corvid::detail {

enum class relation_kind : uint8_t { link, monitors, monitored_by };

/// One link or monitor, seen from one side.
struct relation {
  uint64_t other;  // the pid id on the other side
  uint64_t ref;    // the monitor's reference on the watcher (0 for links)
  relation_kind kind;
  friend bool operator==(const relation&, const relation&) = default;
};

struct relation_hash {
  size_t operator()(const relation& r) const noexcept {
    uint64_t h = r.other * 0x9E3779B97F4A7C15ull ^ (r.ref + static_cast<uint64_t>(r.kind)) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

class relation_store {
public:
  /// Adds `r`; false if it is already there.
  bool insert(const relation& r);
  /// Removes `r`; false if it was not there.
  bool erase(const relation& r);
  /// Every relation, leaving the store empty.
  std::vector<relation> take();
  /// A copy of every relation.
  std::vector<relation> list() const;

private:
  static constexpr size_t small_max = 32;
  struct sets {
    std::vector<relation> small;
    std::unique_ptr<std::unordered_set<relation, relation_hash>> big;
  };
  std::unique_ptr<sets> sets_;  // made on first use: one pointer in a process that never links
};

} // namespace corvid::detail
