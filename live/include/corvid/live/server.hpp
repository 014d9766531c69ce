// One port for HTTP (dead renders, the JS client, static files) and the LiveView websocket (/live/websocket).
// Network I/O runs on its own threads; every websocket connection is a session process, a temporary
// child of a dynamic supervisor, with a bounded mailbox.
//
//   corvid::runtime rt;
//   corvid::live::server srv{rt, {.port = 4000}};
//   srv.live("/counter", corvid::live::make_view<counter_view>);
//   if (auto err = srv.run(); !err.empty()) std::cerr << err << "\n";   // blocks until stop()
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "corvid/live/channel.hpp"
#include "corvid/live/dashboard_auth.hpp"
#include "corvid/live/metrics.hpp"
#include "corvid/live/page.hpp"
#include "corvid/live/result.hpp"
#include "corvid/live/view.hpp"

namespace corvid {
class runtime;
}

namespace corvid::live {

/// Settings of a server; defaults suit development on one machine.
struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 4000;                 ///< 0 = any free port (see server::port())
  std::size_t io_threads = 1;                ///< threads running the network I/O
  /// A session's turn for a websocket frame runs on the I/O thread that read it (no worker wakes
  /// for a click) while such turns stay under this; one over it sends that session's turns to the
  /// runtime's workers from then on, so a heavy view cannot hold the I/O thread twice. 0: always the workers.
  std::chrono::microseconds io_turn_limit{1'000};
  std::filesystem::path assets_dir;          ///< holds node_modules/ and corvid_boot.js; empty = the source tree's live/assets
  std::filesystem::path static_dir;          ///< served under /static/ (empty = none)
  std::string secret;                        ///< signs sessions and CSRF tokens, >= 32 bytes; empty = env CORVID_SECRET,
                                             ///< else secret_file
  std::filesystem::path secret_file;         ///< a secret kept in a file (made if missing, mode 0600; see secret.hpp);
                                             ///< empty = $XDG_STATE_HOME/corvid/secret (or ~/.local/state/corvid/secret),
                                             ///< used on loopback addresses only: elsewhere start() refuses without a secret
  /// Values for a page's signed session, taken from its HTTP request (as Phoenix copies the Plug session
  /// into the LiveView's), e.g. the user id your login cookie names. mount and on_mount hooks read them in
  /// `session`; they come back with every join, signed, so a client cannot change them. Unset: none.
  std::function<params(const auth_request&)> session_values;
  channel_options channel;                   ///< each connection's pacing and budgets (events a second, frame
                                             ///< size, views per connection, coalescing; channel.hpp)
  std::size_t session_mailbox = 1024;        ///< inbound frames + messages queued per session process (when it is
                                             ///< full, events get an ok reply without a diff and are dropped)
  std::size_t outbound_frames = 1024;        ///< frames queued per connection before it is dropped as too slow
  std::size_t outbound_bytes = 8 << 20;      ///< bytes queued per connection before it is dropped as too slow
  std::size_t inbound_bytes = 2 << 20;       ///< bytes of client frames queued per session (at least one frame);
                                             ///< more are not queued: events get an ok reply, and are dropped
  std::size_t inbound_bytes_total = 64 << 20;  ///< the same, summed over every session of the server
  std::size_t max_connections = 10'000;      ///< open TCP connections (HTTP + websocket); more get HTTP 503
  std::size_t max_connections_per_client = 512;  ///< open TCP connections from one client address; more get
                                             ///< HTTP 503. Loopback clients are not counted (a proxy on this host
                                             ///< must be in trusted_proxies), 0 = no limit
  std::vector<std::string> trusted_proxies;  ///< addresses ("10.0.0.5", "127.0.0.1") whose websocket upgrades are
                                             ///< counted against the last X-Forwarded-For address instead
  std::chrono::milliseconds idle_timeout{60'000};       ///< no client frame (heartbeats count) for this long: the
                                                        ///< socket is closed, the session stopped (0 = never)
  std::chrono::milliseconds disconnect_timeout{5'000};  ///< a session whose connection is gone is killed if it
                                                        ///< has not ended by then; also the close handshake timeout
  std::chrono::milliseconds write_timeout{30'000};      ///< a frame the client has not taken by then (it does not
                                                        ///< read): the connection is dropped; 0 = never
  bool longpoll = true;                      ///< serve the client's long-poll fallback at /live/longpoll (for networks
                                             ///< that break websockets; same checks and limits). false: pages do not
                                             ///< offer it (page.longpoll_fallback_ms is ignored)
  std::chrono::milliseconds longpoll_window{10'000};  ///< a held poll with nothing to send is answered 204 after
                                                      ///< this; a session not polled for 1.5 windows ends
  bool check_origin = true;                  ///< check websocket upgrades' and long-polls' Origin (see allowed_origins)
  std::vector<std::string> allowed_origins;  ///< "https://example.com", "//example.com:4000" (any scheme), "*";
                                             ///< empty = Origin must be "http://" + the Host header, scheme included
  std::vector<std::string> allowed_hosts;    ///< Host headers served besides localhost, 127.0.0.1, [::1] and `address`
                                             ///< (against DNS rebinding): "example.com" (any port), "example.com:8443",
                                             ///< "*" (any: leave it to a proxy in front); other hosts get HTTP 400
  std::string metrics_path = "/metrics";     ///< Prometheus text: runtime + live counters ("" = not served)
  auth_hook metrics_auth;                    ///< guards metrics_path (as server::protect). Without it (nor a
                                             ///< protect() covering the path), start() refuses a non-loopback
                                             ///< address unless metrics_path is ""
  std::function<std::string()> extra_metrics;  ///< more Prometheus text appended there (e.g. a cluster's)
  bool stop_on_signals = false;              ///< SIGINT/SIGTERM call stop()
  page_options page;
};

/// The HTTP + websocket server of live views.
class server {
 public:
  server(corvid::runtime& rt, server_options opts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Routes `path` (":name" segments capture params) to a view of the default live_session; before start().
  void live(std::string path, view_factory f);
  /// A view pages nest with {% live_render name id="..." %} (Phoenix's live_render): it mounts with the
  /// call's other arguments as session values, joins over the page's socket, and has no URL. Before start().
  void live_child(std::string name, view_factory f);
  /// Phoenix's live_session: routes `views` (path, factory) in a group of their own whose `on_mount`
  /// hooks run before every mount (the authentication boundary); live navigation into or out of the
  /// group is a full page load. Before start().
  ///   srv.live_session("admin", {.on_mount = {require_admin}}, {{"/admin", make_view<admin_view>}});
  void live_session(std::string name, live_session_options opts,
                    std::vector<std::pair<std::string, view_factory>> views);
  /// Requests for `prefix` and the paths below it ("/dashboard", "/dashboard/x"), and joins of live
  /// views there, pass `hook` first (dashboard_auth.hpp); before start(). A websocket whose upgrade
  /// the hook refused gets "unauthorized" when it joins there (the client reloads and meets the hook).
  void protect(std::string prefix, auth_hook hook);
  /// Whether `path` is under a protect()ed prefix.
  bool is_protected(std::string_view path) const;
  /// Runs `f` once when the server stops (stop() or its destructor), before connections close;
  /// for helpers that live as long as the server (the dashboard's sampler).
  void on_stop(std::function<void()> f);
  /// The options given to the constructor.
  const server_options& options() const noexcept;
  /// Whether options().address is a loopback address (false for an unparsable one).
  bool loopback() const;
  /// Binds, starts the I/O threads and the session supervisor; returns an error text or "".
  std::string start();
  /// start(), then wait(), then stop().
  std::string run();
  /// Blocks until stop() is called (from any thread) or, with stop_on_signals, SIGINT/SIGTERM arrives.
  void wait();
  /// Closes every connection (code 1001: clients reconnect), stops the sessions and the I/O threads.
  void stop();
  /// The bound port (after start()).
  std::uint16_t port() const noexcept;
  /// Live websocket connections.
  std::size_t connections() const noexcept;
  /// Live long-poll sessions (clients that fell back from the websocket).
  std::size_t longpoll_sessions() const noexcept;
  /// Open TCP connections (HTTP and websocket), the figure max_connections bounds.
  std::size_t open_connections() const noexcept;
  /// Bytes of client frames queued in all sessions, the figure inbound_bytes_total bounds.
  std::size_t queued_inbound_bytes() const noexcept;
  /// The live counters (also served at metrics_path).
  const live_metrics& metrics() const noexcept;
  /// What metrics_path serves: the runtime's prometheus_metrics plus the live counters.
  std::string metrics_text() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace corvid::live
