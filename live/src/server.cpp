// The network side: Boost.Beast HTTP + websocket on one port. The only Beast translation unit.

#include "corvid/live/server.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

// g++ 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast's HTTP parser
// (boost::optional in basic_parser::do_field), inlined into this file; it is not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "session.hpp"

#ifndef CORVID_LIVE_ASSETS_DIR
#define CORVID_LIVE_ASSETS_DIR "live/assets"
#endif

namespace corvid::live {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view dev_secret = "corvid-dev-secret: set CORVID_SECRET in production!";

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
  return "application/octet-stream";
}

// "http://127.0.0.1:4000" -> "127.0.0.1:4000"
std::string_view host_of_origin(std::string_view origin) {
  auto s = origin.find("://");
  return s == std::string_view::npos ? origin : origin.substr(s + 3);
}

class ws_conn;

}  // namespace

struct server::impl {
  impl(corvid::runtime& r, server_options o) : rt(r), opts(std::move(o)) {}

  corvid::runtime& rt;
  server_options opts;
  router routes;
  std::unique_ptr<token_signer> sessions, csrf;
  channel_config ccfg;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> assets;  // url -> (mime, body)

  // Declared before the I/O objects: connections still queued in the io_context at its destruction use them.
  std::mutex mtx;
  std::condition_variable cv;
  bool started = false, stop_requested = false, stopped = false;
  std::map<std::uint64_t, std::weak_ptr<ws_conn>> conns;  // guarded by mtx
  std::uint64_t next_conn = 0;
  std::atomic<std::size_t> conn_count{0};

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::vector<std::thread> threads;
  std::optional<asio::thread_pool> starter;  // start_child waits for the supervisor: keep it off the I/O threads
  corvid::pid sup;
  std::uint16_t bound_port = 0;


  void accept();
  void handle_http(tcp::socket&& s);
  void request_stop() {
    std::lock_guard<std::mutex> g{mtx};
    stop_requested = true;
    cv.notify_all();
  }
  void load_assets();
  http::response<http::string_body> respond(const http::request<http::string_body>& req);
};

namespace {

// ---- websocket connection -------------------------------------------------------------------------

struct sink_state;

class ws_conn : public std::enable_shared_from_this<ws_conn> {
 public:
  ws_conn(server::impl& srv, tcp::socket&& s, std::uint64_t id) : srv_(srv), ws_(std::move(s)), id_(id) {}
  ~ws_conn() { srv_.conn_count.fetch_sub(1); }

  void start(http::request<http::string_body> req);
  // On the connection's strand:
  void enqueue(std::string frame);
  void close(std::uint16_t code);
  auto executor() { return ws_.get_executor(); }

 private:
  void on_accept(beast::error_code ec);
  void on_session(caf::expected<corvid::pid> p);
  void do_read();
  void on_read(beast::error_code ec, std::size_t n);
  void write_next();
  void on_write(beast::error_code ec, std::size_t n);
  void do_close();
  void finished();

  server::impl& srv_;
  websocket::stream<beast::tcp_stream> ws_;
  std::uint64_t id_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false, closing_ = false, closed_ = false, done_ = false;
  std::optional<std::uint16_t> close_code_;
  corvid::pid session_;

 public:
  std::shared_ptr<sink_state> sink;
};

// The session process's end of a connection: posts to the connection's strand, bounded by a counter.
struct sink_state final : detail::frame_sink {
  sink_state(std::weak_ptr<ws_conn> c, asio::any_io_executor ex, std::size_t limit)
      : conn(std::move(c)), exec(std::move(ex)), limit(limit) {}
  void send(std::string frame) override {
    if (queued.fetch_add(1) >= limit) {
      queued.fetch_sub(1);
      if (!overflowed.exchange(true)) close(1011);  // a browser that cannot keep up is dropped
      return;
    }
    asio::post(exec, [w = conn, f = std::move(frame)]() mutable {
      if (auto c = w.lock()) c->enqueue(std::move(f));
    });
  }
  void close(std::uint16_t code) override {
    asio::post(exec, [w = conn, code] {
      if (auto c = w.lock()) c->close(code);
    });
  }
  std::weak_ptr<ws_conn> conn;
  asio::any_io_executor exec;
  std::size_t limit;
  std::atomic<std::size_t> queued{0};
  std::atomic<bool> overflowed{false};
};

void ws_conn::start(http::request<http::string_body> req) {
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(srv_.opts.max_frame_bytes);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "corvid"); }));
  ws_.async_accept(req, beast::bind_front_handler(&ws_conn::on_accept, shared_from_this()));
}

void ws_conn::on_accept(beast::error_code ec) {
  if (ec) return finished();
  auto self = shared_from_this();
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = srv_.opts.session_mailbox;  // policy reject: a full box answers "overloaded"
  so.label = "live_session";
  auto spec = child_spec::worker("live_session", detail::session_init(srv_.ccfg, sink), so, restart::temporary);
  asio::post(*srv_.starter, [self, spec = std::move(spec), sup = srv_.sup]() mutable {
    auto p = start_child(sup, std::move(spec));
    asio::post(self->executor(), [self, p = std::move(p)]() mutable { self->on_session(std::move(p)); });
  });
}

void ws_conn::on_session(caf::expected<corvid::pid> p) {
  if (!p) {
    std::cerr << "corvid.live: cannot start a session: " << describe(p.error()) << "\n";
    close(1011);
    return;
  }
  session_ = *p;
  if (closing_) return finished();  // the server stopped meanwhile
  do_read();
}

void ws_conn::do_read() {
  ws_.async_read(buf_, beast::bind_front_handler(&ws_conn::on_read, shared_from_this()));
}

void ws_conn::on_read(beast::error_code ec, std::size_t) {
  if (ec) return finished();
  if (!ws_.got_text()) {  // binary frames (uploads) are not supported
    buf_.consume(buf_.size());
    return do_read();
  }
  std::string text = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  if (auto err = corvid::send(session_, detail::inbound_frame{text})) {
    // the session's mailbox is full (or it is gone): answer here, never buffer without bound
    if (auto f = parse_frame(text, srv_.ccfg.limits); f && f->ref) {
      sink->queued.fetch_add(1);
      enqueue(encode_reply(*f, reply_status::error, boost::json::object{{"reason", "overloaded"}}));
    }
  }
  do_read();
}

void ws_conn::enqueue(std::string frame) {
  if (closing_ || closed_) {
    sink->queued.fetch_sub(1);
    return;
  }
  out_.push_back(std::move(frame));
  if (!writing_) write_next();
}

void ws_conn::write_next() {
  writing_ = true;
  ws_.text(true);
  ws_.async_write(asio::buffer(out_.front()), beast::bind_front_handler(&ws_conn::on_write, shared_from_this()));
}

void ws_conn::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  out_.pop_front();
  sink->queued.fetch_sub(1);
  if (ec) {
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    return;
  }
  if (close_code_) return do_close();
  if (!out_.empty()) write_next();
}

void ws_conn::close(std::uint16_t code) {
  if (closing_ || closed_) return;
  closing_ = true;
  close_code_ = code;
  sink->queued.fetch_sub(out_.size() - (writing_ ? 1 : 0));
  if (writing_) {
    out_.erase(out_.begin() + 1, out_.end());
  } else {
    out_.clear();
    do_close();
  }
}

void ws_conn::do_close() {
  if (!ws_.is_open()) return;
  ws_.async_close(websocket::close_reason(*close_code_), [self = shared_from_this()](beast::error_code) {
    self->closed_ = true;
  });
}

void ws_conn::finished() {
  if (done_) return;
  done_ = true;
  closed_ = true;
  if (session_) (void)corvid::send(session_, detail::connection_closed{});
  std::lock_guard<std::mutex> g{srv_.mtx};
  srv_.conns.erase(id_);
}

// ---- plain HTTP ------------------------------------------------------------------------------------

class http_conn : public std::enable_shared_from_this<http_conn> {
 public:
  http_conn(server::impl& srv, tcp::socket&& s) : srv_(srv), stream_(std::move(s)) {}
  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(8 * 1024);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buf_, *parser_, beast::bind_front_handler(&http_conn::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    auto req = parser_->release();
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));
    res_ = std::make_shared<http::response<http::string_body>>(srv_.respond(req));
    http::async_write(stream_, *res_, beast::bind_front_handler(&http_conn::on_write, shared_from_this()));
  }

  void upgrade(http::request<http::string_body> req) {
    std::string_view target = req.target();
    auto path = target.substr(0, target.find('?'));
    auto refuse = [&](http::status st, std::string why) {
      res_ = std::make_shared<http::response<http::string_body>>(st, req.version());
      res_->set(http::field::content_type, "text/plain");
      res_->body() = std::move(why);
      res_->keep_alive(false);
      res_->prepare_payload();
      http::async_write(stream_, *res_, beast::bind_front_handler(&http_conn::on_write, shared_from_this()));
    };
    if (path != "/live/websocket") return refuse(http::status::not_found, "no websocket here\n");
    if (srv_.opts.check_origin) {
      auto origin = req[http::field::origin];
      if (!origin.empty() && host_of_origin(origin) != req[http::field::host])
        return refuse(http::status::forbidden, "origin not allowed\n");
    }
    std::shared_ptr<ws_conn> c;
    {
      std::lock_guard<std::mutex> g{srv_.mtx};
      if (srv_.stop_requested || srv_.stopped) return refuse(http::status::service_unavailable, "stopping\n");
      if (srv_.conn_count.load() >= srv_.opts.max_connections)
        return refuse(http::status::service_unavailable, "too many connections\n");
      srv_.conn_count.fetch_add(1);
      auto id = ++srv_.next_conn;
      stream_.expires_never();
      c = std::make_shared<ws_conn>(srv_, stream_.release_socket(), id);
      c->sink = std::make_shared<sink_state>(c, c->executor(), srv_.opts.outbound_frames);
      srv_.conns.emplace(id, c);
    }
    c->start(std::move(req));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !res_->keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    res_.reset();
    read();
  }

  server::impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
};

}  // namespace

// ---- server::impl ----------------------------------------------------------------------------------

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
      std::cerr << "corvid.live: missing " << path.string()
                << " (run scripts/setup.sh, or `npm ci` in live/assets; --assets to point elsewhere)\n";
    }
  }
}

http::response<http::string_body> server::impl::respond(const http::request<http::string_body>& req) {
  auto reply = [&](http::status st, std::string_view mime, std::string body) {
    http::response<http::string_body> res{st, req.version()};
    res.set(http::field::server, "corvid");
    res.set(http::field::content_type, mime);
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res.body() = std::move(body);
    res.prepare_payload();
    if (req.method() == http::verb::head) res.content_length(body.size());
    return res;
  };
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return reply(http::status::method_not_allowed, "text/plain", "method not allowed\n");
  std::string_view target = req.target();
  auto path = target.substr(0, target.find('?'));
  if (auto a = assets.find(path); a != assets.end()) return reply(http::status::ok, a->second.first, a->second.second);
  if (!opts.static_dir.empty() && path.rfind("/static/", 0) == 0) {
    auto rel = std::filesystem::path(std::string(path.substr(8))).lexically_normal();
    if (!rel.empty() && rel.is_relative() && *rel.begin() != "..")
      if (auto body = read_file(opts.static_dir / rel)) return reply(http::status::ok, mime_of(rel), std::move(*body));
    return reply(http::status::not_found, "text/plain", "not found\n");
  }
  auto page = render_page(routes, *sessions, *csrf, target, opts.page);
  if (page) return reply(http::status::ok, "text/html; charset=utf-8", std::move(*page));
  if (page.error().code == errc::not_found || page.error().code == errc::bad_encoding)
    return reply(http::status::not_found, "text/plain", "not found\n");
  std::cerr << "corvid.live: " << page.error().message << "\n";
  return reply(http::status::internal_server_error, "text/plain", "internal server error\n");
}

void server::impl::accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) std::make_shared<http_conn>(*this, std::move(s))->start();
    accept();
  });
}

// ---- server ----------------------------------------------------------------------------------------

server::server(corvid::runtime& rt, server_options opts) : impl_(std::make_unique<impl>(rt, std::move(opts))) {}

server::~server() { stop(); }

void server::live(std::string path, view_factory f) { impl_->routes.add(std::move(path), std::move(f)); }

std::string server::start() {
  auto& m = *impl_;
  {
    std::lock_guard<std::mutex> g{m.mtx};
    if (m.started) return "server already started";
    m.started = true;
  }
  std::string secret = m.opts.secret;
  if (secret.empty())
    if (const char* env = std::getenv("CORVID_SECRET"); env && *env) secret = env;
  if (secret.empty()) {
    secret = dev_secret;
    std::cerr << "corvid.live: CORVID_SECRET is not set: signing sessions with the fixed development secret "
                 "(sessions survive restarts; anyone can forge them: set CORVID_SECRET in production)\n";
  }
  m.sessions = std::make_unique<token_signer>(secret, "corvid.live.session");
  m.csrf = std::make_unique<token_signer>(secret, "corvid.live.csrf");
  m.ccfg.routes = &m.routes;
  m.ccfg.signer = m.sessions.get();
  m.ccfg.csrf = m.csrf.get();
  m.ccfg.coalesce = m.opts.coalesce;
  m.ccfg.limits.max_bytes = m.opts.max_frame_bytes;
  m.load_assets();

  supervisor_flags flags;
  flags.max_children = m.opts.max_connections;
  spawn_options so;
  so.label = "live_sessions";
  auto sup = start_dynamic_supervisor(m.rt, flags, so);
  if (!sup) return "cannot start the session supervisor: " + describe(sup.error());
  m.sup = *sup;

  beast::error_code ec;
  auto addr = asio::ip::make_address(m.opts.address, ec);
  if (ec) return "bad address " + m.opts.address + ": " + ec.message();
  m.acceptor.emplace(m.ioc);
  tcp::endpoint ep{addr, m.opts.port};
  if (m.acceptor->open(ep.protocol(), ec); !ec) m.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor->bind(ep, ec);
  if (!ec) m.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    corvid::exit(m.sup, reason::shutdown());
    return "cannot listen on " + m.opts.address + ":" + std::to_string(m.opts.port) + ": " + ec.message();
  }
  m.bound_port = m.acceptor->local_endpoint().port();
  if (m.opts.stop_on_signals) {
    m.signals.emplace(m.ioc, SIGINT, SIGTERM);
    m.signals->async_wait([&m](beast::error_code e, int) {
      if (!e) m.request_stop();
    });
  }
  m.starter.emplace(1);
  m.work.emplace(m.ioc.get_executor());
  m.accept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, m.opts.io_threads); ++i)
    m.threads.emplace_back([&m] { m.ioc.run(); });
  return {};
}

std::string server::run() {
  if (auto err = start(); !err.empty()) return err;
  wait();
  stop();
  return {};
}

void server::wait() {
  std::unique_lock<std::mutex> g{impl_->mtx};
  impl_->cv.wait(g, [this] { return impl_->stop_requested || impl_->stopped; });
}

void server::stop() {
  auto& m = *impl_;
  std::vector<std::shared_ptr<ws_conn>> open;
  {
    std::lock_guard<std::mutex> g{m.mtx};
    if (!m.started || m.stopped) return;
    m.stopped = true;
    m.stop_requested = true;
    for (auto& [id, w] : m.conns)
      if (auto c = w.lock()) open.push_back(std::move(c));
    m.cv.notify_all();
  }
  asio::post(m.ioc, [&m] {
    beast::error_code ignored;
    m.acceptor->close(ignored);
    if (m.signals) m.signals->cancel(ignored);
  });
  for (auto& c : open) asio::post(c->executor(), [c] { c->close(1001); });  // "going away": clients reconnect
  open.clear();
  if (m.starter) m.starter->join();  // sessions still starting finish starting (and see closing_)
  corvid::exit(m.sup, reason::shutdown());
  for (int i = 0; i < 5000 && m.sup.alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // let the close handshakes go out, then stop the I/O threads
  for (int i = 0; i < 1000 && m.conn_count.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m.work.reset();
  m.ioc.stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
}

std::uint16_t server::port() const noexcept { return impl_->bound_port; }

std::size_t server::connections() const noexcept { return impl_->conn_count.load(); }

}  // namespace corvid::live
