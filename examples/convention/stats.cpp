#include "stats.hpp"

#include <algorithm>
#include <fstream>

#include <unistd.h>

#include <boost/json.hpp>

#include "corvid/runtime/introspection.hpp"

namespace convention {

namespace {

std::size_t rss_now() {
  std::ifstream f("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  f >> total >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

void add(mailbox_summary& s, const corvid::mailbox_stats& m) {
  ++s.processes;
  s.max_length = std::max(s.max_length, m.length);
  s.max_high_water = std::max(s.max_high_water, m.high_water);
  s.capacity = std::max(s.capacity, m.capacity);
  s.dropped += m.dropped;
  s.coalesced += m.coalesced;
}

boost::json::object json_of(const mailbox_summary& s) {
  return {{"processes", s.processes}, {"max_length", s.max_length}, {"max_high_water", s.max_high_water},
          {"capacity", s.capacity},   {"dropped", s.dropped},       {"coalesced", s.coalesced}};
}

}  // namespace

stats gather(corvid::runtime& rt, const hall& h) {
  stats s;
  s.node = h.node();
  s.naive = h.settings().naive;
  s.motion = h.motion();
  s.votes = h.current_tally();
  for (auto& p : corvid::processes(rt)) {
    if (p.label == "live_session") add(s.sessions, p.mailbox);
    else if (p.label == "convention_inbox") add(s.inboxes, p.mailbox);
    else if (p.label == "convention_chair") add(s.chair, p.mailbox);
  }
  s.rss_bytes = rss_now();
  return s;
}

std::string to_json(const stats& s) {
  // One headline figure across both kinds: the longest queue any page has now, and its bound.
  mailbox_summary all = s.sessions;
  all.max_length = std::max(s.sessions.max_length, s.inboxes.max_length);
  all.max_high_water = std::max(s.sessions.max_high_water, s.inboxes.max_high_water);
  all.capacity = std::max(s.sessions.capacity, s.inboxes.capacity);
  boost::json::object o{
      {"node", s.node},
      {"naive", s.naive},
      {"participants", s.votes.participants},
      {"votes", {{"yes", s.votes.yes}, {"no", s.votes.no}, {"abstain", s.votes.abstain}}},
      {"motion", {{"version", s.motion.version}, {"node", s.motion.node}, {"text", s.motion.text}}},
      {"mailbox", {{"max_length", all.max_length}, {"max_high_water", all.max_high_water}, {"capacity", all.capacity}}},
      {"sessions", json_of(s.sessions)},
      {"inboxes", json_of(s.inboxes)},
      {"chair", json_of(s.chair)},
      {"cluster",
       {{"members", s.cluster.members},
        {"members_up", s.cluster.members_up},
        {"lane_refused", s.cluster.lane_refused},
        {"lane_dropped", s.cluster.lane_dropped},
        {"lane_high_water_bytes", s.cluster.lane_high_water_bytes},
        {"deltas_sent", s.cluster.deltas_sent},
        {"deltas_merged", s.cluster.deltas_merged},
        {"full_states_sent", s.cluster.full_states_sent},
        {"resyncs", s.cluster.resyncs}}},
      {"rss_bytes", s.rss_bytes},
  };
  return boost::json::serialize(o);
}

}  // namespace convention
