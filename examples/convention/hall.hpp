// One node's convention: the current motion, who is present and how they voted (read from the
// replicated Presence), and the chair, the node's process that watches both Presence topics
// and tells the node's pages what changed (throttled in the safe design).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/presence.hpp"
#include "corvid/runtime/process.hpp"
#include "messages.hpp"
#include "options.hpp"

namespace convention {

/// Thread-safe; pages call it from their session processes. Destroy it before the presence.
class hall {
 public:
  hall(corvid::runtime& rt, corvid::pubsub::hub& hub, corvid::pubsub::presence& who, tuning t);

  /// Starts the chair under a supervisor; an error if it cannot start.
  caf::error start();

  /// The motion this node believes current.
  motion_record motion() const;
  /// Opens a new motion from this node: the next version, announced to every node.
  caf::error open_motion(std::string text);
  /// The count for the current motion: the chair's latest (at most one interval old) in the safe
  /// design, else counted from this node's replica of the presence (a copy of the whole list).
  tally current_tally() const;
  /// Everyone present now, on any node.
  std::vector<participant> participants() const;
  /// At most `max` of them (which ones is unspecified), without copying the whole list.
  std::vector<participant> participants(std::size_t max) const;

  corvid::pubsub::hub& hub() const noexcept { return hub_; }
  corvid::pubsub::presence& presence() const noexcept { return who_; }
  const tuning& settings() const noexcept { return tuning_; }
  const std::string& node() const { return hub_.node(); }

  /// Chair: the chair process (re)started as `chair`; tracks it with this node's motion record.
  caf::error seat(const corvid::pid& chair);
  /// Chair: takes `candidate` if it is newer; true if it was. The chair's meta follows, so the
  /// record stays in the cluster when the node that opened it goes.
  bool adopt(const motion_record& candidate);
  /// Chair: the tally it just sent to the pages, for motion `motion_id`.
  void announce(const std::string& motion_id, const tally& t);

 private:
  corvid::runtime& rt_;
  corvid::pubsub::hub& hub_;
  corvid::pubsub::presence& who_;
  tuning tuning_;
  mutable std::mutex m_;  // orders open_motion and adopt: versions only grow
  motion_record motion_;
  corvid::pid chair_;
  std::string announced_for_;  // the motion id of announced_
  tally announced_;
};

}  // namespace convention
