#include "corvid/live/protocol.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "corvid/live/utf8.hpp"

namespace corvid::live {

namespace json = boost::json;

namespace {
const char* kind_name(json::kind k) {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "bool";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "?";
}

bool take_ref(const json::value& v, const char* what, std::optional<std::string>& out, std::string& err) {
  if (v.is_null()) return true;
  if (!v.is_string()) {
    err = std::string(what) + " must be a string or null, got " + kind_name(v.kind());
    return false;
  }
  out.emplace(v.get_string());
  return true;
}

opt_ref view(const std::optional<std::string>& r) { return r ? opt_ref(*r) : std::nullopt; }

const char* kind_str(nav_kind k) { return k == nav_kind::push ? "push" : "replace"; }
}  // namespace

result<frame> parse_frame(std::string_view text, const frame_limits& limits) {
  if (text.size() > limits.max_bytes)
    return error{errc::too_large, "frame of " + std::to_string(text.size()) + " bytes exceeds " +
                                      std::to_string(limits.max_bytes)};
  json::parse_options po;
  po.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, po);
  if (ec) return error{errc::malformed_json, "frame is not valid JSON: " + ec.message()};
  if (!v.is_array()) return error{errc::bad_frame, std::string("frame must be an array, got ") + kind_name(v.kind())};
  auto& a = v.get_array();
  if (a.size() != 5)
    return error{errc::bad_frame, "frame must have 5 elements, got " + std::to_string(a.size())};

  frame f;
  std::string err;
  if (!take_ref(a[0], "join_ref", f.join_ref, err) || !take_ref(a[1], "ref", f.ref, err))
    return error{errc::bad_frame, std::move(err)};
  if (!a[2].is_string()) return error{errc::bad_frame, std::string("topic must be a string, got ") + kind_name(a[2].kind())};
  if (a[2].get_string().size() > limits.max_topic_bytes)
    return error{errc::bad_frame, "topic over " + std::to_string(limits.max_topic_bytes) + " bytes"};
  if (!a[3].is_string()) return error{errc::bad_frame, std::string("event must be a string, got ") + kind_name(a[3].kind())};
  if (a[3].get_string().empty()) return error{errc::bad_frame, "event must not be empty"};
  if (!a[4].is_object()) return error{errc::bad_frame, std::string("payload must be an object, got ") + kind_name(a[4].kind())};
  f.topic = a[2].get_string();
  f.event = a[3].get_string();
  f.payload = std::move(a[4].get_object());
  return f;
}

std::optional<frame_header> parse_frame_head(std::string_view in) {
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < in.size() && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r')) ++i;
  };
  // A JSON string or null; the string token is handed to the JSON parser so escapes are decoded
  // (and invalid ones refused) exactly as in a whole frame.
  auto element = [&](std::optional<std::string>& out) -> bool {
    skip_ws();
    if (in.substr(i, 4) == "null") {
      i += 4;
      out.reset();
    } else if (i < in.size() && in[i] == '"') {
      std::size_t j = i + 1;
      while (j < in.size() && in[j] != '"') j += in[j] == '\\' ? 2 : 1;
      if (j >= in.size()) return false;
      boost::system::error_code ec;
      json::value v = json::parse(json::string_view(in.data() + i, j + 1 - i), ec);
      if (ec || !v.is_string()) return false;
      out = std::string(v.get_string());
      i = j + 1;
    } else {
      return false;
    }
    skip_ws();
    if (i >= in.size() || in[i] != ',') return false;
    ++i;
    return true;
  };
  skip_ws();
  if (i >= in.size() || in[i] != '[') return std::nullopt;
  ++i;
  frame_header h;
  std::optional<std::string> topic, event;
  if (!element(h.join_ref) || !element(h.ref) || !element(topic) || !element(event)) return std::nullopt;
  if (!topic || !event || event->empty()) return std::nullopt;
  h.topic = std::move(*topic);
  h.event = std::move(*event);
  return h;
}

namespace {
bool has_nonfinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (auto& x : v.get_array())
        if (has_nonfinite(x)) return true;
      return false;
    case json::kind::object:
      for (auto& kv : v.get_object())
        if (has_nonfinite(kv.value())) return true;
      return false;
    default: return false;
  }
}

void null_nonfinite(json::value& v) {
  if (v.is_double() && !std::isfinite(v.get_double())) v = nullptr;
  else if (v.is_array()) for (auto& x : v.get_array()) null_nonfinite(x);
  else if (v.is_object()) for (auto& kv : v.get_object()) null_nonfinite(kv.value());
}

// Boost.JSON writes infinities and NaN as `Infinity` and `NaN`, which no JSON parser takes (the
// client's JSON.parse included), and a client's 1e400 parses to infinity. JSON.stringify writes them
// as null, and so do we; the copy is made only when there is one.
std::string serialize_value(const json::value& v) {
  if (!has_nonfinite(v)) return json::serialize(v);
  json::value copy = v;
  null_nonfinite(copy);
  return json::serialize(copy);
}

}  // namespace

namespace {
// A JSON string: as is when nothing in it needs escaping (refs and topics), else Boost.JSON's.
void append_json_string(std::string& out, std::string_view s) {
  bool plain = true;
  for (unsigned char c : s)
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
      plain = false;
      break;
    }
  if (!plain) {
    out += json::serialize(json::string_view(s.data(), s.size()));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}
}  // namespace

// The frame around a payload is assembled as text so a diff is serialized once, never copied
// into an intermediate json::value.
std::string encode_frame_head(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event) {
  std::string out;
  out.reserve(16 + (join_ref ? join_ref->size() : 4) + (ref ? ref->size() : 4) + topic.size() + event.size());
  out += '[';
  if (join_ref) append_json_string(out, *join_ref);
  else out += "null";
  out += ',';
  if (ref) append_json_string(out, *ref);
  else out += "null";
  out += ',';
  append_json_string(out, topic);
  out += ',';
  append_json_string(out, event);
  out += ',';
  return out;
}

std::string encode_frame_raw(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event,
                             std::string_view payload_json) {
  auto out = encode_frame_head(join_ref, ref, topic, event);
  out += payload_json;
  out += ']';
  // A browser closes the socket on a text frame that is not UTF-8. Invalid bytes can only sit inside
  // JSON strings (the structure is ASCII), so U+FFFD in their place keeps the JSON intact.
  if (!valid_utf8(out)) out = repair_utf8(out);
  return out;
}

std::string encode_frame(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event,
                         const json::value& payload) {
  return encode_frame_raw(join_ref, ref, topic, event, serialize_value(payload));
}

std::optional<std::string> encode_refusal(std::string_view text, std::string_view reason) {
  auto h = parse_frame_head(text.substr(0, std::min<std::size_t>(text.size(), 1024)));
  if (!h || !h->ref) return std::nullopt;
  opt_ref jr = h->join_ref ? opt_ref(*h->join_ref) : std::nullopt;
  if (h->event == "event") return encode_reply(jr, *h->ref, h->topic, reply_status::ok, json::object{});
  return encode_reply(jr, *h->ref, h->topic, reply_status::error, json::object{{"reason", reason}});
}

std::string encode_reply(opt_ref join_ref, opt_ref ref, std::string_view topic, reply_status status,
                         const json::value& response) {
  std::string payload = status == reply_status::ok ? R"({"status":"ok","response":)" : R"({"status":"error","response":)";
  payload += serialize_value(response);
  payload += '}';
  return encode_frame_raw(join_ref, ref, topic, "phx_reply", payload);
}

result<binary_frame> parse_binary_frame(std::string_view bytes) {
  auto bad = [](const char* why) { return error{errc::bad_frame, why}; };
  if (bytes.size() < 5 || bytes[0] != 0) return bad("a binary push starts with 0x00 and four lengths");
  std::size_t at = 5;
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    auto n = static_cast<unsigned char>(bytes[1 + i]);
    if (bytes.size() - at < n) return bad("a binary push shorter than its header says");
    parts[i] = bytes.substr(at, n);
    at += n;
  }
  if (parts[2].empty()) return bad("a binary push without a topic");
  return binary_frame{parts[0], parts[1], parts[2], parts[3], bytes.substr(at)};
}

std::string encode_reply(const frame& to, reply_status status, const json::value& response) {
  return encode_reply(view(to.join_ref), view(to.ref), to.topic, status, response);
}

std::string encode_join_reply(const frame& join, const json::object& rendered) {
  std::string payload = R"({"status":"ok","response":{"rendered":)";
  payload += json::serialize(rendered);
  payload += R"(,"liveview_version":)";
  payload += json::serialize(json::string_view(liveview_version.data(), liveview_version.size()));
  payload += "}}";
  return encode_frame_raw(view(join.join_ref), view(join.ref), join.topic, "phx_reply", payload);
}

std::string encode_diff_reply(const frame& to, const json::object& diff) {
  std::string payload = R"({"status":"ok","response":{)";
  if (!diff.empty()) {
    payload += R"("diff":)";
    payload += json::serialize(diff);
  }
  payload += "}}";
  return encode_frame_raw(view(to.join_ref), view(to.ref), to.topic, "phx_reply", payload);
}

std::string encode_diff(opt_ref join_ref, std::string_view topic, const json::object& diff) {
  return encode_frame_raw(join_ref, std::nullopt, topic, "diff", json::serialize(diff));
}

std::string encode_live_patch(opt_ref join_ref, std::string_view topic, std::string_view to, nav_kind kind) {
  return encode_frame(join_ref, std::nullopt, topic, "live_patch", json::object{{"to", to}, {"kind", kind_str(kind)}});
}

std::string encode_live_redirect(opt_ref join_ref, std::string_view topic, std::string_view to, nav_kind kind,
                                 std::optional<std::string_view> flash) {
  json::object p{{"to", to}, {"kind", kind_str(kind)}};
  if (flash) p.emplace("flash", *flash);
  return encode_frame(join_ref, std::nullopt, topic, "live_redirect", p);
}

std::string encode_redirect(opt_ref join_ref, std::string_view topic, std::string_view to,
                            std::optional<std::string_view> flash) {
  json::object p{{"to", to}};
  if (flash) p.emplace("flash", *flash);
  return encode_frame(join_ref, std::nullopt, topic, "redirect", p);
}

// phx_error and phx_close carry the join ref in both ref positions, as Phoenix sends them.
std::string encode_phx_error(opt_ref join_ref, std::string_view topic, std::string_view reason,
                             std::string_view message) {
  json::object payload{{"reason", reason}};
  if (!message.empty()) payload["message"] = message;
  return encode_frame(join_ref, join_ref, topic, "phx_error", payload);
}

std::string encode_phx_close(opt_ref join_ref, std::string_view topic) {
  return encode_frame(join_ref, join_ref, topic, "phx_close", json::object{});
}

}  // namespace corvid::live
