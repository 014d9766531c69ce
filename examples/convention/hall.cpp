#include "hall.hpp"

#include <limits>

#include "chair.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/supervisor.hpp"

namespace convention {

hall::hall(corvid::runtime& rt, corvid::pubsub::hub& hub, corvid::pubsub::presence& who, tuning t)
    : rt_(rt), hub_(hub), who_(who), tuning_(t) {}

caf::error hall::start() {
  corvid::spawn_options so;
  so.label = "convention_chair";
  // The chair's own messages are presence diffs, a few per change: reject would lose a diff,
  // so it gets a roomy box; its work per diff is small (no rendering).
  so.mailbox = corvid::mailbox_options{};
  so.mailbox->capacity = 100'000;
  auto spec = corvid::child_spec::worker("chair", [this](corvid::process& self) { return chair_behavior(self, *this); }, so);
  corvid::supervisor_flags flags;
  flags.intensity = 10;
  corvid::spawn_options sup;
  sup.label = "convention_sup";
  auto s = corvid::start_supervisor(rt_, flags, {std::move(spec)}, sup);
  return s ? caf::error{} : s.error();
}

motion_record hall::motion() const {
  std::lock_guard<std::mutex> g{m_};
  return motion_;
}

caf::error hall::open_motion(std::string text) {
  std::lock_guard<std::mutex> g{m_};
  if (!chair_) return corvid::make_error(corvid::errc::not_found, "the chair is not seated");
  auto next = next_motion(motion_, node(), std::move(text));
  auto r = who_.update(chair_, motions_topic, node(), to_meta(next));
  if (!r) return r.error();
  motion_ = std::move(next);  // at once, so that a second open here takes the version after it
  return {};
}

tally hall::current_tally() const {
  auto m = motion();
  {
    std::lock_guard<std::mutex> g{m_};
    if (!tuning_.naive && announced_for_ == m.id()) return announced_;
  }
  return count(who_.list(participants_topic), m.id());
}

void hall::announce(const std::string& motion_id, const tally& t) {
  std::lock_guard<std::mutex> g{m_};
  announced_for_ = motion_id;
  announced_ = t;
}

std::vector<participant> hall::participants() const {
  return participants(std::numeric_limits<std::size_t>::max());
}

std::vector<participant> hall::participants(std::size_t max) const {
  std::vector<participant> out;
  for (auto& [key, kp] : who_.list(participants_topic, max))
    if (auto p = participant_of(key, kp)) out.push_back(std::move(*p));
  return out;
}

caf::error hall::seat(const corvid::pid& chair) {
  std::lock_guard<std::mutex> g{m_};
  if (auto w = winner(who_.list(motions_topic)); newer(w, motion_)) motion_ = std::move(w);
  chair_ = chair;
  auto r = who_.track(chair, motions_topic, node(), to_meta(motion_));
  return r ? caf::error{} : r.error();
}

bool hall::adopt(const motion_record& candidate) {
  std::lock_guard<std::mutex> g{m_};
  if (!newer(candidate, motion_)) return false;
  motion_ = candidate;
  if (chair_) (void)who_.update(chair_, motions_topic, node(), to_meta(motion_));
  return true;
}

}  // namespace convention
