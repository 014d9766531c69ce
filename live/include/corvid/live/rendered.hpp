// Full renders: plain HTML for the dead render, and the LiveView rendered tree for the join.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "corvid/live/assigns.hpp"
#include "corvid/live/template.hpp"

namespace corvid::live {

namespace detail {
struct node_state;
// Per slot, what the client last received: a hash for text, the branch for an if,
// one node state per entry for a for (or the branch's node state for an if).
struct slot_state {
  std::uint64_t hash = 0;
  std::int8_t branch = -1;  // if: 0 then, 1 else, 2 rendered as ""
  std::vector<node_state> nested;
};
struct node_state {
  std::vector<slot_state> slots;  // empty for a compact entry (see below)
  std::uint64_t key = 0;          // an entry of a keyed for: its key's fingerprint
  // A for's entry whose template is one text slot (`<li>{{ item }}</li>`, the common list) keeps
  // only that slot's hash here, not a slot vector: 40 bytes an entry instead of about 90.
  std::uint64_t text = 0;
};
struct render_access;
struct shared_rows;
}  // namespace detail

/// What one client holds for one view, kept small to diff against later: text slots are remembered
/// as 64-bit hashes, not strings (a collision, odds ~2^-64 per change, would skip that one update).
class render_state {
 public:
  /// True before the first full render (a diff then falls back to a full render).
  bool empty() const noexcept { return root_ == nullptr; }
  void reset() noexcept {
    root_ = nullptr;
    state_ = {};
    rows_.clear();
  }

 private:
  friend struct detail::render_access;
  std::shared_ptr<const template_node> root_;  // the tree the state mirrors
  detail::node_state state_;
  // Top-level comprehensions of a shared list: the entries' state every session of the template
  // holds alike, by slot, instead of a copy each (shared_diff.hpp).
  std::vector<std::pair<std::uint32_t, std::shared_ptr<const detail::shared_rows>>> rows_;
};

/// Places the stateful components a template renders ({% live_component %}); the channel and the
/// dead render provide one. Without a host, a component renders as nothing.
class component_host {
 public:
  virtual ~component_host() = default;
  /// The cid of the component `slot` calls with these arguments, mounting or updating it.
  virtual std::int64_t place(const dynamic_part& slot, value::map args) = 0;
  /// The component's HTML for the dead render, appended to `out`.
  virtual void place_html(const dynamic_part& slot, value::map args, std::string& out) = 0;
  /// A {% live_render %}: the child view's container (connected) or its dead render, appended to `out`.
  virtual void place_view(const dynamic_part& slot, value::map args, std::string& out) {
    (void)slot, (void)args, (void)out;
  }
};

/// The page HTML for the first, "dead" HTTP render (no state, no JSON).
std::string render_html(const html_template& t, const assigns& a, component_host* host = nullptr);

/// The full rendered tree {"s":[...],"0":...} for a join reply; resets `st` to match it. Component
/// slots hold their cid; the components' own trees are the host's to send (the "c" section).
boost::json::object render(const html_template& t, const assigns& a, render_state& st, component_host* host = nullptr);

}  // namespace corvid::live
