#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <boost/json/array.hpp>

#include "wire.hpp"

namespace corvid::load {

using wire::put_varint;
using wire::take_varint;

namespace {

// Values below 2^7 have a bucket each; above, each power of two has 64 buckets of equal width.
constexpr unsigned sub_bits = 7;
constexpr std::uint64_t linear = std::uint64_t{1} << sub_bits;  // 128
constexpr std::uint64_t half = linear / 2;                     // 64

} // namespace

std::size_t histogram::index_of(std::uint64_t v) noexcept {
  if (v < linear)
    return static_cast<std::size_t>(v);
  unsigned s = static_cast<unsigned>(std::bit_width(v)) - sub_bits;  // >= 1
  std::uint64_t m = v >> s;                                            // in [64, 128)
  return static_cast<std::size_t>(linear + (s - 1) * half + (m - half));
}

std::uint64_t histogram::lower_of(std::size_t i) noexcept {
  if (i < linear)
    return i;
  std::size_t s = (i - linear) / half + 1;
  std::uint64_t m = (i - linear) % half + half;
  return m << s;
}

std::uint64_t histogram::upper_of(std::size_t i) noexcept {
  if (i < linear)
    return i;
  std::size_t s = (i - linear) / half + 1;
  std::uint64_t m = (i - linear) % half + half;
  return ((m + 1) << s) - 1;  // the top bucket's shift wraps to 0, so its bound is the largest value
}

void histogram::record(std::uint64_t v, std::uint64_t times) {
  if (times == 0)
    return;
  auto i = index_of(v);
  if (i >= counts_.size())
    counts_.resize(i + 1, 0);
  counts_[i] += times;
  min_ = count_ == 0 ? v : std::min(min_, v);
  max_ = std::max(max_, v);
  count_ += times;
  sum_ += v * times;
}

void histogram::merge(const histogram& o) {
  if (o.count_ == 0)
    return;
  if (o.counts_.size() > counts_.size())
    counts_.resize(o.counts_.size(), 0);
  for (std::size_t i = 0; i < o.counts_.size(); ++i)
    counts_[i] += o.counts_[i];
  min_ = count_ == 0 ? o.min_ : std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  count_ += o.count_;
  sum_ += o.sum_;
}

std::uint64_t histogram::quantile(double q) const {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * double(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(upper_of(i), min_, max_);
  }
  return max_;
}

boost::json::object histogram::to_json(bool with_buckets) const {
  boost::json::object o;
  o["count"] = count_;
  o["min"] = min();
  o["mean"] = mean();
  o["p50"] = quantile(0.50);
  o["p90"] = quantile(0.90);
  o["p99"] = quantile(0.99);
  o["p999"] = quantile(0.999);
  o["max"] = max_;
  if (with_buckets) {
    boost::json::array b;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if (counts_[i])
        b.push_back(boost::json::array{lower_of(i), upper_of(i), counts_[i]});
    o["buckets"] = std::move(b);
  }
  return o;
}

std::string histogram::encode() const {
  // count of non-empty buckets, then (index delta, count) pairs, then min, max, sum.
  std::string out;
  std::uint64_t n = 0;
  for (auto c : counts_)
    n += c != 0;
  put_varint(out, n);
  std::size_t prev = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i]) {
      put_varint(out, i - prev);
      put_varint(out, counts_[i]);
      prev = i;
    }
  put_varint(out, min_);
  put_varint(out, max_);
  put_varint(out, sum_);
  return out;
}

std::optional<histogram> histogram::decode(std::string_view in) {
  histogram h;
  std::uint64_t n = 0;
  if (!take_varint(in, n) || n > index_of(std::numeric_limits<std::uint64_t>::max()) + 1)
    return std::nullopt;
  std::uint64_t idx = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    std::uint64_t delta = 0, c = 0;
    if (!take_varint(in, delta) || !take_varint(in, c) || c == 0 || (k > 0 && delta == 0))
      return std::nullopt;
    idx += delta;
    if (idx > index_of(std::numeric_limits<std::uint64_t>::max()))
      return std::nullopt;
    if (idx >= h.counts_.size())
      h.counts_.resize(idx + 1, 0);
    h.counts_[idx] = c;
    h.count_ += c;
  }
  if (!take_varint(in, h.min_) || !take_varint(in, h.max_) || !take_varint(in, h.sum_) || !in.empty())
    return std::nullopt;
  if (h.count_ == 0) {
    if (h.min_ || h.max_ || h.sum_)
      return std::nullopt;
    return h;
  }
  // min and max must lie in the lowest and highest non-empty buckets.
  if (index_of(h.min_) != std::size_t(std::find_if(h.counts_.begin(), h.counts_.end(), [](auto c) { return c != 0; }) - h.counts_.begin()) ||
      index_of(h.max_) + 1 != h.counts_.size())
    return std::nullopt;
  return h;
}

} // namespace corvid::load
