// Plain HTTP: dead renders, the JS client, static files, /metrics; websocket upgrades are handed to
// ws_conn.cpp after the Host, Origin and per-client checks.

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <fstream>
#include <linux/openat2.h>
#include <sstream>

// g++ 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast's HTTP parser
// (boost::optional in basic_parser::do_field), inlined into this file; it is not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "corvid/live/log.hpp"
#include "flash_token.hpp"
#include "longpoll.hpp"
#include "server_impl.hpp"

#ifndef CORVID_LIVE_ASSETS_DIR
#define CORVID_LIVE_ASSETS_DIR "live/assets"
#endif

namespace corvid::live {

namespace {

constexpr std::string_view longpoll_path = "/live/longpoll";

// The value of `name` in the query of `target` ("" if absent); long-poll tokens are base64url, never escaped.
std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return {};
}

// What an auth hook or session_values sees of a request (views into `req`, valid while it lives).
auth_request auth_request_of(const http::request<http::string_body>& req, std::string_view path) {
  std::string_view target = req.target();
  auto q = target.find('?');
  return auth_request{path, q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                      req[http::field::authorization], req[http::field::cookie], false};
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view mime_of(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

template <class Body>
void common_headers(http::response<Body>& res, std::string_view mime) {
  res.set(http::field::server, "corvid");
  res.set(http::field::content_type, mime);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");  // a static .txt must never run as a script
}

http::response<http::string_body> text_reply(const http::request<http::string_body>& req, http::status st,
                                             std::string_view mime, std::string body) {
  http::response<http::string_body> res{st, req.version()};
  common_headers(res, mime);
  res.keep_alive(req.keep_alive());
  const auto size = body.size();
  if (req.method() != http::verb::head) res.body() = std::move(body);
  res.prepare_payload();
  if (req.method() == http::verb::head) res.content_length(size);
  return res;
}

// Opens `rel` below the directory `root` without leaving it: no "..", no symlink out, no magic links
// (openat2 RESOLVE_BENEATH). Non-blocking, so a FIFO cannot stall the I/O thread. -1 with errno set.
int open_beneath(int root, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

// A validator that changes when the file does: size and modification time.
std::string etag_of(const struct stat& st) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "W/\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1'000'000'000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  return buf;
}

// A file under static_dir, streamed from disk by Beast a piece at a time (never read whole), with an
// ETag; 404 for anything that is not a regular file inside the folder.
http::message_generator serve_static(int root, std::string_view rel_path, const http::request<http::string_body>& req) {
  auto not_found = [&] { return text_reply(req, http::status::not_found, "text/plain", "not found\n"); };
  auto rel = std::filesystem::path(std::string(rel_path)).lexically_normal();
  if (rel.empty() || !rel.is_relative() || *rel.begin() == "..") return not_found();
  int fd = open_beneath(root, rel.string());
  if (fd < 0) return not_found();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {  // directories, FIFOs, devices
    ::close(fd);
    return not_found();
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const auto etag = etag_of(st);
  const auto mime = mime_of(rel);
  if (auto inm = req[http::field::if_none_match]; !inm.empty() && inm.find(etag) != std::string_view::npos) {
    ::close(fd);
    http::response<http::empty_body> res{http::status::not_modified, req.version()};
    common_headers(res, mime);
    res.set(http::field::etag, etag);
    res.keep_alive(req.keep_alive());
    return res;
  }
  http::file_body::value_type body;
  beast::file f;
  f.native_handle(fd);  // owned by the body from here
  beast::error_code ec;
  body.reset(std::move(f), ec);
  if (ec) return not_found();
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, req.version())};
  common_headers(res, mime);
  res.set(http::field::etag, etag);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) {  // the headers only: drop the file
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.base() = res.base();
    return head;
  }
  return res;
}

// The address an upgrade is counted against: the peer's, or for a trusted proxy the last
// X-Forwarded-For entry (the one that proxy added). "" = not counted.
std::string client_of(const server::impl& srv, const asio::ip::address& peer, std::string_view forwarded) {
  if (srv.is_proxy(peer)) {
    auto comma = forwarded.rfind(',');
    auto last = comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
    while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
    beast::error_code ec;
    auto a = asio::ip::make_address(std::string(last), ec);
    return ec ? std::string("proxy:unknown") : a.to_string();
  }
  return peer.is_loopback() ? std::string{} : peer.to_string();
}

class http_conn : public std::enable_shared_from_this<http_conn> {
 public:
  http_conn(server::impl& srv, tcp::socket&& s, detail::conn_slot slot, bool refuse)
      : srv_(srv), stream_(std::move(s)), slot_(std::move(slot)), refuse_(refuse) {}
  ~http_conn() {
    if (refuse_) srv_.refusing.fetch_sub(1);
  }
  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    // Beast would check a Content-Length against the limit while it parses the header, and fail the
    // read without a word: none here, each request's own in on_header, answered 413.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(std::chrono::seconds(refuse_ ? 5 : 30));
    http::async_read_header(stream_, buf_, *parser_,
                            beast::bind_front_handler(&http_conn::on_header, shared_from_this()));
  }

  // Only long-poll POSTs carry frames (a batch of up to 100): their body may be larger than 8 KiB.
  void on_header(beast::error_code ec, std::size_t n) {
    if (ec) return on_read(ec, n);
    auto& h = parser_->get();
    std::string_view target = h.target();
    const bool frames = h.method() == http::verb::post && target.substr(0, target.find('?')) == longpoll_path;
    const std::uint64_t limit = frames ? longpoll_body_limit() : 8 * 1024;
    if (auto cl = parser_->content_length(); cl && *cl > limit) {
      http::request<http::string_body> req{h.method(), h.target(), h.version()};
      return refuse(req, http::status::payload_too_large, "request body too large\n");
    }
    parser_->body_limit(limit);  // a chunked body is counted as it comes
    http::async_read(stream_, buf_, *parser_, beast::bind_front_handler(&http_conn::on_read, shared_from_this()));
  }

  std::uint64_t longpoll_body_limit() const {
    const std::uint64_t frame = srv_.opts.channel.limits.max_bytes;
    return std::min<std::uint64_t>(frame / 3 * 4 * 4 + 64 * 1024, 64u << 20);  // four frames, base64 for chunks
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto req = parser_->release();
    if (refuse_) return refuse(req, http::status::service_unavailable, "too many connections\n");
    if (!srv_.hosts->allows(req[http::field::host])) {  // DNS rebinding: a foreign name resolving to us
      srv_.metrics.reject(rejection::host);
      log(log_kind::client, "request for host " + log_escape(req[http::field::host], 96) + " refused (400)");
      return refuse(req, http::status::bad_request, "host not allowed\n");
    }
    if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
    std::string_view target = req.target();
    auto path = target.substr(0, target.find('?'));
    if (path == longpoll_path && srv_.longpolls) return longpoll(std::move(req));
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return write(text_reply(req, http::status::method_not_allowed, "text/plain", "method not allowed\n"));
    std::string set_cookie;
    if (auto denial = authorize(req, path, set_cookie)) return write(std::move(*denial));
    auto with_cookie = [&](auto res) {
      if (!set_cookie.empty()) res.set(http::field::set_cookie, set_cookie);
      return res;
    };
    if (!srv_.opts.metrics_path.empty() && path == srv_.opts.metrics_path) {
      // every process is walked: off the I/O thread, then back to this connection's strand
      auto req_ptr = std::make_shared<http::request<http::string_body>>(std::move(req));
      asio::post(*srv_.offload, [self = shared_from_this(), req_ptr, set_cookie] {
        auto text = self->srv_.metrics_text();
        asio::post(self->stream_.get_executor(), [self, req_ptr, set_cookie, text = std::move(text)]() mutable {
          auto res = text_reply(*req_ptr, http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
          if (!set_cookie.empty()) res.set(http::field::set_cookie, set_cookie);
          self->write(std::move(res));
        });
      });
      return;
    }
    if (auto a = srv_.assets.find(path); a != srv_.assets.end())
      return write(text_reply(req, http::status::ok, a->second.first, a->second.second));
    if (path.rfind("/static/", 0) == 0) {
      if (srv_.static_root < 0) return write(text_reply(req, http::status::not_found, "text/plain", "not found\n"));
      return write(serve_static(srv_.static_root, path.substr(8), req));
    }
    // a full redirect's flash: shown by this render, handed on to the join, and the cookie deleted
    auto flash = cookie_of(req[http::field::cookie], detail::flash_cookie).value_or(std::string_view{});
    params values;
    if (srv_.opts.session_values) {
      values = srv_.opts.session_values(auth_request_of(req, path));
    }
    auto page = render_page(srv_.routes, *srv_.sessions, *srv_.csrf, target, srv_.opts.page, srv_.flash.get(), flash,
                            std::move(values));
    if (page && !page->redirect_to.empty()) {  // an on_mount hook sent the browser elsewhere
      const auto& to = page->redirect_to;
      if (std::any_of(to.begin(), to.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        log(log_kind::view, "an on_mount hook redirected to a location with control characters: refused");
        return write(text_reply(req, http::status::internal_server_error, "text/plain", "internal server error\n"));
      }
      auto res = text_reply(req, http::status::found, "text/plain", "");
      res.set(http::field::location, to);
      return write(std::move(res));
    }
    if (page) {
      auto res = with_cookie(text_reply(req, http::status::ok, "text/html; charset=utf-8", std::move(page->html)));
      if (!flash.empty()) res.insert(http::field::set_cookie, std::string(detail::flash_cookie) + "=; Max-Age=0; Path=/");
      return write(std::move(res));
    }
    if (page.error().code == errc::not_found || page.error().code == errc::bad_encoding)
      return write(text_reply(req, http::status::not_found, "text/plain", "not found\n"));
    if (page.error().code == errc::forbidden) {
      srv_.metrics.reject(rejection::auth);
      return write(text_reply(req, http::status::forbidden, "text/plain", "forbidden\n"));
    }
    log(log_kind::view, page.error().message);
    write(text_reply(req, http::status::internal_server_error, "text/plain", "internal server error\n"));
  }

  // The protect() hook of `path`: a 401 or a redirect to send instead, or nothing (set_cookie filled).
  std::optional<http::response<http::string_body>> authorize(const http::request<http::string_body>& req,
                                                              std::string_view path, std::string& set_cookie) {
    auto* hook = srv_.guard_of(path);
    if (!hook) return std::nullopt;
    auto d = (*hook)(auth_request_of(req, path));
    if (d.outcome == auth_decision::kind::deny) {
      srv_.metrics.reject(rejection::auth);
      log(log_kind::client, "request for " + log_escape(path, 96) + " without valid credentials refused (401)");
      auto res = text_reply(req, http::status::unauthorized, "text/plain", "authentication required\n");
      if (!d.challenge.empty()) res.set(http::field::www_authenticate, d.challenge);
      return res;
    }
    if (d.outcome == auth_decision::kind::redirect) {
      auto res = text_reply(req, http::status::see_other, "text/plain", "");
      res.set(http::field::location, d.location);
      if (!d.set_cookie.empty()) res.set(http::field::set_cookie, d.set_cookie);
      return res;
    }
    set_cookie = std::move(d.set_cookie);
    return std::nullopt;
  }

  void refuse(const http::request<http::string_body>& req, http::status st, std::string why) {
    auto res = text_reply(req, st, "text/plain", std::move(why));
    if (st == http::status::service_unavailable) res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    write(std::move(res));
  }

  void upgrade(http::request<http::string_body> req) {
    std::string_view target = req.target();
    auto path = target.substr(0, target.find('?'));
    if (path != "/live/websocket") return refuse(req, http::status::not_found, "no websocket here\n");
    if (srv_.opts.check_origin &&
        !detail::origin_allowed(req[http::field::origin], req[http::field::host], srv_.opts.allowed_origins)) {
      srv_.metrics.reject(rejection::origin);
      log(log_kind::client, "websocket upgrade from origin " + log_escape(req[http::field::origin], 96) + " refused (403)");
      return refuse(req, http::status::forbidden, "origin not allowed\n");
    }
    if (srv_.opts.max_connections_per_client > 0 && !slot_.charged()) {  // a client behind a trusted proxy
      beast::error_code ec;
      auto peer = stream_.socket().remote_endpoint(ec);
      auto client = ec ? std::string{} : client_of(srv_, peer.address(), req["X-Forwarded-For"]);
      if (!client.empty() && !slot_.charge(srv_.clients, client, srv_.opts.max_connections_per_client)) {
        srv_.metrics.reject(rejection::per_client);
        log(log_kind::client, "over max_connections_per_client for " + log_escape(client, 64) + ": HTTP 503");
        return refuse(req, http::status::service_unavailable, "too many connections from this client\n");
      }
    }
    std::vector<std::string> denied;
    for (auto& [prefix, hook] : srv_.guards) {
      auth_request ar{path, {}, req[http::field::authorization], req[http::field::cookie], true};
      if (hook(ar).outcome != auth_decision::kind::allow) denied.push_back(prefix);
    }
    {
      std::lock_guard<std::mutex> g{srv_.mtx};
      if (srv_.stop_requested || srv_.stopped) return refuse(req, http::status::service_unavailable, "stopping\n");
    }
    stream_.expires_never();
    detail::open_websocket(srv_, stream_.release_socket(), std::move(slot_), std::move(req), std::move(denied));
  }

  // The long-poll transport (longpoll.hpp): its answers are HTTP 200 with the status in the JSON.
  void longpoll(http::request<http::string_body> req) {
    auto json_reply = [this, &req](std::string body) {
      auto res = text_reply(req, http::status::ok, "application/json; charset=utf-8", std::move(body));
      res.set(http::field::cache_control, "no-store");
      return res;
    };
    if (srv_.opts.check_origin &&
        !detail::origin_allowed(req[http::field::origin], req[http::field::host], srv_.opts.allowed_origins)) {
      srv_.metrics.reject(rejection::origin);
      log(log_kind::client, "long-poll from origin " + log_escape(req[http::field::origin], 96) + " refused (403)");
      return write(json_reply(R"({"status":403})"));  // the client gives up, as after a refused upgrade
    }
    std::string_view target = req.target();
    std::string token(req["x-phoenix-longpoll-token"]);
    if (token.empty()) token = query_param(target, "token");
    if (req.method() == http::verb::post) {
      const bool ndjson = req[http::field::content_type].substr(0, 20) == "application/x-ndjson";
      return write(json_reply(srv_.longpolls->publish(token, req.body(), ndjson)));
    }
    if (req.method() != http::verb::get)
      return write(text_reply(req, http::status::method_not_allowed, "text/plain", "method not allowed\n"));
    detail::longpoll_client who;
    if (token.empty()) {  // a new session: the checks of a websocket upgrade
      {
        std::lock_guard<std::mutex> g{srv_.mtx};
        if (srv_.stop_requested || srv_.stopped) return write(json_reply(R"({"status":500})"));
      }
      beast::error_code ec;
      auto peer = stream_.socket().remote_endpoint(ec);
      if (!ec) who.address = client_of(srv_, peer.address(), req["X-Forwarded-For"]);
      for (auto& [prefix, hook] : srv_.guards) {
        auth_request ar{longpoll_path, {}, req[http::field::authorization], req[http::field::cookie], true};
        if (hook(ar).outcome != auth_decision::kind::allow) who.denied.push_back(prefix);
      }
    }
    auto req_ptr = std::make_shared<http::request<http::string_body>>(std::move(req));
    srv_.longpolls->poll(token, who, stream_.get_executor(), [self = shared_from_this(), req_ptr](std::string body) {
      asio::post(self->stream_.get_executor(), [self, req_ptr, body = std::move(body)]() mutable {
        auto res = text_reply(*req_ptr, http::status::ok, "application/json; charset=utf-8", std::move(body));
        res.set(http::field::cache_control, "no-store");
        self->write(std::move(res));
      });
    });
  }

  void write(http::message_generator msg) {
    keep_alive_ = msg.keep_alive();
    beast::async_write(stream_, std::move(msg), beast::bind_front_handler(&http_conn::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    read();
  }

  server::impl& srv_;
  beast::tcp_stream stream_;
  detail::conn_slot slot_;
  bool refuse_;
  bool keep_alive_ = false;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void detail::start_http(server::impl& srv, tcp::socket&& s, conn_slot slot, bool refuse) {
  std::make_shared<http_conn>(srv, std::move(s), std::move(slot), refuse)->start();
}

void server::impl::load_assets() {
  auto dir = opts.assets_dir.empty() ? std::filesystem::path(CORVID_LIVE_ASSETS_DIR) : opts.assets_dir;
  const std::pair<const char*, std::filesystem::path> files[] = {
      {"phoenix.min.js", dir / "node_modules/phoenix/priv/static/phoenix.min.js"},
      {"phoenix_live_view.min.js", dir / "node_modules/phoenix_live_view/priv/static/phoenix_live_view.min.js"},
      {"corvid_boot.js", dir / "corvid_boot.js"},
  };
  for (auto& [name, path] : files) {
    if (auto body = read_file(path)) {
      assets[opts.page.asset_prefix + "/" + name] = {std::string(mime_of(path)), std::move(*body)};
    } else {
      log(log_kind::system, "missing " + path.string() +
                                " (run scripts/setup.sh, or `npm ci` in live/assets; --assets to point elsewhere)");
    }
  }
}

}  // namespace corvid::live
