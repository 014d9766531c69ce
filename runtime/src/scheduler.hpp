#pragma once
// corvid's own CAF scheduler policy (see scheduler.cpp for how it works and why).

#include <caf/actor_system_config.hpp>

namespace corvid::detail {

/// Installs the "runnext" scheduler on a config (instead of CAF's stealing/sharing).
void use_runnext_scheduler(caf::actor_system_config& cfg);

} // namespace corvid::detail
