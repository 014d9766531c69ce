#pragma once
// Counters of one lane's outbound queue, as /metrics and the dashboard will show them.

#include <cstdint>

namespace corvid::cluster {

struct lane_stats {
  uint64_t queued_frames = 0;       ///< messages waiting (a chunked one counts once)
  uint64_t queued_bytes = 0;        ///< wire bytes waiting
  uint64_t high_water_frames = 0;   ///< most messages ever waiting at once
  uint64_t high_water_bytes = 0;    ///< most bytes ever waiting at once
  uint64_t sent_frames = 0;         ///< messages handed to the socket
  uint64_t refused = 0;             ///< sends refused as overloaded
  uint64_t dropped = 0;             ///< messages discarded because the connection closed
};

} // namespace corvid::cluster
