#pragma once
// Errors of the cluster wire layer, returned as values: nothing in corvid::cluster throws.

#include <string>
#include <utility>
#include <variant>

namespace corvid::cluster {

/// What went wrong, for code to branch on; `message` says it for people.
enum class errc {
  none = 0,
  invalid_argument,  ///< bad options (e.g. a secret shorter than 32 bytes)
  overloaded,        ///< a lane's outbound queue is full; nothing was queued
  not_connected,     ///< the connection is closed (or never came up)
  frame_too_large,   ///< a frame or message exceeds its limit
  protocol,          ///< malformed bytes or an unexpected frame from the peer
  version,           ///< the peer speaks another protocol major
  auth,              ///< the peer failed (or refused) authentication
  refused,           ///< the peer refused us, for the reason in the message
  timeout,           ///< handshake deadline or heartbeat timeout
  stuck,             ///< the peer kept our queue above high-water too long
  io,                ///< a socket error
  closed,            ///< closed locally on request
};

/// Name of an errc, e.g. "overloaded".
const char* to_string(errc e) noexcept;

/// An error value: `kind` none means success.
struct error {
  errc kind = errc::none;
  std::string message;

  error() = default;
  error(errc k, std::string m) : kind(k), message(std::move(m)) {}
  explicit operator bool() const noexcept { return kind != errc::none; }
};

/// "kind: message", for logs and test output.
std::string to_string(const error& e);

/// A value or the error that prevented it.
template <class T>
class result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}
  explicit operator bool() const noexcept { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  /// The error; only when !*this.
  const error& err() const { return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

} // namespace corvid::cluster
