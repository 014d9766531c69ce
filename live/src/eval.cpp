#include "eval.hpp"

#include <charconv>
#include <functional>

#include "corvid/live/escape.hpp"

namespace corvid::live::detail {

const value* resolve(const path& p, const scope& sc) {
  const auto& root = p.segments.front();
  const value* v = nullptr;
  for (auto* b = sc.locals; b; b = b->next) {
    if (b->name == root) {
      v = b->v;
      break;
    }
  }
  if (!v) v = sc.a.find(root);
  for (std::size_t i = 1; v && i < p.segments.size(); ++i) v = v->member(p.segments[i]);
  return v;
}

namespace {
void append_value(std::string& out, const value& v, bool escape) {
  if (auto* h = v.get_if<safe_html>()) {
    out += h->html;
  } else if (!escape) {
    v.append_text(out);
  } else if (auto* s = v.get_if<std::string>()) {
    append_escaped(out, *s);
  } else {
    std::string tmp;
    v.append_text(tmp);
    append_escaped(out, tmp);
  }
}
}  // namespace

void append_slot_text(std::string& out, const dynamic_part& d, const scope& sc) {
  if (d.kind == dynamic_kind::call) {
    append_value(out, d.fn->fn(sc.a), d.escape);
  } else if (auto* v = resolve(d.subject, sc)) {
    append_value(out, *v, d.escape);
  }
}

std::int8_t eval_branch(const dynamic_part& d, const scope& sc) {
  auto* v = resolve(d.subject, sc);
  bool cond = (v && v->truthy()) != d.negate;
  if (cond) return 0;
  return d.else_node ? 1 : 2;
}

const value::list* eval_list(const dynamic_part& d, const scope& sc) {
  auto* v = resolve(d.subject, sc);
  return v ? v->as_list() : nullptr;
}

std::uint64_t text_hash(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }

std::string_view index_key(std::size_t i, char (&buf)[24]) noexcept {
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

void render_node(const template_node& n, const scope& sc, node_state& st, boost::json::object& out, bool with_statics) {
  out.reserve(n.dynamics.size() + (with_statics ? 1 : 0));
  if (with_statics) {
    boost::json::array s;
    s.reserve(n.statics.size());
    for (auto& text : n.statics) s.emplace_back(text);
    out.emplace("s", std::move(s));
  }
  st.slots.assign(n.dynamics.size(), slot_state{});
  char buf[24];
  for (std::size_t i = 0; i < n.dynamics.size(); ++i)
    out.emplace(index_key(i, buf), render_slot(n.dynamics[i], sc, st.slots[i]));
}

boost::json::value render_slot(const dynamic_part& d, const scope& sc, slot_state& st) {
  st.nested.clear();
  switch (d.kind) {
    case dynamic_kind::expr:
    case dynamic_kind::call: {
      std::string text;
      append_slot_text(text, d, sc);
      st.hash = text_hash(text);
      return boost::json::string(text);
    }
    case dynamic_kind::if_block: {
      st.branch = eval_branch(d, sc);
      if (st.branch == 2) return boost::json::string();
      st.nested.resize(1);
      boost::json::object o;
      render_node(st.branch == 0 ? *d.then_node : *d.else_node, sc, st.nested[0], o, true);
      return o;
    }
    case dynamic_kind::for_block: break;
  }
  const auto* items = eval_list(d, sc);
  std::size_t count = items ? items->size() : 0;
  boost::json::object comp;
  boost::json::array s;
  for (auto& text : d.then_node->statics) s.emplace_back(text);
  comp.emplace("s", std::move(s));
  boost::json::object k;
  k.reserve(count + 1);
  st.nested.resize(count);
  char buf[24];
  for (std::size_t j = 0; j < count; ++j) {
    binding b{d.var, &(*items)[j], true, sc.locals};
    boost::json::object entry;
    render_node(*d.then_node, scope{sc.a, &b}, st.nested[j], entry, false);
    k.emplace(index_key(j, buf), std::move(entry));
  }
  k.emplace("kc", count);
  comp.emplace("k", std::move(k));
  return comp;
}

}  // namespace corvid::live::detail
