#include "collector.hpp"

#include <cstdio>
#include <ctime>

#include <boost/json/array.hpp>

#include "server_proc.hpp"

namespace corvid::load {

collector::collector(int server_pid) : server_pid_(server_pid), t0_(std::chrono::steady_clock::now()) {
  if (server_pid_ > 0) {
    auto s = live_load_proc::read_proc(server_pid_);
    if (s.ok) {
      cpu_start_us_ = last_cpu_us_ = s.cpu_us;
      last_cpu_at_ = std::chrono::steady_clock::now();
      rss_start_ = rss_max_ = s.rss_kb;
    }
  }
}

void collector::add(const measurements& interval, std::int64_t active, std::int64_t mounting) {
  second_.merge(interval);
  active_ += active;
  mounting_ += mounting;
}

void collector::close_second() {
  auto now = std::chrono::steady_clock::now();
  boost::json::object p;
  p["t"] = std::chrono::duration<double>(now - t0_).count();
  p["active"] = active_;
  p["mounting"] = mounting_;
  p["mounts"] = second_.phases[std::size_t(phase::mount)].count();
  p["events"] = second_.phases[std::size_t(phase::event)].count();
  std::uint64_t errors = 0;
  for (auto& [k, n] : second_.errors)
    errors += n;
  p["errors"] = errors;
  auto& ev = second_.phases[std::size_t(phase::event)];
  auto& mo = second_.phases[std::size_t(phase::mount)];
  if (ev.count()) {
    p["event_p50_us"] = ev.quantile(0.5);
    p["event_p99_us"] = ev.quantile(0.99);
  }
  if (mo.count())
    p["mount_p99_us"] = mo.quantile(0.99);
  if (server_pid_ > 0) {
    auto s = live_load_proc::read_proc(server_pid_);
    if (s.ok) {
      if (last_cpu_us_ >= 0) {
        double wall_us = std::chrono::duration<double, std::micro>(now - last_cpu_at_).count();
        if (wall_us > 0)
          p["server_cpu_pct"] = 100.0 * (s.cpu_us - last_cpu_us_) / wall_us;
      } else {
        cpu_start_us_ = s.cpu_us;
        rss_start_ = s.rss_kb;
      }
      last_cpu_us_ = cpu_last_us_ = s.cpu_us;
      last_cpu_at_ = now;
      p["server_rss_kib"] = s.rss_kb;
      rss_max_ = std::max(rss_max_, s.rss_kb);
    }
  }
  peak_active_ = std::max(peak_active_, active_);
  totals_.merge(second_);
  second_ = measurements{};
  active_ = mounting_ = 0;
  timeline_.push_back(std::move(p));
}

std::string collector::progress_line() const {
  if (timeline_.empty())
    return "starting";
  auto& p = timeline_.back();
  auto num = [&](const char* k) { return p.contains(k) ? p.at(k).to_number<double>() : 0.0; };
  std::uint64_t errors = 0;
  for (auto& [k, n] : totals_.errors)
    errors += n;
  char line[256];
  std::snprintf(line, sizeof line,
                "%5.0fs  users %6.0f (mounting %4.0f)  mounts/s %5.0f  events/s %6.0f  event p99 %7.2f ms  "
                "mount p99 %7.2f ms  errors %llu  restarts %llu",
                num("t"), num("active"), num("mounting"), num("mounts"), num("events"), num("event_p99_us") / 1000,
                num("mount_p99_us") / 1000, static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(totals_.failed));
  return line;
}

boost::json::object collector::result(const run_meta& meta) const {
  namespace json = boost::json;
  json::object r;
  r["tool"] = "corvid-load";
  r["version"] = 1;
  r["target"] = meta.target;
  r["scenario"] = meta.scenario;
  r["started_at"] = meta.started_at;
  r["duration_s"] = timeline_.empty() ? 0.0 : timeline_.back().at("t").to_number<double>();
  r["workers"] = meta.workers;
  json::object users{{"target", meta.users},
                     {"started", totals_.started},
                     {"completed", totals_.completed},
                     {"failed", totals_.failed},
                     {"restarted", totals_.failed},
                     {"peak_active", peak_active_}};
  r["users"] = std::move(users);
  json::object errors;
  for (auto& [k, n] : totals_.errors)
    errors[k] = n;
  r["errors"] = std::move(errors);
  r["reconnects"] = totals_.reconnects;
  json::object phases;
  for (std::size_t i = 0; i < phase_count; ++i)
    phases[phase_names[i]] = totals_.phases[i].to_json();
  r["phases"] = std::move(phases);
  json::array steps;
  for (auto& [label, h] : totals_.steps) {
    auto dot = label.find(". ");
    auto rest = dot == std::string::npos ? label : label.substr(dot + 2);
    steps.push_back(json::object{{"name", label}, {"kind", rest.substr(0, rest.find(' '))}, {"histogram", h.to_json()}});
  }
  r["steps"] = std::move(steps);
  json::object bytes;
  for (auto& [k, h] : totals_.diff_bytes)
    bytes[k] = h.to_json();
  r["diff_bytes"] = std::move(bytes);
  json::array tl;
  for (auto& p : timeline_)
    tl.push_back(p);
  r["timeline"] = std::move(tl);
  if (server_pid_ > 0 && cpu_start_us_ >= 0)
    r["server"] = json::object{{"pid", server_pid_},
                               {"cpu_s", (cpu_last_us_ - cpu_start_us_) / 1e6},
                               {"rss_kib_max", rss_max_},
                               {"rss_kib_start", rss_start_}};
  return r;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace corvid::load
