#include "corvid/live/rendered.hpp"

#include <algorithm>
#include <vector>

#include "eval.hpp"
#include "shared_diff.hpp"
#include "shared_statics.hpp"

namespace corvid::live {

namespace {
void html_node(const template_node& n, const detail::scope& sc, std::string& out);

// The dead render of a stream: its pending inserts applied to an empty list, as the client would.
void html_stream(const dynamic_part& d, const detail::scope& sc, std::string& out) {
  const auto* ops = sc.a.stream_pending(d.subject.segments.front());
  if (!ops) return;
  std::vector<const stream_insert*> items;
  for (const auto& ins : ops->inserts) {
    auto same = std::find_if(items.begin(), items.end(), [&](auto* i) { return i->dom_id == ins.dom_id; });
    if (same != items.end()) {
      *same = &ins;  // an update in place
      continue;
    }
    if (ins.update_only) continue;
    auto at = ins.at < 0 ? items.size() : std::min<std::size_t>(static_cast<std::size_t>(ins.at), items.size());
    items.insert(items.begin() + static_cast<std::ptrdiff_t>(at), &ins);
    if (ins.limit && *ins.limit >= 0 && items.size() > static_cast<std::size_t>(*ins.limit))
      items.resize(static_cast<std::size_t>(*ins.limit));
    if (ins.limit && *ins.limit < 0 && items.size() > static_cast<std::size_t>(-*ins.limit))
      items.erase(items.begin(), items.end() - static_cast<std::ptrdiff_t>(-*ins.limit));
  }
  for (auto* ins : items) {
    value id{ins->dom_id};
    detail::binding item{d.var, &ins->item, true, sc.locals};
    detail::binding dom{d.id_var, &id, true, &item};
    html_node(*d.then_node, sc.with(d.id_var.empty() ? &item : &dom), out);
  }
}

void html_node(const template_node& n, const detail::scope& sc, std::string& out) {
  out += n.statics[0];
  for (std::size_t i = 0; i < n.dynamics.size(); ++i) {
    const auto& d = n.dynamics[i];
    switch (d.kind) {
      case dynamic_kind::expr:
      case dynamic_kind::call: detail::append_slot_text(out, d, sc); break;
      case dynamic_kind::if_block: {
        auto b = detail::eval_branch(d, sc);
        if (b != 2) html_node(b == 0 ? *d.then_node : *d.else_node, sc, out);
        break;
      }
      case dynamic_kind::stream_block: html_stream(d, sc, out); break;
      case dynamic_kind::component:
        if (sc.host) sc.host->place_html(d, detail::eval_args(d, sc), out);
        break;
      case dynamic_kind::fn_component: {
        detail::call_frame frame(d, sc, nullptr);
        html_node(*d.then_node, frame.inside(sc), out);
        break;
      }
      case dynamic_kind::live_render:
        if (sc.host) sc.host->place_view(d, detail::eval_args(d, sc), out);
        break;
      case dynamic_kind::inner_block: html_node(*d.then_node, sc.caller ? *sc.caller : sc, out); break;
      case dynamic_kind::for_block:
        if (const auto* items = detail::eval_list(d, sc)) {
          for (const auto& item : *items) {
            detail::binding b{d.var, &item, true, sc.locals};
            html_node(*d.then_node, sc.with(&b), out);
          }
        }
        break;
    }
    out += n.statics[i + 1];
  }
}
}  // namespace

std::string render_html(const html_template& t, const assigns& a, component_host* host) {
  std::string out;
  html_node(t.root(), detail::scope{a, nullptr, host}, out);
  return out;
}

boost::json::object render(const html_template& t, const assigns& a, render_state& st, component_host* host) {
  boost::json::object out;
  detail::render_access::root(st) = detail::render_access::root(t);
  detail::render_access::rows(st).clear();
  detail::render_node(t.root(), detail::scope{a, nullptr, host}, detail::render_access::state(st), out, true);
  detail::share_statics(out);
  detail::share_rows(t, a, st);
  return out;
}

}  // namespace corvid::live
