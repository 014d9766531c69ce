// Channel frames as a browser's websocket delivers them: parse_frame, parse_frame_head, the payload
// decoders, and the replies built from what was parsed.
#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "corvid/live/events.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/utf8.hpp"
#include "fuzz_check.hpp"

namespace json = boost::json;
using namespace corvid::live;

namespace {

// The server's own bound (server_options' default frame limit is far larger than any seed).
const frame_limits limits{64 * 1024, 32};

bool utf8(const params& ps) {
  for (auto& [k, v] : ps)
    if (!valid_utf8(k) || !valid_utf8(v)) return false;
  return true;
}

bool utf8(const form_fields& fs) {
  for (auto& [k, v] : fs)
    if (!valid_utf8(k) || !valid_utf8(v)) return false;
  return true;
}

void check_event(const json::object& payload) {
  auto ev = decode_event(payload);
  if (!ev) {
    FUZZ_CHECK(ev.error().code == errc::bad_payload || ev.error().code == errc::bad_encoding);
    FUZZ_CHECK(!ev.error().message.empty());
    return;
  }
  // What a view's handle_event sees, and what may be echoed into a page, is text the browser accepts.
  FUZZ_CHECK(valid_utf8(ev->type) && valid_utf8(ev->name));
  FUZZ_CHECK(utf8(ev->values) && utf8(ev->fields));
  FUZZ_CHECK(!ev->target || valid_utf8(*ev->target));
  FUZZ_CHECK(!ev->key || valid_utf8(*ev->key));
}

void check_join(const json::object& payload) {
  auto j = decode_join(payload);
  if (!j) FUZZ_CHECK(j.error().code == errc::bad_payload && !j.error().message.empty());
}

// `b`, what came back, equals `a` as JSON, except that doubles may differ in their last bits:
// Boost 1.81 parses numbers with up to one ULP of error, so a double does not always survive
// serialize-then-parse exactly.
// Non-finite numbers (a client's 1e400) are written as null.
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_double() && !std::isfinite(a.get_double())) return b.is_null();
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || std::abs(x - y) <= 1e-14 * std::max(std::abs(x), std::abs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    auto& x = a.get_array();
    auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same_json(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    auto& x = a.get_object();
    auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto& kv : x) {
      auto* other = y.if_contains(kv.key());
      if (!other || !same_json(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// A reply to `f` must be a frame the client can read back: valid UTF-8, same refs and topic.
void check_reply(const frame& f) {
  const std::string reply = encode_reply(f, reply_status::ok, f.payload);
  FUZZ_CHECK(valid_utf8(reply));
  auto back = parse_frame(reply, {std::size_t{1} << 24, 64});
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->join_ref == f.join_ref && back->ref == f.ref && back->topic == f.topic);
  FUZZ_CHECK(back->event == "phx_reply");
  const json::value* status = back->payload.if_contains("status");
  FUZZ_CHECK(status && status->is_string() && status->get_string() == "ok");
  const json::value* response = back->payload.if_contains("response");
  FUZZ_CHECK(response && response->is_object() && same_json(f.payload, *response));

  const std::string again = encode_frame(f.join_ref, f.ref, f.topic, f.event, f.payload);
  auto same = parse_frame(again, {std::size_t{1} << 24, 64});
  FUZZ_CHECK(same.ok() && same->event == f.event && same_json(f.payload, same->payload));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text = corvid_fuzz::as_text(data, size);
  result<frame> parsed = error{errc::bad_frame, ""};
  try {
    parsed = parse_frame(text, limits);
  } catch (...) {
    corvid_fuzz::fail("parse_frame threw", __FILE__, __LINE__);
  }
  const auto head = parse_frame_head(text);
  if (!parsed) {
    const errc c = parsed.error().code;
    FUZZ_CHECK(c == errc::too_large || c == errc::malformed_json || c == errc::bad_frame);
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const frame& f = *parsed;
  // Boost.JSON refuses ill-formed UTF-8 in strings, so nothing parsed needs repair.
  FUZZ_CHECK(valid_utf8(f.topic) && valid_utf8(f.event));
  // An oversized message is answered from its head: for any whole frame it must say the same.
  FUZZ_CHECK(head.has_value());
  FUZZ_CHECK(head->join_ref == f.join_ref && head->ref == f.ref && head->topic == f.topic &&
             head->event == f.event);
  check_reply(f);
  // Whatever the event name, the decoders must cope with the payload (the channel picks one by name).
  check_event(f.payload);
  check_join(f.payload);
  return 0;
}
