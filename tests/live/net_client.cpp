#include "net_client.hpp"

#include <thread>

// g++ 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast's HTTP parser (as in
// live/src/http_conn.cpp); it is not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace corvid::live::test {

namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Runs one asynchronous operation on `ioc` with a deadline; cancels it (through `cancel`) on expiry.
template <class Start>
beast::error_code run_op(asio::io_context& ioc, Start start, const std::function<void()>& cancel,
                         std::chrono::milliseconds limit) {
  std::optional<beast::error_code> r;
  start([&r](beast::error_code ec, auto&&...) { r = ec; });
  ioc.restart();
  ioc.run_for(limit);
  if (!r) {
    cancel();
    ioc.restart();
    ioc.run();
    return asio::error::timed_out;
  }
  return *r;
}

tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

}  // namespace

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

http_result http_get(std::uint16_t port, const std::string& target, std::optional<std::string> host,
                     const header_list& headers, const std::string& method, const std::string& body) {
  asio::io_context ioc;
  beast::tcp_stream s{ioc};
  http_result out;
  auto cancel = [&] { s.socket().close(); };
  out.ec = run_op(ioc, [&](auto h) { s.async_connect(loopback(port), h); }, cancel, 5s);
  if (out.ec) return out;
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host ? *host : "127.0.0.1:" + std::to_string(port));
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  out.ec = run_op(ioc, [&](auto h) { http::async_write(s, req, h); }, cancel, 5s);
  if (out.ec) return out;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> res;
  res.skip(method == "HEAD");
  out.ec = run_op(ioc, [&](auto h) { http::async_read(s, buf, res, h); }, cancel, 10s);
  auto& m = res.get();
  out.status = m.result_int();
  out.body = m.body();
  out.set_cookie = std::string(m[http::field::set_cookie]);
  out.location = std::string(m[http::field::location]);
  out.challenge = std::string(m[http::field::www_authenticate]);
  out.etag = std::string(m[http::field::etag]);
  out.nosniff = std::string(m["X-Content-Type-Options"]);
  return out;
}

struct tcp_conn::impl {
  asio::io_context ioc;
  tcp::socket s{ioc};
  bool ok = false;
};

tcp_conn::tcp_conn(std::uint16_t port) : impl_(std::make_unique<impl>()) {
  beast::error_code ec;
  impl_->s.connect(loopback(port), ec);
  impl_->ok = !ec;
}
tcp_conn::~tcp_conn() = default;
tcp_conn::tcp_conn(tcp_conn&&) noexcept = default;
tcp_conn& tcp_conn::operator=(tcp_conn&&) noexcept = default;
bool tcp_conn::connected() const { return impl_->ok; }
bool tcp_conn::write(const std::string& bytes) {
  auto ec = run_op(impl_->ioc, [&](auto h) { asio::async_write(impl_->s, asio::buffer(bytes), h); },
                   [&] { impl_->s.close(); }, 5s);
  return !ec;
}
std::string tcp_conn::read_all(std::chrono::milliseconds limit) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    std::size_t n = 0;
    auto ec = run_op(impl_->ioc, [&](auto h) {
      impl_->s.async_read_some(asio::buffer(buf), [&n, h](beast::error_code e, std::size_t k) mutable {
        n = k;
        h(e);
      });
    }, [&] { impl_->s.close(); }, std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()));
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

struct raw_ws::impl {
  asio::io_context ioc;
  tcp::socket s{ioc};
  std::uint16_t port;
  std::string in;  // bytes read and not yet parsed
  bool eof = false;
};

raw_ws::raw_ws(std::uint16_t port) : impl_(std::make_unique<impl>()) { impl_->port = port; }
raw_ws::~raw_ws() = default;

unsigned raw_ws::upgrade() {
  auto& m = *impl_;
  beast::error_code ec;
  m.s.connect(loopback(m.port), ec);
  if (ec) return 0;
  m.s.set_option(tcp::no_delay(true));
  const std::string host = "127.0.0.1:" + std::to_string(m.port);
  if (!write("GET /live/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: " + host + "\r\nOrigin: http://" + host +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n"))
    return 0;
  const auto until = std::chrono::steady_clock::now() + 5s;
  std::size_t end;
  while ((end = m.in.find("\r\n\r\n")) == std::string::npos)
    if (!fill(until)) return 0;
  const std::string head = m.in.substr(0, end);
  m.in.erase(0, end + 4);
  if (head.size() < 12 || head.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return static_cast<unsigned>(std::stoul(head.substr(9, 3)));
}

bool raw_ws::write(const std::string& bytes, std::size_t pieces) {
  auto& m = *impl_;
  const std::size_t step = std::max<std::size_t>(1, (bytes.size() + pieces - 1) / std::max<std::size_t>(pieces, 1));
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    const auto piece = asio::buffer(bytes.data() + at, std::min(step, bytes.size() - at));
    if (run_op(m.ioc, [&](auto h) { asio::async_write(m.s, piece, h); }, [&] { m.s.close(); }, 5s)) return false;
  }
  return true;
}

// Reads what is there (waiting until `until`); false at the end of the connection or the deadline.
bool raw_ws::fill(std::chrono::steady_clock::time_point until) {
  auto& m = *impl_;
  if (m.eof) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  char buf[4096];
  std::size_t n = 0;
  auto ec = run_op(m.ioc, [&](auto h) {
    m.s.async_read_some(asio::buffer(buf), [&n, h](beast::error_code e, std::size_t k) mutable {
      n = k;
      h(e);
    });
  }, [&] { m.s.cancel(); }, left);
  m.in.append(buf, n);
  if (ec && ec != asio::error::timed_out) m.eof = true;
  return !ec;
}

std::optional<raw_ws::frame> raw_ws::read_frame(std::chrono::milliseconds limit) {
  auto& m = *impl_;
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (m.in.size() >= 2) {
      const auto b = [&](std::size_t i) { return static_cast<unsigned char>(m.in[i]); };
      std::uint64_t len = b(1) & 0x7f;
      std::size_t pos = 2;
      if (len == 126 && m.in.size() >= 4) {
        len = (std::uint64_t{b(2)} << 8) | b(3);
        pos = 4;
      } else if (len == 127 && m.in.size() >= 10) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
        pos = 10;
      }
      if ((b(1) & 0x7f) < 126 || pos > 2) {
        if (m.in.size() >= pos + len) {
          frame f{b(0) & 0x0fu, m.in.substr(pos, len)};
          m.in.erase(0, pos + len);
          return f;
        }
      }
    }
    if (!fill(until)) return std::nullopt;
  }
}

unsigned raw_ws::frame::close_code() const {
  if (opcode != 8) return 0;
  if (payload.size() < 2) return 1005;
  return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

unsigned raw_ws::read_until_close(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (auto f = read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now())))
    if (f->opcode == 8) return f->close_code();
  return 0;
}

bool raw_ws::closed_by_server(std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (fill(until)) impl_->in.clear();
  return impl_->eof;
}

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buf;
  void cancel() { beast::get_lowest_layer(ws).socket().close(); }
};

ws_client::ws_client(std::uint16_t p) : port(p), impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() = default;

void ws_client::cancel() { impl_->cancel(); }

std::error_code ws_client::connect(std::optional<std::string> origin, std::optional<std::string> host_header,
                                   const header_list& headers) {
  auto& m = *impl_;
  auto ec = run_op(m.ioc, [&](auto h) { beast::get_lowest_layer(m.ws).async_connect(loopback(port), h); },
                   [&] { m.cancel(); }, 5s);
  if (ec) return ec;
  std::string host = host_header ? *host_header : "127.0.0.1:" + std::to_string(port);
  m.ws.set_option(websocket::stream_base::decorator([origin, host, c = cookie, headers](websocket::request_type& r) {
    r.set(http::field::origin, origin ? *origin : "http://" + host);
    if (!c.empty()) r.set(http::field::cookie, c);
    for (auto& [k, v] : headers) r.set(k, v);
  }));
  m.ws.read_message_max(16 << 20);
  websocket::response_type res;
  ec = run_op(m.ioc, [&](auto h) { m.ws.async_handshake(res, host, "/live/websocket?vsn=2.0.0", h); },
              [&] { m.cancel(); }, 5s);
  refused_status = res.result_int();
  return ec;
}

std::error_code ws_client::send(const std::string& text, bool binary) {
  auto& m = *impl_;
  m.ws.binary(binary);
  return run_op(m.ioc, [&](auto h) { m.ws.async_write(asio::buffer(text), h); }, [&] { m.cancel(); }, 5s);
}

std::optional<std::string> ws_client::read(std::chrono::milliseconds limit) {
  auto& m = *impl_;
  m.buf.consume(m.buf.size());
  auto ec = run_op(m.ioc, [&](auto h) { m.ws.async_read(m.buf, h); }, [&] { m.cancel(); }, limit);
  if (ec) return std::nullopt;
  return beast::buffers_to_string(m.buf.data());
}

std::optional<json::array> ws_client::read_json(std::chrono::milliseconds limit) {
  auto t = read(limit);
  if (!t) return std::nullopt;
  return json::parse(*t).as_array();
}

unsigned ws_client::wait_close(std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end)
    if (!read(limit)) break;
  return close_code();
}

unsigned ws_client::close_code() const { return impl_->ws.reason().code; }

json::array ws_client::join(const page_tokens& p, const std::string& csrf_override, const std::string& session_override) {
  return join_as(p.id, csrf_override.empty() ? p.csrf : csrf_override, session_override.empty() ? p.session : session_override);
}

json::array ws_client::join_as(const std::string& id, const std::string& csrf, const std::string& session,
                               const std::string& static_token) {
  json::object payload{{"url", "http://127.0.0.1:" + std::to_string(port) + "/"},
                       {"params", json::object{{"_csrf_token", csrf}}},
                       {"session", session},
                       {"static", nullptr}};
  if (!static_token.empty()) payload["static"] = static_token;
  if (send(json::serialize(json::array{"4", "4", "lv:" + id, "phx_join", payload}))) return {};
  auto r = read_json();
  return r ? *r : json::array{};
}

std::string ws_client::click_frame(const page_tokens& p, const std::string& ev) {
  json::object payload{{"type", "click"}, {"event", ev}, {"value", json::object{}}};
  return json::serialize(json::array{"4", std::to_string(++ref), "lv:" + p.id, "event", payload});
}

}  // namespace corvid::live::test
