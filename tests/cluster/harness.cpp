#include "harness.hpp"

#include <fstream>

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "framing.hpp"

namespace cluster_test {

raw_client::raw_client(uint16_t port, std::chrono::milliseconds recv_timeout) : sock_(io_) {
  sock_.connect(loopback(port));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
  ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

bool raw_client::write(const std::string& bytes) {
  boost::system::error_code ec;
  asio::write(sock_, asio::buffer(bytes), ec);
  return !ec;
}

std::optional<corvid::cluster::v1::Frame> raw_client::read_frame() {
  boost::system::error_code ec;
  unsigned char h[4];
  asio::read(sock_, asio::buffer(h), ec);
  if (ec)
    return std::nullopt;
  const size_t n = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
  if (n == 0 || n > (1u << 20))
    return std::nullopt;
  std::string body(n, '\0');
  asio::read(sock_, asio::buffer(body), ec);
  corvid::cluster::v1::Frame f;
  if (ec || !f.ParseFromString(body))
    return std::nullopt;
  return f;
}

bool raw_client::closed_by_peer() {
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    sock_.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      return true;
    if (ec)
      return false;  // timeout (EAGAIN) or another failure
  }
}

std::string wire(const corvid::cluster::v1::Frame& f) {
  std::string out;
  if (auto e = corvid::cluster::detail::encode_frame(f, 1u << 30, out))
    return {};
  return out;
}

} // namespace cluster_test
