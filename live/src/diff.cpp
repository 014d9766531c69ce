#include "corvid/live/diff.hpp"

#include "eval.hpp"

namespace corvid::live {

namespace {

using detail::binding;
using detail::node_state;
using detail::scope;

// A loop variable answers for itself (changed when its list changed); other names ask the change set.
bool is_changed(std::string_view name, const change_set& changed, const binding* locals) {
  for (auto* b = locals; b; b = b->next)
    if (b->name == name) return b->changed;
  return changed.find(name) != changed.end();
}

bool any_changed(const std::vector<std::string>& deps, const change_set& changed, const binding* locals) {
  for (const auto& d : deps)
    if (is_changed(d, changed, locals)) return true;
  return false;
}

void diff_node(const template_node& n, const scope& sc, const change_set& changed, node_state& st,
               boost::json::object& out) {
  char buf[24];
  for (std::size_t i = 0; i < n.dynamics.size(); ++i) {
    const auto& d = n.dynamics[i];
    auto& s = st.slots[i];
    // a call's block reads the caller's names, so its dependencies are checked where it was called
    const scope& own = d.kind == dynamic_kind::inner_block && sc.caller ? *sc.caller : sc;
    if (!any_changed(d.deps, changed, own.locals)) continue;
    switch (d.kind) {
      case dynamic_kind::fn_component: {
        detail::call_frame frame(d, sc, &changed);
        boost::json::object sub;
        diff_node(*d.then_node, frame.inside(sc), changed, s.nested[0], sub);
        if (!sub.empty()) out.emplace(detail::index_key(i, buf), std::move(sub));
        break;
      }
      case dynamic_kind::live_render: {  // the container again (a new token); the client keeps the child
        std::string html;
        if (sc.host) sc.host->place_view(d, detail::eval_args(d, sc), html);
        auto h = detail::text_hash(html);
        if (h == s.hash) break;
        s.hash = h;
        out.emplace(detail::index_key(i, buf), std::move(html));
        break;
      }
      case dynamic_kind::inner_block: {
        boost::json::object sub;
        diff_node(*d.then_node, own, changed, s.nested[0], sub);
        if (!sub.empty()) out.emplace(detail::index_key(i, buf), std::move(sub));
        break;
      }
      case dynamic_kind::expr:
      case dynamic_kind::call: {
        std::string text;
        detail::append_slot_text(text, d, sc);
        auto h = detail::text_hash(text);
        if (h == s.hash) break;
        s.hash = h;
        out.emplace(detail::index_key(i, buf), std::move(text));
        break;
      }
      case dynamic_kind::component: {
        if (!sc.host) break;
        auto cid = sc.host->place(d, detail::eval_args(d, sc));  // updates the component, even if its cid stays
        auto h = detail::cid_hash(cid);
        if (h == s.hash) break;
        s.hash = h;
        out.emplace(detail::index_key(i, buf), cid);
        break;
      }
      case dynamic_kind::if_block: {
        auto b = detail::eval_branch(d, sc);
        if (b != s.branch) {  // another template in this slot: the client needs its statics
          out.emplace(detail::index_key(i, buf), detail::render_slot(d, sc, s));
          break;
        }
        if (b == 2) break;
        boost::json::object sub;
        diff_node(b == 0 ? *d.then_node : *d.else_node, sc, changed, s.nested[0], sub);
        if (!sub.empty()) out.emplace(detail::index_key(i, buf), std::move(sub));
        break;
      }
      case dynamic_kind::stream_block:
        // only pending operations travel; items already sent are neither kept nor re-rendered
        if (is_changed(d.subject.segments.front(), changed, sc.locals) &&
            sc.a.stream_pending(d.subject.segments.front()))
          out.emplace(detail::index_key(i, buf), detail::render_stream(d, sc, false));
        break;
      case dynamic_kind::for_block: {
        const auto* items = detail::eval_list(d, sc);
        std::size_t count = items ? items->size() : 0;
        std::size_t old = s.nested.size();
        bool list_changed = is_changed(d.subject.segments.front(), changed, sc.locals);
        boost::json::object k;
        for (std::size_t j = 0; j < count; ++j) {
          binding b{d.var, &(*items)[j], list_changed, sc.locals};
          scope inner = sc.with(&b);
          boost::json::object entry;
          if (j < old) {
            diff_node(*d.then_node, inner, changed, s.nested[j], entry);
            if (entry.empty()) continue;
          } else {  // a new entry carries all its slots
            s.nested.emplace_back();
            detail::render_node(*d.then_node, inner, s.nested.back(), entry, false);
          }
          k.emplace(detail::index_key(j, buf), std::move(entry));
        }
        if (k.empty() && count == old) break;
        s.nested.resize(count);
        k.emplace("kc", count);
        boost::json::object comp;
        comp.emplace("k", std::move(k));
        out.emplace(detail::index_key(i, buf), std::move(comp));
        break;
      }
    }
  }
}

}  // namespace

boost::json::object diff(const html_template& t, const assigns& a, const change_set& changed, render_state& st,
                         component_host* host) {
  if (detail::render_access::root(st) != detail::render_access::root(t)) return render(t, a, st, host);
  boost::json::object out;
  diff_node(t.root(), scope{a, nullptr, host}, changed, detail::render_access::state(st), out);
  return out;
}

}  // namespace corvid::live
