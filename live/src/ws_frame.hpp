// RFC 6455 from the server's side, without I/O: the frames a client sends are parsed in whatever
// pieces the socket delivers them, and the frames the server sends are framed here. ws_conn.cpp
// drives both on a raw socket, so an idle connection holds a few dozen bytes of parser state
// instead of a websocket stream's buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corvid::live::detail {

enum class ws_op : unsigned char { cont = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

/// A server frame's header (FIN set, unmasked) for `n` payload bytes, written to `out` (10 bytes
/// of room); returns its size: 2, 4 or 10.
std::size_t ws_header(unsigned char* out, ws_op op, std::size_t n) noexcept;
/// A whole close frame: `code` and no reason, or an empty body for 1005 (no code).
std::string ws_close_frame(std::uint16_t code);
/// A whole pong frame echoing a ping's payload (at most 125 bytes).
std::string ws_pong_frame(std::string_view payload);

/// Why the connection must fail: the close code to send and words for the log.
struct ws_failure {
  std::uint16_t code;  ///< 1002 protocol error, 1007 not UTF-8, 1009 message too big
  const char* why;
};

/// What a client's messages may be.
struct ws_limits {
  std::size_t keep;         ///< messages up to this many bytes are handed on whole
  std::size_t max_message;  ///< a message over this fails the connection (1009)
  std::size_t head_bytes;   ///< what is kept of a message over `keep`
};

/// What the reader hands on, in stream order.
class ws_events {
 public:
  virtual ~ws_events() = default;
  /// A whole message of at most `keep` bytes; a text one is valid UTF-8.
  virtual void message(std::string data, bool binary) = 0;
  /// A message over `keep` bytes: its first `head_bytes` (not checked for UTF-8) and its size.
  virtual void oversized(std::string head, std::size_t size, bool binary) = 0;
  virtual void ping(std::string_view payload) = 0;
  /// The client's close frame: its code (1005 when it has none) and reason. Nothing is read after it.
  virtual void closed(std::uint16_t code, std::string_view reason) = 0;
};

/// The client-to-server half of a connection: unmasks, reassembles fragments, checks every rule
/// a server must (masking, reserved bits, opcodes, control frame sizes, minimal lengths, UTF-8).
class ws_reader {
 public:
  /// Parses the next bytes of the stream (unmasking them in place). A failure ends the reader:
  /// later bytes are ignored, as they are after a close frame.
  std::optional<ws_failure> feed(char* data, std::size_t size, const ws_limits& lim, ws_events& ev);
  /// A close frame or a failure has been read.
  bool done() const noexcept { return done_; }
  /// Bytes held between calls (a cut header, a partial message or control frame): 0 when idle.
  std::size_t buffered() const noexcept { return hdr_len_ + heap(msg_) + heap(ctrl_); }

 private:
  std::optional<ws_failure> fail(std::uint16_t code, const char* why) {
    done_ = true;
    msg_ = {};
    ctrl_ = {};
    return ws_failure{code, why};
  }
  static std::size_t heap(const std::string& s) noexcept {
    return s.capacity() > std::string().capacity() ? s.capacity() : 0;
  }
  std::optional<ws_failure> parse_header(const ws_limits& lim);
  std::optional<ws_failure> frame_done(const ws_limits& lim, ws_events& ev);

  std::uint64_t remaining_ = 0;  // payload bytes of the current frame still to come
  std::uint64_t msg_size_ = 0;   // bytes of the current message so far
  std::string msg_;              // the message (or, over `keep`, its head)
  std::string ctrl_;             // a control frame's payload
  unsigned char hdr_[14];        // a header cut between two reads
  unsigned char mask_[4];
  unsigned char hdr_len_ = 0;
  unsigned char mask_pos_ = 0;
  ws_op frame_op_ = ws_op::cont;
  ws_op msg_op_ = ws_op::cont;  // cont: no message in progress
  bool in_frame_ = false, fin_ = false, done_ = false;
};

}  // namespace corvid::live::detail
