// Incremental diffs: only what reads a changed assign is re-rendered, only what differs is sent.
#pragma once

#include <boost/json/object.hpp>

#include "corvid/live/assigns.hpp"
#include "corvid/live/rendered.hpp"
#include "corvid/live/template.hpp"

namespace corvid::live {

/// The diff from what `st` says the client holds to the current render; updates `st`.
/// An empty object means nothing to send. Nested statics are sent only when a branch switches.
/// If `st` is empty or was built for another template, this is a full render().
/// Components are placed through `host` (see render()).
boost::json::object diff(const html_template& t, const assigns& a, const change_set& changed, render_state& st,
                         component_host* host = nullptr);

/// diff() with `a.changed()`; call `a.clear_changes()` after sending.
inline boost::json::object diff(const html_template& t, const assigns& a, render_state& st,
                                component_host* host = nullptr) {
  return diff(t, a, a.changed(), st, host);
}

}  // namespace corvid::live
