#include "tally.hpp"

namespace convention {

std::string_view name_of(vote v) {
  switch (v) {
    case vote::yes: return "yes";
    case vote::no: return "no";
    case vote::abstain: return "abstain";
  }
  return "";
}

std::optional<vote> parse_vote(std::string_view s) {
  if (s == "yes") return vote::yes;
  if (s == "no") return vote::no;
  if (s == "abstain") return vote::abstain;
  return std::nullopt;
}

corvid::pubsub::meta to_meta(const participant& p) {
  corvid::pubsub::meta m{{"name", p.name}};
  if (p.cast) {
    m["vote"] = std::string(name_of(*p.cast));
    m["motion"] = p.motion_id;
  }
  return m;
}

participant participant_from_meta(const std::string& id, const corvid::pubsub::meta& m, const std::string& node) {
  participant p;
  p.id = id;
  p.node = node;
  if (auto n = m.find("name"); n != m.end()) p.name = n->second;
  auto v = m.find("vote"), mo = m.find("motion");
  if (v != m.end() && mo != m.end()) {
    p.cast = parse_vote(v->second);
    if (p.cast) p.motion_id = mo->second;
  }
  return p;
}

std::optional<participant> participant_of(const std::string& key, const corvid::pubsub::key_presences& kp) {
  if (kp.metas.empty()) return std::nullopt;
  return participant_from_meta(key, kp.metas.back().meta, kp.metas.back().node);
}

void count_in(tally& t, const participant& p, const std::string& motion_id, bool out) {
  auto step = [out](std::size_t& n) { n = out ? n - 1 : n + 1; };
  step(t.participants);
  if (!p.cast || p.motion_id != motion_id) return;
  switch (*p.cast) {
    case vote::yes: step(t.yes); break;
    case vote::no: step(t.no); break;
    case vote::abstain: step(t.abstain); break;
  }
}

tally count(const corvid::pubsub::presence_list& entries, const std::string& motion_id) {
  tally t;
  for (auto& [key, kp] : entries)
    if (auto p = participant_of(key, kp)) count_in(t, *p, motion_id);
  return t;
}

tally count(const std::map<std::string, participant>& known, const std::string& motion_id) {
  tally t;
  for (auto& [id, p] : known) count_in(t, p, motion_id);
  return t;
}

}  // namespace convention
