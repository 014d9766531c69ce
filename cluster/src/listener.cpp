#include "corvid/cluster/listener.hpp"

#include <boost/asio/post.hpp>

#include "connection_impl.hpp"
#include "tls_context.hpp"

namespace corvid::cluster {

namespace asio = boost::asio;

namespace detail {

class listener_impl : public std::enable_shared_from_this<listener_impl> {
public:
  listener_impl(asio::io_context& io, options opts, handlers h,
                std::shared_ptr<asio::ssl::context> tls)
    : io_(io), strand_(asio::make_strand(io)), acceptor_(strand_), opts_(std::move(opts)),
      h_(std::move(h)), tls_(std::move(tls)) {}

  error open(const asio::ip::tcp::endpoint& at) {
    boost::system::error_code ec;
    acceptor_.open(at.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(at, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return {errc::io, "cannot listen on " + at.address().to_string() + ":" +
                            std::to_string(at.port()) + ": " + ec.message()};
    port_ = acceptor_.local_endpoint(ec).port();
    // "host:0" announced in every Hello would be useless to peers: name the bound port.
    auto& la = opts_.listen_address;
    if (la.size() >= 2 && la.compare(la.size() - 2, 2, ":0") == 0)
      la = la.substr(0, la.size() - 1) + std::to_string(port_);
    return {};
  }

  void accept() {
    acceptor_.async_accept(io_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                            asio::ip::tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open())
        return;
      if (!ec) {
        auto c = std::make_shared<connection_impl>(self->io_, std::move(s),
                                                   connection_impl::role::acceptor, self->opts_,
                                                   self->h_, self->tls_);
        c->start_accept();
      }
      self->accept();
    });
  }

  void close() {
    asio::post(strand_, [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

  uint16_t port() const noexcept { return port_; }

private:
  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::acceptor acceptor_;
  options opts_;  // listen_address completed by open(), then read-only
  const handlers h_;
  // One context serves every accepted connection.
  const std::shared_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;
};

} // namespace detail

result<listener> listener::open(asio::io_context& io, const asio::ip::tcp::endpoint& at,
                                options opts, handlers h) {
  if (auto e = validate(opts))
    return e;
  auto tls = detail::make_tls_context(opts.tls);
  if (!tls)
    return tls.err();
  auto p = std::make_shared<detail::listener_impl>(io, std::move(opts), std::move(h),
                                                   std::move(tls.value()));
  if (auto e = p->open(at))
    return e;
  p->accept();
  return listener{std::move(p)};
}

uint16_t listener::port() const { return p_->port(); }
void listener::close() const { p_->close(); }

} // namespace corvid::cluster
