// Votes and their count. Each participant's vote lives in its presence meta together with the
// motion it was cast for, so that every node counts the same votes from its replica of the
// presence, and a new motion starts from zero without touching anyone's meta.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "corvid/pubsub/crdt.hpp"
#include "corvid/pubsub/presence.hpp"

namespace convention {

enum class vote { yes, no, abstain };

/// "yes", "no", "abstain".
std::string_view name_of(vote v);
/// The vote a button or a meta names, or nullopt.
std::optional<vote> parse_vote(std::string_view s);

/// One participant as the presence meta holds it.
struct participant {
  std::string id;    ///< the presence key: unique per joined page, across nodes
  std::string name;
  std::string node;  ///< where its session runs
  std::optional<vote> cast;
  std::string motion_id;  ///< what `cast` was for ("" = no vote)
  friend bool operator==(const participant&, const participant&) = default;
};

corvid::pubsub::meta to_meta(const participant& p);
/// The participant of presence key `id` with meta `m` tracked on `node`.
participant participant_from_meta(const std::string& id, const corvid::pubsub::meta& m, const std::string& node);

/// The participant a key's presences stand for: its newest meta (a participant is tracked once,
/// by one node, whose dots grow; while an update travels, old and new may both be listed).
std::optional<participant> participant_of(const std::string& key, const corvid::pubsub::key_presences& kp);

/// Votes for one motion.
struct tally {
  std::size_t yes = 0, no = 0, abstain = 0;
  std::size_t participants = 0;  ///< present now, voted or not
  std::size_t voted() const noexcept { return yes + no + abstain; }
  friend bool operator==(const tally&, const tally&) = default;
};

/// Counts the votes for `motion_id` among the participants listed (one per key: participant_of).
tally count(const corvid::pubsub::presence_list& entries, const std::string& motion_id);
/// The same over participants already read from the presence (a chair's, by id): no copy of the list.
tally count(const std::map<std::string, participant>& known, const std::string& motion_id);
/// Adds `p` to `t` (or takes it out again with `out`): a count kept up to date one change at a time.
void count_in(tally& t, const participant& p, const std::string& motion_id, bool out = false);

/// The longest participant name kept, in bytes.
inline constexpr std::size_t max_name_bytes = 40;

}  // namespace convention
