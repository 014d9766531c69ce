#include "stats_http.hpp"

#include <istream>
#include <thread>

#include <boost/asio.hpp>

namespace convention {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_request = 8 * 1024;
constexpr auto request_deadline = std::chrono::seconds(5);

// One request, one answer, then the connection closes.
struct exchange : std::enable_shared_from_this<exchange> {
  tcp::socket sock;
  asio::steady_timer deadline;
  asio::streambuf in{max_request};
  std::string out;
  const std::function<std::string()>& body;

  exchange(tcp::socket s, const std::function<std::string()>& b)
      : sock(std::move(s)), deadline(sock.get_executor()), body(b) {}

  void run() {
    auto self = shared_from_this();
    deadline.expires_after(request_deadline);
    deadline.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->sock.close();  // a client that never finishes its request
    });
    asio::async_read_until(sock, in, "\r\n\r\n", [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->finish();
      std::istream is(&self->in);
      std::string method, target;
      is >> method >> target;
      self->answer(method, target.substr(0, target.find('?')));
    });
  }

  void answer(const std::string& method, const std::string& path) {
    std::string status = "200 OK", type = "application/json", content;
    if (method != "GET") status = "405 Method Not Allowed", type = "text/plain", content = "GET only\n";
    else if (path != "/convention/stats") status = "404 Not Found", type = "text/plain", content = "try /convention/stats\n";
    else content = body() + "\n";
    out = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(content.size()) +
          "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + content;
    auto self = shared_from_this();
    asio::async_write(sock, asio::buffer(out), [self](boost::system::error_code, std::size_t) { self->finish(); });
  }

  void finish() {
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    deadline.cancel();
  }
};

}  // namespace

struct stats_listener::impl {
  std::function<std::string()> body;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::uint16_t port = 0;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<exchange>(std::move(s), body)->run();
      accept();
    });
  }
};

stats_listener::stats_listener(std::function<std::string()> body) : impl_(std::make_unique<impl>()) {
  impl_->body = std::move(body);
}

stats_listener::~stats_listener() { stop(); }

std::string stats_listener::start(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return "stats listener: bad address " + host;
  tcp::endpoint ep{addr, port};
  auto& a = impl_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return "stats listener: " + ec.message();
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (a.bind(ep, ec); ec) return "stats listener: cannot bind " + host + ":" + std::to_string(port) + ": " + ec.message();
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return "stats listener: " + ec.message();
  impl_->port = a.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
  return "";
}

std::uint16_t stats_listener::port() const noexcept { return impl_->port; }

void stats_listener::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace convention
