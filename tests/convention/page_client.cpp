#include "page_client.hpp"

#include <doctest/doctest.h>

namespace convention::test {

namespace json = boost::json;
using namespace corvid::live::test;

namespace {

bool is(const json::value& v, const char* text) { return v.is_string() && v.as_string() == text; }

std::string between(const std::string& s, const std::string& a, const std::string& b, std::size_t from = 0) {
  auto i = s.find(a, from);
  if (i == std::string::npos) return {};
  i += a.size();
  return s.substr(i, s.find(b, i) - i);
}

// Diffs merge into the tree key by key; a part that comes with statics ("s") replaces the old.
void merge(json::value& tree, const json::value& diff) {
  if (!tree.is_object() || !diff.is_object() || diff.as_object().contains("s")) {
    tree = diff;
    return;
  }
  for (auto& [k, v] : diff.as_object()) {
    auto* old = tree.as_object().if_contains(k);
    if (old) merge(*old, v);
    else tree.as_object()[k] = v;
  }
}

// The dynamic following the static that ends with `marker`, searched depth first.
const json::value* find_slot(const json::value& node, const std::string& marker) {
  if (!node.is_object()) return nullptr;
  const auto& o = node.as_object();
  if (auto* s = o.if_contains("s"); s && s->is_array()) {
    const auto& statics = s->as_array();
    for (std::size_t i = 0; i + 1 < statics.size(); ++i) {
      if (!statics[i].is_string()) continue;
      std::string st(statics[i].as_string());
      if (st.size() >= marker.size() && st.compare(st.size() - marker.size(), marker.size(), marker) == 0)
        if (auto* d = o.if_contains(std::to_string(i))) return d;
    }
  }
  for (auto& [k, v] : o)
    if (k != "s")
      if (auto* r = find_slot(v, marker)) return r;
  return nullptr;
}

}  // namespace

bool page_client::open(const std::string& path, const header_list& headers) {
  auto page = http_get(port_, path, std::nullopt, headers);
  if (page.status != 200) return false;
  auto session = between(page.body, "data-phx-session=\"", "\"");
  auto csrf = between(page.body, "name=\"csrf-token\" content=\"", "\"");
  auto at = page.body.find("data-phx-session=\"");
  auto open_tag = page.body.rfind("<div", at);
  auto id = between(page.body, "id=\"", "\"", open_tag);
  if (session.empty() || id.empty()) return false;
  if (ws_.connect(std::nullopt, std::nullopt, headers)) return false;
  topic_ = "lv:" + id;
  json::object payload{{"url", "http://127.0.0.1:" + std::to_string(port_) + path},
                       {"params", json::object{{"_csrf_token", csrf}}},
                       {"session", session},
                       {"static", nullptr}};
  if (ws_.send(json::serialize(json::array{"4", "4", topic_, "phx_join", payload}))) return false;
  auto r = ws_.read_json();
  if (!r || r->size() < 5 || !is(r->at(3), "phx_reply")) return false;
  auto& reply = r->at(4).as_object();
  if (!is(reply.at("status"), "ok")) return false;
  tree_ = reply.at("response").at("rendered");
  seen_ += json::serialize(tree_);
  return true;
}

void page_client::click(const std::string& event, const json::object& values) {
  json::object payload{{"type", "click"}, {"event", event}, {"value", values}};
  REQUIRE_FALSE(ws_.send(json::serialize(json::array{"4", std::to_string(++ref_), topic_, "event", payload})));
}

void page_client::submit(const std::string& event, const std::string& urlencoded) {
  json::object payload{{"type", "form"}, {"event", event}, {"value", urlencoded}};
  REQUIRE_FALSE(ws_.send(json::serialize(json::array{"4", std::to_string(++ref_), topic_, "event", payload})));
}

bool page_client::take(const json::array& f) {
  if (f.size() < 5) return false;
  const json::value* diff = nullptr;
  if (is(f.at(3), "diff")) diff = &f.at(4);
  else if (is(f.at(3), "phx_reply") && f.at(4).is_object())
    if (auto* resp = f.at(4).as_object().if_contains("response"); resp && resp->is_object())
      diff = resp->as_object().if_contains("diff");
  if (!diff) return false;
  seen_ += json::serialize(*diff);
  merge(tree_, *diff);
  return true;
}

bool page_client::until(const std::function<bool(const page_client&)>& pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred(*this)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (auto f = ws_.read_json(left)) take(*f);
  }
  return true;
}

int page_client::diffs_within(std::chrono::milliseconds limit) {
  int n = 0;
  auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return n;
    if (auto f = ws_.read_json(left); f && take(*f)) ++n;
  }
}

std::string page_client::slot(const std::string& marker) const {
  auto* v = find_slot(tree_, marker);
  return v && v->is_string() ? std::string(v->as_string()) : std::string{};
}

bool page_client::has(const std::string& text) const { return seen_.find(text) != std::string::npos; }

}  // namespace convention::test
