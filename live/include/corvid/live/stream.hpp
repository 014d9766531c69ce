// Streams: a list whose items the server does not keep. A view inserts, deletes or resets items;
// the next render or diff sends just those operations (LiveView's "stream" comprehension) and then
// forgets them. The client keeps the items in a container with phx-update="stream".
//
//   template:  <ul id="feed" phx-update="stream">{% stream id, msg in feed %}<li id="{{ id }}">{{ msg.body }}</li>{% endstream %}</ul>
//   view:      s.stream_insert("feed", value::map{{"id", 7}, {"body", "hi"}});          // append, dom id "feed-7"
//              s.stream_insert("feed", item, stream_at::prepend, 50);  // prepend, keep the first 50 on the client
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "corvid/live/value.hpp"

namespace corvid::live {

/// Where an insert goes: -1 appends, 0 prepends, n > 0 inserts at that child position.
namespace stream_at {
inline constexpr std::int64_t append = -1;
inline constexpr std::int64_t prepend = 0;
}  // namespace stream_at

/// One pending insert (or in-place update, when the dom id is already on the client).
struct stream_insert {
  std::string dom_id;
  value item;
  std::int64_t at = stream_at::append;
  /// Client-side cap after the insert: N keeps the first N children, -N the last N.
  std::optional<std::int64_t> limit;
  bool update_only = false;  ///< only update an element the client has; never add it
};

/// What a stream will send with the next render or diff; empty right after that.
struct stream_ops {
  bool reset = false;                 ///< the client drops every item of this stream first
  std::vector<stream_insert> inserts; ///< in order
  std::vector<std::string> deletes;   ///< dom ids
  bool empty() const noexcept { return !reset && inserts.empty() && deletes.empty(); }
};

/// Makes an item's DOM id; the default is "<stream name>-<item.id>".
using stream_dom_id = std::function<std::string(const value& item)>;

}  // namespace corvid::live
