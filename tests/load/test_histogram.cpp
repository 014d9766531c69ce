#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>
#include <algorithm>

#include "histogram.hpp"

using corvid::load::histogram;

TEST_CASE("load.histogram: buckets are exact below 128 and within 1% above") {
  for (std::uint64_t v = 0; v < 128; ++v) {
    CHECK(histogram::index_of(v) == v);
    CHECK(histogram::lower_of(v) == v);
    CHECK(histogram::upper_of(v) == v);
  }
  std::mt19937_64 rng{7};
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t v = rng() >> (rng() % 64);
    auto idx = histogram::index_of(v);
    REQUIRE(histogram::lower_of(idx) <= v);
    REQUIRE(histogram::upper_of(idx) >= v);
    if (v >= 128)
      REQUIRE(double(histogram::upper_of(idx) - histogram::lower_of(idx)) <= double(v) / 64.0);
  }
  // Neighbouring buckets tile the numbers with no gap and no overlap.
  for (std::size_t i = 0; i + 1 < histogram::index_of(std::numeric_limits<std::uint64_t>::max()); ++i)
    REQUIRE(histogram::upper_of(i) + 1 == histogram::lower_of(i + 1));
  CHECK(histogram::upper_of(histogram::index_of(std::numeric_limits<std::uint64_t>::max())) ==
        std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("load.histogram: quantiles against a sorted copy") {
  std::mt19937_64 rng{42};
  std::lognormal_distribution<double> d{7.0, 1.2};  // microseconds: a long tail, as latencies have
  histogram h;
  std::vector<std::uint64_t> all;
  for (int i = 0; i < 50000; ++i) {
    auto v = static_cast<std::uint64_t>(d(rng));
    h.record(v);
    all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  CHECK(h.count() == all.size());
  CHECK(h.min() == all.front());
  CHECK(h.max() == all.back());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto exact = all[static_cast<std::size_t>(std::ceil(q * double(all.size()))) - 1];
    auto got = h.quantile(q);
    CAPTURE(q);
    CHECK(got >= exact);  // the bucket's upper bound: never under-reports
    CHECK(double(got) <= double(exact) * 1.016 + 1);
  }
  CHECK(h.quantile(1.0) == all.back());
  CHECK(h.quantile(0.0) == all.front());
}

TEST_CASE("load.histogram: merge equals recording everything in one") {
  histogram a, b, both;
  for (std::uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 ? a : b).record(v * 13);
    both.record(v * 13);
  }
  histogram m = a;
  m.merge(b);
  CHECK(m.count() == both.count());
  CHECK(m.min() == both.min());
  CHECK(m.max() == both.max());
  CHECK(m.mean() == doctest::Approx(both.mean()));
  for (double q : {0.1, 0.5, 0.9, 0.99})
    CHECK(m.quantile(q) == both.quantile(q));
  histogram empty;
  m.merge(empty);
  CHECK(m.count() == both.count());
  empty.merge(a);
  CHECK(empty.min() == a.min());
}

TEST_CASE("load.histogram: encode and decode round-trip; malformed bytes are refused") {
  histogram h;
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 999ull, 123456ull, 1ull << 40})
    h.record(v, v % 3 + 1);
  auto bytes = h.encode();
  auto back = histogram::decode(bytes);
  REQUIRE(back);
  CHECK(back->count() == h.count());
  CHECK(back->min() == h.min());
  CHECK(back->max() == h.max());
  CHECK(back->mean() == doctest::Approx(h.mean()));
  CHECK(back->encode() == bytes);
  CHECK(histogram::decode(histogram{}.encode()));
  CHECK(histogram::decode(histogram{}.encode())->count() == 0);

  CHECK_FALSE(histogram::decode(""));
  CHECK_FALSE(histogram::decode(bytes.substr(0, bytes.size() - 1)));  // cut short
  CHECK_FALSE(histogram::decode(bytes + "x"));                         // trailing bytes
  std::string huge_index = bytes;
  huge_index[1] = '\xff';  // the first index delta now runs into the next bytes or past the top
  auto bad = histogram::decode(huge_index);
  if (bad)  // whatever it parses must still be a consistent histogram
    CHECK(bad->quantile(1.0) == bad->max());
}

TEST_CASE("load.histogram: json has the percentiles and non-empty buckets") {
  histogram h;
  h.record(10, 90);
  h.record(1000, 10);
  auto j = h.to_json();
  CHECK(j.at("count").to_number<std::uint64_t>() == 100);
  CHECK(j.at("p50").to_number<std::uint64_t>() == 10);
  CHECK(j.at("p99").to_number<std::uint64_t>() == 1000);
  CHECK(j.at("buckets").as_array().size() == 2);
  CHECK_FALSE(h.to_json(false).contains("buckets"));
}
