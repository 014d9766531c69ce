// The LiveView protocol of one websocket connection, without any I/O: text frames in, text frames
// out. The server runs one channel per connection inside a session process; tests drive it directly.
//
//   struct out : corvid::live::channel_host { void send(std::string f) override { frames.push_back(f); } ... };
//   corvid::live::channel ch{cfg, host};
//   ch.handle_frame(R"([null,"1","phoenix","heartbeat",{}])");   // host.send gets the ok reply
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/message.hpp>

#include "corvid/live/limits.hpp"
#include "corvid/live/metrics.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/result.hpp"
#include "corvid/live/token.hpp"
#include "corvid/live/view.hpp"

namespace corvid::live {

/// Phoenix's on_mount hook of a live_session: runs before the view's mount, in the dead render and on
/// every join, with the view's query and session. True goes on. False halts: a redirect or
/// push_navigate the hook set on the socket is followed (the dead render answers 302); without one the
/// page gets HTTP 403 and the join is refused.
using on_mount_hook = std::function<bool(const params& query, const session& s, socket& sock)>;

/// A group of routes (Phoenix's live_session): live navigation stays inside it, and a session token
/// mounts only its views; moving to another group is a full page load (its HTTP request, its hooks).
struct live_session_options {
  std::vector<on_mount_hook> on_mount;  ///< in order; the first that halts ends the mount
};

/// Session tokens of nested views name their view "child:<name>" (server::live_child).
inline constexpr std::string_view child_view_prefix = "child:";

/// Path patterns to view factories. Segments ":name" capture into params; matching is exact otherwise.
class router {
 public:
  struct match {
    std::string pattern;
    const view_factory* factory = nullptr;
    params path_params;
    std::string live_session;                          ///< "" = the default one
    const live_session_options* session_opts = nullptr;  ///< its hooks (null: none)
  };
  /// Routes `pattern` to `f` inside the live_session `live_session` ("" = the default one).
  void add(std::string pattern, view_factory f, std::string live_session = {});
  /// The hooks of a live_session (replacing earlier ones).
  void set_session(std::string name, live_session_options opts);
  /// The first route matching `path` (no query string), or nullopt.
  std::optional<match> find(std::string_view path) const;
  /// A view that pages nest with {% live_render name %} (not routed: it has no URL).
  void add_child(std::string name, view_factory f);
  /// The child view `name` as a match (pattern "child:<name>"), or nullopt.
  std::optional<match> find_child(std::string_view name) const;
  bool empty() const noexcept { return routes_.empty(); }

 private:
  struct route {
    std::string pattern;
    view_factory factory;
    std::string live_session;
  };
  std::vector<route> routes_;
  std::map<std::string, live_session_options, std::less<>> sessions_;
  std::map<std::string, view_factory, std::less<>> children_;
};

/// What views and hooks get as `session`: the token's values plus "id", "view", "route", "live_session".
session session_of(const session_claims& claims);

/// Runs the on_mount hooks of `m`'s live_session; false if one halted (see on_mount_hook).
bool run_on_mount(const router::match& m, const params& query, const session& s, socket& sock);

/// A URL split the way views see it.
struct url_parts {
  std::string path;   ///< "/counter"
  params query;       ///< decoded query string (last value wins)
};
/// Splits "http://host:4000/counter?step=2" (or "/counter?step=2"); bad %-escapes and a path that is
/// not valid UTF-8 are errors (bad_encoding).
result<url_parts> split_url(std::string_view url);

/// How each connection's channel behaves: pacing and per-connection budgets (server_options::channel).
struct channel_options {
  std::chrono::milliseconds coalesce{16};             ///< server-push diffs at most once per interval: the first change after
                                                    ///< a quiet interval goes at once, later ones at its end (0 = all at once)
  std::chrono::seconds session_max_age{14 * 24 * 3600};  ///< older session tokens get "stale" (the client reloads)
  frame_limits limits;                              ///< limits.max_bytes: a larger websocket message is read and
                                                    ///< dropped, never kept; an event ends its view with the error
                                                    ///< "message too large" (the page shows it and rejoins); past
                                                    ///< 64x this, close 1009
  double event_rate = 50;                           ///< client frames a second per connection (token bucket); 0 = unlimited
  double event_burst = 200;                         ///< frames a client may send at once before event_rate applies
  std::size_t event_overrun_close = 100;            ///< frames refused for the rate (no calm in between) before close 1008
  double view_crash_rate = 0.2;                     ///< views a second that may end in an error (each costs the
  double view_crash_burst = 10;                     ///< client's rejoin a mount), after a burst; more: close 1008
  std::size_t max_views = 32;                       ///< views joined at once; more joins get {"reason": "too many views"}
  std::size_t max_components = 10000;               ///< stateful components alive in one view; more end the view
  std::chrono::milliseconds first_join_timeout{10'000};  ///< (session processes) no view joined by then: close 1008; 0 = never
  std::filesystem::path upload_dir;                 ///< where uploads' bytes go (files removed once consumed, cancelled
                                                    ///< or their view ends); empty = the system's temporary directory
  std::uint64_t upload_bytes_total = 256u << 20;    ///< bytes of uploads held at once, server-wide (each upload reserves
                                                    ///< its declared size when it starts; past this it is refused)
};

/// What every channel of a server shares: its options plus the router, signers and counters.
struct channel_config : channel_options {
  const router* routes = nullptr;
  const token_signer* signer = nullptr;             ///< session tokens (data-phx-session)
  const token_signer* csrf = nullptr;               ///< CSRF tokens; null = not checked
  const token_signer* flash = nullptr;              ///< flash carried across live navigation; null = not carried
  live_metrics* metrics = nullptr;                  ///< counters to bump; null = none
  std::atomic<std::uint64_t>* upload_bytes = nullptr;  ///< bytes reserved by uploads, server-wide; null = per channel
};

/// The I/O side of a channel.
class channel_host {
 public:
  virtual ~channel_host() = default;
  /// One text frame to the client (must not block).
  virtual void send(std::string frame) = 0;
  /// One text frame in three pieces, the middle one shared with other sessions' frames (a diff
  /// rendered once for many); a host that can writes them with scatter/gather. Default: send(joined).
  virtual void send_parts(std::string_view head, std::shared_ptr<const std::string> body, std::string_view tail) {
    send(join_frame(head, *body, tail));
  }
  /// Asks for flush() to be called after `delay` (one request per pending flush).
  virtual void schedule_flush(std::chrono::milliseconds delay) = 0;
  /// The time coalescing measures intervals with (tests give their own).
  virtual std::chrono::steady_clock::time_point now() const { return std::chrono::steady_clock::now(); }
  /// The session process, handed to views as socket::self().
  virtual corvid::pid self() const { return {}; }
  /// The session process itself, handed to views for timers and tasks (null: none, e.g. in tests).
  virtual corvid::process* proc() { return nullptr; }
  /// Closes the connection with a websocket close code (the channel gave up on its client).
  virtual void close_connection(std::uint16_t /*code*/) {}
  /// Whether this connection may join a view at `path` (false: under a path whose authentication
  /// hook refused the websocket upgrade; see server::protect).
  virtual bool may_join(std::string_view /*path*/) const { return true; }
};

/// One connection's LiveView channels (topics "lv:<id>") plus heartbeats.
class channel {
 public:
  channel(const channel_config& cfg, channel_host& host);
  ~channel();
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Handles one client frame; replies and pushes go to host.send. Never throws for bad input.
  void handle_frame(std::string_view text);
  /// Handles one binary client message (an upload chunk on an lvu: topic).
  void handle_binary(std::string_view bytes);
  /// A message over the frame limit, of which only `head` (its first bytes) was kept: an event ends
  /// its view with the error "message too large"; anything else is dropped.
  void handle_oversized(std::string_view head, std::size_t bytes);
  /// Gives a message to every joined view's handle_info; the diff goes at once if no server-push diff
  /// went within the coalescing interval, else when it ends (one flush for all changes until then).
  void handle_info(const caf::message& msg);
  /// Sends the pending server-side diffs (called by the host when the interval has passed).
  void flush();
  /// Terminates every view (connection gone).
  void close();
  /// Number of joined views.
  std::size_t joined() const noexcept { return views_.size(); }
  /// Number of successful joins so far.
  std::size_t mounts() const noexcept { return mounts_; }

 private:
  struct joined_view;
  bool admit(std::string_view text);
  void send_diff_frame(std::string frame);
  void on_join(const frame& f);
  void on_leave(const frame& f);
  void on_event(const frame& f);
  void on_live_patch(const frame& f);
  struct upload_stream;
  struct upload_ticket {
    std::string view_topic, config, entry;
    std::int64_t cid = 0;  // the component whose upload it is (0: the view's)
  };
  void on_allow_upload(const frame& f);
  void on_progress(const frame& f);
  void on_upload_join(const frame& f);
  void presign(joined_view& v, socket& sock, upload_config& c);
  bool take_uploads(joined_view& v, socket& sock, const boost::json::object& payload);
  void settle_uploads(joined_view& v);
  void forget_component_uploads(joined_view& v, std::int64_t cid);
  void forget_uploads(std::string_view view_topic);
  void close_upload(std::string topic, bool remove_file);  // by value: callers pass map keys it erases
  void drop_tickets(std::string_view view_topic, std::string_view entry);  // "" = every entry of the view
  bool mark_changed(joined_view& v);
  void push_changes();
  void send_pending_diff(joined_view& v);
  void apply_navigation(joined_view& v, std::string* after);
  void fail_view(const std::string& topic, const char* where, const std::string& what,
                 std::string_view reason = "view crashed", std::string_view message = {});

  const channel_config& cfg_;
  channel_host& host_;
  std::map<std::string, std::unique_ptr<joined_view>, std::less<>> views_;
  bool flush_scheduled_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_push_;  // the last server-push diff
  token_bucket bucket_;
  token_bucket crashes_;     // each ended view costs the client's rejoin a mount: bounded per connection
  std::size_t overrun_ = 0;  // frames refused for the rate since the bucket was last full
  bool gave_up_ = false;     // close_connection was called: later frames are dropped
  std::size_t mounts_ = 0;
  std::map<std::string, upload_ticket, std::less<>> upload_tickets_;             // preflight token -> entry
  std::map<std::string, std::unique_ptr<upload_stream>, std::less<>> uploads_;  // "lvu:<ref>" -> its file
  std::atomic<std::uint64_t> own_upload_bytes_{0};  // when the config has no server-wide counter
};

}  // namespace corvid::live
