#include "events.hpp"

namespace convention {

std::string format(const feed_event& e) {
  switch (e.what) {
    case feed_event::kind::joined: return e.who + " joined on " + e.node;
    case feed_event::kind::left: return e.who + " left";
    case feed_event::kind::voted: return e.who + " voted " + e.vote;
  }
  return {};
}

std::vector<std::string> touched(const corvid::pubsub::presence_diff& d) {
  std::vector<std::string> keys;
  for (auto& [key, kp] : d.joins) keys.push_back(key);
  for (auto& [key, kp] : d.leaves)
    if (!d.joins.count(key)) keys.push_back(key);
  return keys;
}

diff_changes reconcile(std::map<std::string, participant>& known, const std::vector<std::string>& keys,
                       const corvid::pubsub::presence_list& now) {
  diff_changes out;
  for (auto& key : keys) {
    auto was = known.find(key);
    auto it = now.find(key);
    auto is = it == now.end() ? std::nullopt : participant_of(key, it->second);
    if (!is) {
      if (was == known.end()) continue;
      out.removed.push_back(key);
      out.events.push_back({feed_event::kind::left, was->second.name, was->second.node, {}, 0});
      known.erase(was);
      continue;
    }
    if (was == known.end()) {
      out.events.push_back({feed_event::kind::joined, is->name, is->node, {}, 0});
      // Seen for the first time with a vote: both changes travelled to this node in one delta.
      if (is->cast) out.events.push_back({feed_event::kind::voted, is->name, is->node, std::string(name_of(*is->cast)), 0});
    } else if (was->second == *is) {
      continue;  // nothing this page shows changed
    } else if (is->cast && (was->second.cast != is->cast || was->second.motion_id != is->motion_id)) {
      out.events.push_back({feed_event::kind::voted, is->name, is->node, std::string(name_of(*is->cast)), 0});
    }
    out.upserts.push_back(*is);
    known.insert_or_assign(key, std::move(*is));
  }
  return out;
}

diff_changes reconcile(std::map<std::string, participant>& known, const std::vector<std::string>& keys,
                       const std::string& topic, const corvid::pubsub::presence& who) {
  corvid::pubsub::presence_list now;
  for (auto& k : keys)
    if (auto kp = who.get_by_key(topic, k); !kp.metas.empty()) now.emplace(k, std::move(kp));
  return reconcile(known, keys, now);
}

diff_changes reconcile(std::map<std::string, participant>& known, const corvid::pubsub::presence_diff& d,
                       const corvid::pubsub::presence& who) {
  return reconcile(known, touched(d), d.topic, who);
}

}  // namespace convention
