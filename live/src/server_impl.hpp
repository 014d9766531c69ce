// What the three parts of a server share: server.cpp (start, stop, accept), http_conn.cpp (requests,
// assets, static files) and ws_conn.cpp (websockets and their session processes). Only ws_conn.cpp
// includes Beast's websocket headers: they are the costliest to compile here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "corvid/live/channel.hpp"
#include "corvid/live/server.hpp"
#include "corvid/live/token.hpp"
#include "corvid/runtime/pid.hpp"
#include "connection_sink.hpp"
#include "host_check.hpp"

namespace corvid::live {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace detail {

class ws_conn;
class longpoll_hub;

/// Open connections per client address, the figure max_connections_per_client bounds.
class client_table {
 public:
  /// Counts one more connection of `client`; false (nothing counted) if it has `limit` already.
  bool charge(const std::string& client, std::size_t limit) {
    std::lock_guard<std::mutex> g{mtx_};
    auto& n = counts_[client];
    if (n >= limit) {
      if (n == 0) counts_.erase(client);
      return false;
    }
    ++n;
    return true;
  }
  void release(const std::string& client) {
    std::lock_guard<std::mutex> g{mtx_};
    if (auto it = counts_.find(client); it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  std::size_t count(const std::string& client) const {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = counts_.find(client);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::size_t> counts_;
};

/// One open TCP connection counted against max_connections and, once its client is known, against
/// that client's max_connections_per_client; moves from the HTTP side to the websocket.
class conn_slot {
 public:
  explicit conn_slot(std::atomic<std::size_t>* open = nullptr) noexcept : open_(open) {}
  conn_slot(conn_slot&& o) noexcept
      : open_(std::exchange(o.open_, nullptr)), clients_(std::exchange(o.clients_, nullptr)), client_(std::move(o.client_)) {}
  conn_slot& operator=(conn_slot&& o) noexcept {
    if (this != &o) {
      release();
      open_ = std::exchange(o.open_, nullptr);
      clients_ = std::exchange(o.clients_, nullptr);
      client_ = std::move(o.client_);
    }
    return *this;
  }
  ~conn_slot() { release(); }
  /// Charges the connection to `client` (once); false if the client is at its limit.
  bool charge(client_table& t, std::string client, std::size_t limit) {
    if (clients_) return true;
    if (!t.charge(client, limit)) return false;
    clients_ = &t;
    client_ = std::move(client);
    return true;
  }
  bool charged() const noexcept { return clients_ != nullptr; }

 private:
  void release() noexcept {
    if (open_) open_->fetch_sub(1);
    if (clients_) clients_->release(client_);
    open_ = nullptr;
    clients_ = nullptr;
  }
  std::atomic<std::size_t>* open_;
  client_table* clients_ = nullptr;
  std::string client_;
};

}  // namespace detail

struct server::impl {
  impl(corvid::runtime& r, server_options o);  // out of line, as ~impl: longpoll_hub is incomplete here

  corvid::runtime& rt;
  server_options opts;
  router routes;
  std::vector<std::pair<std::string, auth_hook>> guards;  // protect(): prefix -> hook
  std::vector<std::function<void()>> stop_hooks;            // on_stop()
  std::unique_ptr<token_signer> sessions, csrf, flash;
  std::optional<detail::host_list> hosts;  // set by start()
  std::vector<asio::ip::address> proxies;  // opts.trusted_proxies, parsed by start()
  channel_config ccfg;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> assets;  // url -> (mime, body)
  int static_root = -1;                    // opts.static_dir opened by start() (-1: none)

  // Declared before the I/O objects: connections still queued in the io_context at its destruction use them.
  std::mutex mtx;
  std::condition_variable cv;
  bool started = false, stop_requested = false, stopped = false;
  std::map<std::uint64_t, std::weak_ptr<detail::ws_conn>> conns;  // guarded by mtx
  std::uint64_t next_conn = 0;
  std::atomic<std::size_t> conn_count{0};     // websocket connections
  std::atomic<std::size_t> open_conns{0};     // TCP connections, HTTP and websocket (bounded by max_connections)
  std::atomic<std::size_t> refusing{0};       // connections being answered 503
  std::atomic<std::uint64_t> upload_bytes{0};  // bytes reserved by uploads in progress (upload_bytes_total)
  std::filesystem::path own_upload_dir;       // made at start when channel.upload_dir is empty; removed at stop
  std::atomic<std::size_t> inbound_total{0};  // bytes of client frames queued in every session (inbound_bytes_total)
  detail::client_table clients;
  live_metrics metrics;
  int reserve_fd = -1;                        // closed to accept (and refuse) one connection when out of fds

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<asio::strand<asio::io_context::executor_type>> accept_strand;  // the acceptor's handlers
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::vector<std::thread> threads;
  // Work that must stay off the I/O threads: start_child waits for the supervisor, /metrics walks every process.
  std::optional<asio::thread_pool> offload;
  corvid::pid sup;
  std::uint16_t bound_port = 0;
  std::optional<asio::steady_timer> accept_backoff;
  std::unique_ptr<detail::longpoll_hub> longpolls;  // set by start() when opts.longpoll
  std::optional<asio::steady_timer> longpoll_sweep;  // every half window: long-poll clients that stopped polling
  // Websocket sessions that have joined no view yet, oldest first. All wait the same
  // first_join_timeout, so this is deadline order and one timer serves them all: a process timer
  // each cost the CAF clock thread and two wake-ups of every session.
  std::mutex join_mtx;
  // Connection ids, not weak pointers: a weak pointer would keep a closed connection's memory
  // (one allocation with its control block) until its deadline.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> join_queue;
  bool join_sweep_armed = false;                 // guarded by join_mtx
  std::optional<asio::steady_timer> join_sweep;  // on accept_strand
  // Websocket connections by when they will have read nothing for idle_timeout, soonest first (a
  // min-heap of connection ids: a closed one holds nothing here). The sweep puts back those that
  // have read since, at their new time, so a read costs a relaxed store and no timer operation.
  std::mutex idle_mtx;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> idle_heap;  // guarded by idle_mtx
  std::chrono::steady_clock::time_point idle_sweep_at{};  // when the sweep should run; {}: no need (idle_mtx)
  std::optional<asio::steady_timer> idle_sweep;           // on accept_strand

  impl(const impl&) = delete;
  ~impl();

  void accept();
  void on_accept(beast::error_code ec, tcp::socket s);
  void on_accept_error(const beast::error_code& ec);
  std::string metrics_text();
  void request_stop() {
    std::lock_guard<std::mutex> g{mtx};
    stop_requested = true;
    cv.notify_all();
  }
  void load_assets();
  void sweep_longpolls();
  // Closes websocket `id` (1008) if its session has joined no view by first_join_timeout from now.
  void watch_first_join(std::uint64_t id);
  // The websocket connections of `ids` still open (ids of the join and idle sweeps).
  std::vector<std::pair<std::uint64_t, std::shared_ptr<detail::ws_conn>>> open_connections(
      const std::vector<std::uint64_t>& ids);
  void sweep_joins(std::chrono::steady_clock::time_point at);
  // Closes websocket `id` (on its strand) if it has read nothing from `due` on.
  void watch_idle(std::uint64_t id, std::chrono::steady_clock::time_point due);
  void arm_idle_sweep();
  void sweep_idle();
  // start()'s second half (signers, hosts, the session supervisor, the socket, the threads).
  std::string open(const asio::ip::address& addr, const std::string& secret);
  // Undoes what a failed open() made, so nothing leaks (the upload directory included).
  void unwind_failed_start();
  void remove_own_upload_dir();
  bool is_proxy(const asio::ip::address& a) const;
  // The hook guarding `path`, or null.
  const auth_hook* guard_of(std::string_view path) const {
    for (auto& [prefix, hook] : guards)
      if (detail::under_prefix(path, prefix)) return &hook;
    return nullptr;
  }
};

namespace detail {

/// Serves HTTP on an accepted socket; `refuse`: it is over max_connections and only gets its 503.
void start_http(server::impl& srv, tcp::socket&& s, conn_slot slot, bool refuse);
/// Takes over an upgraded HTTP connection: the websocket handshake, then a session process.
/// `denied`: protected prefixes whose hook refused this upgrade.
void open_websocket(server::impl& srv, tcp::socket&& s, conn_slot slot, http::request<http::string_body>&& req,
                    std::vector<std::string> denied);
/// On the connection's strand: closes with `code` after what is queued.
void close_websocket(const std::shared_ptr<ws_conn>& c, std::uint16_t code);
/// first_join_timeout has passed for `c`: on its strand, closes it (1008) unless its session joined a view.
void first_join_due(const std::shared_ptr<ws_conn>& c);
/// When `c` last read a byte from its client (any thread).
std::chrono::steady_clock::time_point last_read(const ws_conn& c);
/// idle_timeout may have passed for `c`: on its strand, closes it unless it has read since.
void idle_due(const std::shared_ptr<ws_conn>& c);

}  // namespace detail

}  // namespace corvid::live
