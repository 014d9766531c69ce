// A small model of what the phoenix_live_view 1.2 client does with rendered trees (protocol doc
// sections 5.2 and 5.8): merge a diff into the cached tree, then turn the tree into HTML. Tests use
// it to check that join + diffs always reproduce the server's own HTML render.
#pragma once

#include <string>

#include <boost/json.hpp>

namespace client_model {

namespace json = boost::json;

inline json::object merge(json::object tree, const json::object& diff);

inline void merge_comprehension(json::object& tree, const json::object& diff) {
  auto& old_k = tree["k"].as_object();
  const auto& dk = diff.at("k").as_object();
  const bool moves = dk.contains("km");  // without it the 1.2 client throws on a move
  json::object k;
  auto kc = dk.at("kc").to_number<std::size_t>();
  for (std::size_t i = 0; i < kc; ++i) {
    auto key = std::to_string(i);
    const json::value* entry = old_k.if_contains(key);
    const json::value* d = dk.if_contains(key);
    if (d && d->is_int64()) {  // a move: the old entry at that index, as it was
      REQUIRE(moves);
      k[key] = old_k.at(std::to_string(d->as_int64()));
    } else if (d && d->is_array()) {  // a move, then a merge
      REQUIRE(moves);
      auto& pair = d->as_array();
      k[key] = merge(old_k.at(std::to_string(pair.at(0).as_int64())).as_object(), pair.at(1).as_object());
    } else if (d && entry) {
      k[key] = merge(entry->as_object(), d->as_object());
    } else if (d) {
      k[key] = *d;
    } else {
      REQUIRE(entry);  // a new index must be sent in full
      k[key] = *entry;
    }
  }
  k["kc"] = kc;
  tree["k"] = std::move(k);
}

// An integer "s" names statics in the outermost comprehension's "p" table, which the client
// resolves and then drops (protocol doc 5.4). Components ("c") are not modelled.
inline void resolve_templates(json::value& v, const json::object* p) {
  if (auto* a = v.if_array()) {
    for (auto& x : *a) resolve_templates(x, p);
    return;
  }
  auto* o = v.if_object();
  if (!o) return;
  json::object own;
  if (auto* t = o->if_contains("p")) {
    if (!p) {
      own = t->as_object();
      p = &own;
    }
    o->erase("p");
  }
  if (auto* s = o->if_contains("s"); s && s->is_int64()) {
    REQUIRE(p);
    *s = p->at(std::to_string(s->as_int64()));
  }
  for (auto& [k, x] : *o)
    if (k != "s" && k != "c") resolve_templates(x, p);
}

inline json::object merge(json::object tree, const json::object& raw_diff) {
  json::value resolved = raw_diff;
  resolve_templates(resolved, nullptr);
  const json::object& diff = resolved.as_object();
  if (diff.contains("s")) return diff;
  if (diff.contains("k")) {
    merge_comprehension(tree, diff);
    return tree;
  }
  for (auto& [key, v] : diff) {
    auto* old = tree.if_contains(key);
    if (v.is_object() && old && old->is_object() && !v.as_object().contains("s")) {
      tree[key] = merge(old->as_object(), v.as_object());
    } else {
      tree[key] = v;
    }
  }
  return tree;
}

inline std::string node_html(const json::value& node);

inline std::string slots_html(const json::array& statics, const json::object& slots) {
  std::string out(statics.at(0).as_string());
  for (std::size_t i = 1; i < statics.size(); ++i) {
    out += node_html(slots.at(std::to_string(i - 1)));
    out += statics[i].as_string();
  }
  return out;
}

inline std::string node_html(const json::value& node) {
  if (node.is_string()) return std::string(node.as_string());
  const auto& o = node.as_object();
  const auto& s = o.at("s").as_array();
  if (auto* k = o.if_contains("k")) {
    std::string out;
    auto kc = k->at("kc").to_number<std::size_t>();
    for (std::size_t i = 0; i < kc; ++i) out += slots_html(s, k->at(std::to_string(i)).as_object());
    return out;
  }
  return slots_html(s, o);
}

/// The HTML of a tree (a join's "rendered", or one built by merge).
inline std::string to_html(const json::value& tree) {
  json::value resolved = tree;
  resolve_templates(resolved, nullptr);
  return node_html(resolved);
}

}  // namespace client_model
