// Writes a report from a realistic, synthetic result (lognormal latencies, a ramp of users, a
// server that warms up) to argv[1]: what the browser check opens, and a page to look at by hand.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include <boost/json.hpp>

#include "histogram.hpp"
#include "report_html.hpp"

namespace json = boost::json;
using corvid::load::histogram;

namespace {

// `n` values around `median` (microseconds or bytes) with a long tail, as latencies have.
histogram lognormal(std::mt19937_64& rng, double median, double sigma, int n) {
  std::lognormal_distribution<double> d{std::log(median), sigma};
  histogram h;
  for (int i = 0; i < n; ++i) h.record(static_cast<std::uint64_t>(d(rng)));
  return h;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.html\n", argv[0]);
    return 2;
  }
  std::mt19937_64 rng{12};
  const int seconds = 300;
  json::object r;
  r["tool"] = "corvid-load";
  r["version"] = 1;
  r["target"] = "http://127.0.0.1:4000";
  // Angle brackets and an ampersand: the page must show them as text.
  r["scenario"] = "counter <inc & dec>";
  r["started_at"] = "2026-11-30T16:40:00Z";
  r["duration_s"] = double(seconds);
  r["workers"] = 2;
  r["users"] = {{"target", 200}, {"started", 212}, {"completed", 195}, {"failed", 5}, {"restarted", 12},
                {"peak_active", 200}};
  r["errors"] = {{"join_timeout", 3}, {"http_status", 2}, {"ws_closed", 7}};
  r["reconnects"] = 7;
  r["phases"] = {{"get", lognormal(rng, 900, 0.5, 212).to_json()},
                 {"upgrade", lognormal(rng, 400, 0.6, 210).to_json()},
                 {"join", lognormal(rng, 2500, 0.7, 207).to_json()},
                 {"mount", lognormal(rng, 4200, 0.6, 207).to_json()},
                 {"event", lognormal(rng, 850, 0.9, 60000).to_json()}};
  json::array steps;
  steps.push_back({{"name", "click inc"}, {"kind", "click"}, {"histogram", lognormal(rng, 800, 0.8, 40000).to_json()}});
  steps.push_back({{"name", "submit form"}, {"kind", "submit"}, {"histogram", lognormal(rng, 1600, 0.9, 20000).to_json()}});
  r["steps"] = std::move(steps);
  r["diff_bytes"] = {{"join_reply", lognormal(rng, 2400, 0.1, 207).to_json()},
                     {"event_reply", lognormal(rng, 60, 0.3, 60000).to_json()},
                     {"diff", lognormal(rng, 45, 0.4, 12000).to_json()}};
  json::array timeline;
  std::normal_distribution<double> noise{0, 1};
  for (int t = 0; t < seconds; ++t) {
    const double active = std::min(200.0, 200.0 * t / 60);  // a one-minute ramp
    const double load = active / 200;
    json::object p;
    p["t"] = double(t);
    p["active"] = std::round(active);
    p["mounting"] = t < 60 ? 3 + (t % 4) : (t % 17 == 0 ? 2 : 0);
    p["mounts"] = t < 60 ? 4 : 0;
    p["events"] = std::round(active * 1.0);
    p["errors"] = t % 45 == 44 ? 1 : 0;
    p["event_p50_us"] = std::round(700 + 300 * load + 40 * noise(rng));
    p["event_p99_us"] = std::round(3000 + 4000 * load + 400 * std::abs(noise(rng)) + (t == 150 ? 9000 : 0));
    p["mount_p99_us"] = std::round(9000 + 6000 * load + 800 * std::abs(noise(rng)));
    p["server_cpu_pct"] = std::round(10 * (5 + 60 * load + 3 * noise(rng))) / 10;
    p["server_rss_kib"] = std::round(30000 + 55000 * load + 200 * t / double(seconds));
    timeline.push_back(std::move(p));
  }
  r["timeline"] = std::move(timeline);
  r["server"] = {{"pid", 4242}, {"cpu_s", 123.4}, {"rss_kib_max", 85400}, {"rss_kib_start", 30000}};

  std::ofstream f(argv[1], std::ios::binary);
  f << corvid::load::render_report(r);
  if (!f.flush()) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
