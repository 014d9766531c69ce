#include "admin_assigns.hpp"

#include <algorithm>

#include "corvid/runtime/error.hpp"
#include "text.hpp"

namespace convention {

namespace live = corvid::live;

void show_motion(const motion_record& m, live::socket& s) {
  s.assign("motion_open", m.open());
  s.assign("motion_version", static_cast<std::int64_t>(m.version));
  s.assign("motion_node", m.node);
  s.assign("motion_text", m.open() ? m.text : std::string{"(none yet: open one below)"});
}

void show_tally(const tally& t, live::socket& s) {
  s.assign("present", static_cast<std::int64_t>(t.participants));
  s.assign("yes", static_cast<std::int64_t>(t.yes));
  s.assign("no", static_cast<std::int64_t>(t.no));
  s.assign("abstain", static_cast<std::int64_t>(t.abstain));
  s.assign("not_voted", static_cast<std::int64_t>(t.participants - std::min(t.participants, t.voted())));
}

live::value row_of(const participant& p, const std::string& motion_id) {
  std::string v = p.cast && p.motion_id == motion_id ? std::string(name_of(*p.cast)) : "—";
  return live::value::map{{"id", p.id}, {"name", p.name}, {"node", p.node}, {"vote", v}};
}

live::value line_of(const feed_event& e) {
  return live::value::map{{"id", static_cast<std::int64_t>(e.seq)}, {"text", format(e)}};
}

live::status open_motion(hall& h, const live::event_value& v, live::socket& s) {
  auto it = v.values.find("text");
  std::string text = it == v.values.end() ? std::string{} : clean_text(it->second, max_motion_bytes);
  if (text.empty()) {
    s.assign("error", "Type the motion's text first.");
    return live::status::ok();
  }
  if (auto err = h.open_motion(text)) {
    s.assign("error", "Could not open the motion: " + corvid::describe(err));
    return live::status::ok();
  }
  s.assign("error", "");
  return live::status::ok();
}

}  // namespace convention
