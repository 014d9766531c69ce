#pragma once
// corvid's own CAF scheduler policy (see scheduler.cpp for how it works and why).

#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/resumable.hpp>

namespace corvid::detail {

/// Installs the "runnext" scheduler on a config (instead of CAF's stealing/sharing).
void use_runnext_scheduler(caf::actor_system_config& cfg);

/// Schedules many woken processes at once: one lock and one wake-up round on corvid's
/// scheduler (one by one on CAF's own). Takes over the references the jobs carry.
void bulk_enqueue(caf::actor_system& sys, std::vector<caf::resumable*>& jobs);

} // namespace corvid::detail
