// The whole convention server of one node, started and stopped as a unit: the runtime, the
// cluster node (if any) with Presence replicated across it, the hall and its chair, the live
// server with its routes and admin guard, and the stats listener. main.cpp and the tests use it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "options.hpp"
#include "stats.hpp"

namespace corvid {
class runtime;
}

namespace convention {

class app {
 public:
  explicit app(app_options o);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Starts everything; an error text (and nothing left running) on failure.
  std::string start(bool stop_on_signals = false);
  /// Blocks until stop() or, with stop_on_signals, SIGINT/SIGTERM.
  void wait();
  /// Stops the server, the listener and the node, then every process. Idempotent.
  void stop();

  std::uint16_t port() const;
  std::uint16_t stats_port() const;
  /// The cluster node's listening port (0 on a single node).
  std::uint16_t node_port() const;
  const std::string& admin_token() const;
  /// The lines to print at start: the pages, the admin URL with its token, the stats URL.
  std::string banner() const;
  corvid::runtime& runtime();
  hall& convention_hall();
  stats snapshot();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace convention
