// The HTML report: which charts it draws, that user strings are escaped, that partial results still
// render, that long runs are thinned out, and that values land where the axes say.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "histogram.hpp"
#include "report_html.hpp"

namespace json = boost::json;
using corvid::load::histogram;
using corvid::load::render_report;

namespace {

histogram spread(std::uint64_t from, std::uint64_t to, std::uint64_t step) {
  histogram h;
  for (std::uint64_t v = from; v <= to; v += step) h.record(v);
  return h;
}

json::object timeline_point(double t, double p99_us) {
  return {{"t", t},           {"active", 10},           {"mounting", 1},
          {"event_p50_us", 800}, {"event_p99_us", p99_us}, {"mount_p99_us", 12000},
          {"server_cpu_pct", 35.5}, {"server_rss_kib", 81234}};
}

json::object full_result() {
  json::object r;
  r["tool"] = "corvid-load";
  r["version"] = 1;
  r["target"] = "http://127.0.0.1:4000";
  r["scenario"] = "counter";
  r["duration_s"] = 12.3;
  r["users"] = {{"target", 100}, {"started", 100}, {"completed", 95}, {"failed", 3}, {"restarted", 3}};
  r["errors"] = {{"join_timeout", 1}, {"http_status", 2}};
  r["reconnects"] = 2;
  json::object phases;
  for (auto p : {"get", "upgrade", "join", "mount", "event"}) phases[p] = spread(100, 50000, 37).to_json();
  r["phases"] = std::move(phases);
  json::array steps;
  steps.push_back({{"name", "click inc"}, {"kind", "click"}, {"histogram", spread(500, 9000, 11).to_json()}});
  steps.push_back({{"name", "submit"}, {"kind", "submit"}, {"histogram", spread(900, 20000, 13).to_json()}});
  r["steps"] = std::move(steps);
  r["diff_bytes"] = {{"join_reply", spread(2000, 2500, 1).to_json()}, {"diff", spread(30, 90, 1).to_json()}};
  json::array tl;
  for (int t = 0; t < 12; ++t) tl.push_back(timeline_point(t, 5000 + 1000 * t));
  r["timeline"] = std::move(tl);
  r["server"] = {{"pid", 1234}, {"cpu_s", 12.5}, {"rss_kib_max", 90000}, {"rss_kib_start", 30000}};
  return r;
}

std::size_t occurrences(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// The figure for chart `name` (empty when there is none).
std::string_view figure(std::string_view html, std::string_view name) {
  auto at = html.find("<figure class=\"chart\" data-chart=\"" + std::string(name) + "\"");
  if (at == std::string_view::npos) return {};
  return html.substr(at, html.find("</figure>", at) + 9 - at);
}

// The points of the polyline for `series` in a figure, as (x, y) in the plot area's coordinates.
std::vector<std::pair<double, double>> points(std::string_view fig, std::string_view series) {
  std::vector<std::pair<double, double>> out;
  auto at = fig.find("data-series=\"" + std::string(series) + "\"");
  if (at == std::string_view::npos) return out;
  at = fig.find("points=\"", at) + 8;
  const std::string pts(fig.substr(at, fig.find('"', at) - at));
  const char* p = pts.c_str();
  double x, y;
  int used;
  while (std::sscanf(p, "%lf,%lf%n", &x, &y, &used) == 2) out.emplace_back(x, y), p += used;
  return out;
}

// The plot area's width and height, from the svg's data-plot="left top width height".
std::pair<double, double> plot_size(std::string_view fig) {
  auto at = fig.find("data-plot=\"") + 11;
  double l, t, w, h;
  REQUIRE(std::sscanf(std::string(fig.substr(at, 40)).c_str(), "%lf %lf %lf %lf", &l, &t, &w, &h) == 4);
  return {w, h};
}

} // namespace

TEST_SUITE("load.report") {
  TEST_CASE("one figure per chart, each an svg with a caption") {
    const auto html = render_report(full_result());
    const std::vector<std::string> charts{"latency", "users", "server_cpu", "server_rss", "hist-get", "hist-upgrade",
                                          "hist-join", "hist-mount", "hist-event", "hist-step-1", "hist-step-2"};
    CHECK(occurrences(html, "<figure class=\"chart\"") == charts.size());
    for (auto& c : charts) {
      CAPTURE(c);
      auto fig = figure(html, c);
      REQUIRE(!fig.empty());
      CHECK(occurrences(html, "data-chart=\"" + c + "\"") == 1);
      CHECK(occurrences(fig, "<svg ") == 1);
      CHECK(occurrences(fig, "<figcaption>") == 1);
      CHECK(fig.find("class=\"axis\"") != std::string_view::npos);  // axis labels
    }
    // A legend where there are several series, none where there is one.
    CHECK(figure(html, "latency").find("class=\"legend\"") != std::string_view::npos);
    CHECK(figure(html, "users").find("class=\"legend\"") != std::string_view::npos);
    CHECK(figure(html, "server_cpu").find("class=\"legend\"") == std::string_view::npos);
    for (auto s : {"event p50", "event p99", "mount p99"}) CHECK(points(figure(html, "latency"), s).size() == 12);
    CHECK(occurrences(figure(html, "hist-event"), "<rect class=\"bar\"") > 3);
    CHECK(html.find("no --server-pid") == std::string::npos);
    // Self-contained: nothing fetched, nothing run.
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    // Tables: the summary's users, percentiles in ms, bytes per message kind, errors most first.
    CHECK(html.find("<th>users completed</th><td>95</td>") != std::string::npos);
    CHECK(html.find("<tr><th>event</th>") != std::string::npos);
    CHECK(html.find("<td>click inc</td><td>click</td>") != std::string::npos);
    CHECK(html.find("<tr><th>join_reply</th>") != std::string::npos);
    CHECK(html.find("<th>http_status</th>") < html.find("<th>join_timeout</th>"));
  }

  TEST_CASE("strings from the result are escaped wherever they appear") {
    auto r = full_result();
    const std::string evil = "<script>alert(1)</script>&\"";
    r["scenario"] = evil;
    r["target"] = "\"><img onerror=x>";
    r["started_at"] = evil;
    r["errors"] = {{evil, 1}};
    r["steps"].as_array()[0].as_object()["name"] = evil;
    r["steps"].as_array()[0].as_object()["kind"] = evil;
    r["phases"].as_object()[evil] = spread(1, 10, 1).to_json();
    r["diff_bytes"].as_object()[evil] = spread(1, 10, 1).to_json();
    const auto html = render_report(r);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find(evil) == std::string::npos);
    CHECK(html.find("&quot;&gt;&lt;img onerror=x&gt;") != std::string::npos);
    const std::string escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;";
    CHECK(occurrences(html, escaped) >= 8);  // title, heading, summary, start, errors, step, phase, diffs...
    CHECK(!figure(html, "hist-" + escaped).empty());  // even a strange phase name stays inside its attribute
  }

  TEST_CASE("missing and empty sections render as notes") {
    SUBCASE("an empty object") {
      const auto html = render_report(json::object{});
      CHECK(html.find("not look like a corvid-load result") != std::string::npos);
      CHECK(figure(html, "latency").find("no timeline samples") != std::string_view::npos);
      CHECK(figure(html, "users").find("no timeline samples") != std::string_view::npos);
      CHECK(figure(html, "server_cpu").empty());
      CHECK(html.find("no --server-pid given") != std::string::npos);
      CHECK(html.find("no phases recorded") != std::string::npos);
      CHECK(html.find("no steps recorded") != std::string::npos);
      CHECK(html.find("no message sizes recorded") != std::string::npos);
      CHECK(html.find("no errors") != std::string::npos);
      CHECK(html.find("</html>") != std::string::npos);
    }
    SUBCASE("empty histograms and an empty timeline") {
      auto r = full_result();
      r["phases"].as_object()["join"] = histogram{}.to_json();
      r["phases"].as_object()["get"] = histogram{}.to_json(false);  // no buckets key at all
      r["steps"].as_array()[1].as_object().erase("histogram");
      r["timeline"] = json::array{};
      const auto html = render_report(r);
      for (auto c : {"hist-join", "hist-get", "hist-step-2"}) {
        CAPTURE(c);
        CHECK(figure(html, c).find("no samples") != std::string_view::npos);
        CHECK(figure(html, c).find("<svg") == std::string_view::npos);
      }
      CHECK(figure(html, "latency").find("no timeline samples") != std::string_view::npos);
      CHECK(figure(html, "server_rss").find("no timeline samples") != std::string_view::npos);
    }
    SUBCASE("a timeline of one point draws a dot mid-plot") {
      auto r = full_result();
      r["timeline"] = json::array{timeline_point(7, 5000)};
      const auto html = render_report(r);
      auto fig = figure(html, "latency");
      auto [w, h] = plot_size(fig);
      auto p = points(fig, "event p99");
      REQUIRE(p.size() == 1);
      CHECK(p[0].first == doctest::Approx(w / 2).epsilon(0.01));
      CHECK(occurrences(fig, "<circle") == 3);
      CHECK(fig.find("nan") == std::string_view::npos);
    }
    SUBCASE("a timeline on a clock's epoch seconds still gets a few ticks") {
      auto r = full_result();
      json::array tl;
      for (int t = 0; t < 5; ++t) tl.push_back(timeline_point(1.7e17 + t * 32, 1000));
      r["timeline"] = std::move(tl);
      const auto html = render_report(r);
      auto ticks = occurrences(figure(html, "latency"), "<line class=\"tick\"");
      CHECK(ticks >= 1);
      CHECK(ticks <= 17);
    }
    SUBCASE("mistyped sections are ignored, not trusted") {
      json::object r;
      r["users"] = "many";
      r["phases"] = 3;
      r["steps"] = json::array{1, "x", json::object{{"histogram", json::object{{"buckets", json::array{1, json::array{-1, 2}, json::array{"a", 2, 3}}}}}}};
      r["timeline"] = json::array{json::object{{"t", "soon"}, {"active", 1}}, json::object{{"active", 2}}, 7};
      r["errors"] = json::object{{"x", "y"}};
      r["server"] = json::object{};
      const auto html = render_report(r);
      CHECK(figure(html, "hist-step-3").find("no samples") != std::string_view::npos);
      CHECK(figure(html, "users").find("no timeline samples") != std::string_view::npos);
      CHECK(figure(html, "server_cpu").find("no timeline samples") != std::string_view::npos);
      CHECK(html.find("no phases recorded") != std::string::npos);
    }
  }

  TEST_CASE("a long timeline is thinned to at most 600 points, keeping its peak") {
    auto r = full_result();
    json::array tl;
    for (int t = 0; t < 3600; ++t) tl.push_back(timeline_point(t, t == 1234 ? 50000 : 1000 + t % 7 * 100));
    r["timeline"] = std::move(tl);
    const auto html = render_report(r);
    for (auto [chart, series] : {std::pair{"latency", "event p99"}, {"latency", "mount p99"}, {"users", "active"},
                                 {"server_cpu", "CPU"}, {"server_rss", "RSS"}}) {
      CAPTURE(chart);
      auto n = points(figure(html, chart), series).size();
      CHECK(n > 500);
      CHECK(n <= corvid::load::report_max_points);
    }
    CHECK(html.find("3600 samples, drawn as 600 points") != std::string::npos);
    // The one spike (50 ms) survives and sets the axis top: it is drawn at the plot's top edge.
    auto p = points(figure(html, "latency"), "event p99");
    CHECK(std::count_if(p.begin(), p.end(), [](auto& xy) { return xy.second == 0.0; }) == 1);
    CHECK(html.size() < 300 * 1024);
  }

  TEST_CASE("values land where the axes say") {
    auto r = full_result();
    json::array tl;
    // p99 rises to 20 ms (a nice top, so exactly at the top edge), then falls to 0.
    for (int t = 0; t <= 10; ++t) tl.push_back(timeline_point(100 + t, t <= 5 ? 4000.0 * t : 20000 - 4000.0 * (t - 5)));
    r["timeline"] = std::move(tl);
    const auto html = render_report(r);
    auto fig = figure(html, "latency");
    auto [w, h] = plot_size(fig);
    auto p = points(fig, "event p99");
    REQUIRE(p.size() == 11);
    CHECK(p[5].first == doctest::Approx(w / 2).epsilon(0.01));  // t = 105 of 100..110: the middle
    CHECK(p[5].second == 0.0);                                   // 20 ms: the top
    CHECK(p[0].first == 0.0);                                    // the first second at the left edge
    CHECK(p[0].second == doctest::Approx(h));                    // 0 ms at the bottom
    CHECK(p[10].first == doctest::Approx(w).epsilon(0.001));     // the last at the right edge
    CHECK(p[1].second == doctest::Approx(h * 0.8).epsilon(0.01)); // 4 of 20 ms
    CHECK(fig.find(">20</text>") != std::string_view::npos);      // the top's tick label
    // The axis labels, placed left of the plot and under it.
    CHECK(fig.find("transform=\"translate(-46,87) rotate(-90)\">latency (ms)</text>") != std::string_view::npos);
    CHECK(fig.find("y=\"208\">time since start</text>") != std::string_view::npos);
    // RSS in MiB: 81234 KiB is 79.3 MiB, under a top of 100.
    CHECK(figure(html, "server_rss").find(">100</text>") != std::string_view::npos);
  }

  TEST_CASE("histogram bars are counts per tenth of a decade on a log axis") {
    auto r = full_result();
    histogram h;
    // Values clear of a decade's edge (a ~1% bucket straddling 100 ms could fall in either bar).
    h.record(1200, 10);   // 1.2 ms, 10 times: the tallest bar, at the top of a 10-count axis
    h.record(120000, 5);  // 120 ms, 5 times: half as tall, two decades to the right
    r["phases"].as_object()["event"] = h.to_json();
    const auto html = render_report(r);
    auto fig = figure(html, "hist-event");
    auto [w, ph] = plot_size(fig);
    CHECK(occurrences(fig, "<rect class=\"bar\"") == 2);
    std::vector<std::pair<double, double>> bars;  // x, height
    for (auto at = fig.find("<rect class=\"bar\""); at != std::string_view::npos; at = fig.find("<rect class=\"bar\"", at + 1)) {
      double x, y, bw, bh;
      REQUIRE(std::sscanf(std::string(fig.substr(at, 120)).c_str(), "<rect class=\"bar\" x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &x, &y, &bw, &bh) == 4);
      bars.emplace_back(x, bh);
    }
    REQUIRE(bars.size() == 2);
    CHECK(bars[0].second == doctest::Approx(ph));
    CHECK(bars[1].second == doctest::Approx(ph / 2).epsilon(0.01));
    // Axis from 1 ms to 1 s (three decades): 1 ms at the left edge, 100 ms two thirds across.
    CHECK(bars[0].first == 0.0);
    CHECK(bars[1].first == doctest::Approx(w * 2 / 3).epsilon(0.01));
    CHECK(fig.find(">1ms</text>") != std::string_view::npos);
    CHECK(fig.find(">1s</text>") != std::string_view::npos);
    CHECK(fig.find("class=\"marker\"") != std::string_view::npos);  // p50 and p99 marked
  }
}
