#include "phi_detector.hpp"

#include <algorithm>
#include <cmath>

namespace corvid::cluster {

phi_detector::phi_detector(std::chrono::milliseconds expected, std::chrono::milliseconds min_std_dev,
                           std::chrono::milliseconds acceptable_pause, size_t window)
  : min_std_ms_(static_cast<double>(min_std_dev.count())), pause_ms_(static_cast<double>(acceptable_pause.count())),
    window_(std::max<size_t>(window, 2)) {
  auto e = static_cast<double>(expected.count());
  add_gap(e - e / 4);
  add_gap(e + e / 4);
}

void phi_detector::add_gap(double gap) {
  gaps_ms_.push_back(gap);
  sum_ += gap;
  sum_sq_ += gap * gap;
  if (gaps_ms_.size() > window_) {
    sum_ -= gaps_ms_.front();
    sum_sq_ -= gaps_ms_.front() * gaps_ms_.front();
    gaps_ms_.pop_front();
  }
}

void phi_detector::heartbeat(clock::time_point now) {
  if (seen_)
    add_gap(std::chrono::duration<double, std::milli>(now - last_).count());
  seen_ = true;
  last_ = now;
}

double phi_detector::phi(clock::time_point now) const {
  if (!seen_)
    return 0.0;
  auto n = static_cast<double>(gaps_ms_.size());
  double mean = sum_ / n + pause_ms_;
  double var = std::max(0.0, sum_sq_ / n - (sum_ / n) * (sum_ / n));
  double sd = std::max(std::sqrt(var), min_std_ms_);
  double since = std::chrono::duration<double, std::milli>(now - last_).count();
  // A logistic approximation of the normal distribution's tail (as Akka's detector uses).
  double y = (since - mean) / sd;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  double p_later = since > mean ? e / (1.0 + e) : 1.0 - 1.0 / (1.0 + e);
  return -std::log10(std::max(p_later, 1e-300));
}

} // namespace corvid::cluster
