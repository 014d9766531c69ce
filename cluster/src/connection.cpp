#include "corvid/cluster/connection.hpp"

#include <boost/asio/post.hpp>

#include "connection_impl.hpp"
#include "tls_context.hpp"

namespace corvid::cluster {

namespace asio = boost::asio;

result<connection> connection::dial(asio::io_context& io, const asio::ip::tcp::endpoint& to,
                                    options opts, handlers h) {
  if (auto e = validate(opts))
    return e;
  auto tls = detail::make_tls_context(opts.tls);
  if (!tls)
    return tls.err();
  auto p = std::make_shared<detail::connection_impl>(io, asio::ip::tcp::socket(io),
                                                     detail::connection_impl::role::dialer,
                                                     std::move(opts), std::move(h),
                                                     std::move(tls.value()));
  p->start_dial(to);
  return connection{std::move(p)};
}

error connection::send(lane l, v1::Frame f) const { return p_->send(l, std::move(f)); }
void connection::close() const { p_->close_from_any_thread({errc::closed, "closed locally"}); }
bool connection::is_up() const { return p_->is_up(); }
std::optional<peer_info> connection::peer() const { return p_->peer(); }
lane_stats connection::stats(lane l) const { return p_->stats(l); }
std::optional<std::chrono::nanoseconds> connection::last_round_trip() const {
  return p_->last_round_trip();
}

namespace detail {

connection_impl::connection_impl(asio::io_context& io, asio::ip::tcp::socket sock, role r,
                                 options opts, handlers h, std::shared_ptr<asio::ssl::context> tls)
  : strand_(asio::make_strand(io)), sock_(std::move(sock)), tls_ctx_(std::move(tls)),
    handshake_timer_(io),
    tick_timer_(io), role_(r), opts_(std::move(opts)), h_(std::move(h)),
    reassembler_(opts_.max_message_bytes), scratch_(16 * 1024),
    control_(lane::control, opts_.control), data_(lane::data, opts_.data) {}

std::optional<peer_info> connection_impl::peer() const {
  std::lock_guard lk(peer_mu_);
  return peer_;
}

std::optional<std::chrono::nanoseconds> connection_impl::last_round_trip() const {
  const auto ns = rtt_ns_.load(std::memory_order_relaxed);
  if (ns < 0)
    return std::nullopt;
  return std::chrono::nanoseconds(ns);
}

error connection_impl::send(lane l, v1::Frame f) {
  if (closed_.load(std::memory_order_acquire))
    return {errc::not_connected, "connection closed"};
  if (f.body_case() == v1::Frame::BODY_NOT_SET)
    return {errc::invalid_argument, "frame without a body"};
  if (f.body_case() <= v1::Frame::kRefuse || f.has_chunk())
    return {errc::invalid_argument, "handshake and chunk frames are the transport's own"};
  f.set_lane(l == lane::control ? v1::CONTROL : v1::DATA);
  std::vector<std::string> pieces;
  if (l == lane::data) {
    if (auto e = encode_data_message(f, opts_.chunk_bytes, opts_.max_frame_bytes,
                                     opts_.max_message_bytes, pieces))
      return e;
  } else {
    pieces.emplace_back();
    if (auto e = encode_frame(f, opts_.max_frame_bytes, pieces.back()))
      return e;
  }
  if (auto e = queue(l).push(std::move(pieces)))
    return e;
  // close() sets closed_ before dropping the queues: a push that raced past the first
  // check is either dropped there or caught here, so nothing sits in a dead queue.
  if (closed_.load(std::memory_order_acquire)) {
    queue(l).drop_all();
    return {errc::not_connected, "connection closed"};
  }
  if (direct_write_ok())
    write_now();
  else
    kick();
  return {};
}

void connection_impl::close_from_any_thread(error why) {
  asio::post(strand_, [self = shared_from_this(), why = std::move(why)]() mutable {
    self->close(std::move(why));
  });
}

} // namespace detail
} // namespace corvid::cluster
