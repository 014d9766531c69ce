// corvid-load's HTML report: one self-contained page (inline CSS, SVG charts drawn here, no scripts,
// no external resources) from the JSON result, so it can be mailed, archived or opened offline.
#pragma once

#include <cstddef>
#include <string>

#include <boost/json/object.hpp>

namespace corvid::load {

/// Timeline points a line chart draws at most; longer timelines are reduced to this many by
/// keeping each group's largest value (peaks stay visible).
inline constexpr std::size_t report_max_points = 600;

/// A self-contained HTML page (no external resources, no scripts needed to see the charts)
/// drawing `result` (corvid-load's JSON result, version 1). Every string from `result` is escaped;
/// missing or malformed parts render as a short note, never an exception.
std::string render_report(const boost::json::object& result);

} // namespace corvid::load
