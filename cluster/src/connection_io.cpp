// Socket reading and writing, timers and closing of a connection. The writer takes control
// frames before data frames on every write, and data in chunk-sized bites, so a heartbeat
// waits behind at most one chunk.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include "connection_impl.hpp"

namespace corvid::cluster::detail {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {
// Bytes of control frames put into one write before data gets its turn.
constexpr size_t control_budget = 256 * 1024;

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   steady_clock::now().time_since_epoch())
                                   .count());
}
} // namespace

void connection_impl::arm_handshake_deadline() {
  handshake_timer_.expires_after(opts_.handshake_timeout);
  handshake_timer_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->phase_ == phase::up || self->phase_ == phase::closed)
          return;
        // A Refuse the peer never read still closes with the reason it carried.
        if (self->phase_ == phase::closing)
          self->close(std::move(self->closing_reason_));
        else
          self->close({errc::timeout, "handshake not completed within " +
                                          std::to_string(self->opts_.handshake_timeout.count()) +
                                          " ms"});
      }));
}

void connection_impl::start_dial(const asio::ip::tcp::endpoint& to) {
  asio::post(strand_, [self = shared_from_this(), to] {
    self->arm_handshake_deadline();
    self->sock_.async_connect(
        to, asio::bind_executor(self->strand_, [self](const boost::system::error_code& ec) {
          if (self->phase_ == phase::closed)
            return;
          if (ec) {
            self->close({errc::io, "connect failed: " + ec.message()});
            return;
          }
          boost::system::error_code ignored;
          self->sock_.set_option(asio::ip::tcp::no_delay(true), ignored);
          self->phase_ = phase::await_challenge;
          if (self->tls_ctx_)
            self->start_tls(&connection_impl::dialer_hello);
          else
            self->dialer_hello();
        }));
  });
}

void connection_impl::start_accept() {
  asio::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->sock_.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->phase_ = phase::await_hello;
    self->arm_handshake_deadline();
    if (self->tls_ctx_)
      self->start_tls(&connection_impl::read_more);
    else
      self->read_more();
  });
}

void connection_impl::dialer_hello() {
  send_hello();
  read_more();
}

void connection_impl::start_tls(void (connection_impl::*next)()) {
  tls_.emplace(sock_, *tls_ctx_);
  const auto type = role_ == role::dialer ? asio::ssl::stream_base::client
                                          : asio::ssl::stream_base::server;
  tls_->async_handshake(type, asio::bind_executor(strand_, [self = shared_from_this(), next](
                                                               const boost::system::error_code& ec) {
    if (self->phase_ == phase::closed)
      return;
    if (ec) {
      self->close({errc::auth, "TLS handshake failed: " + ec.message()});
      return;
    }
    ((*self).*next)();
  }));
}

void connection_impl::read_more() {
  auto done = asio::bind_executor(strand_, [self = shared_from_this()](
                                               const boost::system::error_code& ec, size_t n) {
    self->on_read(ec, n);
  });
  if (tls_)
    tls_->async_read_some(asio::buffer(scratch_), std::move(done));
  else
    sock_.async_read_some(asio::buffer(scratch_), std::move(done));
}

void connection_impl::on_read(const boost::system::error_code& ec, size_t n) {
  if (phase_ == phase::closed || phase_ == phase::closing)
    return;
  if (ec) {
    // In TLS 1.3 a client learns that the server rejected its certificate only here.
    if (phase_ != phase::up && ec.category() == asio::error::get_ssl_category()) {
      close({errc::auth, "TLS handshake failed: " + ec.message()});
      return;
    }
    const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    close({errc::io, eof ? std::string("peer closed the connection")
                         : "read failed: " + ec.message()});
    return;
  }
  last_heard_ = steady_clock::now();
  size_t off = 0;
  while (off < n) {
    const auto s = reader_.feed(scratch_.data() + off, n - off);
    off += s.consumed;
    if (s.what == frame_reader::status::failed) {
      close(reader_.failure());
      return;
    }
    if (s.what == frame_reader::status::frame) {
      if (phase_ == phase::up)
        on_frame(reader_.frame());
      else
        on_handshake_frame(reader_.frame());
      if (phase_ == phase::closed || phase_ == phase::closing)
        return;
    }
  }
  read_more();
}

void connection_impl::on_frame(v1::Frame& f) {
  const lane l = f.lane() == v1::DATA ? lane::data : lane::control;
  switch (f.body_case()) {
    case v1::Frame::kRefuse:
      close({errc::refused, "refused by peer: " + f.refuse().reason()});
      return;
    case v1::Frame::kHello:
    case v1::Frame::kChallenge:
    case v1::Frame::kProof:
    case v1::Frame::kWelcome:
    case v1::Frame::BODY_NOT_SET:
      close({errc::protocol, "unexpected frame (body " + std::to_string(f.body_case()) +
                                 ") after authentication"});
      return;
    case v1::Frame::kHeartbeat:
      on_heartbeat(f.heartbeat());
      // Echoes are the transport's; heartbeats themselves carry pubsub seqs for the node.
      if (f.heartbeat().reply())
        return;
      break;
    case v1::Frame::kChunk: {
      bool complete = false;
      if (auto e = reassembler_.add(f.chunk(), complete)) {
        close(std::move(e));
        return;
      }
      if (complete && h_.on_frame)
        h_.on_frame(handle(), lane::data, std::move(reassembler_.frame()));
      return;
    }
    default:
      break;
  }
  if (h_.on_frame)
    h_.on_frame(handle(), l, std::move(f));
}

void connection_impl::on_heartbeat(const v1::Heartbeat& hb) {
  if (hb.reply()) {
    const auto now = monotonic_ns();
    if (now >= hb.send_time_ns())
      rtt_ns_.store(static_cast<int64_t>(now - hb.send_time_ns()), std::memory_order_relaxed);
    return;
  }
  // Echo at once on the control lane; a full lane means the peer will see a late reply.
  v1::Frame r;
  r.set_lane(v1::CONTROL);
  r.mutable_heartbeat()->set_seq(hb.seq());
  r.mutable_heartbeat()->set_send_time_ns(hb.send_time_ns());
  r.mutable_heartbeat()->set_reply(true);
  std::vector<std::string> pieces(1);
  if (!encode_frame(r, opts_.max_frame_bytes, pieces.back()))
    (void)control_.push(std::move(pieces));
  pump();
}

void connection_impl::kick() {
  if (kick_pending_.exchange(true, std::memory_order_acq_rel))
    return;
  asio::post(strand_, [self = shared_from_this()] {
    self->kick_pending_.store(false, std::memory_order_release);
    self->pump();
  });
}

void connection_impl::pump() {
  if (writing_ || phase_ == phase::closed)
    return;
  in_flight_.clear();
  for (auto& b : handshake_out_)
    in_flight_.push_back(std::move(b));
  handshake_out_.clear();
  if (phase_ == phase::up) {
    control_.take(in_flight_, control_budget);
    data_.take(in_flight_, opts_.chunk_bytes);
  }
  if (in_flight_.empty()) {
    if (phase_ == phase::closing)
      close(std::move(closing_reason_));
    return;
  }
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(in_flight_.size());
  for (const auto& b : in_flight_)
    bufs.emplace_back(asio::buffer(b));
  writing_ = true;
  auto done = asio::bind_executor(strand_, [self = shared_from_this()](
                                               const boost::system::error_code& ec, size_t) {
    self->writing_ = false;
    if (self->phase_ == phase::closed)
      return;
    if (ec) {
      self->close({errc::io, "write failed: " + ec.message()});
      return;
    }
    self->pump();
  });
  if (tls_)
    asio::async_write(*tls_, bufs, std::move(done));
  else
    asio::async_write(sock_, bufs, std::move(done));
}

void connection_impl::arm_tick() {
  tick_timer_.expires_after(opts_.heartbeat_interval);
  tick_timer_.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec && self->phase_ == phase::up)
          self->on_tick();
      }));
}

void connection_impl::on_tick() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto now = steady_clock::now();
  if (now - last_heard_ >= opts_.dead_after) {
    close({errc::timeout, "heartbeat timeout: nothing heard for " +
                              std::to_string(duration_cast<milliseconds>(now - last_heard_).count()) +
                              " ms"});
    return;
  }
  for (lane l : {lane::control, lane::data}) {
    auto& since = above_since_[static_cast<int>(l)];
    if (!queue(l).above(opts_.high_water)) {
      since.reset();
      continue;
    }
    if (!since)
      since = now;
    else if (now - *since >= opts_.stuck_after) {
      close({errc::stuck, std::string("stuck above high-water: the ") + to_string(l) +
                              " lane stayed above " +
                              std::to_string(static_cast<int>(opts_.high_water * 100)) +
                              "% of its cap for " +
                              std::to_string(duration_cast<milliseconds>(now - *since).count()) +
                              " ms"});
      return;
    }
  }
  v1::Frame hb;
  hb.set_lane(v1::CONTROL);
  hb.mutable_heartbeat()->set_seq(++heartbeat_seq_);
  hb.mutable_heartbeat()->set_send_time_ns(monotonic_ns());
  std::vector<std::string> pieces(1);
  if (!encode_frame(hb, opts_.max_frame_bytes, pieces.back()))
    (void)control_.push(std::move(pieces));
  pump();
  arm_tick();
}

void connection_impl::close(error why) {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  closed_.store(true, std::memory_order_release);
  up_.store(false, std::memory_order_release);
  boost::system::error_code ignored;
  handshake_timer_.cancel();
  tick_timer_.cancel();
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  sock_.close(ignored);
  control_.drop_all();
  data_.drop_all();
  handshake_out_.clear();
  // Callbacks often capture handles of this connection: dropping them breaks the cycle.
  auto h = std::move(h_);
  h_ = {};
  if (h.on_closed)
    h.on_closed(handle(), why);
}

} // namespace corvid::cluster::detail
