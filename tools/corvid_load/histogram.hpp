// A latency histogram in the HDR style: log-linear buckets (128 per power of two, so any value is
// reported within 1%), exact count, min, max and sum, mergeable, and small on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace corvid::load {

class histogram {
public:
  /// Records one value (microseconds, bytes: any non-negative integer).
  void record(std::uint64_t v, std::uint64_t times = 1);
  /// Adds every value of `o`.
  void merge(const histogram& o);
  void clear() { *this = histogram{}; }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? double(sum_) / double(count_) : 0.0; }
  /// The value below or at which a fraction `q` (0..1) of the values lie: the upper bound of the
  /// bucket that holds that rank, never above max() (0 when empty).
  std::uint64_t quantile(double q) const;

  /// {"count", "min", "mean", "p50", "p90", "p99", "p999", "max", "buckets": [[low, high, n], ...]}
  /// (only non-empty buckets; `with_buckets` false leaves them out).
  boost::json::object to_json(bool with_buckets = true) const;
  /// Compact bytes (varints of the non-empty buckets) for sending between nodes.
  std::string encode() const;
  /// Rebuilds from encode()'s bytes; nullopt when they are malformed.
  static std::optional<histogram> decode(std::string_view bytes);

  /// Bucket arithmetic, public for tests: the index of a value, and the bounds of an index.
  static std::size_t index_of(std::uint64_t v) noexcept;
  static std::uint64_t lower_of(std::size_t i) noexcept;
  static std::uint64_t upper_of(std::size_t i) noexcept;

private:
  std::vector<std::uint64_t> counts_;  // grown up to the highest index recorded
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
};

} // namespace corvid::load
