#include "outbound_queue.hpp"

#include <algorithm>

namespace corvid::cluster::detail {

error outbound_queue::push(std::vector<std::string> pieces) {
  size_t bytes = 0;
  for (const auto& p : pieces)
    bytes += p.size();
  std::lock_guard lk(mu_);
  if (st_.queued_frames + 1 > limits_.max_frames || st_.queued_bytes + bytes > limits_.max_bytes) {
    ++st_.refused;
    return {errc::overloaded, std::string(to_string(lane_)) + " lane full (" +
                                  std::to_string(st_.queued_frames) + " messages, " +
                                  std::to_string(st_.queued_bytes) + " bytes queued; caps " +
                                  std::to_string(limits_.max_frames) + " / " +
                                  std::to_string(limits_.max_bytes) + ")"};
  }
  q_.push_back({std::move(pieces), 0});
  st_.queued_frames += 1;
  st_.queued_bytes += bytes;
  st_.high_water_frames = std::max(st_.high_water_frames, st_.queued_frames);
  st_.high_water_bytes = std::max(st_.high_water_bytes, st_.queued_bytes);
  return {};
}

size_t outbound_queue::take(std::vector<std::string>& out, size_t budget) {
  std::lock_guard lk(mu_);
  size_t moved = 0;
  while (!q_.empty() && (moved == 0 || moved < budget)) {
    auto& e = q_.front();
    auto& piece = e.pieces[e.next++];
    moved += piece.size();
    st_.queued_bytes -= piece.size();
    out.push_back(std::move(piece));
    if (e.next == e.pieces.size()) {
      q_.pop_front();
      st_.queued_frames -= 1;
      st_.sent_frames += 1;
    }
  }
  return moved;
}

bool outbound_queue::waiting() const {
  std::lock_guard lk(mu_);
  return !q_.empty();
}

bool outbound_queue::above(double ratio) const {
  std::lock_guard lk(mu_);
  return static_cast<double>(st_.queued_frames) >= ratio * static_cast<double>(limits_.max_frames) ||
         static_cast<double>(st_.queued_bytes) >= ratio * static_cast<double>(limits_.max_bytes);
}

void outbound_queue::drop_all() {
  std::lock_guard lk(mu_);
  st_.dropped += q_.size();
  q_.clear();
  st_.queued_frames = 0;
  st_.queued_bytes = 0;
}

lane_stats outbound_queue::stats() const {
  std::lock_guard lk(mu_);
  return st_;
}

} // namespace corvid::cluster::detail
