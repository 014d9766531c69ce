// A server's life: start (secret, hosts, the session supervisor, the listening socket, the I/O
// threads), accept with the connection limits, stop. Requests are http_conn.cpp's, websockets ws_conn.cpp's.

#include "corvid/live/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include "corvid/live/log.hpp"
#include "corvid/live/secret.hpp"
#include "longpoll.hpp"
#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "server_impl.hpp"

namespace corvid::live {

namespace {

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

}  // namespace

std::string server::impl::metrics_text() {
  auto text = prometheus_metrics(rt) + metrics.prometheus(conn_count.load() + (longpolls ? longpolls->size() : 0),
                                                            open_conns.load(), inbound_total.load());
  if (opts.extra_metrics) text += opts.extra_metrics();
  return text;
}

// Every handler touching the acceptor runs on accept_strand (stop() closes it from there too), so
// more than one I/O thread never races on it.
void server::impl::accept() {
  acceptor->async_accept(asio::make_strand(ioc), asio::bind_executor(*accept_strand, [this](beast::error_code ec,
                                                                                            tcp::socket s) {
                           on_accept(ec, std::move(s));
                         }));
}

void server::impl::on_accept(beast::error_code ec, tcp::socket s) {
  if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
  if (ec) return on_accept_error(ec);
  auto refuse = [&](rejection why, const std::string& what) {
    metrics.reject(why);
    log(log_kind::client, what + ": HTTP 503");
    if (refusing.fetch_add(1) < refusal_budget) {
      detail::start_http(*this, std::move(s), detail::conn_slot{}, true);
    } else {
      refusing.fetch_sub(1);
      beast::error_code ignored;
      s.close(ignored);
    }
  };
  if (open_conns.fetch_add(1) >= opts.max_connections) {
    open_conns.fetch_sub(1);
    refuse(rejection::connections, "over max_connections (" + std::to_string(opts.max_connections) + ")");
    return accept();
  }
  detail::conn_slot slot{&open_conns};
  beast::error_code pe;
  auto peer = s.remote_endpoint(pe);
  // Loopback clients are the operator (or a proxy on this host: see trusted_proxies); a trusted proxy's
  // websockets are counted per forwarded client when they upgrade.
  if (!pe && opts.max_connections_per_client > 0 && !peer.address().is_loopback() && !is_proxy(peer.address()) &&
      !slot.charge(clients, peer.address().to_string(), opts.max_connections_per_client)) {
    refuse(rejection::per_client, "over max_connections_per_client (" +
                                      std::to_string(opts.max_connections_per_client) + ") for " +
                                      peer.address().to_string());
    return accept();
  }
  detail::start_http(*this, std::move(s), std::move(slot), false);
  accept();
}

bool server::impl::is_proxy(const asio::ip::address& a) const {
  return std::find(proxies.begin(), proxies.end(), a) != proxies.end();
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
  accept_backoff->async_wait(asio::bind_executor(*accept_strand, [this](beast::error_code e) {
    if (!e && acceptor->is_open()) accept();
  }));
}

// ---- server ----------------------------------------------------------------------------------------

server::server(corvid::runtime& rt, server_options opts) : impl_(std::make_unique<impl>(rt, std::move(opts))) {}

server::~server() { stop(); }

void server::live(std::string path, view_factory f) { impl_->routes.add(std::move(path), std::move(f)); }

void server::live_child(std::string name, view_factory f) { impl_->routes.add_child(std::move(name), std::move(f)); }

void server::live_session(std::string name, live_session_options opts,
                          std::vector<std::pair<std::string, view_factory>> views) {
  for (auto& [path, f] : views) impl_->routes.add(std::move(path), std::move(f), name);
  impl_->routes.set_session(std::move(name), std::move(opts));
}

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
  auto err = m.open(addr, *secret);
  if (!err.empty()) m.unwind_failed_start();
  return err;
}

// Everything start() sets up after the options were found sound; a failure leaves what it made for
// unwind_failed_start().
std::string server::impl::open(const asio::ip::address& addr, const std::string& secret) {
  auto& m = *this;
  beast::error_code ec;
  m.sessions = std::make_unique<token_signer>(secret, "corvid.live.session");
  m.csrf = std::make_unique<token_signer>(secret, "corvid.live.csrf");
  m.flash = std::make_unique<token_signer>(secret, "corvid.live.flash");
  m.hosts.emplace(m.opts.address, m.opts.allowed_hosts);
  m.proxies.clear();
  for (auto& p : m.opts.trusted_proxies) {
    auto a = asio::ip::make_address(p, ec);
    if (ec) return "bad trusted_proxies entry " + p + ": " + ec.message();
    m.proxies.push_back(a);
  }
  if (!m.opts.static_dir.empty()) {
    m.static_root = ::open(m.opts.static_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (m.static_root < 0) return "cannot open static_dir " + m.opts.static_dir.string() + ": " + std::strerror(errno);
  }
  static_cast<channel_options&>(m.ccfg) = m.opts.channel;
  m.ccfg.routes = &m.routes;
  m.ccfg.signer = m.sessions.get();
  m.ccfg.csrf = m.csrf.get();
  m.ccfg.flash = m.flash.get();
  m.ccfg.metrics = &m.metrics;
  m.ccfg.upload_bytes = &m.upload_bytes;
  if (m.ccfg.upload_dir.empty()) {  // a private directory of its own, removed at stop
    std::string dir = (std::filesystem::temp_directory_path() / "corvid-uploads-XXXXXX").string();
    if (!::mkdtemp(dir.data())) return "cannot make an upload directory: " + std::string(std::strerror(errno));
    m.ccfg.upload_dir = m.own_upload_dir = dir;
  }
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
  if (ec) return "cannot listen on " + m.opts.address + ":" + std::to_string(m.opts.port) + ": " + ec.message();
  m.bound_port = m.acceptor->local_endpoint().port();
  m.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  m.accept_backoff.emplace(m.ioc);
  m.accept_strand.emplace(asio::make_strand(m.ioc));
  if (m.opts.stop_on_signals) {
    m.signals.emplace(m.ioc, SIGINT, SIGTERM);
    m.signals->async_wait([&m](beast::error_code e, int) {
      if (!e) m.request_stop();
    });
  }
  m.offload.emplace(1);
  if (m.opts.longpoll) {
    m.longpolls = std::make_unique<detail::longpoll_hub>(m);
    m.longpoll_sweep.emplace(*m.accept_strand);  // a strand: stop() cancels it from another thread
    m.sweep_longpolls();
  } else {
    m.opts.page.longpoll_fallback_ms = 0;  // pages do not offer what is not served
  }
  m.join_sweep.emplace(*m.accept_strand);
  m.idle_sweep.emplace(*m.accept_strand);
  m.work.emplace(m.ioc.get_executor());
  asio::post(*m.accept_strand, [&m] { m.accept(); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, m.opts.io_threads); ++i)
    m.threads.emplace_back([&m] { m.ioc.run(); });
  return {};
}

server::impl::impl(corvid::runtime& r, server_options o) : rt(r), opts(std::move(o)) {}

server::impl::~impl() = default;

void server::impl::sweep_longpolls() {
  longpoll_sweep->expires_after(std::max<std::chrono::milliseconds>(opts.longpoll_window / 2, std::chrono::milliseconds(10)));
  longpoll_sweep->async_wait([this](beast::error_code ec) {
    if (ec) return;
    longpolls->sweep();
    sweep_longpolls();
  });
}

std::vector<std::pair<std::uint64_t, std::shared_ptr<detail::ws_conn>>> server::impl::open_connections(
    const std::vector<std::uint64_t>& ids) {
  std::vector<std::pair<std::uint64_t, std::shared_ptr<detail::ws_conn>>> out;
  std::lock_guard<std::mutex> g{mtx};
  for (auto id : ids)
    if (auto it = conns.find(id); it != conns.end())
      if (auto c = it->second.lock()) out.emplace_back(id, std::move(c));
  return out;
}

void server::impl::watch_first_join(std::uint64_t id) {
  const auto due = std::chrono::steady_clock::now() + ccfg.first_join_timeout;
  {
    std::lock_guard<std::mutex> g{join_mtx};
    join_queue.emplace_back(due, id);
    if (join_sweep_armed) return;
    join_sweep_armed = true;
  }
  asio::post(*accept_strand, [this, due] { sweep_joins(due); });
}

// On accept_strand: ends what is due, then waits for the next due entry, at least a twentieth of the
// timeout later (deadlines a little late, in batches, rather than one wake-up per connection).
void server::impl::sweep_joins(std::chrono::steady_clock::time_point at) {
  join_sweep->expires_at(at);
  join_sweep->async_wait([this](beast::error_code ec) {
    if (ec) return;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> due;
    std::chrono::steady_clock::time_point next{};
    {
      std::lock_guard<std::mutex> g{join_mtx};
      while (!join_queue.empty() && join_queue.front().first <= now) {
        due.push_back(join_queue.front().second);
        join_queue.pop_front();
      }
      if (join_queue.empty()) join_sweep_armed = false;
      else next = std::max(join_queue.front().first, now + std::clamp<std::chrono::steady_clock::duration>(
                                                                ccfg.first_join_timeout / 20, std::chrono::milliseconds(1),
                                                                std::chrono::milliseconds(500)));
    }
    for (auto& [id, c] : open_connections(due)) detail::first_join_due(c);
    if (next != std::chrono::steady_clock::time_point{}) sweep_joins(next);
  });
}

namespace {

// How far apart two idle sweeps are at least: idle closes come up to this late, and a server with
// many connections wakes at most this often for them.
std::chrono::steady_clock::duration idle_slack(std::chrono::milliseconds idle) {
  return std::clamp<std::chrono::steady_clock::duration>(idle / 20, std::chrono::milliseconds(1),
                                                         std::chrono::milliseconds(500));
}

bool sooner(const std::pair<std::chrono::steady_clock::time_point, std::uint64_t>& a,
            const std::pair<std::chrono::steady_clock::time_point, std::uint64_t>& b) {
  return a.first > b.first;  // std::push_heap keeps the greatest first: this makes it the soonest
}

}  // namespace

void server::impl::watch_idle(std::uint64_t id, std::chrono::steady_clock::time_point due) {
  {
    std::lock_guard<std::mutex> g{idle_mtx};
    idle_heap.emplace_back(due, id);
    std::push_heap(idle_heap.begin(), idle_heap.end(), sooner);
    if (idle_sweep_at != std::chrono::steady_clock::time_point{} && idle_sweep_at <= due) return;
    idle_sweep_at = due;
  }
  asio::post(*accept_strand, [this] { arm_idle_sweep(); });
}

// On accept_strand: the timer, for the time idle_sweep_at says now (arms posted earlier may be stale).
void server::impl::arm_idle_sweep() {
  std::chrono::steady_clock::time_point at;
  {
    std::lock_guard<std::mutex> g{idle_mtx};
    at = idle_sweep_at;
  }
  if (at == std::chrono::steady_clock::time_point{}) return;
  idle_sweep->expires_at(at);  // a pending wait ends with operation_aborted
  idle_sweep->async_wait([this](beast::error_code ec) {
    if (!ec) sweep_idle();
  });
}

void server::impl::sweep_idle() {
  const auto now = std::chrono::steady_clock::now();
  const auto idle = std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts.idle_timeout);
  std::vector<std::uint64_t> due_ids;
  {
    std::lock_guard<std::mutex> g{idle_mtx};
    while (!idle_heap.empty() && idle_heap.front().first <= now) {
      std::pop_heap(idle_heap.begin(), idle_heap.end(), sooner);
      due_ids.push_back(idle_heap.back().second);
      idle_heap.pop_back();
    }
  }
  std::vector<std::shared_ptr<detail::ws_conn>> due;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> again;
  for (auto& [id, c] : open_connections(due_ids)) {  // those closed meanwhile are gone
    const auto at = detail::last_read(*c) + idle;
    if (at <= now) due.push_back(std::move(c));
    else again.emplace_back(at, id);
  }
  {
    std::lock_guard<std::mutex> g{idle_mtx};
    for (auto& e : again) {
      idle_heap.push_back(e);
      std::push_heap(idle_heap.begin(), idle_heap.end(), sooner);
    }
    if (idle_heap.empty()) {
      idle_sweep_at = {};
      if (idle_heap.capacity() > 1024) std::vector<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>>{}.swap(idle_heap);
    } else {
      idle_sweep_at = std::max(idle_heap.front().first, now + idle_slack(opts.idle_timeout));
    }
  }
  for (auto& c : due) detail::idle_due(c);
  arm_idle_sweep();
}

void server::impl::unwind_failed_start() {
  if (sup) corvid::exit(sup, reason::shutdown());
  sup = {};
  acceptor.reset();
  if (reserve_fd >= 0) ::close(reserve_fd);
  reserve_fd = -1;
  if (static_root >= 0) ::close(static_root);
  static_root = -1;
  remove_own_upload_dir();
  std::lock_guard<std::mutex> g{mtx};
  started = false;  // stop() and the destructor have nothing to stop
}

void server::impl::remove_own_upload_dir() {
  if (own_upload_dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(own_upload_dir, ec);
  own_upload_dir.clear();
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
  std::vector<std::shared_ptr<detail::ws_conn>> open;
  {
    std::lock_guard<std::mutex> g{m.mtx};
    if (!m.started || m.stopped) return;
    m.stopped = true;
    m.stop_requested = true;
    for (auto& [id, w] : m.conns)
      if (auto c = w.lock()) open.push_back(std::move(c));
    m.cv.notify_all();
  }
  asio::post(*m.accept_strand, [&m] {
    beast::error_code ignored;
    m.acceptor->close(ignored);
    if (m.accept_backoff) m.accept_backoff->cancel();
    if (m.signals) m.signals->cancel(ignored);
  });
  for (auto& c : open) detail::close_websocket(c, 1001);  // "going away": clients reconnect
  open.clear();
  if (m.offload) m.offload->join();  // sessions still starting finish starting (and see closing_)
  asio::post(*m.accept_strand, [&m] {
    m.join_sweep->cancel();
    m.idle_sweep->cancel();
  });
  if (m.longpolls) {
    asio::post(*m.accept_strand, [&m] { m.longpoll_sweep->cancel(); });
    m.longpolls->close_all();  // held polls are answered: the clients reconnect
  }
  corvid::exit(m.sup, reason::shutdown());
  for (int i = 0; i < 5000 && m.sup.alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // let the close handshakes go out, then stop the I/O threads
  for (int i = 0; i < 1000 && m.conn_count.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  m.work.reset();
  m.ioc.stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  if (m.acceptor) {  // the close posted above may not have run before ioc.stop(): the port must be free now
    beast::error_code ignored;
    m.acceptor->close(ignored);
  }
  if (m.reserve_fd >= 0) ::close(m.reserve_fd);
  m.reserve_fd = -1;
  if (m.static_root >= 0) ::close(m.static_root);
  m.static_root = -1;
  m.remove_own_upload_dir();
}

std::uint16_t server::port() const noexcept { return impl_->bound_port; }

std::size_t server::connections() const noexcept { return impl_->conn_count.load(); }

std::size_t server::longpoll_sessions() const noexcept { return impl_->longpolls ? impl_->longpolls->size() : 0; }

std::size_t server::open_connections() const noexcept { return impl_->open_conns.load(); }

std::size_t server::queued_inbound_bytes() const noexcept { return impl_->inbound_total.load(); }

const live_metrics& server::metrics() const noexcept { return impl_->metrics; }

std::string server::metrics_text() const { return impl_->metrics_text(); }

}  // namespace corvid::live
