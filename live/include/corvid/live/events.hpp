// Decoding of LiveView payloads: `event` pushes and `phx_join`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "corvid/live/result.hpp"
#include "corvid/live/urlencoded.hpp"

namespace corvid::live {

/// Flat string parameters, as a view's handle_event sees them.
using params = std::map<std::string, std::string, std::less<>>;

enum class event_kind { click, form, keyup, keydown, focus, blur, hook, other };

/// An `event` push, decoded by its "type".
struct live_event {
  event_kind kind = event_kind::other;
  std::string type;   ///< as sent: "click", "form", ...
  std::string name;   ///< the binding's event name, e.g. "inc"
  /// click/focus/blur/keyup/keydown/other: the value map as strings (phx-value-*, "value", "key");
  /// form: the decoded fields (last one wins) plus meta (phx-value-* of the form) where no field has the name.
  params values;
  form_fields fields;                 ///< form: every decoded field in order, repeats kept
  /// form: the fields nested as Phoenix gives them (form_params.hpp: "user[name]" -> {"user": {"name": ...}},
  /// "tags[]" -> a list, "_unused_" markers kept), "_target" as the changed input's key path
  /// (["user", "name"]), and the form's phx-value-* where no field has the name.
  boost::json::object form;
  std::optional<std::string> target;  ///< form: meta._target, the input that changed
  std::optional<std::string> key;     ///< keyup/keydown: the key pressed (none on events the browser made, e.g. autofill)
  boost::json::value raw;             ///< the undecoded "value" (a hook's arbitrary JSON lives here)
  std::optional<std::int64_t> cid;    ///< set for events aimed at a component
};

/// Decodes an `event` payload; errors are errc::bad_payload or errc::bad_encoding (bad form body).
result<live_event> decode_event(const boost::json::object& payload);

/// A `phx_join` payload.
struct join_request {
  std::optional<std::string> url;       ///< the page URL (normal join and rejoin)
  std::optional<std::string> redirect;  ///< instead of url after live navigation
  boost::json::object params;          ///< LiveSocket params plus _csrf_token, _mounts, ...
  std::string session;                  ///< the container's data-phx-session, verbatim
  std::optional<std::string> static_token;
  std::optional<std::string> flash;
  bool sticky = false;
  std::int64_t mounts = 0;  ///< params._mounts: 0 on first join, more on rejoins
};

/// Decodes a `phx_join` payload; `session` is required, url/redirect/static/flash must be strings if present.
result<join_request> decode_join(const boost::json::object& payload);

}  // namespace corvid::live
