// A small machine-readable status for load tests: who is there, the votes, and how full the
// pages' mailboxes are (the post-mortem's failure was admin mailboxes growing without bound).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hall.hpp"

namespace corvid {
class runtime;
}

namespace convention {

/// Mailboxes of one kind of process.
struct mailbox_summary {
  std::size_t processes = 0;
  std::size_t max_length = 0;  ///< the longest queue now
  std::size_t max_high_water = 0;  ///< the longest queue ever seen
  std::size_t capacity = 0;    ///< the largest bound among them
  std::uint64_t dropped = 0, coalesced = 0;
};

/// The node's view of its cluster (all zero on a single node).
struct cluster_summary {
  std::size_t members = 0, members_up = 0;
  std::uint64_t lane_refused = 0, lane_dropped = 0;  ///< frames to members refused or lost, summed
  std::uint64_t lane_high_water_bytes = 0;           ///< the fullest outbound queue to any member
  std::uint64_t deltas_sent = 0, deltas_merged = 0, full_states_sent = 0, resyncs = 0;  ///< presence
};

struct stats {
  std::string node;
  bool naive = false;
  motion_record motion;
  tally votes;
  mailbox_summary sessions;  ///< the live server's session processes (one per page)
  mailbox_summary inboxes;   ///< the pages' coalescing inboxes (safe design only)
  mailbox_summary chair;     ///< the node's chair (presence diffs in, batches out; its own bound)
  cluster_summary cluster;
  std::size_t rss_bytes = 0;
};

/// A snapshot (walks every process: call it at most about once a second).
stats gather(corvid::runtime& rt, const hall& h);
/// {"node":..,"naive":..,"participants":N,"votes":{"yes":..,"no":..,"abstain":..},"motion":{..},
///  "mailbox":{"max_length":..,"capacity":..},"sessions":{..},"inboxes":{..},"chair":{..},"cluster":{..},"rss_bytes":..}
std::string to_json(const stats& s);

}  // namespace convention
