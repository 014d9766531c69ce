#include "ws_frame.hpp"

#include <algorithm>

#include "corvid/live/utf8.hpp"

namespace corvid::live::detail {

namespace {

void unmask(char* p, std::size_t n, const unsigned char* mask, unsigned pos) noexcept {
  for (std::size_t k = 0; k < n; ++k) p[k] = static_cast<char>(static_cast<unsigned char>(p[k]) ^ mask[(pos + k) & 3]);
}

// Codes a close frame may carry (RFC 6455 7.4 and IANA's registry): never 1004-1006 or 1015,
// which name states, not reasons; 3000-4999 belong to libraries and applications.
bool valid_close_code(std::uint16_t c) noexcept {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

// Header bytes a frame needs, as far as the bytes already in `h` tell.
std::size_t header_size(const unsigned char* h, std::size_t have) noexcept {
  if (have < 2) return 2;
  const unsigned len7 = h[1] & 0x7f;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
}

}  // namespace

std::size_t ws_header(unsigned char* h, ws_op op, std::size_t n) noexcept {
  h[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op));
  if (n < 126) {
    h[1] = static_cast<unsigned char>(n);
    return 2;
  }
  if (n <= 0xffff) {
    h[1] = 126;
    h[2] = static_cast<unsigned char>(n >> 8);
    h[3] = static_cast<unsigned char>(n);
    return 4;
  }
  h[1] = 127;
  for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (56 - 8 * i));
  return 10;
}

std::string ws_close_frame(std::uint16_t code) {
  if (code == 1005) return std::string("\x88\x00", 2);
  return {'\x88', '\x02', static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

std::string ws_pong_frame(std::string_view payload) {
  unsigned char h[10];
  const auto n = ws_header(h, ws_op::pong, payload.size());
  std::string f(reinterpret_cast<const char*>(h), n);
  f.append(payload);
  return f;
}

std::optional<ws_failure> ws_reader::parse_header(const ws_limits& lim) {
  const unsigned char b0 = hdr_[0], b1 = hdr_[1];
  if (b0 & 0x70) return fail(1002, "reserved bits set (no extension was agreed)");
  const unsigned op = b0 & 0x0f;
  if (op > 2 && (op < 8 || op > 10)) return fail(1002, "unknown opcode");
  const bool fin = (b0 & 0x80) != 0;
  if (!(b1 & 0x80)) return fail(1002, "a client frame that is not masked");
  std::uint64_t len = b1 & 0x7f;
  std::size_t pos = 2;
  if (len == 126) {
    len = (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
    pos = 4;
    if (len < 126) return fail(1002, "a frame length not in its shortest form");
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | hdr_[2 + i];
    pos = 10;
    if (len >> 63) return fail(1002, "a frame length over 2^63");
    if (len <= 0xffff) return fail(1002, "a frame length not in its shortest form");
  }
  std::copy(hdr_ + pos, hdr_ + pos + 4, mask_);
  const auto o = static_cast<ws_op>(op);
  if (op >= 8) {
    if (!fin) return fail(1002, "a fragmented control frame");
    if (len > 125) return fail(1002, "a control frame over 125 bytes");
  } else {
    if (o == ws_op::cont) {
      if (msg_op_ == ws_op::cont) return fail(1002, "a continuation frame outside a message");
    } else {
      if (msg_op_ != ws_op::cont) return fail(1002, "a new message inside a fragmented one");
      msg_op_ = o;
      msg_size_ = 0;
    }
    if (len > lim.max_message - std::min<std::uint64_t>(msg_size_, lim.max_message))
      return fail(1009, "a message over the size limit");
  }
  remaining_ = len;
  frame_op_ = o;
  fin_ = fin;
  mask_pos_ = 0;
  hdr_len_ = 0;
  in_frame_ = true;
  return std::nullopt;
}

std::optional<ws_failure> ws_reader::frame_done(const ws_limits& lim, ws_events& ev) {
  in_frame_ = false;
  switch (frame_op_) {
    case ws_op::close: {
      if (ctrl_.size() == 1) return fail(1002, "a close frame with a one-byte body");
      std::uint16_t code = 1005;
      std::string_view reason;
      if (ctrl_.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<unsigned char>(ctrl_[0]) << 8) | static_cast<unsigned char>(ctrl_[1]));
        if (!valid_close_code(code)) return fail(1002, "an invalid close code");
        reason = std::string_view(ctrl_).substr(2);
        if (!valid_utf8(reason)) return fail(1007, "a close reason that is not UTF-8");
      }
      done_ = true;
      ev.closed(code, reason);
      std::string{}.swap(ctrl_);
      std::string{}.swap(msg_);
      return std::nullopt;
    }
    case ws_op::ping:
      ev.ping(ctrl_);
      std::string{}.swap(ctrl_);
      return std::nullopt;
    case ws_op::pong:  // unsolicited or late: nothing to do
      std::string{}.swap(ctrl_);
      return std::nullopt;
    default:
      break;
  }
  if (!fin_) return std::nullopt;
  const bool binary = msg_op_ == ws_op::binary;
  const auto size = msg_size_;
  msg_op_ = ws_op::cont;
  msg_size_ = 0;
  std::string m;
  m.swap(msg_);
  if (size > lim.keep) {
    ev.oversized(std::move(m), static_cast<std::size_t>(size), binary);
    return std::nullopt;
  }
  if (!binary && !valid_utf8(m)) return fail(1007, "a text message that is not UTF-8");
  ev.message(std::move(m), binary);
  return std::nullopt;
}

std::optional<ws_failure> ws_reader::feed(char* data, std::size_t size, const ws_limits& lim, ws_events& ev) {
  std::size_t i = 0;
  while (!done_) {
    if (!in_frame_) {
      for (std::size_t need = header_size(hdr_, hdr_len_); hdr_len_ < need; need = header_size(hdr_, hdr_len_)) {
        if (i == size) return std::nullopt;
        hdr_[hdr_len_++] = static_cast<unsigned char>(data[i++]);
      }
      if (auto f = parse_header(lim)) return f;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size - i));
    char* p = data + i;
    if (frame_op_ >= ws_op::close) {
      unmask(p, take, mask_, mask_pos_);
      ctrl_.append(p, take);
    } else if (msg_size_ + take <= lim.keep) {
      unmask(p, take, mask_, mask_pos_);
      msg_.append(p, take);
    } else {
      // Over `keep`: only the head is kept, and the memory held for the rest goes.
      if (msg_size_ <= lim.keep && msg_.size() > lim.head_bytes) {
        msg_.resize(lim.head_bytes);
        msg_.shrink_to_fit();
      }
      if (msg_.size() < lim.head_bytes) {  // then msg_ is still the whole message so far
        const auto n = std::min<std::size_t>(take, lim.head_bytes - msg_.size());
        unmask(p, n, mask_, mask_pos_);
        msg_.append(p, n);
      }
    }
    if (frame_op_ < ws_op::close) msg_size_ += take;
    mask_pos_ = static_cast<unsigned char>((mask_pos_ + take) & 3);
    remaining_ -= take;
    i += take;
    if (remaining_ > 0) return std::nullopt;  // the rest of the frame comes in a later read
    if (auto f = frame_done(lim, ev)) return f;
  }
  return std::nullopt;
}

}  // namespace corvid::live::detail
