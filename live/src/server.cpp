// The network side: Boost.Beast HTTP + websocket on one port. The only Beast translation unit.

#include "corvid/live/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <limits>
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

#include "corvid/live/log.hpp"
#include "corvid/live/secret.hpp"
#include "corvid/runtime/introspection.hpp"
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

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// No Origin: not a browser (browsers always send one on websocket upgrades), nothing to forge.
// `host` has passed allowed_hosts, so "http://" + host is this server's own origin.
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  if (allowed.empty()) return origin.size() == 7 + host.size() && iequals(origin.substr(0, 7), "http://") &&
                              iequals(origin.substr(7), host);
  for (const auto& a : allowed) {
    if (a == "*" || iequals(a, origin)) return true;
    if (a.rfind("//", 0) == 0 && iequals(host_of_origin(origin), std::string_view(a).substr(2))) return true;
  }
  return false;
}

// A Host header (or an allowed_hosts entry) split into a lower-case name and a port ("" = none):
// "Example.com:4000", "[::1]:80", "localhost". nullopt if it is not of that shape.
std::optional<std::pair<std::string, std::string>> split_host(std::string_view h) {
  std::string_view name = h, port;
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = h.substr(0, close + 1);
    auto rest = h.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else if (auto colon = h.find(':'); colon != std::string_view::npos) {
    name = h.substr(0, colon);
    port = h.substr(colon + 1);
  }
  if (name.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::pair{std::move(lower), std::string(port)};
}

// The hosts a server answers to: the loopback names, its own address and allowed_hosts.
struct host_list {
  bool any = false;
  std::vector<std::pair<std::string, std::string>> hosts;

  host_list(const std::string& address, const std::vector<std::string>& extra) {
    std::vector<std::string> all{"localhost", "127.0.0.1", "[::1]"};
    beast::error_code ec;
    if (auto a = asio::ip::make_address(address, ec); !ec && !a.is_unspecified())
      all.push_back(a.is_v6() ? "[" + a.to_string() + "]" : a.to_string());
    all.insert(all.end(), extra.begin(), extra.end());
    for (auto& h : all) {
      if (h == "*") any = true;
      else if (auto s = split_host(h)) hosts.push_back(std::move(*s));
    }
  }
  bool allows(std::string_view header) const {
    if (any) return true;
    auto h = split_host(header);
    if (!h) return false;
    for (auto& [name, port] : hosts)
      if (name == h->first && (port.empty() || port == h->second)) return true;
    return false;
  }
};

// The secret that signs sessions and CSRF tokens, or why the server must not start. A secret
// generated on this machine is fine for development on loopback; a reachable server (maybe one of
// several behind a balancer) must be given one on purpose.
result<std::string> resolve_secret(const server_options& o, bool loopback) {
  if (!o.secret.empty()) return check_secret(o.secret, "server_options.secret");
  if (const char* env = std::getenv("CORVID_SECRET"); env && *env) return check_secret(env, "CORVID_SECRET");
  if (!o.secret_file.empty()) return load_or_create_secret(o.secret_file);
  if (!loopback)
    return error{errc::bad_secret, "no secret configured for a server on " + o.address +
                                       ": set CORVID_SECRET, server_options.secret or server_options.secret_file "
                                       "(at least " + std::to_string(min_secret_bytes) + " random bytes); "
                                       "a generated secret is only used on loopback addresses"};
  auto file = default_secret_file();
  if (!file) return file.error();
  auto s = load_or_create_secret(*file);
  if (s) log(log_kind::system, "signing sessions with the secret kept in " + file->string());
  return s;
}

// Refused connections beyond max_connections still get their 503 while fewer than this many are
// being answered; more are closed at once.
constexpr std::size_t refusal_budget = 64;

class ws_conn;

}  // namespace

struct server::impl {
  impl(corvid::runtime& r, server_options o) : rt(r), opts(std::move(o)) {}

  corvid::runtime& rt;
  server_options opts;
  router routes;
  std::vector<std::pair<std::string, auth_hook>> guards;  // protect(): prefix -> hook
  std::vector<std::function<void()>> stop_hooks;            // on_stop()
  std::unique_ptr<token_signer> sessions, csrf;
  std::optional<host_list> hosts;  // set by start()
  channel_config ccfg;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> assets;  // url -> (mime, body)

  // Declared before the I/O objects: connections still queued in the io_context at its destruction use them.
  std::mutex mtx;
  std::condition_variable cv;
  bool started = false, stop_requested = false, stopped = false;
  std::map<std::uint64_t, std::weak_ptr<ws_conn>> conns;  // guarded by mtx
  std::uint64_t next_conn = 0;
  std::atomic<std::size_t> conn_count{0};   // websocket connections
  std::atomic<std::size_t> open_conns{0};   // TCP connections, HTTP and websocket (bounded by max_connections)
  std::atomic<std::size_t> refusing{0};     // connections being answered 503
  live_metrics metrics;
  int reserve_fd = -1;                      // closed to accept (and refuse) one connection when out of fds

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::vector<std::thread> threads;
  std::optional<asio::thread_pool> starter;  // start_child waits for the supervisor: keep it off the I/O threads
  corvid::pid sup;
  std::uint16_t bound_port = 0;
  std::optional<asio::steady_timer> accept_backoff;

  void accept();
  void on_accept_error(const beast::error_code& ec);
  std::string metrics_text();
  void request_stop() {
    std::lock_guard<std::mutex> g{mtx};
    stop_requested = true;
    cv.notify_all();
  }
  void load_assets();
  http::response<http::string_body> respond(const http::request<http::string_body>& req);
  // The hook guarding `path`, or null.
  const auth_hook* guard_of(std::string_view path) const {
    for (auto& [prefix, hook] : guards)
      if (path.rfind(prefix, 0) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/' || prefix == "/"))
        return &hook;
    return nullptr;
  }
};

namespace {

// One open TCP connection counted against max_connections; moves from the HTTP side to the websocket.
class conn_slot {
 public:
  explicit conn_slot(std::atomic<std::size_t>* c = nullptr) noexcept : c_(c) {}
  conn_slot(conn_slot&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  conn_slot& operator=(conn_slot&& o) noexcept {
    if (this != &o) {
      release();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  ~conn_slot() { release(); }

 private:
  void release() noexcept {
    if (c_) c_->fetch_sub(1);
    c_ = nullptr;
  }
  std::atomic<std::size_t>* c_;
};

// ---- websocket connection -------------------------------------------------------------------------

// A message is read at most this much at a time, so one over max_frame_bytes is never held whole.
constexpr std::size_t read_piece = 64 * 1024;
// What is kept of a message over max_frame_bytes: enough for its refs, topic and event.
constexpr std::size_t oversize_head = 1024;
// Messages over this many times max_frame_bytes fail the connection instead of being read and dropped.
constexpr std::size_t oversize_close_factor = 64;

struct sink_state;

class ws_conn : public std::enable_shared_from_this<ws_conn> {
 public:
  ws_conn(server::impl& srv, tcp::socket&& s, std::uint64_t id, conn_slot slot)
      : srv_(srv), ws_(std::move(s)), id_(id), slot_(std::move(slot)) {}
  ~ws_conn() { srv_.conn_count.fetch_sub(1); }

  void start(http::request<http::string_body> req);
  // On the connection's strand:
  void enqueue(std::string frame);
  void close(std::uint16_t code);
  void drop_slow();
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
  void release(const std::string& frame);

  server::impl& srv_;
  websocket::stream<beast::tcp_stream> ws_;
  std::uint64_t id_;
  conn_slot slot_;
  beast::flat_buffer buf_;
  std::string head_;         // the first bytes of a message over max_frame_bytes
  std::size_t dropped_ = 0;  // bytes of that message read and dropped so far; 0 = none
  // bytes of frames sent to the session and not yet handled by it
  std::shared_ptr<std::atomic<std::size_t>> inbound_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::deque<std::string> out_;
  bool writing_ = false, closing_ = false, closed_ = false, done_ = false;
  std::optional<std::uint16_t> close_code_;
  corvid::pid session_;

 public:
  std::shared_ptr<sink_state> sink;
};

// The session process's end of a connection: posts to the connection's strand, bounded by a counter.
struct sink_state final : detail::frame_sink {
  sink_state(std::weak_ptr<ws_conn> c, asio::any_io_executor ex, std::size_t limit, std::size_t byte_limit)
      : conn(std::move(c)), exec(std::move(ex)), limit(limit), byte_limit(byte_limit) {}
  void send(std::string frame) override {
    const std::size_t n = frame.size();
    if (queued.fetch_add(1) >= limit || queued_bytes.fetch_add(n) + n > byte_limit) {
      queued.fetch_sub(1);
      queued_bytes.fetch_sub(n);
      if (!overflowed.exchange(true))  // a browser that cannot keep up is dropped, not buffered without end
        asio::post(exec, [w = conn] {
          if (auto c = w.lock()) c->drop_slow();
        });
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
  bool may_join(std::string_view path) const override {
    for (auto& p : denied)
      if (path.rfind(p, 0) == 0 && (path.size() == p.size() || path[p.size()] == '/' || p == "/")) return false;
    return true;
  }
  std::weak_ptr<ws_conn> conn;
  asio::any_io_executor exec;
  std::size_t limit, byte_limit;
  std::vector<std::string> denied;  // protected prefixes whose hook refused this connection's upgrade
  std::atomic<std::size_t> queued{0}, queued_bytes{0};
  std::atomic<bool> overflowed{false};
};

void ws_conn::start(http::request<http::string_body> req) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = srv_.opts.disconnect_timeout.count() > 0
                            ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(srv_.opts.disconnect_timeout)
                            : websocket::stream_base::none();
  // no keep-alive pings: the client's heartbeats (every 30 s) are what keeps a connection from idling out
  t.idle_timeout = srv_.opts.idle_timeout.count() > 0
                       ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(srv_.opts.idle_timeout)
                       : websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  // Messages over max_frame_bytes are read in pieces and dropped (see on_read), so the client can be
  // told; only far larger ones fail the connection (1009), so that they cost no more than bandwidth.
  const std::size_t frame_max = std::max<std::size_t>(srv_.opts.max_frame_bytes, 1);
  ws_.read_message_max(frame_max > std::numeric_limits<std::size_t>::max() / oversize_close_factor
                           ? std::numeric_limits<std::size_t>::max()
                           : frame_max * oversize_close_factor);
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
  so.idle_timeout = srv_.opts.idle_timeout;  // no message at all for that long: the session stops
  auto spec = child_spec::worker("live_session", detail::session_init(srv_.ccfg, sink), so, restart::temporary);
  asio::post(*srv_.starter, [self, spec = std::move(spec), sup = srv_.sup]() mutable {
    auto p = start_child(sup, std::move(spec));
    asio::post(self->executor(), [self, p = std::move(p)]() mutable { self->on_session(std::move(p)); });
  });
}

void ws_conn::on_session(caf::expected<corvid::pid> p) {
  if (!p) {
    log(log_kind::runtime, "cannot start a session: " + describe(p.error()));
    close(1011);
    return;
  }
  session_ = *p;
  if (closing_) return finished();  // the server stopped meanwhile
  do_read();
}

void ws_conn::do_read() {
  ws_.async_read_some(buf_, read_piece, beast::bind_front_handler(&ws_conn::on_read, shared_from_this()));
}

void ws_conn::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {  // Beast has sent close 1009
      srv_.metrics.reject(rejection::frame_size);
      log(log_kind::client, "websocket message over " + std::to_string(oversize_close_factor) +
                                "x max_frame_bytes: closed (1009)");
    } else if (ec == beast::error::timeout && !closing_) {
      srv_.metrics.idle_closes.fetch_add(1, std::memory_order_relaxed);
    }
    return finished();
  }
  if (dropped_ > 0 || buf_.size() > srv_.opts.max_frame_bytes) {
    if (dropped_ == 0) {
      auto data = static_cast<const char*>(buf_.data().data());
      head_.assign(data, std::min<std::size_t>(buf_.size(), oversize_head));
    }
    dropped_ += buf_.size();
    buf_.consume(buf_.size());
  }
  if (!ws_.is_message_done()) return do_read();
  if (!ws_.got_text()) {  // binary frames (uploads) are not supported
    buf_.consume(buf_.size());
    dropped_ = 0;
    srv_.metrics.reject(rejection::malformed);
    log(log_kind::client, "binary websocket message: closed (1003)");
    close(1003);  // unsupported data; the client reconnects
    return do_read();
  }
  if (dropped_ > 0) {  // only the session knows whether this was an event of a joined view
    (void)corvid::send(session_, detail::inbound_oversized{std::move(head_), dropped_});
    head_.clear();
    dropped_ = 0;
    return do_read();
  }
  std::string text = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  // Frames up to max_frame_bytes each, up to session_mailbox of them: bytes bound the queue as well.
  const std::size_t n = text.size();
  bool queued = false;
  if (inbound_->load() + n <= std::max(srv_.opts.inbound_bytes, srv_.opts.max_frame_bytes)) {
    inbound_->fetch_add(n);
    std::shared_ptr<void> held(nullptr, [c = inbound_, n](void*) { c->fetch_sub(n); });
    queued = !corvid::send(session_, detail::inbound_frame{text, std::move(held)});
  }
  if (!queued) {
    // the session is behind (or gone): answer here, never buffer without bound
    if (auto f = parse_frame(text, srv_.ccfg.limits); f && f->ref) {
      // an event must get a reply the client counts as done, or its element stays locked
      auto reply = f->event == "event"
                       ? encode_reply(*f, reply_status::ok, boost::json::object{})
                       : encode_reply(*f, reply_status::error, boost::json::object{{"reason", "overloaded"}});
      sink->queued.fetch_add(1);
      sink->queued_bytes.fetch_add(reply.size());
      enqueue(std::move(reply));
    }
  }
  do_read();
}

void ws_conn::release(const std::string& frame) {
  sink->queued.fetch_sub(1);
  sink->queued_bytes.fetch_sub(frame.size());
}

void ws_conn::enqueue(std::string frame) {
  if (closing_ || closed_) {
    release(frame);
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
  release(out_.front());
  out_.pop_front();
  if (ec) {
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    return;
  }
  if (!out_.empty()) write_next();
  else if (close_code_) do_close();
}

void ws_conn::close(std::uint16_t code) {
  if (closing_ || closed_) return;
  closing_ = true;  // later frames are dropped; those queued go out first (e.g. the reply saying why)
  close_code_ = code;
  if (!writing_) do_close();  // not writing: nothing queued
}

// The outbound queue is full: the client does not read. No close handshake (it would queue behind the
// stuck write): the socket goes, the pending operations fail, finished() stops the session.
void ws_conn::drop_slow() {
  if (closed_ || done_) return;
  srv_.metrics.slow_drops.fetch_add(1, std::memory_order_relaxed);
  log(log_kind::client, "dropping a client that does not read (outbound queue full)");
  closing_ = true;
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
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
  if (session_) {
    // A full mailbox refuses the notice; a session stuck in a handler ignores it: after
    // disconnect_timeout the session is killed either way.
    if (corvid::send(session_, detail::connection_closed{})) {
      corvid::exit(session_, reason::kill());
    } else if (srv_.opts.disconnect_timeout.count() > 0) {
      auto t = std::make_shared<asio::steady_timer>(ws_.get_executor(), srv_.opts.disconnect_timeout);
      t->async_wait([t, p = session_](beast::error_code ec) {
        if (!ec && p.alive()) corvid::exit(p, reason::kill());
      });
    }
  }
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);  // the fd goes now, not when the last handler has run
  std::lock_guard<std::mutex> g{srv_.mtx};
  srv_.conns.erase(id_);
}

// ---- plain HTTP ------------------------------------------------------------------------------------

class http_conn : public std::enable_shared_from_this<http_conn> {
 public:
  // `slot` empty: the connection is over max_connections and only gets its 503.
  http_conn(server::impl& srv, tcp::socket&& s, conn_slot slot, bool refuse)
      : srv_(srv), stream_(std::move(s)), slot_(std::move(slot)), refuse_(refuse) {}
  ~http_conn() {
    if (refuse_) srv_.refusing.fetch_sub(1);
  }
  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(8 * 1024);
    stream_.expires_after(std::chrono::seconds(refuse_ ? 5 : 30));
    http::async_read(stream_, buf_, *parser_, beast::bind_front_handler(&http_conn::on_read, shared_from_this()));
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
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));
    res_ = std::make_shared<http::response<http::string_body>>(srv_.respond(req));
    http::async_write(stream_, *res_, beast::bind_front_handler(&http_conn::on_write, shared_from_this()));
  }

  void refuse(const http::request<http::string_body>& req, http::status st, std::string why) {
    res_ = std::make_shared<http::response<http::string_body>>(st, req.version());
    res_->set(http::field::server, "corvid");
    res_->set(http::field::content_type, "text/plain");
    if (st == http::status::service_unavailable) res_->set(http::field::retry_after, "1");
    res_->body() = std::move(why);
    res_->keep_alive(false);
    res_->prepare_payload();
    http::async_write(stream_, *res_, beast::bind_front_handler(&http_conn::on_write, shared_from_this()));
  }

  void upgrade(http::request<http::string_body> req) {
    std::string_view target = req.target();
    auto path = target.substr(0, target.find('?'));
    if (path != "/live/websocket") return refuse(req, http::status::not_found, "no websocket here\n");
    if (srv_.opts.check_origin &&
        !origin_allowed(req[http::field::origin], req[http::field::host], srv_.opts.allowed_origins)) {
      srv_.metrics.reject(rejection::origin);
      log(log_kind::client, "websocket upgrade from origin " + log_escape(req[http::field::origin], 96) + " refused (403)");
      return refuse(req, http::status::forbidden, "origin not allowed\n");
    }
    std::shared_ptr<ws_conn> c;
    {
      std::lock_guard<std::mutex> g{srv_.mtx};
      if (srv_.stop_requested || srv_.stopped) return refuse(req, http::status::service_unavailable, "stopping\n");
      srv_.conn_count.fetch_add(1);
      auto id = ++srv_.next_conn;
      stream_.expires_never();
      c = std::make_shared<ws_conn>(srv_, stream_.release_socket(), id, std::move(slot_));
      c->sink = std::make_shared<sink_state>(c, c->executor(), srv_.opts.outbound_frames, srv_.opts.outbound_bytes);
      for (auto& [prefix, hook] : srv_.guards) {
        auth_request ar{path, {}, req[http::field::authorization], req[http::field::cookie], true};
        if (hook(ar).outcome != auth_decision::kind::allow) c->sink->denied.push_back(prefix);
      }
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
  conn_slot slot_;
  bool refuse_;
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
      log(log_kind::system, "missing " + path.string() +
                                " (run scripts/setup.sh, or `npm ci` in live/assets; --assets to point elsewhere)");
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
  std::string set_cookie;
  if (auto* hook = guard_of(path)) {
    auto q = target.find('?');
    auth_request ar{path, q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                    req[http::field::authorization], req[http::field::cookie], false};
    auto d = (*hook)(ar);
    if (d.outcome == auth_decision::kind::deny) {
      metrics.reject(rejection::auth);
      log(log_kind::client, "request for " + log_escape(path, 96) + " without valid credentials refused (401)");
      auto res = reply(http::status::unauthorized, "text/plain", "authentication required\n");
      if (!d.challenge.empty()) res.set(http::field::www_authenticate, d.challenge);
      return res;
    }
    if (d.outcome == auth_decision::kind::redirect) {
      auto res = reply(http::status::see_other, "text/plain", "");
      res.set(http::field::location, d.location);
      if (!d.set_cookie.empty()) res.set(http::field::set_cookie, d.set_cookie);
      return res;
    }
    set_cookie = std::move(d.set_cookie);
  }
  auto with_cookie = [&](http::response<http::string_body> res) {
    if (!set_cookie.empty()) res.set(http::field::set_cookie, set_cookie);
    return res;
  };
  if (!opts.metrics_path.empty() && path == opts.metrics_path)
    return with_cookie(reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", metrics_text()));
  if (auto a = assets.find(path); a != assets.end()) return reply(http::status::ok, a->second.first, a->second.second);
  if (!opts.static_dir.empty() && path.rfind("/static/", 0) == 0) {
    auto rel = std::filesystem::path(std::string(path.substr(8))).lexically_normal();
    if (!rel.empty() && rel.is_relative() && *rel.begin() != "..")
      if (auto body = read_file(opts.static_dir / rel)) return reply(http::status::ok, mime_of(rel), std::move(*body));
    return reply(http::status::not_found, "text/plain", "not found\n");
  }
  auto page = render_page(routes, *sessions, *csrf, target, opts.page);
  if (page) return with_cookie(reply(http::status::ok, "text/html; charset=utf-8", std::move(*page)));
  if (page.error().code == errc::not_found || page.error().code == errc::bad_encoding)
    return reply(http::status::not_found, "text/plain", "not found\n");
  log(log_kind::view, page.error().message);
  return reply(http::status::internal_server_error, "text/plain", "internal server error\n");
}

std::string server::impl::metrics_text() {
  auto text = prometheus_metrics(rt) + metrics.prometheus(conn_count.load(), open_conns.load());
  if (opts.extra_metrics) text += opts.extra_metrics();
  return text;
}

void server::impl::accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) return on_accept_error(ec);
    if (open_conns.fetch_add(1) < opts.max_connections) {
      std::make_shared<http_conn>(*this, std::move(s), conn_slot{&open_conns}, false)->start();
    } else {
      open_conns.fetch_sub(1);
      metrics.reject(rejection::connections);
      log(log_kind::client, "over max_connections (" + std::to_string(opts.max_connections) + "): HTTP 503");
      if (refusing.fetch_add(1) < refusal_budget) {
        std::make_shared<http_conn>(*this, std::move(s), conn_slot{}, true)->start();
      } else {
        refusing.fetch_sub(1);
        beast::error_code ignored;
        s.close(ignored);
      }
    }
    accept();
  });
}

// Out of file descriptors (EMFILE/ENFILE) or another accept failure: the acceptor stays. With the
// reserve descriptor freed, one waiting connection is taken and closed (so clients do not hang in the
// backlog), then accepting resumes after a pause instead of spinning.
void server::impl::on_accept_error(const beast::error_code& ec) {
  const bool no_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
  log(log_kind::system, "accept failed: " + ec.message() + (no_fds ? " (out of file descriptors: backing off)" : ""));
  if (no_fds) {
    metrics.reject(rejection::connections);
    if (reserve_fd >= 0) {
      ::close(reserve_fd);
      reserve_fd = -1;
      int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        static constexpr std::string_view busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
        (void)!::write(fd, busy.data(), busy.size());
        ::close(fd);
      }
      reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
  }
  accept_backoff->expires_after(std::chrono::milliseconds(no_fds ? 50 : 10));
  accept_backoff->async_wait([this](beast::error_code e) {
    if (!e && acceptor->is_open()) accept();
  });
}

// ---- server ----------------------------------------------------------------------------------------

server::server(corvid::runtime& rt, server_options opts) : impl_(std::make_unique<impl>(rt, std::move(opts))) {}

server::~server() { stop(); }

void server::live(std::string path, view_factory f) { impl_->routes.add(std::move(path), std::move(f)); }

void server::protect(std::string prefix, auth_hook hook) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  impl_->guards.emplace_back(std::move(prefix), std::move(hook));
}

bool server::is_protected(std::string_view path) const { return impl_->guard_of(path) != nullptr; }

const server_options& server::options() const noexcept { return impl_->opts; }

bool server::loopback() const {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.address, ec);
  return !ec && addr.is_loopback();
}

std::string server::start() {
  auto& m = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(m.opts.address, ec);
  if (ec) return "bad address " + m.opts.address + ": " + ec.message();
  auto secret = resolve_secret(m.opts, addr.is_loopback());
  if (!secret) return secret.error().message;
  if (!m.opts.metrics_path.empty() && m.opts.metrics_auth && !m.guard_of(m.opts.metrics_path))
    protect(m.opts.metrics_path, m.opts.metrics_auth);
  if (!m.opts.metrics_path.empty() && !addr.is_loopback() && !m.guard_of(m.opts.metrics_path))
    return "refusing to serve " + m.opts.metrics_path + " on " + m.opts.address +
           " without authentication: set server_options.metrics_auth (e.g. credentials_hook with a token), "
           "mount the dashboard with credentials (it guards the metrics too), or set metrics_path = \"\"";
  {
    std::lock_guard<std::mutex> g{m.mtx};
    if (m.started) return "server already started";
    m.started = true;
  }
  m.sessions = std::make_unique<token_signer>(*secret, "corvid.live.session");
  m.csrf = std::make_unique<token_signer>(*secret, "corvid.live.csrf");
  m.hosts.emplace(m.opts.address, m.opts.allowed_hosts);
  m.ccfg.routes = &m.routes;
  m.ccfg.signer = m.sessions.get();
  m.ccfg.csrf = m.csrf.get();
  m.ccfg.coalesce = m.opts.coalesce;
  m.ccfg.limits.max_bytes = m.opts.max_frame_bytes;
  m.ccfg.metrics = &m.metrics;
  m.ccfg.event_rate = m.opts.event_rate;
  m.ccfg.event_burst = m.opts.event_burst;
  m.ccfg.event_overrun_close = m.opts.event_overrun_close;
  m.ccfg.view_crash_rate = m.opts.view_crash_rate;
  m.ccfg.view_crash_burst = m.opts.view_crash_burst;
  m.load_assets();

  supervisor_flags flags;
  flags.max_children = m.opts.max_connections;
  spawn_options so;
  so.label = "live_sessions";
  auto sup = start_dynamic_supervisor(m.rt, flags, so);
  if (!sup) return "cannot start the session supervisor: " + describe(sup.error());
  m.sup = *sup;

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
  m.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  m.accept_backoff.emplace(m.ioc);
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

void server::on_stop(std::function<void()> f) { impl_->stop_hooks.push_back(std::move(f)); }

void server::stop() {
  auto& m = *impl_;
  {
    std::vector<std::function<void()>> hooks;
    {
      std::lock_guard<std::mutex> g{m.mtx};
      hooks.swap(m.stop_hooks);
    }
    for (auto& f : hooks) f();
  }
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
    if (m.accept_backoff) m.accept_backoff->cancel();
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
  if (m.reserve_fd >= 0) ::close(m.reserve_fd);
  m.reserve_fd = -1;
}

std::uint16_t server::port() const noexcept { return impl_->bound_port; }

std::size_t server::connections() const noexcept { return impl_->conn_count.load(); }

std::size_t server::open_connections() const noexcept { return impl_->open_conns.load(); }

const live_metrics& server::metrics() const noexcept { return impl_->metrics; }

std::string server::metrics_text() const { return impl_->metrics_text(); }

}  // namespace corvid::live
