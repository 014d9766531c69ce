// What the admins' event feed shows: joins, leaves and votes, read off presence diffs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "corvid/pubsub/presence.hpp"
#include "tally.hpp"

namespace convention {

/// One line of the feed.
struct feed_event {
  enum class kind { joined, left, voted };
  kind what = kind::joined;
  std::string who;   ///< the participant's name
  std::string node;  ///< where its session runs
  std::string vote;  ///< voted: "yes", "no" or "abstain"
  std::uint64_t seq = 0;  ///< numbered by the chair that saw it: tells lines apart on the page
  friend bool operator==(const feed_event&, const feed_event&) = default;
};

/// "alice joined on a@host", "alice left", "alice voted yes".
std::string format(const feed_event& e);

/// What changed for the participants a diff touched, by comparing each one's last known state
/// with its presence now: who is there (upserts), who went (removed), and the feed lines. The
/// comparison, not the diff, decides: a vote travelling to another node may arrive as a join
/// and a leave of the same key in separate diffs, and must read as a vote, not a leave.
struct diff_changes {
  std::vector<participant> upserts;
  std::vector<std::string> removed;
  std::vector<feed_event> events;  ///< seq left 0
};

/// The keys a diff names.
std::vector<std::string> touched(const corvid::pubsub::presence_diff& d);
/// Compares `known` (updated in place) for `keys` with `now` (their entries in the presence now;
/// a key missing there has left).
diff_changes reconcile(std::map<std::string, participant>& known, const std::vector<std::string>& keys,
                       const corvid::pubsub::presence_list& now);
/// reconcile() for `keys` of `who`'s `topic`, read from the presence now.
diff_changes reconcile(std::map<std::string, participant>& known, const std::vector<std::string>& keys,
                       const std::string& topic, const corvid::pubsub::presence& who);
/// reconcile() for a diff of `who`'s participants topic.
diff_changes reconcile(std::map<std::string, participant>& known, const corvid::pubsub::presence_diff& d,
                       const corvid::pubsub::presence& who);

}  // namespace convention
