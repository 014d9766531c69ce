// Internal: evaluation shared by the HTML renderer, the full tree renderer and the differ.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "corvid/live/assigns.hpp"
#include "corvid/live/rendered.hpp"
#include "corvid/live/template.hpp"

namespace corvid::live::detail {

// A loop variable in scope; `changed` says whether the list it comes from changed.
struct binding {
  std::string_view name;
  const value* v;
  bool changed;
  const binding* next;
};

struct scope {
  const assigns& a;
  const binding* locals = nullptr;
  component_host* host = nullptr;
  const scope* caller = nullptr;  ///< inside a function component: where it was called (its block reads there)
  /// The same assigns, host and caller with other locals.
  scope with(const binding* l) const noexcept { return scope{a, l, host, caller}; }
};

/// A function component's arguments, evaluated, bound as its locals (and `changed` by the caller's change set).
struct call_frame {
  std::vector<value> values;
  std::vector<binding> names;
  call_frame(const dynamic_part& d, const scope& sc, const change_set* changed);
  call_frame(const call_frame&) = delete;
  /// The scope the called template renders in: its arguments, the assigns, and `sc` as the caller.
  scope inside(const scope& sc) const noexcept { return scope{sc.a, names.empty() ? nullptr : &names.front(), sc.host, &sc}; }
};

struct render_access {
  static node_state& state(render_state& st) { return st.state_; }
  static auto& rows(render_state& st) { return st.rows_; }
  static std::shared_ptr<const template_node>& root(render_state& st) { return st.root_; }
  static const std::shared_ptr<const template_node>& root(const html_template& t) { return t.root_; }
  static diff_memo& memo(const html_template& t) { return *t.memo_; }
};

/// The value a path names, or nullptr if any step is missing.
const value* resolve(const path& p, const scope& sc);
/// Appends the text of an expr/call slot, escaped unless the slot is raw or the value is safe_html.
void append_slot_text(std::string& out, const dynamic_part& d, const scope& sc);
/// 0 = then branch, 1 = else branch, 2 = nothing (false without an else).
std::int8_t eval_branch(const dynamic_part& d, const scope& sc);
/// The list a for iterates; nullptr renders as an empty list.
const value::list* eval_list(const dynamic_part& d, const scope& sc);

/// The arguments of a component slot, evaluated.
value::map eval_args(const dynamic_part& d, const scope& sc);
/// A keyed for's entry key (its key path in the entry's scope), as a fingerprint.
std::uint64_t entry_key(const dynamic_part& d, const scope& inner);
/// A component slot's fingerprint: its cid (never equal to a text's).
std::uint64_t cid_hash(std::int64_t cid) noexcept;

std::uint64_t text_hash(std::string_view s) noexcept;

/// The JSON key of slot/entry i ("0", "1", ...), written into `buf`.
std::string_view index_key(std::size_t i, char (&buf)[24]) noexcept;

/// Renders `n` as a tree node into `out` (with "s" unless it is a comprehension entry) and fills `st`.
void render_node(const template_node& n, const scope& sc, node_state& st, boost::json::object& out, bool with_statics);
/// True for a for's entry template that is one text slot: its entries keep node_state::text only.
bool compact_entry(const template_node& n) noexcept;
/// A stream slot: the pending inserts as entries "k" plus "stream": [name, inserts, deletes] (and
/// `true` after a reset: the client resets on any 4th element); "s" too when `with_statics`.
boost::json::object render_stream(const dynamic_part& d, const scope& sc, bool with_statics);
/// The full JSON of one slot, and `st` reset to match it.
boost::json::value render_slot(const dynamic_part& d, const scope& sc, slot_state& st);

}  // namespace corvid::live::detail
