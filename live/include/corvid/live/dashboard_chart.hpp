// The dashboard's pure parts: SVG line charts drawn by the server, a ring of samples, and
// latency histograms (exposed for tests; no runtime, no I/O).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::live {

/// One sample of a series: when (seconds on any monotonic clock) and the value.
struct chart_point {
  double t = 0;
  double v = 0;
};

/// A chart's box and the time it covers.
struct chart_geometry {
  double width = 320, height = 90;  ///< the SVG's viewBox
  double pad = 2;                   ///< blank border inside the box
  double window = 300;              ///< seconds shown: `now - window` at the left edge, `now` at the right
};

/// The smallest of 1, 2, 5 x 10^k at or above `v` (1 for v <= 0): a chart's top value.
double nice_ceiling(double v);

/// The "x,y x,y ..." of an SVG polyline for the points within the window ending at `now` (older
/// ones are left out; the newest is at the right edge when its t == now), y scaled so that 0 is the
/// bottom and `top` the top. Coordinates have one decimal.
std::string polyline_points(const std::vector<chart_point>& pts, double now, double top, const chart_geometry& g = {});

/// A whole <svg> chart: the polyline, the top value and the latest value as text, a title.
/// `id` becomes the svg's id; each point is also counted in data-points (tests read it).
std::string chart_svg(std::string_view id, std::string_view title, std::string_view unit,
                      const std::vector<chart_point>& pts, double now, const chart_geometry& g = {});

/// A value with an SI suffix for charts and tables: 1234 -> "1.23k", 5.2e6 -> "5.2M", 12 -> "12".
std::string si(double v);

/// Latency counts in fixed buckets (upper bounds in microseconds, the last one unbounded);
/// recording is one relaxed atomic increment, readable from any thread.
class latency_histogram {
 public:
  static constexpr std::array<std::uint64_t, 15> bounds_us{50,    100,   250,    500,    1'000,   2'500,     5'000, 10'000,
                                                           25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, UINT64_MAX};
  /// The bucket `us` falls in: the first whose bound is >= us.
  static std::size_t bucket_of(std::uint64_t us) noexcept;
  void record(std::uint64_t us) noexcept;
  std::uint64_t count() const noexcept;
  std::uint64_t count_in(std::size_t bucket) const noexcept { return counts_[bucket].load(std::memory_order_relaxed); }
  /// The bound of the bucket holding the q-quantile (0 < q <= 1): a value at least that large;
  /// 0 when empty. The unbounded bucket reports twice the largest finite bound.
  std::uint64_t quantile_us(double q) const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bounds_us.size()> counts_{};
};

}  // namespace corvid::live
