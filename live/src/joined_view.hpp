// Internal: one joined LiveView of a channel (its view, socket, template, render and component
// state), shared by channel.cpp and channel_uploads.cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <system_error>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "component_table.hpp"
#include "corvid/live/channel.hpp"
#include "corvid/live/diff.hpp"
#include "corvid/live/log.hpp"
#include "corvid/live/metrics.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/rendered.hpp"
#include "shared_diff.hpp"

namespace corvid::live {

namespace detail {
inline void view_threw(std::string_view pattern, std::string_view where, std::string_view what) {
  log(log_kind::view, std::string(pattern) + ": " + std::string(where) + " threw: " + std::string(what));
}
}  // namespace detail

namespace json = boost::json;

struct channel::joined_view {
  std::string topic;
  std::optional<std::string> join_ref;
  std::string pattern;  // the route it was mounted for
  std::string url;      // absolute, as the browser shows it
  std::unique_ptr<live::view> impl;
  live::socket sock;
  html_template tpl;
  render_state st;
  std::unique_ptr<detail::component_table> comps;  // null when the template places none
  bool dirty = false;
  view_stats* stats = nullptr;  // its view's figures (metrics configured): counted live while it is

  ~joined_view() {
    if (stats) stats->live.fetch_sub(1, std::memory_order_relaxed);
  }

  joined_view(std::string t, corvid::pid self, corvid::process* proc, html_template tp, std::size_t max_components)
      : topic(std::move(t)),
        sock(true, self),
        tpl(std::move(tp)),
        // a template without components or nested views needs no table (about 240 bytes a view)
        comps(detail::places_components(tpl)
                  ? std::make_unique<detail::component_table>(true, std::move(self), proc, max_components)
                  : nullptr) {
    sock.attach(proc);
  }

  // Ends the view; what it throws is logged, never passed on (the view is gone either way).
  void terminate() noexcept {
    detail::remove_upload_files(sock);  // files never consumed go with their view
    try {
      impl->terminate(sock);
    } catch (const std::exception& e) {
      detail::view_threw(pattern, "terminate", e.what());
    } catch (...) {
      detail::view_threw(pattern, "terminate", "something that is not a std::exception");
    }
  }

  // take_diff()'s shared path: the body of a change only top-level text slots read, made once for
  // every session of the template (shared_diff.hpp); a null body sends nothing. nullopt: the change
  // needs take_diff() (components, title, events or any other slot), and nothing was cleared.
  std::optional<detail::shared_body> take_shared_diff() {
    auto& a = sock.assigns();
    if (a.changed().empty() || comps_dirty() || sock.has_events() || a.is_changed("page_title")) return std::nullopt;
    auto body = detail::shared_diff(tpl, a, a.changed(), st);
    if (!body) return std::nullopt;
    a.clear_changes();
    sock.reset_temporary();
    dirty = false;
    return body;
  }
  bool comps_dirty() const noexcept { return comps && comps->dirty(); }
  // The components' "c" section (empty without components).
  json::object comp_diffs() { return comps ? comps->take_diffs() : json::object{}; }
  // The head of this view's diff frames.
  std::string diff_head() const {
    return encode_frame_head(join_ref ? opt_ref(*join_ref) : std::nullopt, std::nullopt, topic, "diff");
  }

  // The diff since the last one sent, with "t" when the title changed and "c" when components did;
  // clears the changes. Throws what a component throws while rendering.
  json::object take_diff() {
    auto& a = sock.assigns();
    json::object d;
    if (!a.changed().empty()) d = live::diff(tpl, a, st, comps.get());
    if (auto c = comp_diffs(); !c.empty()) d["c"] = std::move(c);
    if (a.is_changed("page_title"))
      if (auto* t = a["page_title"].get_if<std::string>()) d["t"] = *t;
    a.clear_changes();
    sock.reset_temporary();
    add_events(d);
    dirty = false;
    return d;
  }
  // What a component's handler asked for acts for the view: its events and navigation.
  void adopt(socket& from) {
    for (auto& ev : from.take_events()) sock.push_event(std::move(ev.name), std::move(ev.payload), ev.before);
    if (auto nav = from.take_navigation()) {
      switch (nav->type) {
        case navigation::kind::patch: sock.push_patch(std::move(nav->to), nav->history); break;
        case navigation::kind::navigate: sock.push_navigate(std::move(nav->to), nav->history); break;
        case navigation::kind::redirect: sock.redirect(std::move(nav->to)); break;
      }
    }
  }
  // Events pushed for the page's hooks travel in the render: top-level "e".
  void add_events(json::object& d) {
    if (!sock.has_events()) return;
    json::array e;
    for (auto& ev : sock.take_events()) {
      json::array one{json::string(ev.name), ev.payload.to_json()};
      if (ev.before) one.emplace_back(true);
      e.emplace_back(std::move(one));
    }
    d["e"] = std::move(e);
  }
};

}  // namespace corvid::live
