// The dashboard's pure parts: chart geometry (what the server draws as SVG) and latency buckets.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "corvid/live/dashboard_chart.hpp"

using namespace corvid::live;

TEST_SUITE("live.dashboard.chart") {
  TEST_CASE("nice_ceiling picks 1, 2 or 5 times a power of ten at or above the value") {
    CHECK(nice_ceiling(0) == 1);
    CHECK(nice_ceiling(-3) == 1);
    CHECK(nice_ceiling(1) == 1);
    CHECK(nice_ceiling(1.01) == 2);
    CHECK(nice_ceiling(3) == 5);
    CHECK(nice_ceiling(7) == 10);
    CHECK(nice_ceiling(200) == 200);
    CHECK(nice_ceiling(201) == 500);
    CHECK(nice_ceiling(0.03) == doctest::Approx(0.05));
  }

  TEST_CASE("points map time to x (now at the right edge) and value to y (0 at the bottom)") {
    chart_geometry g;
    g.width = 100, g.height = 50, g.pad = 0, g.window = 10;
    // now = 20: t = 10 is the left edge, 15 the middle, 20 the right edge
    std::vector<chart_point> pts{{10, 0}, {15, 5}, {20, 10}};
    CHECK(polyline_points(pts, 20, 10, g) == "0.0,50.0 50.0,25.0 100.0,0.0");
    // older than the window, or in the future: left out
    std::vector<chart_point> more{{5, 1}, {10, 0}, {25, 3}};
    CHECK(polyline_points(more, 20, 10, g) == "0.0,50.0");
    // values above the top are clamped to the top; the padding insets the box
    g.pad = 5;
    CHECK(polyline_points({{20, 99}}, 20, 10, g) == "95.0,5.0");
    CHECK(polyline_points({}, 20, 10, g).empty());
  }

  TEST_CASE("chart_svg counts the points shown and scales to a nice top") {
    chart_geometry g;
    g.window = 300;
    std::vector<chart_point> pts;
    for (int i = 0; i < 400; ++i) pts.push_back({static_cast<double>(i), static_cast<double>(i % 7)});
    auto svg = chart_svg("chart-x", "things", "/s", pts, 399, g);
    CHECK(svg.find("id=\"chart-x\"") != std::string::npos);
    CHECK(svg.find("data-points=\"301\"") != std::string::npos);  // t = 99 .. 399
    CHECK(svg.find("class=\"top\">10<") != std::string::npos);     // max 6 -> top 10
    CHECK(svg.find("<b class=\"now\">0/s</b>") != std::string::npos);  // 399 % 7 == 0
    auto esc = chart_svg("c", "<b>", "", {}, 0, g);
    CHECK(esc.find("&lt;b&gt;") != std::string::npos);
  }

  TEST_CASE("si suffixes") {
    CHECK(si(12) == "12");
    CHECK(si(1234) == "1.23k");
    CHECK(si(5.2e6) == "5.2M");
    CHECK(si(0.5) == "0.5");
  }

  TEST_CASE("latency buckets: bounds are inclusive, quantiles report the bucket's bound") {
    CHECK(latency_histogram::bucket_of(0) == 0);
    CHECK(latency_histogram::bucket_of(50) == 0);
    CHECK(latency_histogram::bucket_of(51) == 1);
    CHECK(latency_histogram::bucket_of(1'000'000) == 13);
    CHECK(latency_histogram::bucket_of(1'000'001) == 14);
    latency_histogram h;
    CHECK(h.quantile_us(0.5) == 0);  // empty
    for (int i = 0; i < 98; ++i) h.record(80);  // bucket <= 100
    h.record(3'000);                            // <= 5000
    h.record(3'000'000);                        // unbounded
    CHECK(h.count() == 100);
    CHECK(h.count_in(1) == 98);
    CHECK(h.quantile_us(0.5) == 100);
    CHECK(h.quantile_us(0.98) == 100);
    CHECK(h.quantile_us(0.99) == 5'000);
    CHECK(h.quantile_us(1.0) == 2'000'000);  // past the last bound: twice it
  }
}
