// Internal: the container of a nested view ({% live_render %}), for the parent's render and the dead
// render, and the signed session it carries.
#pragma once

#include <string>
#include <string_view>

#include "corvid/live/channel.hpp"
#include "corvid/live/escape.hpp"

namespace corvid::live::detail {

/// The child's claims: its view name, its parent's page, live_session and page id (so the page's CSRF
/// token holds for the child's join), and the live_render arguments but id as session values.
inline session_claims child_claims(const session_claims& parent, const dynamic_part& slot, const value::map& args) {
  session_claims c;
  c.view = std::string(child_view_prefix) + slot.fn_name;
  c.route = parent.route;
  c.issued_at = std::chrono::duration_cast<std::chrono::seconds>(token_signer::clock::now().time_since_epoch()).count();
  c.id = parent.id;
  c.live_session = parent.live_session;
  for (const auto& [k, v] : args) {
    if (k == "id" || k == "sticky") continue;
    std::string text;
    v.append_text(text);
    c.values.insert_or_assign(k, std::move(text));
  }
  return c;
}

/// The element id a live_render names (a literal, checked by the parser).
inline const std::string& child_id(const value::map& args) { return *args.at("id").get_if<std::string>(); }

/// Whether a live_render is sticky=true: a root view of its own that live navigation keeps.
inline bool child_sticky(const value::map& args) {
  auto it = args.find("sticky");
  return it != args.end() && it->second.truthy();
}

/// <div id=... data-phx-session=... data-phx-static="" data-phx-parent-id=...>inner</div>, or
/// data-phx-sticky instead of the parent id for a sticky view.
inline void append_child_container(std::string& out, std::string_view id, std::string_view token,
                                   std::string_view parent_id, std::string_view inner, bool sticky) {
  out += "<div id=\"";
  append_escaped(out, id);
  out += "\" data-phx-session=\"";
  append_escaped(out, token);
  if (sticky) {
    out += "\" data-phx-static=\"\" data-phx-sticky";
  } else {
    out += "\" data-phx-static=\"\" data-phx-parent-id=\"";
    append_escaped(out, parent_id);
    out += '"';
  }
  out += ">";
  out += inner;
  out += "</div>";
}

}  // namespace corvid::live::detail
