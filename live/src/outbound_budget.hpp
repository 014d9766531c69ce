// What a connection may have queued for its client: frames and bytes, reserved by any thread (the
// session process) and released by the writer. Both bounds hold at once, and a refusal changes nothing.
#pragma once

#include <atomic>
#include <cstddef>

namespace corvid::live::detail {

class outbound_budget {
 public:
  outbound_budget(std::size_t frames, std::size_t bytes) noexcept : frame_limit_(frames), byte_limit_(bytes) {}
  /// Reserves room for one frame of `n` bytes; false, with nothing reserved, if either bound would be passed.
  bool reserve(std::size_t n) noexcept {
    if (frames_.fetch_add(1) >= frame_limit_) {
      frames_.fetch_sub(1);
      return false;
    }
    if (bytes_.fetch_add(n) + n > byte_limit_) {
      bytes_.fetch_sub(n);
      frames_.fetch_sub(1);
      return false;
    }
    return true;
  }
  /// Gives back what reserve(n) took (the frame was written or dropped).
  void release(std::size_t n) noexcept {
    frames_.fetch_sub(1);
    bytes_.fetch_sub(n);
  }
  std::size_t frames() const noexcept { return frames_.load(); }
  std::size_t bytes() const noexcept { return bytes_.load(); }

 private:
  const std::size_t frame_limit_, byte_limit_;
  std::atomic<std::size_t> frames_{0}, bytes_{0};
};

}  // namespace corvid::live::detail
