// The messages between the chair, the inboxes and the pages of one node (never across nodes:
// what crosses nodes is presence state, see motion.hpp and tally.hpp).
#pragma once

#include <optional>

#include <caf/allowed_unsafe_message_type.hpp>

#include "motion.hpp"
#include "roster.hpp"
#include "tally.hpp"

namespace convention {

/// Topics. The first two are Presence topics replicated across the cluster; the others carry
/// the chair's local broadcasts to the pages of its node.
inline const std::string participants_topic = "convention:participants";  ///< key: participant id
inline const std::string motions_topic = "convention:motions";            ///< key: node name (its chair)
inline const std::string motion_topic = "convention:motion";              ///< motion_changed
inline const std::string tally_topic = "convention:tally";                ///< tally_update
inline const std::string roster_topic = "convention:roster";              ///< roster_update

/// The current motion changed (another motion was opened somewhere).
struct motion_changed {
  motion_record motion;
};

/// The count for the current motion.
struct tally_update {
  motion_record motion;
  tally counts;
};

/// What an inbox hands its page in one go: the latest of each, changes merged.
struct inbox_delivery {
  std::optional<motion_record> motion;
  std::optional<tally_update> tally;
  std::optional<roster_update> roster;
};

/// A page's answer to an inbox_delivery: handled, the next one may come.
struct inbox_ready {};

/// A naive participant page's once-a-second timer.
struct poll_tick {};

}  // namespace convention

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::motion_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::tally_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::roster_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::inbox_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::inbox_ready)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(convention::poll_tick)
