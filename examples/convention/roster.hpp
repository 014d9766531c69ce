// The admins' participant list travels as batches of changes (never the whole list): the chair
// gathers the diffs of one interval into a batch, and a batch that waits for a busy admin is
// merged with the next one. Batches are numbered, so a receiver that missed one asks for a
// full reload (resync) instead of showing a wrong list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "events.hpp"
#include "tally.hpp"

namespace convention {

/// Changes to the participant list since the previous batch.
struct roster_update {
  std::uint64_t seq = 0;                          ///< the chair's batch number (the last one merged in)
  std::map<std::string, participant> upserts;     ///< by id: joined or changed
  std::set<std::string> removed;                  ///< ids that left
  std::vector<feed_event> events;                 ///< oldest first, at most max_feed
  bool resync = false;                            ///< the receiver must reload the whole list
  bool empty() const noexcept { return upserts.empty() && removed.empty() && events.empty() && !resync; }
};

/// How many feed lines a batch keeps (and an admin page shows).
inline constexpr std::size_t max_feed = 50;

/// Applies one diff's changes to a batch being built.
void add(roster_update& into, diff_changes changes);
/// Merges a later batch into an earlier one: the result says what both say, in order.
void merge(roster_update& into, roster_update later);

}  // namespace convention
