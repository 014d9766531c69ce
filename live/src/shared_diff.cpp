#include "shared_diff.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>

#include "corvid/live/utf8.hpp"
#include "eval.hpp"

namespace corvid::live::detail {

namespace {

// Inputs worth keeping to compare with: scalars, text up to a size, shared lists (compared by
// pointer first). A plain list or map would cost as much to compare as to render.
bool memoisable(const value& v) {
  if (auto* s = v.get_if<std::string>()) return s->size() <= 64 * 1024;
  if (auto* h = v.get_if<safe_html>()) return h->html.size() <= 64 * 1024;
  return !v.get_if<value::list>() && !v.get_if<value::map>();
}

// value== says 0.0 == -0.0, but they print differently: numbers must be the same bits.
bool same(const value& x, const value& y) {
  auto* dx = x.get_if<double>();
  auto* dy = y.get_if<double>();
  if (dx || dy) return dx && dy && std::memcmp(dx, dy, sizeof(double)) == 0;
  return x == y;
}

const value& input(const assigns& a, const std::string& name) {
  static const value none;
  auto* v = a.find(name);
  return v ? *v : none;
}

// Whether `n` or a node under it has a slot `pred` holds for (deeper than any include chain: yes).
template <class Pred>
bool any_slot(const template_node& n, const Pred& pred, int depth = 0) {
  if (depth > 64) return true;
  for (const auto& d : n.dynamics) {
    if (pred(d)) return true;
    if (d.then_node && any_slot(*d.then_node, pred, depth + 1)) return true;
    if (d.else_node && any_slot(*d.else_node, pred, depth + 1)) return true;
  }
  return false;
}

bool places(const dynamic_part& d) { return d.kind == dynamic_kind::component || d.kind == dynamic_kind::live_render; }
// An entry renders from its item alone without components, nested views or streams inside.
bool impure(const dynamic_part& d) { return places(d) || d.kind == dynamic_kind::stream_block; }

}  // namespace

diff_memo::diff_memo(const template_node& root)
    : places_components_(any_slot(root, places)), texts_(root.dynamics.size()), next_text_(root.dynamics.size(), 0),
      rows_(root.dynamics.size()), next_rows_(root.dynamics.size(), 0) {
  for (std::uint32_t i = 0; i < root.dynamics.size(); ++i) {
    const auto& d = root.dynamics[i];
    // the list is its only input: {% for x in items %} whose entries read x alone
    if (d.kind == dynamic_kind::for_block && !d.subject.segments.empty() && d.deps.size() == 1 &&
        d.deps[0] == d.subject.segments.front() && d.then_node && !any_slot(*d.then_node, impure))
      row_slots_.push_back(i);
    const bool text = d.kind == dynamic_kind::expr || d.kind == dynamic_kind::call;
    for (const auto& name : d.deps) {
      if (text) text_slots_of_[name].push_back(i);
      else other_names_.insert(name);
    }
  }
}

diff_memo::slot_text diff_memo::text_of(std::uint32_t slot, const dynamic_part& d, const assigns& a) {
  boost::container::small_vector<const value*, 4> now;  // the inputs, looked up once
  for (const auto& name : d.deps) now.push_back(&input(a, name));
  auto matches = [&](const text_entry& e) {
    if (!e.out.text || e.inputs.size() != now.size()) return false;
    for (std::size_t k = 0; k < now.size(); ++k)
      if (!same(e.inputs[k], *now[k])) return false;
    return true;
  };
  {
    std::shared_lock lock(mu_);
    for (const auto& e : texts_[slot])
      if (matches(e)) {
        render_hits_.fetch_add(1, std::memory_order_relaxed);
        return e.out;
      }
  }
  renders_.fetch_add(1, std::memory_order_relaxed);
  std::string text;
  append_slot_text(text, d, scope{a});
  slot_text out{text_hash(text), std::make_shared<const std::string>(std::move(text))};
  bool keep = true;
  std::vector<value> inputs;
  inputs.reserve(now.size());
  for (const auto* v : now) {
    if (!memoisable(*v)) keep = false;
    inputs.push_back(*v);
  }
  if (!keep) return out;
  std::unique_lock lock(mu_);
  auto& ring = texts_[slot];
  if (ring.size() < texts_per_slot) {
    ring.push_back(text_entry{std::move(inputs), out});
  } else {
    ring[next_text_[slot]] = text_entry{std::move(inputs), out};
    next_text_[slot] = (next_text_[slot] + 1) % texts_per_slot;
  }
  return out;
}

shared_body diff_memo::body_of(std::span<const pick> picks) {
  auto matches = [&](const body_entry& e) {
    if (!e.body || e.key.size() != picks.size()) return false;
    for (std::size_t k = 0; k < picks.size(); ++k)
      if (e.key[k].first != picks[k].slot || e.key[k].second != picks[k].hash) return false;
    return true;
  };
  {
    std::shared_lock lock(mu_);
    for (const auto& e : bodies_)
      if (matches(e)) {
        body_hits_.fetch_add(1, std::memory_order_relaxed);
        return e.body;
      }
  }
  bodies_made_.fetch_add(1, std::memory_order_relaxed);
  // The same object diff() builds for these slots, serialized the same way.
  boost::json::object o;
  char buf[24];
  body_entry e;
  for (const auto& p : picks) {
    o.emplace(index_key(p.slot, buf), *p.text);
    e.key.emplace_back(p.slot, p.hash);
  }
  std::string json = boost::json::serialize(o);
  // Concatenated valid UTF-8 stays valid: checking the body once covers every frame it goes in.
  if (!valid_utf8(json)) json = repair_utf8(json);
  e.body = std::make_shared<const std::string>(std::move(json));
  auto out = e.body;
  std::unique_lock lock(mu_);
  if (bodies_.size() < bodies_kept) {  // grown on use: a template no broadcast reaches pays nothing
    bodies_.push_back(std::move(e));
  } else {
    bodies_[next_body_] = std::move(e);
    next_body_ = (next_body_ + 1) % bodies_kept;
  }
  return out;
}

diff_memo::counts diff_memo::stats() const {
  return counts{renders_.load(), render_hits_.load(), bodies_made_.load(), body_hits_.load(), rows_shared_.load()};
}

std::shared_ptr<const shared_rows> diff_memo::rows_of(std::uint32_t slot, const value::shared_list_ptr& list) const {
  std::shared_lock lock(mu_);
  for (const auto& r : rows_[slot])
    if (r && r->list == list) return r;
  return nullptr;
}

std::shared_ptr<const shared_rows> diff_memo::publish_rows(std::uint32_t slot, const value::shared_list_ptr& list,
                                                           std::vector<node_state>&& states) {
  std::unique_lock lock(mu_);
  auto& ring = rows_[slot];
  for (const auto& r : ring)
    if (r && r->list == list) return r;
  auto r = std::make_shared<const shared_rows>(shared_rows{list, std::move(states)});
  if (ring.size() < rows_per_slot) {
    ring.push_back(r);
  } else {
    ring[next_rows_[slot]] = r;
    next_rows_[slot] = (next_rows_[slot] + 1) % rows_per_slot;
  }
  return r;
}

void share_rows(const html_template& t, const assigns& a, render_state& st) {
  const auto& root = render_access::root(t);
  auto& memo = render_access::memo(t);
  if (memo.row_slots().empty() || render_access::root(st) != root) return;
  auto& ns = render_access::state(st);
  auto& rows = render_access::rows(st);
  if (ns.slots.size() != root->dynamics.size()) return;
  for (auto i : memo.row_slots()) {
    if (std::any_of(rows.begin(), rows.end(), [i](const auto& r) { return r.first == i; })) continue;
    const auto* v = resolve(root->dynamics[i].subject, scope{a});
    const auto* list = v ? v->shared_list() : nullptr;
    if (!list || !*list) continue;
    auto& own = ns.slots[i].nested;
    // The state is a function of the list alone, so the one published first is this one too.
    auto r = memo.rows_of(i, *list);
    if (!r) r = memo.publish_rows(i, *list, std::move(own));
    std::vector<node_state>().swap(own);
    rows.emplace_back(i, std::move(r));
    memo.count_shared_rows();
  }
}

void unshare_rows(const html_template& t, const change_set& changed, render_state& st) {
  auto& rows = render_access::rows(st);
  if (rows.empty()) return;
  const auto& root = render_access::root(t);
  auto& ns = render_access::state(st);
  for (std::size_t k = rows.size(); k-- > 0;) {
    const auto i = rows[k].first;
    const auto& deps = root->dynamics[i].deps;
    if (std::none_of(deps.begin(), deps.end(), [&](const std::string& d) { return changed.count(d) != 0; })) continue;
    ns.slots[i].nested = rows[k].second->states;  // this session's own copy, to diff and update
    rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

std::optional<shared_body> shared_diff(const html_template& t, const assigns& a, const change_set& changed,
                                       render_state& st) {
  const auto& root = render_access::root(t);
  if (render_access::root(st) != root) return std::nullopt;
  auto& ns = render_access::state(st);
  if (ns.slots.size() != root->dynamics.size()) return std::nullopt;
  auto& memo = render_access::memo(t);
  boost::container::small_vector<std::uint32_t, 8> slots;
  for (const auto& name : changed) {
    if (memo.read_elsewhere(name)) return std::nullopt;
    auto it = memo.text_slots_of().find(name);
    if (it != memo.text_slots_of().end()) slots.insert(slots.end(), it->second.begin(), it->second.end());
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  boost::container::small_vector<diff_memo::pick, 4> picks;  // no allocation per session
  for (auto i : slots) {
    auto r = memo.text_of(i, root->dynamics[i], a);
    if (r.hash != ns.slots[i].hash) picks.push_back({i, r.hash, std::move(r.text)});
  }
  if (picks.empty()) return shared_body{};
  auto body = memo.body_of(picks);
  for (const auto& p : picks) ns.slots[p.slot].hash = p.hash;
  return body;
}

bool places_components(const html_template& t) { return render_access::memo(t).places_components(); }

diff_memo::counts memo_stats(const html_template& t) { return render_access::memo(t).stats(); }

}  // namespace corvid::live::detail
