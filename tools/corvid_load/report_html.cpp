#include "report_html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "corvid/live/dashboard_chart.hpp"
#include "corvid/live/escape.hpp"

namespace corvid::load {
namespace {

namespace json = boost::json;
using live::chart_point;
using live::html_escape;

// ---- Reading the result. Tolerant throughout: a partial result (a run that was cut short, an
// older runner) is still worth looking at, so a missing or mistyped key means "not there".

const json::value* field(const json::object* o, std::string_view key) {
  if (!o) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->value();
}

const json::object* object_at(const json::object* o, std::string_view key) {
  auto* v = field(o, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object* o, std::string_view key) {
  auto* v = field(o, key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<double> number(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return double(v->get_int64());
  if (v->is_uint64()) return double(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double())) return v->get_double();
  return std::nullopt;
}

std::optional<double> number_at(const json::object* o, std::string_view key) { return number(field(o, key)); }

// A value as text for a table cell (unescaped): strings as they are, anything else as JSON.
std::string text_of(const json::value* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

// ---- Formatting.

// One number into a printf format; sized to fit, since formats here carry markup around the number.
std::string fmt(const char* f, double v) {
  std::string out(std::size_t(std::snprintf(nullptr, 0, f, v)), '\0');
  std::snprintf(out.data(), out.size() + 1, f, v);
  return out;
}

// Milliseconds from microseconds with about three significant digits (0.812, 5.10, 51.0, 512):
// enough to compare runs, not so many that the tables turn into noise.
std::string ms(std::optional<double> us) {
  if (!us) return "–";
  const double m = *us / 1000;
  return fmt(m < 1 ? "%.3f" : m < 10 ? "%.2f" : m < 100 ? "%.1f" : "%.0f", m);
}

// A latency for an axis or a tooltip: 50µs, 1.26ms, 2s.
std::string duration_label(double us) {
  if (us < 1e3) return fmt("%.3gµs", us);
  if (us < 1e6) return fmt("%.3gms", us / 1e3);
  return fmt("%.3gs", us / 1e6);
}

// Seconds since the run's start for the time axis: 45s, 2:30, 1:02:00.
std::string clock_label(double s) {
  if (s < 60) return fmt("%gs", s);
  const long t = std::lround(s);
  char buf[32];
  if (t < 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

std::string count_text(std::optional<double> v) { return v ? live::si(*v) : "–"; }

// ---- Charts. Every chart is the same frame: a plot area inset by margins for the axis labels, the
// plot's own coordinates inside a translated group (so the dashboard's polyline_points, which maps
// into a box from 0,0, draws the lines unchanged).

constexpr double chart_w = 640, chart_h = 240;
constexpr double margin_left = 60, margin_top = 26, margin_bottom = 40;
constexpr double margin_right = 28;  // room for the last x tick's label

/// One line of a chart: its legend name, colour and points (t in seconds, v in the axis's unit).
struct series {
  std::string name;
  const char* color;
  std::vector<chart_point> pts;
};

/// What a y axis measures, for its label ("latency (ms)").
struct axis_label {
  std::string what;
  std::string unit;
};

// Colours that stay apart for the common forms of colour blindness (Okabe-Ito).
constexpr const char* blue = "#0072b2";
constexpr const char* vermilion = "#d55e00";
constexpr const char* green = "#009e73";
constexpr const char* purple = "#cc79a7";

void open_figure(std::string& out, std::string_view name, std::string_view caption) {
  out += "<figure class=\"chart\" data-chart=\"";
  live::append_escaped(out, name);
  out += "\"><figcaption>";
  live::append_escaped(out, caption);
  out += "</figcaption>";
}

void empty_figure(std::string& out, std::string_view name, std::string_view caption, std::string_view why) {
  open_figure(out, name, caption);
  out += "<p class=\"empty\">";
  live::append_escaped(out, why);
  out += "</p></figure>\n";
}

void open_svg(std::string& out, std::string_view caption, double plot_w, double plot_h) {
  out += fmt("<svg viewBox=\"0 0 %g ", chart_w) + fmt("%g\" role=\"img\" aria-label=\"", chart_h);
  live::append_escaped(out, caption);
  out += fmt("\" data-plot=\"%g ", margin_left) + fmt("%g ", margin_top) + fmt("%g ", plot_w) + fmt("%g\">", plot_h);
  out += fmt("<g transform=\"translate(%g,", margin_left) + fmt("%g)\">", margin_top);
  out += fmt("<rect class=\"frame\" width=\"%g\" ", plot_w) + fmt("height=\"%g\"/>", plot_h);
}

// Grid lines and labels at 0, half and the top of the y axis, and what it measures, turned upright.
void y_axis(std::string& out, double top, const axis_label& label, double plot_w, double plot_h) {
  for (double f : {0.0, 0.5, 1.0}) {
    const double y = plot_h * (1 - f);
    out += fmt("<line class=\"grid\" x1=\"0\" x2=\"%g\" ", plot_w) + fmt("y1=\"%.1f\" ", y) + fmt("y2=\"%.1f\"/>", y);
    out += fmt("<text class=\"tick\" text-anchor=\"end\" x=\"-6\" y=\"%.1f\">", y + 4) + live::si(top * f) + "</text>";
  }
  out += fmt("<text class=\"axis\" text-anchor=\"middle\" transform=\"translate(-46,%g) rotate(-90)\">", plot_h / 2);
  live::append_escaped(out, label.what);
  if (!label.unit.empty()) {
    out += " (";
    live::append_escaped(out, label.unit);
    out += ")";
  }
  out += "</text>";
}

void x_label(std::string& out, std::string_view text, double plot_w, double plot_h) {
  out += fmt("<text class=\"axis\" text-anchor=\"middle\" x=\"%g\" ", plot_w / 2) + fmt("y=\"%g\">", plot_h + 34);
  live::append_escaped(out, text);
  out += "</text>";
}

void x_tick(std::string& out, double x, double plot_h, std::string_view label) {
  out += fmt("<line class=\"tick\" x1=\"%.1f\" ", x) + fmt("x2=\"%.1f\" ", x) + fmt("y1=\"%g\" ", plot_h) +
         fmt("y2=\"%g\"/>", plot_h + 4);
  out += fmt("<text class=\"tick\" text-anchor=\"middle\" x=\"%.1f\" ", x) + fmt("y=\"%g\">", plot_h + 16);
  live::append_escaped(out, label);
  out += "</text>";
}

// Swatches and names across the top margin, only where there is more than one series to tell apart.
void legend(std::string& out, const std::vector<series>& ss) {
  if (ss.size() < 2) return;
  out += "<g class=\"legend\">";
  double x = margin_left;
  for (auto& s : ss) {
    out += fmt("<line x1=\"%g\" ", x) + fmt("x2=\"%g\" y1=\"13\" y2=\"13\" stroke=\"", x + 18) + s.color +
           "\" stroke-width=\"3\"/>";
    out += fmt("<text x=\"%g\" y=\"17\">", x + 22);
    live::append_escaped(out, s.name);
    out += "</text>";
    // No text metrics without a browser: about 6.5 units a character at the legend's font size.
    x += 22 + 6.5 * double(s.name.size()) + 18;
  }
  out += "</g>";
}

// The time axis's step: the first of these at which the span has at most about eight ticks.
double time_step(double span) {
  for (double s : {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600})
    if (span / s <= 8) return s;
  return 3600 * live::nice_ceiling(span / 8 / 3600);
}

/// A line chart over time, all series against one y axis from 0 to a nice top.
void line_chart(std::string& out, std::string_view name, std::string_view caption, const std::vector<series>& ss,
                const axis_label& y_label) {
  double t0 = std::numeric_limits<double>::infinity(), t1 = -t0, max = 0;
  bool any = false;
  for (auto& s : ss)
    for (auto& p : s.pts) {
      any = true;
      t0 = std::min(t0, p.t), t1 = std::max(t1, p.t), max = std::max(max, p.v);
    }
  if (!any) return empty_figure(out, name, caption, "no timeline samples");

  const double plot_w = chart_w - margin_left - margin_right;
  const double plot_h = chart_h - margin_top - margin_bottom;
  // polyline_points places `now` at the right edge and `now - window` at the left: the whole run
  // fills the plot. A run of one instant has no span; it sits mid-plot.
  const double span = t1 - t0;
  live::chart_geometry g;
  g.width = plot_w, g.height = plot_h, g.pad = 0, g.window = span > 0 ? span : 1;
  const double now = span > 0 ? t1 : t1 + 0.5;
  const auto x_of = [&](double t) { return plot_w * (1 - (now - t) / g.window); };
  const double top = live::nice_ceiling(max);

  open_figure(out, name, caption);
  open_svg(out, caption, plot_w, plot_h);
  y_axis(out, top, y_label, plot_w, plot_h);
  if (span > 0) {
    // Counted, not accumulated: at large t (a clock's epoch seconds) t += step may not move t.
    const double step = time_step(span), first = std::ceil(t0 / step) * step;
    for (int k = 0; k <= 16 && first + k * step <= t1 + 1e-9; ++k)
      x_tick(out, x_of(first + k * step), plot_h, clock_label(first + k * step));
  } else {
    x_tick(out, x_of(t0), plot_h, clock_label(t0));
  }
  x_label(out, "time since start", plot_w, plot_h);
  for (auto& s : ss) {
    out += "<polyline class=\"series\" data-series=\"";
    live::append_escaped(out, s.name);
    out += "\" fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke=\"";
    out += s.color;
    out += "\" points=\"" + live::polyline_points(s.pts, now, top, g) + "\"/>";
    // A single point draws no line; a dot shows it is there.
    if (s.pts.size() == 1)
      out += fmt("<circle class=\"series\" r=\"3\" cx=\"%.1f\" ", x_of(s.pts[0].t)) +
             fmt("cy=\"%.1f\" fill=\"", plot_h * (1 - std::clamp(s.pts[0].v / top, 0.0, 1.0))) + s.color + "\"/>";
  }
  out += "</g>";
  legend(out, ss);
  out += "</svg></figure>\n";
}

// Reduces a series to `most` points, each the largest of its run of neighbours at that one's time:
// a spike (what a load test is looking for) survives, and the series' maximum keeps its place.
std::vector<chart_point> downsample(std::vector<chart_point> pts, std::size_t most) {
  if (pts.size() <= most || most == 0) return pts;
  const std::size_t k = (pts.size() + most - 1) / most;
  std::vector<chart_point> out;
  out.reserve(most);
  for (std::size_t i = 0; i < pts.size(); i += k) {
    auto first = pts.begin() + std::ptrdiff_t(i), last = pts.begin() + std::ptrdiff_t(std::min(pts.size(), i + k));
    out.push_back(*std::max_element(first, last, [](auto& a, auto& b) { return a.v < b.v; }));
  }
  return out;
}

// A series from the timeline: each entry's `key` times `scale`, at its "t"; entries without it are
// skipped (no events in that second leaves a gap rather than a false zero).
std::vector<chart_point> timeline_series(const json::array* timeline, std::string_view key, double scale) {
  std::vector<chart_point> pts;
  if (!timeline) return pts;
  for (auto& e : *timeline) {
    if (!e.is_object()) continue;
    auto t = number_at(&e.get_object(), "t");
    auto v = number_at(&e.get_object(), key);
    if (t && v) pts.push_back({*t, *v * scale});
  }
  // Workers' samples are merged by the runner; do not trust the order for a line.
  std::stable_sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.t < b.t; });
  return downsample(std::move(pts), report_max_points);
}

// Histogram bars per tenth of a decade: the result's buckets are ~1% wide (thousands for a long
// tail), far more than a reader can see, so they are summed into at most ~10 bars a decade.
constexpr int bars_per_decade = 10;

int bar_of(double us) { return int(std::floor(std::log10(std::max(us, 1.0)) * bars_per_decade + 1e-9)); }

/// Bars of count per latency bucket on a log x axis, with p50 and p99 marked.
void histogram_chart(std::string& out, std::string_view name, std::string_view caption, const json::object* h) {
  struct bucket {
    double low, high, count;
  };
  std::vector<bucket> bs;
  if (auto* arr = array_at(h, "buckets"))
    for (auto& b : *arr) {
      if (!b.is_array() || b.get_array().size() != 3) continue;
      auto& a = b.get_array();
      auto low = number(&a[0]), high = number(&a[1]), n = number(&a[2]);
      if (low && high && n && *n > 0 && *low >= 0 && *high >= *low) bs.push_back({*low, *high, *n});
    }
  if (bs.empty()) return empty_figure(out, name, caption, "no samples");

  int first = std::numeric_limits<int>::max(), last = std::numeric_limits<int>::min();
  for (auto& b : bs) {
    // Any point inside a ~1% bucket is as good as another; the middle keeps rounding symmetric.
    const int i = bar_of((b.low + b.high) / 2);
    first = std::min(first, i), last = std::max(last, i);
  }
  std::vector<double> counts(std::size_t(last - first + 1));
  for (auto& b : bs) counts[std::size_t(bar_of((b.low + b.high) / 2) - first)] += b.count;
  // Whole decades on the x axis, so that its ends are labelled ticks.
  const int from = int(std::floor(double(first) / bars_per_decade)) * bars_per_decade;
  const int to = int(std::floor(double(last) / bars_per_decade) + 1) * bars_per_decade;
  const double plot_w = chart_w - margin_left - margin_right;
  const double plot_h = chart_h - margin_top - margin_bottom;
  const double bar_w = plot_w / double(to - from);
  const auto x_of_us = [&](double us) {
    return plot_w * (std::log10(std::max(us, 1.0)) * bars_per_decade - from) / double(to - from);
  };
  const double top = live::nice_ceiling(*std::max_element(counts.begin(), counts.end()));

  open_figure(out, name, caption);
  open_svg(out, caption, plot_w, plot_h);
  y_axis(out, top, {"count", ""}, plot_w, plot_h);
  for (int d = from; d <= to; d += bars_per_decade) x_tick(out, plot_w * (d - from) / double(to - from), plot_h,
                                                           duration_label(std::pow(10.0, d / bars_per_decade)));
  x_label(out, "latency (log scale)", plot_w, plot_h);
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const int bar = first + int(i);
    // A bar of a few among thousands would round to nothing, and the tail is what a reader looks
    // for: every non-empty bar is at least one unit tall.
    const double hgt = std::max(plot_h * std::min(counts[i] / top, 1.0), 1.0);
    out += fmt("<rect class=\"bar\" x=\"%.1f\" ", bar_w * (bar - from)) + fmt("y=\"%.1f\" ", plot_h - hgt) +
           fmt("width=\"%.1f\" ", std::max(bar_w - 1, 0.5)) + fmt("height=\"%.1f\">", hgt) + "<title>" +
           duration_label(std::pow(10.0, double(bar) / bars_per_decade)) + "–" +
           duration_label(std::pow(10.0, double(bar + 1) / bars_per_decade)) + ": " + live::si(counts[i]) +
           "</title></rect>";
  }
  for (auto [key, label] : {std::pair{"p50", "p50"}, std::pair{"p99", "p99"}})
    if (auto v = number_at(h, key); v && x_of_us(*v) >= 0 && x_of_us(*v) <= plot_w) {
      const double x = x_of_us(*v);
      out += fmt("<line class=\"marker\" x1=\"%.1f\" ", x) + fmt("x2=\"%.1f\" y1=\"0\" ", x) +
             fmt("y2=\"%g\"/>", plot_h);
      out += fmt("<text class=\"marker\" x=\"%.1f\" y=\"10\">", x + 3) + label + "</text>";
    }
  out += "</g></svg></figure>\n";
}

// ---- Tables.

void cell(std::string& out, std::string_view text, bool num = false) {
  out += num ? "<td class=\"num\">" : "<td>";
  live::append_escaped(out, text);
  out += "</td>";
}

void summary_row(std::string& out, std::string_view what, std::string_view value) {
  out += "<tr><th>";
  live::append_escaped(out, what);
  out += "</th>";
  cell(out, value);
  out += "</tr>";
}

// One row of percentiles: latencies in ms, or bytes for diff sizes.
void percentile_row(std::string& out, const json::object* h, bool bytes) {
  cell(out, count_text(number_at(h, "count")), true);
  for (auto key : {"mean", "p50", "p90", "p99", "p999", "max"}) {
    auto v = number_at(h, key);
    cell(out, bytes ? (v ? live::si(std::round(*v)) : "–") : ms(v), true);
  }
}

constexpr std::string_view percentile_heads = "<th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th>"
                                              "<th>p99.9</th><th>max</th>";

void empty_note(std::string& out, std::string_view why) {
  out += "<p class=\"empty\">";
  live::append_escaped(out, why);
  out += "</p>\n";
}

// The histograms of an object keyed by name (phases, diff_bytes), well-known names first in their
// natural order, then any others as they come.
std::vector<std::pair<std::string, const json::object*>> named_histograms(const json::object* o,
                                                                          std::initializer_list<std::string_view> order) {
  std::vector<std::pair<std::string, const json::object*>> out;
  if (!o) return out;
  for (auto k : order)
    if (auto* h = object_at(o, k)) out.emplace_back(std::string(k), h);
  for (auto& [k, v] : *o)
    if (v.is_object() && std::find(order.begin(), order.end(), std::string_view(k)) == order.end())
      out.emplace_back(std::string(k), &v.get_object());
  return out;
}

void histogram_table(std::string& out, std::string_view first_head,
                     const std::vector<std::pair<std::string, const json::object*>>& hs, bool bytes) {
  out += "<table class=\"pct\"><thead><tr><th>";
  live::append_escaped(out, first_head);
  out += "</th>";
  out += percentile_heads;
  out += "</tr></thead><tbody>";
  for (auto& [k, h] : hs) {
    out += "<tr><th>";
    live::append_escaped(out, k);
    out += "</th>";
    percentile_row(out, h, bytes);
    out += "</tr>";
  }
  out += "</tbody></table>\n";
}

constexpr std::string_view style = R"(<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem auto;max-width:1400px;padding:0 1rem;color:#222;background:#fff}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem}
figure.chart{margin:0;border:1px solid #e4e4e4;border-radius:4px;padding:.5rem}
figcaption{font-weight:600;margin-bottom:.25rem}
svg{display:block;width:100%;height:auto;font-size:11px}
svg .frame{fill:none;stroke:#bbb}svg .grid{stroke:#eee}svg .tick{stroke:#999;fill:#555}
svg text.tick{stroke:none}svg .axis{fill:#333}svg .legend text{fill:#333}
svg .bar{fill:#0072b2}svg .marker{stroke:#d55e00;stroke-dasharray:3 3;fill:#d55e00}svg text.marker{stroke:none}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}thead th{border-bottom:2px solid #ccc}
.empty,.note{color:#666;font-style:italic}
</style>
)";

} // namespace

std::string render_report(const boost::json::object& result) {
  const json::object* r = &result;
  const std::string scenario = text_of(field(r, "scenario"));
  const std::string target = text_of(field(r, "target"));
  std::string out;
  out.reserve(64 * 1024);
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>corvid-load: ";
  live::append_escaped(out, scenario.empty() ? "report" : scenario);
  out += "</title>\n";
  out += style;
  out += "</head><body>\n<h1>corvid-load: ";
  live::append_escaped(out, scenario.empty() ? "(no scenario)" : scenario);
  out += "</h1>\n<p class=\"target\">";
  live::append_escaped(out, target.empty() ? "(no target)" : target);
  if (auto at = text_of(field(r, "started_at")); !at.empty()) {
    out += " · started ";
    live::append_escaped(out, at);
  }
  out += "</p>\n";
  if (text_of(field(r, "tool")) != "corvid-load" || number_at(r, "version") != 1.0)
    out += "<p class=\"note\">This does not look like a corvid-load result of version 1: what is recognised is "
           "shown.</p>\n";

  // Summary.
  const json::object* users = object_at(r, "users");
  const json::object* errors = object_at(r, "errors");
  const json::object* server = object_at(r, "server");
  out += "<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\"><tbody>";
  summary_row(out, "target", target.empty() ? "–" : target);
  summary_row(out, "scenario", scenario.empty() ? "–" : scenario);
  auto duration = number_at(r, "duration_s");
  summary_row(out, "duration", duration ? fmt("%.1f s", *duration) : "–");
  summary_row(out, "workers", count_text(number_at(r, "workers")));
  for (auto key : {"target", "started", "completed", "failed", "restarted", "peak_active"})
    summary_row(out, std::string("users ") + (std::string_view(key) == "peak_active" ? "peak active" : key),
                count_text(number_at(users, key)));
  summary_row(out, "reconnects", count_text(number_at(r, "reconnects")));
  double error_total = 0;
  if (errors)
    for (auto& [k, v] : *errors) error_total += number(&v).value_or(0);
  summary_row(out, "errors", live::si(error_total));
  if (server) {
    summary_row(out, "server pid", text_of(field(server, "pid")));
    auto cpu = number_at(server, "cpu_s");
    summary_row(out, "server CPU time", cpu ? fmt("%.1f s", *cpu) : "–");
    for (auto [key, what] : {std::pair{"rss_kib_start", "server RSS at start"}, std::pair{"rss_kib_max", "server RSS peak"}}) {
      auto v = number_at(server, key);
      summary_row(out, what, v ? fmt("%.1f MiB", *v / 1024) : "–");
    }
  }
  out += "</tbody></table>\n";

  // Over time.
  const json::array* timeline = array_at(r, "timeline");
  const std::size_t samples = timeline ? timeline->size() : 0;
  out += "<h2 id=\"timeline\">Over time</h2>\n";
  if (samples > report_max_points)
    out += "<p class=\"note\">" + std::to_string(samples) + " samples, drawn as " + std::to_string(report_max_points) +
           " points or fewer: each the peak of its group.</p>\n";
  out += "<section class=\"charts\">\n";
  {
    std::vector<series> lat{{"event p50", blue, timeline_series(timeline, "event_p50_us", 1e-3)},
                            {"event p99", vermilion, timeline_series(timeline, "event_p99_us", 1e-3)},
                            {"mount p99", green, timeline_series(timeline, "mount_p99_us", 1e-3)}};
    line_chart(out, "latency", "Latency per second: event round trip p50 and p99, mount p99", lat, {"latency", "ms"});
    std::vector<series> us{{"active", blue, timeline_series(timeline, "active", 1)}};
    if (auto m = timeline_series(timeline, "mounting", 1); !m.empty()) us.push_back({"mounting", purple, std::move(m)});
    line_chart(out, "users", us.size() > 1 ? "Users: active and mounting" : "Users: active", us, {"users", ""});
    if (server) {
      line_chart(out, "server_cpu", "Server CPU",
                 {{"CPU", vermilion, timeline_series(timeline, "server_cpu_pct", 1)}}, {"CPU", "%"});
      line_chart(out, "server_rss", "Server memory (RSS)",
                 {{"RSS", purple, timeline_series(timeline, "server_rss_kib", 1.0 / 1024)}}, {"RSS", "MiB"});
    }
  }
  out += "</section>\n";
  if (!server) out += "<p class=\"note\" id=\"no-server\">Server CPU and RSS were not sampled: no --server-pid given.</p>\n";

  // Phases.
  auto phases = named_histograms(object_at(r, "phases"), {"get", "upgrade", "join", "mount", "event"});
  out += "<h2 id=\"phases\">Phases (ms)</h2>\n";
  if (phases.empty()) empty_note(out, "no phases recorded");
  else {
    histogram_table(out, "phase", phases, false);
    out += "<section class=\"charts\">\n";
    for (auto& [k, h] : phases) histogram_chart(out, "hist-" + k, "Latency of " + k, h);
    out += "</section>\n";
  }

  // Steps: named by the scenario's author, so charts are keyed by position, never by the name.
  out += "<h2 id=\"steps\">Steps (ms)</h2>\n";
  const json::array* steps = array_at(r, "steps");
  if (!steps || steps->empty()) empty_note(out, "no steps recorded");
  else {
    out += "<table class=\"pct\"><thead><tr><th>#</th><th>step</th><th>kind</th>";
    out += percentile_heads;
    out += "</tr></thead><tbody>";
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const json::object* s = (*steps)[i].is_object() ? &(*steps)[i].get_object() : nullptr;
      out += "<tr>";
      cell(out, std::to_string(i + 1), true);
      cell(out, text_of(field(s, "name")));
      cell(out, text_of(field(s, "kind")));
      percentile_row(out, object_at(s, "histogram"), false);
      out += "</tr>";
    }
    out += "</tbody></table>\n<section class=\"charts\">\n";
    for (std::size_t i = 0; i < steps->size(); ++i) {
      const json::object* s = (*steps)[i].is_object() ? &(*steps)[i].get_object() : nullptr;
      std::string caption = "Step " + std::to_string(i + 1) + ": " + text_of(field(s, "name"));
      if (auto kind = text_of(field(s, "kind")); !kind.empty()) caption += " (" + kind + ")";
      histogram_chart(out, "hist-step-" + std::to_string(i + 1), caption, object_at(s, "histogram"));
    }
    out += "</section>\n";
  }

  // Diff bytes.
  out += "<h2 id=\"diff-bytes\">Bytes per message</h2>\n";
  auto diffs = named_histograms(object_at(r, "diff_bytes"), {"join_reply", "event_reply", "diff"});
  if (diffs.empty()) empty_note(out, "no message sizes recorded");
  else histogram_table(out, "message", diffs, true);

  // Errors, most frequent first.
  out += "<h2 id=\"errors\">Errors</h2>\n";
  std::vector<std::pair<std::string, double>> errs;
  if (errors)
    for (auto& [k, v] : *errors) errs.emplace_back(std::string(k), number(&v).value_or(0));
  std::stable_sort(errs.begin(), errs.end(), [](auto& a, auto& b) { return a.second > b.second; });
  if (errs.empty()) empty_note(out, "no errors");
  else {
    out += "<table class=\"errors\"><thead><tr><th>kind</th><th>count</th></tr></thead><tbody>";
    for (auto& [k, n] : errs) {
      out += "<tr><th>";
      live::append_escaped(out, k);
      out += "</th>";
      cell(out, live::si(n), true);
      out += "</tr>";
    }
    out += "</tbody></table>\n";
  }
  out += "</body></html>\n";
  return out;
}

} // namespace corvid::load
