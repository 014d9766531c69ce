// What the websocket's and the long-poll's ends of a session process share: the protected prefixes
// refused to the connection, and the session attached to it (or the note that the connection went
// before the session started).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "session.hpp"

namespace corvid::live::detail {

/// Whether `path` is `prefix` or below it ("/admin" covers "/admin/x", not "/administer"; "/" covers all).
inline bool under_prefix(std::string_view path, std::string_view prefix) {
  return path.rfind(prefix, 0) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/' || prefix == "/");
}
inline bool under_any_prefix(std::string_view path, const std::vector<std::string>& prefixes) {
  for (auto& p : prefixes)
    if (under_prefix(path, p)) return true;
  return false;
}

class connection_sink : public frame_sink {
 public:
  bool may_join(std::string_view path) const override { return !under_any_prefix(path, denied); }
  bool attach(corvid::pid self) override {
    std::lock_guard<std::mutex> g{mtx_};
    if (gone_) return false;
    session_ = self;
    return true;
  }
  /// The connection is finished: the session attached by now, if any (a later one is told by attach()).
  corvid::pid detach() {
    std::lock_guard<std::mutex> g{mtx_};
    gone_ = true;
    return session_;
  }

  void joined() override { joined_.store(true, std::memory_order_relaxed); }
  bool has_joined() const { return joined_.load(std::memory_order_relaxed); }

  std::vector<std::string> denied;  ///< protected prefixes whose hook refused this connection (set before the session starts)

 protected:
  std::mutex mtx_;       // guards what follows, and what a derived sink adds
  bool gone_ = false;
  corvid::pid session_;
  std::atomic<bool> joined_{false};
};

}  // namespace corvid::live::detail
