#pragma once
// One authenticated TCP connection to a peer node, made by dialing or by a listener.
// All I/O runs on the given io_context (on the connection's own strand); send(), close()
// and the readers of stats may be called from any thread, and none of them blocks.
//
//   cluster::handlers h;
//   h.on_frame = [](const cluster::connection&, cluster::lane, v1::Frame&& f) { ... };
//   auto c = cluster::connection::dial(io, endpoint, opts, h);
//   if (!c) log(c.err().message);
//   else if (auto e = c.value().send(cluster::lane::data, std::move(frame))) { /* overloaded? */ }

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/lane_stats.hpp"
#include "corvid/cluster/options.hpp"
#include "corvid/cluster/v1/wire.pb.h"

namespace corvid::cluster {

namespace detail {
class connection_impl;
}

class connection;

/// Who is at the other end, as its authenticated Hello said.
struct peer_info {
  std::string node_name;
  uint64_t incarnation = 0;
  std::string listen_address;
  uint32_t protocol_minor = 0;
};

/// Callbacks, run on the connection's strand; they may call send() and close().
struct handlers {
  /// Authentication succeeded; frames may now flow.
  std::function<void(const connection&)> on_up;
  /// One decoded frame (chunked messages reassembled), in order per lane. A handler that
  /// blocks stops this connection's reading, never its peers'.
  std::function<void(const connection&, lane, v1::Frame&&)> on_frame;
  /// Called once when the connection ends, with why (also for a failed dial or handshake).
  std::function<void(const connection&, const error&)> on_closed;
};

/// A handle; copies refer to the same connection.
class connection {
public:
  /// Connects to `to` and runs the handshake; failures arrive in on_closed.
  /// Fails at once only for invalid options (e.g. a secret under 32 bytes).
  static result<connection> dial(boost::asio::io_context& io,
                                 const boost::asio::ip::tcp::endpoint& to, options opts,
                                 handlers h);

  /// Queues `f` on `l`. Errors: overloaded (lane full, nothing queued), frame_too_large,
  /// not_connected (closed). Frames sent before authentication wait for it.
  error send(lane l, v1::Frame f) const;

  /// Closes the connection (on_closed gets errc::closed); queued frames are dropped.
  void close() const;

  bool is_up() const;
  /// Set once authenticated.
  std::optional<peer_info> peer() const;
  lane_stats stats(lane l) const;
  /// Round trip of the latest answered heartbeat.
  std::optional<std::chrono::nanoseconds> last_round_trip() const;

  /// For the implementation (listener, tests): wraps an existing connection.
  explicit connection(std::shared_ptr<detail::connection_impl> p) : p_(std::move(p)) {}
  bool operator==(const connection& o) const noexcept { return p_ == o.p_; }

private:
  std::shared_ptr<detail::connection_impl> p_;
};

} // namespace corvid::cluster
