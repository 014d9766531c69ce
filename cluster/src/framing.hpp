#pragma once
// Length-prefixed frames: a 4-byte big-endian length, then one serialized v1::Frame.
// The reader checks each length against its current limit before reserving a byte, so a
// header claiming gigabytes costs nothing, and its buffer never exceeds the limit.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/v1/wire.pb.h"

namespace corvid::cluster::detail {

inline constexpr size_t header_bytes = 4;

/// The wire bytes of `f`: header + body. Fails if the body is empty or exceeds `limit`.
error encode_frame(const v1::Frame& f, size_t limit, std::string& out);

/// Incremental frame parser fed with whatever the socket delivered.
class frame_reader {
public:
  enum class status { need_more, frame, failed };

  struct step {
    size_t consumed = 0;  ///< bytes of the input used; the rest belongs to later frames
    status what = status::need_more;
  };

  explicit frame_reader(size_t limit) : limit_(limit) {}

  /// Consumes input up to the end of at most one frame, so a limit change made after
  /// a frame (e.g. at authentication) applies to the very next one.
  step feed(const char* data, size_t n);

  /// The frame completed by the last feed() that returned status::frame.
  v1::Frame& frame() noexcept { return frame_; }
  /// Why the last feed() returned status::failed; the reader is then unusable.
  const error& failure() const noexcept { return failure_; }

  void set_limit(size_t limit) noexcept { limit_ = limit; }
  size_t limit() const noexcept { return limit_; }
  /// Bytes reserved for frame bodies; never above the limit in force when reserved.
  size_t capacity() const noexcept { return body_.capacity(); }

private:
  step fail(size_t consumed, errc kind, std::string message);

  size_t limit_;
  unsigned char header_[header_bytes] = {};
  size_t header_have_ = 0;
  size_t body_size_ = 0;
  std::vector<char> body_;
  v1::Frame frame_;
  error failure_;
  bool failed_ = false;
};

} // namespace corvid::cluster::detail
