#pragma once
// Accepts peer connections on a TCP endpoint; each runs the acceptor side of the handshake
// and reports through the same handlers.

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "corvid/cluster/connection.hpp"

namespace corvid::cluster {

namespace detail {
class listener_impl;
}

/// A handle; copies refer to the same listener.
class listener {
public:
  /// Binds and starts accepting. Port 0 lets the OS choose (see port()); an
  /// opts.listen_address ending in ":0" then gets the chosen port too.
  static result<listener> open(boost::asio::io_context& io,
                               const boost::asio::ip::tcp::endpoint& at, options opts,
                               handlers h);

  uint16_t port() const;
  /// Stops accepting; established connections stay up.
  void close() const;

  explicit listener(std::shared_ptr<detail::listener_impl> p) : p_(std::move(p)) {}

private:
  std::shared_ptr<detail::listener_impl> p_;
};

} // namespace corvid::cluster
