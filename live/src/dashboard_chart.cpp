#include "corvid/live/dashboard_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "corvid/live/escape.hpp"

namespace corvid::live {

double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

std::string polyline_points(const std::vector<chart_point>& pts, double now, double top, const chart_geometry& g) {
  std::string out;
  if (!(top > 0)) top = 1;
  const double w = g.width - 2 * g.pad, h = g.height - 2 * g.pad;
  char buf[48];
  for (auto& p : pts) {
    double age = now - p.t;
    if (age > g.window || age < 0) continue;
    double x = g.pad + w * (1 - age / g.window);
    double y = g.pad + h * (1 - std::clamp(p.v / top, 0.0, 1.0));
    std::snprintf(buf, sizeof buf, "%s%.1f,%.1f", out.empty() ? "" : " ", x, y);
    out += buf;
  }
  return out;
}

std::string si(double v) {
  char buf[32];
  const char* suffix = "";
  double a = std::fabs(v);
  if (a >= 1e9) v /= 1e9, suffix = "G";
  else if (a >= 1e6) v /= 1e6, suffix = "M";
  else if (a >= 1e3) v /= 1e3, suffix = "k";
  if (*suffix == 0 && v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g%s", v, suffix);
  return buf;
}

std::string chart_svg(std::string_view id, std::string_view title, std::string_view unit,
                      const std::vector<chart_point>& pts, double now, const chart_geometry& g) {
  double max = 0, last = 0;
  std::size_t shown = 0;
  for (auto& p : pts) {
    if (now - p.t > g.window || now < p.t) continue;
    max = std::max(max, p.v);
    last = p.v;
    ++shown;
  }
  const double top = nice_ceiling(max);
  char box[64];
  std::snprintf(box, sizeof box, "0 0 %g %g", g.width, g.height);
  std::string out = "<figure class=\"chart\"><figcaption>" + html_escape(title) + " <b class=\"now\">" + si(last) +
                    html_escape(unit) + "</b></figcaption><svg id=\"" + html_escape(id) + "\" data-points=\"" +
                    std::to_string(shown) + "\" viewBox=\"" + box + "\" preserveAspectRatio=\"none\" role=\"img\">" +
                    "<text x=\"4\" y=\"12\" class=\"top\">" + si(top) + "</text>" +
                    "<polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"" +
                    polyline_points(pts, now, top, g) + "\"/></svg></figure>";
  return out;
}

std::size_t latency_histogram::bucket_of(std::uint64_t us) noexcept {
  return static_cast<std::size_t>(std::lower_bound(bounds_us.begin(), bounds_us.end(), us) - bounds_us.begin());
}

void latency_histogram::record(std::uint64_t us) noexcept { counts_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed); }

std::uint64_t latency_histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (auto& c : counts_) n += c.load(std::memory_order_relaxed);
  return n;
}

std::uint64_t latency_histogram::quantile_us(double q) const noexcept {
  std::array<std::uint64_t, bounds_us.size()> snap{};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < snap.size(); ++i) total += snap[i] = counts_[i].load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const double want = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < snap.size(); ++i) {
    seen += snap[i];
    if (static_cast<double>(seen) >= want && snap[i] > 0)
      return i + 1 == snap.size() ? 2 * bounds_us[snap.size() - 2] : bounds_us[i];
  }
  return 2 * bounds_us[snap.size() - 2];
}

}  // namespace corvid::live
