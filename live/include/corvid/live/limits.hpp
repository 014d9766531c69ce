// A token bucket: `rate` tokens a second up to `burst`; take() spends one if there is one.
#pragma once

#include <algorithm>
#include <chrono>

namespace corvid::live {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  /// rate <= 0: unlimited (take() always succeeds).
  token_bucket(double rate, double burst, clock::time_point now = clock::now()) noexcept
      : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_), last_(now) {}

  /// Spends one token; false if the bucket is empty.
  bool take(clock::time_point now = clock::now()) noexcept {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  /// True if the bucket has refilled to its burst (the client has calmed down).
  bool full(clock::time_point now = clock::now()) noexcept {
    if (rate_ <= 0) return true;
    refill(now);
    return tokens_ >= burst_;
  }

 private:
  void refill(clock::time_point now) noexcept {
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
    }
  }
  double rate_, burst_, tokens_;
  clock::time_point last_;
};

}  // namespace corvid::live
