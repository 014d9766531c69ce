#include "eval.hpp"

#include <sodium.h>

#include <array>
#include <cstdlib>

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

value::map eval_args(const dynamic_part& d, const scope& sc) {
  value::map out;
  for (const auto& arg : d.args) {
    if (!arg.ref) {
      out.insert_or_assign(arg.name, arg.literal);
    } else if (auto* v = resolve(*arg.ref, sc)) {
      out.insert_or_assign(arg.name, *v);
    } else {
      out.insert_or_assign(arg.name, value{});
    }
  }
  return out;
}

call_frame::call_frame(const dynamic_part& d, const scope& sc, const change_set* changed) {
  values.reserve(d.args.size());
  names.reserve(d.args.size());
  for (const auto& arg : d.args) {
    bool ch = changed == nullptr;  // a full render: everything is new
    if (!arg.ref) {
      values.push_back(arg.literal);
    } else {
      const value* v = resolve(*arg.ref, sc);
      values.push_back(v ? *v : value{});
      if (!ch) {
        const auto& root = arg.ref->segments.front();
        const binding* b = sc.locals;
        while (b && b->name != root) b = b->next;
        ch = b ? b->changed : changed->find(root) != changed->end();
      }
    }
    names.push_back(binding{arg.name, nullptr, ch, nullptr});
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    names[i].v = &values[i];
    names[i].next = i + 1 < names.size() ? &names[i + 1] : nullptr;
  }
}

std::uint64_t entry_key(const dynamic_part& d, const scope& inner) {
  const value* v = resolve(*d.key, inner);
  return text_hash(boost::json::serialize(v ? v->to_json() : boost::json::value{}));
}

std::uint64_t cid_hash(std::int64_t cid) noexcept {
  char buf[24] = {'\0', 'c'};  // a leading NUL: no escaped text starts so
  auto r = std::to_chars(buf + 2, buf + sizeof buf, cid);
  return text_hash({buf, static_cast<std::size_t>(r.ptr - buf)});
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

// A slot whose fingerprint is unchanged is not sent again, so a collision leaves stale content on the
// page: the fingerprint is SipHash under a key drawn once per process, which a client cannot predict
// (an unkeyed hash such as std::hash has collisions anyone can compute).
std::uint64_t text_hash(std::string_view s) noexcept {
  static const auto key = [] {
    std::array<unsigned char, crypto_shorthash_KEYBYTES> k{};
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe to do
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  std::uint64_t out = 0;
  static_assert(crypto_shorthash_BYTES == sizeof out);
  crypto_shorthash(reinterpret_cast<unsigned char*>(&out), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                   key.data());
  return out;
}

std::string_view index_key(std::size_t i, char (&buf)[24]) noexcept {
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

namespace {
boost::json::array statics_json(const template_node& n) {
  boost::json::array s;
  s.reserve(n.statics.size());
  for (auto& text : n.statics) s.emplace_back(text);
  return s;
}
}  // namespace

bool compact_entry(const template_node& n) noexcept {
  return n.dynamics.size() == 1 &&
         (n.dynamics[0].kind == dynamic_kind::expr || n.dynamics[0].kind == dynamic_kind::call);
}

void render_node(const template_node& n, const scope& sc, node_state& st, boost::json::object& out, bool with_statics) {
  out.reserve(n.dynamics.size() + (with_statics ? 1 : 0));
  if (!with_statics && compact_entry(n)) {  // an entry (only entries render without statics)
    std::string text;
    append_slot_text(text, n.dynamics[0], sc);
    st.slots.clear();
    st.text = text_hash(text);
    out.emplace("0", boost::json::string(text));
    return;
  }
  if (with_statics) out.emplace("s", statics_json(n));
  st.slots.assign(n.dynamics.size(), slot_state{});
  char buf[24];
  for (std::size_t i = 0; i < n.dynamics.size(); ++i)
    out.emplace(index_key(i, buf), render_slot(n.dynamics[i], sc, st.slots[i]));
}

boost::json::object render_stream(const dynamic_part& d, const scope& sc, bool with_statics) {
  const auto* ops = sc.a.stream_pending(d.subject.segments.front());
  boost::json::object comp;
  if (with_statics) comp.emplace("s", statics_json(*d.then_node));
  boost::json::object k;
  boost::json::array inserts, deletes;
  char buf[24];
  std::size_t count = 0;
  if (ops) {
    for (const auto& ins : ops->inserts) {
      value id{ins.dom_id};
      binding item{d.var, &ins.item, true, sc.locals};
      binding dom{d.id_var, &id, true, &item};
      node_state scratch;  // stream items are not remembered
      boost::json::object entry;
      render_node(*d.then_node, sc.with(d.id_var.empty() ? &item : &dom), scratch, entry, false);
      k.emplace(index_key(count++, buf), std::move(entry));
      boost::json::value limit = nullptr;
      if (ins.limit) limit = *ins.limit;
      inserts.push_back(boost::json::array{ins.dom_id, ins.at, limit, ins.update_only});
    }
    for (const auto& id : ops->deletes) deletes.emplace_back(id);
  }
  k.emplace("kc", count);
  comp.emplace("k", std::move(k));
  boost::json::array stream{d.subject.segments.front(), std::move(inserts), std::move(deletes)};
  if (ops && ops->reset) stream.emplace_back(true);
  comp.emplace("stream", std::move(stream));
  return comp;
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
    case dynamic_kind::stream_block: return render_stream(d, sc, true);
    case dynamic_kind::component: {
      if (!sc.host) {
        st.hash = text_hash("");
        return boost::json::string();
      }
      auto cid = sc.host->place(d, eval_args(d, sc));
      st.hash = cid_hash(cid);
      return cid;
    }
    case dynamic_kind::fn_component: {
      call_frame frame(d, sc, nullptr);
      st.nested.resize(1);
      boost::json::object o;
      render_node(*d.then_node, frame.inside(sc), st.nested[0], o, true);
      return o;
    }
    case dynamic_kind::live_render: {
      std::string html;
      if (sc.host) sc.host->place_view(d, eval_args(d, sc), html);
      st.hash = text_hash(html);
      return boost::json::string(html);
    }
    case dynamic_kind::inner_block: {
      st.nested.resize(1);
      boost::json::object o;
      render_node(*d.then_node, sc.caller ? *sc.caller : sc, st.nested[0], o, true);
      return o;
    }
    case dynamic_kind::for_block: break;
  }
  const auto* items = eval_list(d, sc);
  std::size_t count = items ? items->size() : 0;
  boost::json::object comp;
  comp.emplace("s", statics_json(*d.then_node));
  boost::json::object k;
  k.reserve(count + 1);
  st.nested.resize(count);
  char buf[24];
  for (std::size_t j = 0; j < count; ++j) {
    binding b{d.var, &(*items)[j], true, sc.locals};
    boost::json::object entry;
    render_node(*d.then_node, sc.with(&b), st.nested[j], entry, false);
    k.emplace(index_key(j, buf), std::move(entry));
    if (d.key) st.nested[j].key = entry_key(d, sc.with(&b));
  }
  k.emplace("kc", count);
  comp.emplace("k", std::move(k));
  return comp;
}

}  // namespace corvid::live::detail
