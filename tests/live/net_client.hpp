// Synchronous HTTP and websocket clients for the server tests, every step with a deadline. Beast
// lives in net_client.cpp only: the test files stay cheap to compile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>

namespace corvid::live::test {

using namespace std::chrono_literals;

/// Polls `pred` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s);

struct http_result {
  std::error_code ec;
  unsigned status = 0;
  std::string body, set_cookie, location, challenge, etag, nosniff;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// GET (or `method`) on 127.0.0.1:port; `host`: the Host header (default 127.0.0.1:port).
http_result http_get(std::uint16_t port, const std::string& target, std::optional<std::string> host = std::nullopt,
                     const header_list& headers = {}, const std::string& method = "GET", const std::string& body = {});
/// POST `body` to 127.0.0.1:port.
inline http_result http_post(std::uint16_t port, const std::string& target, const std::string& body,
                             const header_list& headers = {}) {
  return http_get(port, target, std::nullopt, headers, "POST", body);
}

/// A plain TCP connection held open (counts against the server's connection limits).
class tcp_conn {
 public:
  explicit tcp_conn(std::uint16_t port);
  ~tcp_conn();
  tcp_conn(tcp_conn&&) noexcept;
  tcp_conn& operator=(tcp_conn&&) noexcept;
  bool connected() const;
  /// Sends raw bytes; false on error.
  bool write(const std::string& bytes);
  /// Reads until the peer closes or `limit` passes; what arrived.
  std::string read_all(std::chrono::milliseconds limit = 10s);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A websocket client that writes raw bytes after the upgrade (tests/live/client_frames.hpp makes
/// frames) and reads the server's frames one by one.
class raw_ws {
 public:
  explicit raw_ws(std::uint16_t port);
  ~raw_ws();
  /// Connects and upgrades to /live/websocket; the HTTP status of the answer (101 on success).
  unsigned upgrade();
  /// Sends bytes, in as many TCP segments as `pieces` cuts them into (1: one write).
  bool write(const std::string& bytes, std::size_t pieces = 1);
  struct frame {
    unsigned opcode = 0;
    std::string payload;
    /// A close frame's code (0: not a close frame, 1005: a close frame without one).
    unsigned close_code() const;
  };
  /// The next frame the server sends; nullopt if the connection ended or `limit` passed.
  std::optional<frame> read_frame(std::chrono::milliseconds limit = 10s);
  /// Reads until a close frame and returns its code (0: none came before the end or `limit`).
  unsigned read_until_close(std::chrono::milliseconds limit = 10s);
  /// True once the server has closed the TCP connection (frames before the end are skipped).
  bool closed_by_server(std::chrono::milliseconds limit = 10s);

 private:
  bool fill(std::chrono::steady_clock::time_point until);
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// What a page gives the client for its join.
struct page_tokens {
  std::string session, csrf, id;
};

/// A websocket client driven synchronously, each step with a deadline.
class ws_client {
 public:
  explicit ws_client(std::uint16_t port);
  ~ws_client();

  /// `origin`/`host`: the Origin and Host headers (default http://127.0.0.1:port and 127.0.0.1:port).
  std::error_code connect(std::optional<std::string> origin = std::nullopt,
                          std::optional<std::string> host_header = std::nullopt, const header_list& headers = {});
  std::error_code send(const std::string& text, bool binary = false);
  /// The next text frame, or nullopt (closed, error, timeout).
  std::optional<std::string> read(std::chrono::milliseconds limit = 10s);
  std::optional<boost::json::array> read_json(std::chrono::milliseconds limit = 10s);
  /// Reads until the server closes; the close code (0 if the connection just dropped or timed out).
  unsigned wait_close(std::chrono::milliseconds limit = 10s);
  /// The close code the server sent (0 = none yet).
  unsigned close_code() const;
  /// Closes the socket at once, without a close handshake (an abrupt drop).
  void cancel();

  boost::json::array join(const page_tokens& p, const std::string& csrf_override = "",
                          const std::string& session_override = "");
  /// `static_token`: the container's data-phx-static ("" = null).
  boost::json::array join_as(const std::string& id, const std::string& csrf, const std::string& session,
                             const std::string& static_token = "");
  std::string click_frame(const page_tokens& p, const std::string& ev = "inc");

  std::uint16_t port;
  unsigned refused_status = 0;  ///< the HTTP status of a refused upgrade
  std::string cookie;           ///< a Cookie header for the upgrade ("" = none)
  int ref = 10;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace corvid::live::test
