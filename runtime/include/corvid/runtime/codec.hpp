#pragma once
// Codecs: how the values in a message cross nodes. A type is registered once, under a name
// that every node agrees on, with an encode/decode pair (cluster/ adds a one-line form for
// Protobuf messages). Sending a value without a codec to a remote pid fails with
// errc::no_codec naming the type; it never crashes. Pubsub payloads use the same registry.
//
//   struct point { int x, y; };
//   corvid::register_codec<point>("app.point",
//     [](const point& p, std::string& out) { out = std::to_string(p.x) + "," + std::to_string(p.y); },
//     [](std::string_view in, point& p) { return std::sscanf(std::string{in}.c_str(), "%d,%d", &p.x, &p.y) == 2; });
//
// Built in: bool, the fixed-width integers, float, double, std::string, std::vector<std::string>,
// caf atoms, caf::error, caf::unit_t and corvid::pid.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/message_builder.hpp>
#include <caf/type_nr.hpp>

#include "corvid/runtime/error.hpp"

namespace corvid {

class runtime;

/// One encoded element of a message: its type's registered name and its bytes.
struct wire_term {
  std::string type;
  std::string data;
  friend bool operator==(const wire_term&, const wire_term&) = default;
};

namespace detail {
struct codec_entry {
  std::string name;
  // `rt` maps pids to and from other nodes' view of them.
  std::function<void(runtime& rt, const void* value, std::string& out)> encode;
  std::function<bool(runtime& rt, std::string_view in, caf::message_builder& mb)> decode;
};
caf::error add_codec(uint16_t type_nr, std::type_index type, codec_entry e);
} // namespace detail

/// Registers T under `name` (errc::already_registered if the name or the type has one).
template <class T>
caf::error register_codec(std::string name, std::function<void(const T&, std::string&)> enc,
                          std::function<bool(std::string_view, T&)> dec) {
  detail::codec_entry e;
  e.name = std::move(name);
  e.encode = [enc = std::move(enc)](runtime&, const void* v, std::string& out) { enc(*static_cast<const T*>(v), out); };
  e.decode = [dec = std::move(dec)](runtime&, std::string_view in, caf::message_builder& mb) {
    T v{};
    if (!dec(in, v))
      return false;
    mb.append(std::move(v));
    return true;
  };
  return detail::add_codec(caf::type_nr<T>::value, std::type_index(typeid(T)), std::move(e));
}

/// Encodes every element of `m` as `rt` sees it (errc::no_codec names the first type without one).
caf::expected<std::vector<wire_term>> encode_message(runtime& rt, const caf::message& m);
/// Rebuilds a message (errc::no_codec for an unknown type name, errc::bad_argument for
/// malformed bytes).
caf::expected<caf::message> decode_message(runtime& rt, const std::vector<wire_term>& terms);

} // namespace corvid
