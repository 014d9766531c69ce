// What both chair pages (safe and naive) show the same way: the motion, the tally, a
// participant row, a feed line, and opening a motion.
#pragma once

#include <string>

#include "corvid/live/view.hpp"
#include "hall.hpp"

namespace convention {

void show_motion(const motion_record& m, corvid::live::socket& s);
void show_tally(const tally& t, corvid::live::socket& s);
/// {id, name, node, vote}: the vote only if it was cast for `motion_id`.
corvid::live::value row_of(const participant& p, const std::string& motion_id);
/// {id, text}.
corvid::live::value line_of(const feed_event& e);
/// The "open_motion" form: an empty text is refused with a message on the page.
corvid::live::status open_motion(hall& h, const corvid::live::event_value& v, corvid::live::socket& s);

}  // namespace convention
