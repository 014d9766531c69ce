#include "corvid/live/value.hpp"

#include <charconv>
#include <limits>

#include <boost/json.hpp>

namespace corvid::live {

namespace {
template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

boost::json::value list_json(const value::list& l) {
  boost::json::array a;
  a.reserve(l.size());
  for (auto& e : l) a.push_back(e.to_json());
  return a;
}
}  // namespace

value::value(const value&) = default;
value::value(value&&) noexcept = default;
value& value::operator=(const value&) = default;
value& value::operator=(value&&) noexcept = default;
value::~value() = default;

bool value::truthy() const noexcept {
  return std::visit(overloaded{
                        [](std::nullptr_t) { return false; },
                        [](bool b) { return b; },
                        [](std::int64_t i) { return i != 0; },
                        [](double d) { return d != 0.0; },
                        [](const std::string& s) { return !s.empty(); },
                        [](const safe_html& h) { return !h.html.empty(); },
                        [](const list& l) { return !l.empty(); },
                        [](const map& m) { return !m.empty(); },
                        [](const shared_list_ptr& l) { return !l->empty(); },
                    },
                    v_);
}

const value* value::member(std::string_view key) const noexcept {
  if (auto* m = std::get_if<map>(&v_)) {
    auto it = m->find(key);
    return it == m->end() ? nullptr : &it->second;
  }
  if (auto* l = as_list()) {
    std::size_t idx = 0;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), idx);
    if (ec != std::errc{} || p != key.data() + key.size() || idx >= l->size()) return nullptr;
    return &(*l)[idx];
  }
  return nullptr;
}

void value::append_text(std::string& out) const {
  std::visit(overloaded{
                 [](std::nullptr_t) {},
                 [&](bool b) { out += b ? "true" : "false"; },
                 [&](std::int64_t i) {
                   char buf[24];
                   auto r = std::to_chars(buf, buf + sizeof buf, i);
                   out.append(buf, r.ptr);
                 },
                 [&](double d) {
                   char buf[32];
                   auto r = std::to_chars(buf, buf + sizeof buf, d);
                   out.append(buf, r.ptr);
                 },
                 [&](const std::string& s) { out += s; },
                 [&](const safe_html& h) { out += h.html; },
                 [&](const list&) { out += boost::json::serialize(to_json()); },
                 [&](const map&) { out += boost::json::serialize(to_json()); },
                 [&](const shared_list_ptr&) { out += boost::json::serialize(to_json()); },
             },
             v_);
}

value value::from_json(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null: return value{};
    case boost::json::kind::bool_: return value{j.get_bool()};
    case boost::json::kind::int64: return value{j.get_int64()};
    case boost::json::kind::uint64: {
      auto u = j.get_uint64();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return value{u};
      return value{static_cast<double>(u)};
    }
    case boost::json::kind::double_: return value{j.get_double()};
    case boost::json::kind::string: return value{std::string_view(j.get_string())};
    case boost::json::kind::array: {
      list l;
      l.reserve(j.get_array().size());
      for (auto& e : j.get_array()) l.push_back(from_json(e));
      return value{std::move(l)};
    }
    case boost::json::kind::object: {
      map m;
      for (auto& kv : j.get_object()) m.insert_or_assign(std::string(kv.key()), from_json(kv.value()));
      return value{std::move(m)};
    }
  }
  return value{};
}

boost::json::value value::to_json() const {
  return std::visit(overloaded{
                        [](std::nullptr_t) { return boost::json::value(nullptr); },
                        [](bool b) { return boost::json::value(b); },
                        [](std::int64_t i) { return boost::json::value(i); },
                        [](double d) { return boost::json::value(d); },
                        [](const std::string& s) { return boost::json::value(s); },
                        [](const safe_html& h) { return boost::json::value(h.html); },
                        [](const list& l) { return list_json(l); },
                        [](const shared_list_ptr& l) { return list_json(*l); },
                        [](const map& m) {
                          boost::json::object o;
                          for (auto& [k, v] : m) o.emplace(k, v.to_json());
                          return boost::json::value(std::move(o));
                        },
                    },
                    v_);
}

bool operator==(const value& a, const value& b) noexcept {
  // a shared list equals any list with the same elements (the same pointer without looking)
  auto* la = a.as_list();
  auto* lb = b.as_list();
  if (la && lb) return la == lb || *la == *lb;
  return a.v_ == b.v_;
}

}  // namespace corvid::live
