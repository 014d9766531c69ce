// The values a view assigns and templates read.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>

namespace corvid::live {

/// HTML the caller vouches for: templates insert it without escaping.
struct safe_html {
  std::string html;
  friend bool operator==(const safe_html&, const safe_html&) = default;
};

/// null, bool, int64, double, string, safe_html, list or map (ordered by key, so output is stable).
/// A list may also be shared: one immutable list referenced by many values (e.g. the same rows in
/// every session's assigns), read like a list by templates, compared by content.
class value {
 public:
  using list = std::vector<value>;
  using map = std::map<std::string, value, std::less<>>;
  using shared_list_ptr = std::shared_ptr<const list>;

  value() noexcept = default;
  value(std::nullptr_t) noexcept {}
  value(bool b) noexcept : v_(b) {}
  /// Any integer type; unsigned values above INT64_MAX wrap, so keep counters signed.
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
  value(I i) noexcept : v_(static_cast<std::int64_t>(i)) {}
  value(double d) noexcept : v_(d) {}
  value(std::string s) : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(const char* s) : v_(std::string(s)) {}
  value(safe_html h) : v_(std::move(h)) {}
  value(list l) : v_(std::move(l)) {}
  value(map m) : v_(std::move(m)) {}
  /// A shared, immutable list (copying the value copies a pointer, not the elements).
  value(shared_list_ptr l) : v_(l ? std::move(l) : std::make_shared<const list>()) {}
  static value shared(list l) { return value{std::make_shared<const list>(std::move(l))}; }
  // Out of line: inlined variant copies trip g++ 12's -Wmaybe-uninitialized in callers' code.
  value(const value&);
  value(value&&) noexcept;
  value& operator=(const value&);
  value& operator=(value&&) noexcept;
  ~value();

  bool is_null() const noexcept { return v_.index() == 0; }
  /// The alternative if it holds one, else nullptr; T is one of the types above.
  template <class T>
  const T* get_if() const noexcept { return std::get_if<T>(&v_); }
  template <class T>
  T* get_if() noexcept { return std::get_if<T>(&v_); }

  /// The elements of a list or a shared list, else nullptr.
  const list* as_list() const noexcept {
    if (auto* l = std::get_if<list>(&v_)) return l;
    if (auto* p = std::get_if<shared_list_ptr>(&v_)) return p->get();
    return nullptr;
  }

  /// The shared list's pointer if this is one (its identity), else nullptr.
  const shared_list_ptr* shared_list() const noexcept { return std::get_if<shared_list_ptr>(&v_); }
  /// false for null, false, 0, 0.0, "" and empty lists/maps; true otherwise.
  bool truthy() const noexcept;
  /// Map member or list element (by decimal index); nullptr when absent or not a container.
  const value* member(std::string_view key) const noexcept;

  /// Text as a template prints it (before escaping): null is "", lists and maps are JSON.
  void append_text(std::string& out) const;

  static value from_json(const boost::json::value& j);
  boost::json::value to_json() const;

  friend bool operator==(const value& a, const value& b) noexcept;

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, safe_html, list, map, shared_list_ptr> v_;
};

}  // namespace corvid::live
