#pragma once
// The state behind a cluster::connection. Everything but the queues, the atomics, the peer
// record and the writer's state (under `write_mu_`) is touched only on `strand_`.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "chunking.hpp"
#include "corvid/cluster/connection.hpp"
#include "framing.hpp"
#include "outbound_queue.hpp"

namespace corvid::cluster::detail {

class connection_impl : public std::enable_shared_from_this<connection_impl> {
public:
  enum class role { dialer, acceptor };

  /// `tls` is null for plain TCP.
  connection_impl(boost::asio::io_context& io, boost::asio::ip::tcp::socket sock, role r,
                  options opts, handlers h, std::shared_ptr<boost::asio::ssl::context> tls);

  /// Dialer: connect, then handshake.
  void start_dial(const boost::asio::ip::tcp::endpoint& to);
  /// Acceptor: the socket is connected; wait for the Hello.
  void start_accept();

  error send(lane l, v1::Frame f);
  void close_from_any_thread(error why);

  bool is_up() const noexcept { return up_.load(std::memory_order_acquire); }
  std::optional<peer_info> peer() const;
  lane_stats stats(lane l) const { return queue(l).stats(); }
  std::optional<std::chrono::nanoseconds> last_round_trip() const;

private:
  // Handshake steps, in the order the frames arrive (handshake.cpp).
  enum class phase { connecting, await_hello, await_challenge, await_proof, await_peer_proof,
                     await_welcome, up, closing, closed };
  void send_hello();
  void on_handshake_frame(v1::Frame& f);
  void on_hello(const v1::Hello& h);
  void on_challenge(const v1::Hello& h);
  void on_dialer_proof(const std::string& digest);
  void on_acceptor_proof(const std::string& digest);
  void become_up();
  bool check_hello(const v1::Hello& h);
  void send_handshake(const v1::Frame& f);
  void refuse(errc kind, std::string reason);

  // I/O (connection_io.cpp).
  void start_tls(void (connection_impl::*next)());
  void dialer_hello();
  void arm_handshake_deadline();
  void read_more();
  void on_read(const boost::system::error_code& ec, size_t n);
  void on_frame(v1::Frame& f);
  void on_heartbeat(const v1::Heartbeat& hb);
  void kick();
  void pump();
  // The writer (connection_io.cpp). One writer at a time owns in_flight_: whoever set
  // writing_, or whoever holds write_mu_ while writing_ is false.
  void take_round(bool lanes);
  bool direct_write_ok();
  void write_now();
  bool write_in_flight_now(boost::system::error_code& ec);
  void start_async_write();
  void on_written(const boost::system::error_code& ec);
  void arm_tick();
  void on_tick();
  void close(error why);
  connection handle() { return connection{shared_from_this()}; }
  outbound_queue& queue(lane l) { return l == lane::control ? control_ : data_; }
  const outbound_queue& queue(lane l) const { return l == lane::control ? control_ : data_; }

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::socket sock_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  // Engaged once TLS starts; then all reads and writes go through it.
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer tick_timer_;
  const role role_;
  const options opts_;
  handlers h_;

  phase phase_ = phase::connecting;
  frame_reader reader_{handshake_frame_limit};
  reassembler reassembler_;
  std::vector<char> scratch_;
  std::string my_nonce_;
  v1::Hello peer_hello_;
  error closing_reason_;

  outbound_queue control_;
  outbound_queue data_;
  std::atomic<bool> kick_pending_{false};
  // Plain TCP, once up: send() writes from the caller's thread when no write is in flight
  // (no hop to the I/O thread); a write the socket cannot take at once continues on the
  // strand. TLS always writes on the strand (an ssl::stream is not shared between threads).
  // write_mu_ guards what follows, and the socket's descriptor against close().
  // A send is part of a stream, queued for the strand (which writes many frames at once),
  // when it comes within `write_gap` of the end of this connection's previous write, or
  // within `send_gap` of its previous send with nothing read in between (an answer read
  // since marks a request and reply exchange, which goes straight out).
  static constexpr int64_t write_gap_ns = 10'000;
  static constexpr int64_t send_gap_ns = 100'000;
  std::atomic<int64_t> last_send_ns_{0};
  std::atomic<bool> read_since_send_{false};
  std::atomic<int64_t> last_write_end_ns_{0};
  std::mutex write_mu_;
  // Handshake frames bypass the lanes: they are few and must go before anything else.
  std::vector<std::string> handshake_out_;
  bool writing_ = false;  // an async write owns in_flight_
  std::vector<std::string> in_flight_;
  size_t in_flight_off_ = 0;  // bytes of in_flight_[0] already written

  std::chrono::steady_clock::time_point last_heard_;
  uint64_t heartbeat_seq_ = 0;
  std::optional<std::chrono::steady_clock::time_point> above_since_[2];

  std::atomic<bool> up_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> rtt_ns_{-1};
  mutable std::mutex peer_mu_;
  std::optional<peer_info> peer_;
};

} // namespace corvid::cluster::detail
