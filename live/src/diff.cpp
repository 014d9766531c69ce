#include "corvid/live/diff.hpp"

#include <optional>
#include <unordered_map>
#include <vector>

#include "eval.hpp"
#include "shared_diff.hpp"
#include "shared_statics.hpp"

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
               boost::json::object& out);

// A keyed for whose list changed: each entry takes the state of the old entry with its key (the same
// index first), so an entry that only moved travels as its old index ("j": i), one that moved and
// changed as [i, diff], and only entries with a new key are rendered in full. Returns whether any moved.
bool diff_keyed(const dynamic_part& d, const scope& sc, const change_set& changed, const value::list* items,
                detail::slot_state& s, boost::json::object& k) {
  char buf[24];
  const std::size_t count = items ? items->size() : 0;
  const std::size_t old = s.nested.size();
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> old_at;  // key -> old indices, last first
  for (std::size_t i = old; i-- > 0;) old_at[s.nested[i].key].push_back(i);
  std::vector<bool> used(old, false);
  std::vector<node_state> nested(count);
  bool moved = false;
  for (std::size_t j = 0; j < count; ++j) {
    binding b{d.var, &(*items)[j], true, sc.locals};
    scope inner = sc.with(&b);
    const auto key = detail::entry_key(d, inner);
    std::optional<std::size_t> from;
    if (j < old && !used[j] && s.nested[j].key == key) {
      from = j;
    } else if (auto it = old_at.find(key); it != old_at.end()) {
      auto& list = it->second;
      while (!list.empty() && used[list.back()]) list.pop_back();
      if (!list.empty()) {
        from = list.back();
        list.pop_back();
      }
    }
    boost::json::object entry;
    if (!from) {  // a new key: all its slots
      detail::render_node(*d.then_node, inner, nested[j], entry, false);
      nested[j].key = key;
      k.emplace(detail::index_key(j, buf), std::move(entry));
      continue;
    }
    used[*from] = true;
    nested[j] = std::move(s.nested[*from]);
    diff_node(*d.then_node, inner, changed, nested[j], entry);
    if (*from == j) {
      if (!entry.empty()) k.emplace(detail::index_key(j, buf), std::move(entry));
      continue;
    }
    moved = true;
    if (entry.empty()) k.emplace(detail::index_key(j, buf), *from);
    else k.emplace(detail::index_key(j, buf), boost::json::array{*from, std::move(entry)});
  }
  s.nested = std::move(nested);
  return moved;
}

void diff_node(const template_node& n, const scope& sc, const change_set& changed, node_state& st,
               boost::json::object& out) {
  char buf[24];
  if (st.slots.size() != n.dynamics.size() && detail::compact_entry(n)) {  // a compact entry (render_node)
    const auto& d = n.dynamics[0];
    if (!any_changed(d.deps, changed, sc.locals)) return;
    std::string text;
    detail::append_slot_text(text, d, sc);
    auto h = detail::text_hash(text);
    if (h == st.text) return;
    st.text = h;
    out.emplace("0", std::move(text));
    return;
  }
  for (std::size_t i = 0; i < n.dynamics.size(); ++i) {
    const auto& d = n.dynamics[i];
    auto& s = st.slots[i];
    // a call's block reads the caller's names, so its dependencies are checked where it was called
    const scope& own = d.kind == dynamic_kind::inner_block && sc.caller ? *sc.caller : sc;
    if (!any_changed(d.deps, changed, own.locals)) continue;
    // a text slot travels only when its fingerprint moved
    auto send_text = [&](std::string text) {
      auto h = detail::text_hash(text);
      if (h == s.hash) return;
      s.hash = h;
      out.emplace(detail::index_key(i, buf), std::move(text));
    };
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
        send_text(std::move(html));
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
        send_text(std::move(text));
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
        if (d.key && list_changed) {
          bool moved = diff_keyed(d, sc, changed, items, s, k);
          if (k.empty() && count == old) break;
          k.emplace("kc", count);
          if (moved) k.emplace("km", true);  // the client copies old entries only with it
          boost::json::object comp;
          comp.emplace("k", std::move(k));
          out.emplace(detail::index_key(i, buf), std::move(comp));
          break;
        }
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
  detail::unshare_rows(t, changed, st);
  boost::json::object out;
  diff_node(t.root(), scope{a, nullptr, host}, changed, detail::render_access::state(st), out);
  detail::share_statics(out);
  detail::share_rows(t, a, st);
  return out;
}

}  // namespace corvid::live
