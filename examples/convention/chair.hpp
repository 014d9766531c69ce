// The chair: one process per node. It watches the two Presence topics and turns their diffs
// into what the node's pages need: motion changes at once; tallies and participant-list
// changes through a throttle (safe design), at most one of each per interval however many
// votes arrive. In the naive design it only passes motions on: naive admin pages take every
// presence diff themselves.
#pragma once

#include "corvid/runtime/process.hpp"

namespace convention {

class hall;

/// The chair's behavior, run inside the chair process (a supervisor's child).
corvid::behavior chair_behavior(corvid::process& self, hall& h);

}  // namespace convention
