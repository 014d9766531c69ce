// The --report-every table of live_load's load phase (one row an interval: server RSS and CPU, clicks,
// round trips, queue depths) and the least-squares slopes that tell whether a soak stayed flat.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "load_util.hpp"
#include "server_proc.hpp"

namespace live_load {

/// One "figure<TAB>value<TAB>unit" line (nothing for NaN).
inline void figure(const char* name, double value, const char* unit) {
  if (std::isnan(value)) return;
  std::printf("%s\t%.3f\t%s\n", name, value, unit);
}

/// What the I/O thread counted so far, taken at a report row.
struct load_counts {
  std::size_t sent = 0, answered = 0, errors = 0, lost = 0;
  std::vector<double> rtt_ms;  // since the previous row
};

/// The --report-every table of the load phase and its slopes. Runs on the main thread.
class soak_report {
 public:
  using clk = std::chrono::steady_clock;
  /// `take_counts`: the load's counters so far (the interval's round trips moved out); `metrics`: the
  /// server's Prometheus text, or none to leave the queue columns out.
  soak_report(int pid, clk::time_point t0, std::function<load_counts()> take_counts,
              std::function<std::optional<std::string>()> metrics)
      : pid_(pid), t0_(t0), last_t_(t0), take_counts_(std::move(take_counts)), metrics_(std::move(metrics)) {
    last_p_ = live_load_proc::read_proc(pid_);
  }

  void header() {
    std::printf("| min | server RSS MiB | server CPU %% | sent | answered | p50 ms | p99 ms | errors | lost | "
                "mailbox msgs | inbound queued B | live sessions | client RSS MiB |\n"
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    std::fflush(stdout);
  }

  /// One row for the time since the previous one; `full`: a whole interval, counted in the slopes.
  void row(bool full) {
    const auto p = live_load_proc::read_proc(pid_);
    const auto now = clk::now();
    auto n = take_counts_();
    double mailbox = std::nan(""), inbound = std::nan(""), live = std::nan("");
    if (metrics_) {
      if (auto text = metrics_()) {
        mailbox = prom_sum(*text, "corvid_mailbox_messages").value_or(std::nan(""));
        inbound = prom_sum(*text, "corvid_live_inbound_queued_bytes").value_or(std::nan(""));
        live = prom_sum(*text, "corvid_live_sessions").value_or(std::nan(""));
      }
    }
    const double min = ms_between(t0_, now) / 60000;
    const double wall_us = ms_between(last_t_, now) * 1000;
    const bool server = pid_ > 0 && p.ok && last_p_.ok;
    const double rss = server ? p.rss_kb / 1024 : std::nan("");
    const double cpu = server && wall_us > 0 ? (p.cpu_us - last_p_.cpu_us) / wall_us * 100 : std::nan("");
    const double p50 = percentile(n.rtt_ms, 50), p99 = percentile(n.rtt_ms, 99);
    std::printf("| %.2f%s | %s | %s | %zu | %zu | %s | %s | %zu | %zu | %s | %s | %s | %.1f |\n", min,
                full ? "" : " (part)", num(rss, 1).c_str(), num(cpu, 1).c_str(), n.sent - last_.sent,
                n.answered - last_.answered, num(p50, 2).c_str(), num(p99, 2).c_str(), n.errors - last_.errors,
                n.lost - last_.lost, num(mailbox, 0).c_str(), num(inbound, 0).c_str(), num(live, 0).c_str(),
                p.self_rss_kb / 1024);
    std::fflush(stdout);
    if (full && rows_++ > 0) {  // the first interval is the warm-up: allocators and caches still filling
      x_.push_back(min);
      rss_.push_back(rss);
      cpu_.push_back(cpu);
      p99_.push_back(p99);
      mailbox_.push_back(mailbox);
      inbound_.push_back(inbound);
      client_rss_.push_back(p.self_rss_kb / 1024);
    }
    last_t_ = now;
    last_p_ = p;
    last_ = std::move(n);
  }

  void slopes() {
    const auto rss = least_squares(x_, rss_);
    std::printf("# slopes per minute over %zu full intervals after the first (least squares):\n", rss.n);
    figure("soak_intervals_fitted", double(rss.n), "count");
    figure("soak_server_rss_mean_mib", rss.mean, "MiB");
    figure("soak_server_rss_slope_mib_per_min", rss.slope, "MiB/min");
    figure("soak_server_cpu_slope_pct_per_min", least_squares(x_, cpu_).slope, "%/min");
    figure("soak_click_rtt_p99_slope_ms_per_min", least_squares(x_, p99_).slope, "ms/min");
    figure("soak_mailbox_slope_msgs_per_min", least_squares(x_, mailbox_).slope, "msgs/min");
    figure("soak_inbound_queued_slope_bytes_per_min", least_squares(x_, inbound_).slope, "B/min");
    figure("soak_client_rss_slope_mib_per_min", least_squares(x_, client_rss_).slope, "MiB/min");
    if (std::isnan(rss.slope) || !(rss.mean > 0)) {
      std::printf("# verdict: unknown (needs --server-pid and at least 3 full intervals)\n");
      return;
    }
    const double pct = std::abs(rss.slope) / rss.mean * 100;
    figure("soak_server_rss_slope_pct_of_mean_per_min", rss.slope / rss.mean * 100, "%/min");
    std::printf("# verdict: server RSS %s (slope %+.3f MiB/min = %.3f%% of the mean %.1f MiB per minute; flat "
                "below %.1f%%)\n", pct < flat_pct ? "flat" : "NOT flat", rss.slope, pct, rss.mean, flat_pct);
    std::fflush(stdout);
  }

  static constexpr double flat_pct = 0.5;

 private:
  static std::string num(double v, int decimals) {
    if (std::isnan(v)) return "n/a";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
  }

  static double ms_between(clk::time_point a, clk::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  }

  int pid_;
  clk::time_point t0_, last_t_;
  std::function<load_counts()> take_counts_;
  std::function<std::optional<std::string>()> metrics_;
  live_load_proc::proc_sample last_p_;
  load_counts last_;
  int rows_ = 0;
  std::vector<double> x_, rss_, cpu_, p99_, mailbox_, inbound_, client_rss_;
};


}  // namespace live_load
