#include "chair.hpp"

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include "corvid/pubsub/limiter.hpp"
#include "corvid/runtime/error.hpp"
#include "hall.hpp"

namespace convention {

namespace {

struct chair_state {
  hall& h;
  std::map<std::string, participant> known;  // as the last batch told the pages
  roster_update pending;  // participant changes since the last batch went out
  std::uint64_t batches = 0;
  std::uint64_t lines = 0;
  motion_record announced;
  std::optional<corvid::pubsub::throttle> limit;
  tally counts;  // of `known`, for the motion `counted_for`, kept up to date per change
  std::optional<std::string> counted_for;  // none: count afresh at the next publish

  explicit chair_state(hall& hl) : h(hl) {}

  // The tally for motion `m`, from what the chair holds: counting the presence list every
  // interval was a fifth of a node's CPU at 30,000 participants.
  const tally& current(const motion_record& m) {
    if (counted_for != m.id()) {  // a new motion (or the first count): once over everyone
      counts = count(known, m.id());
      counted_for = m.id();
    }
    return counts;
  }
  void publish() {
    auto m = h.motion();
    (void)h.hub().local_broadcast(tally_topic, tally_update{m, current(m)});
    h.announce(m.id(), counts);
    if (!pending.empty()) {
      pending.seq = ++batches;
      (void)h.hub().local_broadcast(roster_topic, std::move(pending));
      pending = {};
    }
  }
  void changed() {
    if (h.settings().naive) return;  // naive pages read the presence themselves
    if (limit) (*limit)(std::string{"changed"});
    else publish();
  }
  void on_motions() {
    h.adopt(winner(h.presence().list(motions_topic)));
    auto m = h.motion();
    if (m == announced) return;
    announced = m;
    (void)h.hub().local_broadcast(motion_topic, motion_changed{m});
    changed();  // votes for the old motion count no more
  }
  void on_participants(const corvid::pubsub::presence_diff& d) {
    if (h.settings().naive) return;
    auto keys = touched(d);
    auto recount = [&](bool out) {
      if (!counted_for) return;
      for (auto& k : keys)
        if (auto it = known.find(k); it != known.end()) count_in(counts, it->second, *counted_for, out);
    };
    recount(true);
    auto c = reconcile(known, keys, d.topic, h.presence());  // the keys once per diff, not twice
    recount(false);
    for (auto& e : c.events) e.seq = ++lines;
    add(pending, std::move(c));
    changed();
  }
};

}  // namespace

corvid::behavior chair_behavior(corvid::process& self, hall& h) {
  auto st = std::make_shared<chair_state>(h);
  if (h.settings().throttle.count() > 0)
    st->limit.emplace(self, h.settings().throttle, [raw = st.get()](caf::message) { raw->publish(); });
  self.hold(st);
  // Subscribed before the seat's snapshot: no diff falls between them.
  for (auto* t : {&participants_topic, &motions_topic})
    if (auto err = h.hub().subscribe(self.self(), *t)) throw std::runtime_error("chair: " + corvid::describe(err));
  if (auto err = h.seat(self.self())) throw std::runtime_error("chair: " + corvid::describe(err));
  for (auto& p : h.participants()) st->known.emplace(p.id, p);  // a restarted chair announces no one twice
  st->on_motions();
  return {corvid::pubsub::limiter_handler(), [st](const corvid::pubsub::presence_diff& d) {
            if (d.topic == motions_topic) st->on_motions();
            else if (d.topic == participants_topic) st->on_participants(d);
          }};
}

}  // namespace convention
