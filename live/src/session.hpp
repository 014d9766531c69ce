// The session process behind one websocket connection: a channel driven by corvid messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <caf/allowed_unsafe_message_type.hpp>

#include "corvid/live/channel.hpp"
#include "corvid/runtime/process.hpp"

namespace corvid::live::detail {

/// Where a session process writes: the connection. Thread-safe and never blocking; a sink that
/// cannot keep up closes its connection instead of buffering without end.
class frame_sink {
 public:
  virtual ~frame_sink() = default;
  virtual void send(std::string frame) = 0;
  /// A frame in pieces (channel_host::send_parts); the default joins them for send().
  virtual void send_parts(std::string_view head, std::shared_ptr<const std::string> body, std::string_view tail) {
    send(join_frame(head, *body, tail));
  }
  /// Closes the connection with a websocket close code (1000 would make the client reload: avoid it).
  virtual void close(std::uint16_t code) = 0;
  /// Whether the connection may join a view at `path` (see channel_host::may_join).
  virtual bool may_join(std::string_view /*path*/) const { return true; }
  /// The session process has started; false if the connection is already gone (the session ends).
  virtual bool attach(corvid::pid /*self*/) { return true; }
  /// Whether the connection itself closes a session that joins no view within first_join_timeout
  /// (the session then arms no timer of its own).
  virtual bool watches_first_join() const { return false; }
  /// The session has joined its first view.
  virtual void joined() {}
};

/// A text frame from the client, for the session process.
struct inbound_frame {
  std::string text;
  bool binary = false;  // an upload chunk
  std::shared_ptr<void> held = nullptr;  // the connection's count of queued bytes, released with the message
};
/// A text message over the frame limit, read and dropped: only its first bytes are kept.
struct inbound_oversized {
  std::string head;
  std::size_t bytes = 0;
};
/// The connection is gone: the session process ends normally.
struct connection_closed {};
/// The coalescing interval has passed: send the pending diffs.
struct flush_tick {};
/// channel_config::first_join_timeout has passed since the session started (sinks that do not watch it).
struct join_deadline {};

/// The init function of a session process; `cfg` must outlive it.
corvid::init_fn session_init(const channel_config& cfg, std::shared_ptr<frame_sink> sink);

}  // namespace corvid::live::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::inbound_frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::inbound_oversized)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::connection_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::flush_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::detail::join_deadline)
