// Phoenix channel frames (V2 JSON serializer): [join_ref, ref, topic, event, payload].
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "corvid/live/result.hpp"

namespace corvid::live {

/// One client-to-server message. Refs are opaque strings to echo back; null is std::nullopt.
struct frame {
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
  boost::json::object payload;
};

/// Bounds applied before and while parsing, so hostile input costs little.
struct frame_limits {
  std::size_t max_bytes = 1 << 20;
  std::size_t max_depth = 32;
  std::size_t max_topic_bytes = 256;  ///< LiveView topics are "lv:" + an element id: short
};

/// Parses a text frame. Errors: too_large, malformed_json, bad_frame (not a 5-array, wrong element types,
/// a topic over max_topic_bytes).
result<frame> parse_frame(std::string_view text, const frame_limits& limits = {});

/// The four leading elements of a frame, read from a prefix of it: what is left of a websocket message
/// over the size limit, whose payload was discarded unread, so that it can still be answered.
/// Every element must be complete within `prefix`; the payload is never looked at.
struct frame_header {
  std::optional<std::string> join_ref;
  std::optional<std::string> ref;
  std::string topic;
  std::string event;
};
std::optional<frame_header> parse_frame_head(std::string_view prefix);

using opt_ref = std::optional<std::string_view>;

/// The reply to a push refused before it was parsed (over the rate, a full queue), made from the first
/// 1 KiB of `text`: ok {} for an event (the client keeps an element locked on an error reply), else an
/// error with `reason`. nullopt when there is nobody to answer (no ref, or no intact head).
std::optional<std::string> encode_refusal(std::string_view text, std::string_view reason);

/// Any frame; null refs encode as JSON null. Every encoder emits valid UTF-8: invalid bytes become U+FFFD.
/// Non-finite numbers in `payload` (and in encode_reply's `response`) encode as null, as JSON.stringify does.
std::string encode_frame(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event,
                         const boost::json::value& payload);
/// A frame's text before its payload, `[join_ref,ref,topic,event,`: the frame is that, the payload and `]`.
std::string encode_frame_head(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event);
/// A frame given in pieces (a head, a shared body, a tail) as one string.
inline std::string join_frame(std::string_view head, std::string_view body, std::string_view tail) {
  std::string f;
  f.reserve(head.size() + body.size() + tail.size());
  f.append(head).append(body).append(tail);
  return f;
}
/// Any frame around an already-serialized JSON payload (serialize a shared diff once, frame it per socket).
std::string encode_frame_raw(opt_ref join_ref, opt_ref ref, std::string_view topic, std::string_view event,
                             std::string_view payload_json);

/// A binary push (upload chunks): 0x00, the byte lengths of join_ref, ref, topic and event, those four
/// as text, then the payload. Views into the bytes parsed.
struct binary_frame {
  std::string_view join_ref, ref, topic, event, payload;
};
/// Parses a binary push; errors are bad_frame (kind byte, lengths past the end, an empty topic).
result<binary_frame> parse_binary_frame(std::string_view bytes);

enum class reply_status { ok, error };

/// phx_reply to a push: {"status": "ok"|"error", "response": response}, echoing its refs and topic.
std::string encode_reply(const frame& to, reply_status status, const boost::json::value& response);
std::string encode_reply(opt_ref join_ref, opt_ref ref, std::string_view topic, reply_status status,
                         const boost::json::value& response);

/// The client version we speak; a join reply carrying another only makes the client log a warning.
inline constexpr std::string_view liveview_version = "1.2.12";

/// ok reply to phx_join: {"rendered": rendered, "liveview_version": "1.2.12"}.
std::string encode_join_reply(const frame& join, const boost::json::object& rendered);
/// ok reply to an event: {"diff": diff}, or {} when the diff is empty (nothing to patch).
std::string encode_diff_reply(const frame& to, const boost::json::object& diff);

/// Server push of a rendered diff: [join_ref, null, topic, "diff", diff].
std::string encode_diff(opt_ref join_ref, std::string_view topic, const boost::json::object& diff);

enum class nav_kind { push, replace };

/// live_patch push: the client only changes the URL (send the matching diff separately).
std::string encode_live_patch(opt_ref join_ref, std::string_view topic, std::string_view to, nav_kind kind);
/// live_redirect push: the client leaves and joins again with `redirect` (no HTTP request).
std::string encode_live_redirect(opt_ref join_ref, std::string_view topic, std::string_view to, nav_kind kind,
                                 std::optional<std::string_view> flash = std::nullopt);
/// redirect push: full browser navigation.
std::string encode_redirect(opt_ref join_ref, std::string_view topic, std::string_view to,
                            std::optional<std::string_view> flash = std::nullopt);
/// phx_error: the channel crashed; the client shows its error state and rejoins after its backoff.
/// A non-empty `message` (words for the user) goes along as "message"; the page boot script shows it.
std::string encode_phx_error(opt_ref join_ref, std::string_view topic, std::string_view reason,
                             std::string_view message = {});
/// phx_close: the channel ended cleanly; the client does not rejoin.
std::string encode_phx_close(opt_ref join_ref, std::string_view topic);

}  // namespace corvid::live
