// Errors as values: a tiny stand-in for std::expected (g++ 12 has none).
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace corvid::live {

/// What kind of failure an `error` is; tests and callers branch on this, humans read `message`.
enum class errc {
  malformed_json,   ///< input is not valid JSON (or nests too deeply)
  bad_frame,        ///< a channel frame of the wrong shape (arity, element types)
  too_large,        ///< input over the configured size limit
  bad_payload,      ///< a payload missing a field or holding one of the wrong type
  bad_encoding,     ///< broken percent-encoding or base64
  malformed_token,  ///< a token that is not of our format
  tampered,         ///< a token whose signature does not match
  expired,          ///< a token older than allowed (or issued in the future)
  io_error,         ///< a file could not be read
  not_found,        ///< a named thing (include, template) does not exist
  bad_secret,       ///< a secret too short, or a secret file others could read or replace
  forbidden,        ///< an on_mount hook halted without saying where to go
};

/// A failure: a code to branch on and a message for people.
struct error {
  errc code;
  std::string message;
};

/// Thrown only when code reads the value of a failed result: a programming error, not an input one.
class bad_result_access : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// Either a T or an E. Construct from either; check with `ok()`/`operator bool` before `value()`.
template <class T, class E = error>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<T, E>, "result<T, E> needs distinct T and E");

 public:
  result(T v) : v_(std::in_place_index<0>, std::move(v)) {}
  result(E e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const& {
    if (ok()) throw bad_result_access("result::error() on a value");
    return std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) throw bad_result_access("result::value() on an error");
  }
  std::variant<T, E> v_;
};

}  // namespace corvid::live
