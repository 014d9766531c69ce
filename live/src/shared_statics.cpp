#include "shared_statics.hpp"

#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

namespace corvid::live::detail {

namespace json = boost::json;

namespace {

// Every object nested in `v` whose "s" is a statics array (the comprehension's own is not passed in).
void collect(json::value& v, std::vector<json::object*>& with_statics) {
  if (auto* a = v.if_array()) {
    for (auto& x : *a) collect(x, with_statics);
    return;
  }
  auto* o = v.if_object();
  if (!o) return;
  if (auto* s = o->if_contains("s"); s && s->is_array()) with_statics.push_back(o);
  for (auto& [k, x] : *o)
    if (k != "s") collect(x, with_statics);
}

void share_in(json::object& comprehension) {
  auto* k = comprehension.if_contains("k");
  if (!k) return;
  std::vector<json::object*> nodes;
  collect(*k, nodes);
  if (nodes.size() < 2) return;
  struct seen {
    std::size_t count = 0;
    std::int64_t index = -1;
  };
  std::unordered_map<std::string, seen> by_text;
  std::vector<std::string> texts;
  texts.reserve(nodes.size());
  for (auto* n : nodes) {
    texts.push_back(json::serialize(n->at("s")));
    ++by_text[texts.back()].count;
  }
  json::object p;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto& entry = by_text[texts[i]];
    if (entry.count < 2) continue;  // once: inline is as short
    if (entry.index < 0) {
      entry.index = static_cast<std::int64_t>(p.size());
      p[std::to_string(entry.index)] = std::move(nodes[i]->at("s"));
    }
    // at(), not operator[]: that may grow the node's table even for a key it has, and move the
    // nested nodes still listed in `nodes`
    nodes[i]->at("s") = entry.index;
  }
  if (!p.empty()) comprehension["p"] = std::move(p);
}

void walk(json::object& o) {
  if (o.contains("k")) return share_in(o);  // the outermost one: its table serves every nested node
  for (auto& [key, v] : o)
    if (auto* child = v.if_object()) walk(*child);
}

}  // namespace

void share_statics(json::object& tree) { walk(tree); }

}  // namespace corvid::live::detail
