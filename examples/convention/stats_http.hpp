// `GET /convention/stats` on a port of its own. The live server serves live views, assets and
// /metrics but has no hook for other HTTP endpoints (see README.md), so this tiny listener
// answers the load tool: one request per connection, JSON out, on one thread of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace convention {

class stats_listener {
 public:
  /// `body` makes the JSON for each request (on the listener's thread).
  explicit stats_listener(std::function<std::string()> body);
  ~stats_listener();
  stats_listener(const stats_listener&) = delete;
  stats_listener& operator=(const stats_listener&) = delete;

  /// Binds host:port (0 = any free port) and starts the thread; an error text or "".
  std::string start(const std::string& host, std::uint16_t port);
  std::uint16_t port() const noexcept;
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace convention
