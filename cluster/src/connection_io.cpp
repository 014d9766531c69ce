// Socket reading and writing, timers and closing of a connection. The writer takes control
// frames before data frames on every write, and data in chunk-sized bites, so a heartbeat
// waits behind at most one chunk. On plain TCP the sending thread writes itself when no
// write is in flight; the strand takes over whatever the socket cannot take at once.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <iterator>

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
  read_since_send_.store(true, std::memory_order_relaxed);
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

// write_mu_ held, writing_ false: the next bites into in_flight_, handshake frames first,
// then control, then at most one chunk's worth of data.
void connection_impl::take_round(bool lanes) {
  in_flight_.clear();
  in_flight_off_ = 0;
  for (auto& b : handshake_out_)
    in_flight_.push_back(std::move(b));
  handshake_out_.clear();
  if (lanes) {
    control_.take(in_flight_, control_budget);
    data_.take(in_flight_, opts_.chunk_bytes);
  }
}

// Plain TCP, up, and not in the middle of a stream (see write_gap_ns).
bool connection_impl::direct_write_ok() {
  if (tls_ctx_ || !up_.load(std::memory_order_acquire))
    return false;
  const auto now = static_cast<int64_t>(monotonic_ns());
  const auto prev = last_send_ns_.exchange(now, std::memory_order_relaxed);
  const bool answered = read_since_send_.exchange(false, std::memory_order_relaxed);
  return (answered || now - prev >= send_gap_ns) &&
         now - last_write_end_ns_.load(std::memory_order_relaxed) >= write_gap_ns;
}

// Any thread, plain TCP, up: writes what waits without blocking. What the socket does not
// take at once is left to the strand, as is data beyond this round's one chunk (so a caller
// sending megabytes does not write them all, and control frames queued meanwhile overtake).
void connection_impl::write_now() {
  std::unique_lock lk(write_mu_);
  // A write in flight takes the queued frames when it completes; a closed connection has
  // dropped them.
  if (writing_ || closed_.load(std::memory_order_acquire))
    return;
  take_round(true);
  if (in_flight_.empty())
    return;
  boost::system::error_code ec;
  if (write_in_flight_now(ec)) {
    last_write_end_ns_.store(static_cast<int64_t>(monotonic_ns()), std::memory_order_relaxed);
    in_flight_.clear();
    lk.unlock();
    if (control_.waiting() || data_.waiting())
      kick();
    return;
  }
  writing_ = true;  // the strand owns the rest (or the connection is failing)
  lk.unlock();
  if (ec) {
    close_from_any_thread({errc::io, "write failed: " + ec.message()});
    return;
  }
  asio::post(strand_, [self = shared_from_this()] {
    if (self->phase_ != phase::closed)
      self->start_async_write();
  });
}

// write_mu_ held: writes in_flight_ (from in_flight_off_) with non-blocking sendmsg calls.
// True once all is written; false with `ec` clear when the socket's buffer is full
// (in_flight_ and in_flight_off_ then hold the rest), false with `ec` set on an error.
bool connection_impl::write_in_flight_now(boost::system::error_code& ec) {
  const int fd = sock_.native_handle();
  size_t first = 0;
  while (first < in_flight_.size()) {
    iovec iov[64];
    size_t n = 0;
    for (size_t i = first; i < in_flight_.size() && n < std::size(iov); ++i, ++n) {
      const size_t off = i == first ? in_flight_off_ : 0;
      iov[n].iov_base = in_flight_[i].data() + off;
      iov[n].iov_len = in_flight_[i].size() - off;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    const ssize_t w = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        ec.assign(errno, boost::system::system_category());
      break;
    }
    auto left = static_cast<size_t>(w);
    while (left > 0) {
      const size_t rest = in_flight_[first].size() - in_flight_off_;
      if (left < rest) {
        in_flight_off_ += left;
        break;
      }
      left -= rest;
      in_flight_off_ = 0;
      ++first;
    }
  }
  in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(first));
  return in_flight_.empty();
}

// Strand: the one writer, from the queues. TLS writes only here.
void connection_impl::pump() {
  if (phase_ == phase::closed)
    return;
  bool mine = false;
  {
    std::lock_guard lk(write_mu_);
    if (writing_)
      return;
    take_round(phase_ == phase::up);
    mine = writing_ = !in_flight_.empty();
  }
  // (writing_ itself may belong to a caller's write by now.)
  if (!mine) {
    if (phase_ == phase::closing)
      close(std::move(closing_reason_));
    return;
  }
  start_async_write();
}

// Strand, writing_ set: in_flight_ is this write's until on_written.
void connection_impl::start_async_write() {
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(in_flight_.size());
  for (size_t i = 0; i < in_flight_.size(); ++i)
    bufs.emplace_back(asio::buffer(in_flight_[i]) + (i == 0 ? in_flight_off_ : 0));
  auto done = asio::bind_executor(strand_, [self = shared_from_this()](
                                               const boost::system::error_code& ec, size_t) {
    self->on_written(ec);
  });
  if (tls_)
    asio::async_write(*tls_, bufs, std::move(done));
  else
    asio::async_write(sock_, bufs, std::move(done));
}

void connection_impl::on_written(const boost::system::error_code& ec) {
  {
    std::lock_guard lk(write_mu_);
    writing_ = false;
    in_flight_.clear();
  }
  last_write_end_ns_.store(static_cast<int64_t>(monotonic_ns()), std::memory_order_relaxed);
  if (phase_ == phase::closed)
    return;
  if (ec) {
    close({errc::io, "write failed: " + ec.message()});
    return;
  }
  pump();
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
  {
    // Not while a caller writes to the descriptor (it could be reused once closed).
    std::lock_guard lk(write_mu_);
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
    handshake_out_.clear();
  }
  control_.drop_all();
  data_.drop_all();
  // Callbacks often capture handles of this connection: dropping them breaks the cycle.
  auto h = std::move(h_);
  h_ = {};
  if (h.on_closed)
    h.on_closed(handle(), why);
}

} // namespace corvid::cluster::detail
