// Live views: a user's class with mount / handle_event / handle_info / handle_params / render.
//
//   struct counter : corvid::live::view {
//     corvid::live::html_template render() const override { return tpl; }  // parsed once, cheap to copy
//     void mount(const params&, const session&, socket& s) override { s.assign("count", 0); }
//     status handle_event(const std::string& ev, const event_value&, socket& s) override {
//       if (ev != "inc") return status::unknown_event(ev);
//       s.assign("count", s["count"].get_if<std::int64_t>() ? *s["count"].get_if<std::int64_t>() + 1 : 1);
//       return status::ok();
//     }
//   };
//   server.live("/counter", corvid::live::make_view<counter>);
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/message.hpp>

#include "corvid/live/assigns.hpp"
#include "corvid/live/events.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/live/template.hpp"
#include "corvid/live/upload.hpp"
#include "corvid/runtime/pid.hpp"

namespace corvid {
class process;
}

namespace corvid::live {

/// What the signed session vouches for: "id" (per page load), "view" and "route" (of the first render).
using session = params;
/// An event's decoded value (`values` holds phx-value-*, form fields, "key", "value").
using event_value = live_event;

/// Outcome of handle_event.
///
///  - ok(): the event was handled. The reply carries the diff; the clicked element is released. Everything
///    the user should see, including "that input is not valid" or "try again later", belongs here, as
///    assigns the template shows.
///  - unknown_event(name): the view has no such event (a template or client bug). As in Phoenix, where
///    a handle_event clause that does not match crashes the LiveView, the view ends: the reason goes to
///    the server's log, the page shows its error state (the phx-error class) and rejoins after the
///    client's backoff with a fresh mount (the assigns start over; forms are recovered).
///  - error(reason): the handler failed and the view cannot go on (a broken invariant); the same as
///    unknown_event. So does an exception out of handle_event.
///
/// There is no reply that leaves the view in place and reports an error: Phoenix's client keeps the
/// element locked on such a reply, so the page would stop sending that event. Views that keep failing
/// get their connection closed (server_options::view_crash_rate) rather than rejoining without end.
class status {
 public:
  static status ok() { return status{}; }
  static status error(std::string reason) { return status{std::move(reason)}; }
  static status unknown_event(std::string_view name) { return status{"unknown event: " + std::string(name)}; }
  /// ok, answering a hook's pushEvent: its promise resolves with `r` (a map), as Phoenix's {:reply, map, socket}.
  static status reply(value r) {
    status s;
    s.reply_ = std::move(r);
    return s;
  }
  bool is_ok() const noexcept { return !reason_; }
  const std::string& reason() const { return *reason_; }
  /// The reply given with status::reply, or null.
  const value* reply_value() const noexcept { return reply_ ? &*reply_ : nullptr; }

 private:
  status() = default;
  explicit status(std::string r) : reason_(std::move(r)) {}
  std::optional<std::string> reason_;
  std::optional<value> reply_;
};

/// An event for the page's hooks (socket::push_event).
struct pushed_event {
  std::string name;
  value payload;
  bool before = false;  ///< dispatched before the patch is applied
};

/// Navigation a handler asked for; the channel carries it out after the handler returns.
struct navigation {
  enum class kind { patch, navigate, redirect } type = kind::patch;
  std::string to;
  nav_kind history = nav_kind::push;
};

/// The state of work started with socket::assign_async, as the value templates branch on:
/// {"loading": bool, "ok": bool, "failed": bool, "result": the value (ok), "error": text (failed)}.
///   {% if data.loading %}Loading…{% endif %}{% if data.ok %}{{ data.result.n }}{% endif %}
///   {% if data.failed %}Failed: {{ data.error }}{% endif %}
struct async_result {
  static value loading();
  static value ok(value result);
  static value failed(std::string reason);
};

/// Sent to the session process when an async assign has landed (views may ignore it in handle_info).
struct async_done {};

/// How work started with socket::start_async ended: its value, or why it failed (an exception's
/// what(), or the task's exit reason).
struct async_outcome {
  bool ok = false;
  value result;
  std::string error;
};

/// A view's handle on its state and connection: assigns plus navigation requests.
class socket {
 public:
  socket(bool connected, corvid::pid self) : connected_(connected), self_(std::move(self)) {}
  ~socket() = default;
  socket(const socket&) = delete;  // tasks in flight refer to it
  socket& operator=(const socket&) = delete;

  /// Stores a value; an equal value changes nothing (and sends nothing). Returns whether it changed.
  bool assign(std::string_view name, value v) { return assigns_.assign(name, std::move(v)); }
  /// Edits a value in place (e.g. append to a list) and marks it changed.
  template <class F>
  void update(std::string_view name, F&& f) { assigns_.update(name, std::forward<F>(f)); }
  /// The value of an assign (null if never assigned).
  const value& operator[](std::string_view name) const noexcept { return assigns_[name]; }
  const live::assigns& assigns() const noexcept { return assigns_; }
  live::assigns& assigns() noexcept { return assigns_; }

  /// Streams (stream.hpp, rendered by `{% stream id, item in name %}`): operations wait for the next
  /// render or diff, then are forgotten; the server never keeps a stream's items.
  void stream_insert(std::string_view name, value item, std::int64_t at = stream_at::append,
                     std::optional<std::int64_t> limit = std::nullopt, bool update_only = false) {
    assigns_.stream_insert(name, std::move(item), at, limit, update_only);
  }
  void stream(std::string_view name, const value::list& items, bool reset = false) { assigns_.stream(name, items, reset); }
  void stream_delete(std::string_view name, const value& item) { assigns_.stream_delete(name, item); }
  void stream_reset(std::string_view name) { assigns_.stream_reset(name); }
  void stream_configure(std::string_view name, stream_dom_id f) { assigns_.stream_configure(name, std::move(f)); }

  /// False during the first HTTP ("dead") render, true in the session process after the join.
  bool connected() const noexcept { return connected_; }
  /// The session process (for pubsub subscriptions and timers); none while not connected.
  const corvid::pid& self() const noexcept { return self_; }
  /// The session process itself (timers: proc()->send_interval(...)); null while not connected.
  corvid::process* proc() const noexcept { return proc_; }
  /// Internal: the channel attaches the session process after constructing the socket.
  void attach(corvid::process* p) noexcept { proc_ = p; }

  /// Assigns async_result::loading() to `name` now and, once connected, runs `fn` as a task (its own
  /// process; the session never blocks). Its value lands as async_result::ok(v), an exception or crash
  /// as async_result::failed(reason), and the diff follows. Starting again under the same name
  /// supersedes the earlier task (its late result is dropped); so does the view going away.
  /// While not connected (the dead render) only the loading state is assigned.
  void assign_async(std::string name, std::function<value()> fn);
  /// Phoenix's start_async: runs `fn` as a task and hands its outcome to view::handle_async(name, ...)
  /// in the session process (the diff follows). A later start under the same name supersedes the
  /// earlier one, as does cancel_async(name) or the view going away: a superseded outcome is dropped.
  /// Nothing runs while not connected (the dead render).
  void start_async(std::string name, std::function<value()> fn);
  /// Drops the outcome of the task running under `name`, if any (the task itself runs to its end).
  void cancel_async(std::string_view name);
  /// Internal: outcomes of start_async that have landed, taken by the channel.
  std::vector<std::pair<std::string, async_outcome>> take_landed() {
    return rare_ ? std::exchange(rare_->landed, {}) : std::vector<std::pair<std::string, async_outcome>>{};
  }

  /// Shows `message` under `kind` ("info", "error", ...) in the assign "flash", a map the template reads
  /// ({{ flash.info }}). It goes along with push_navigate (signed, for 60 s) to the next view's mount;
  /// the flash close button of Phoenix's components (lv:clear-flash) and a client live_patch clear it.
  void put_flash(std::string_view kind, std::string message) {
    value::map m = flash_map();
    m.insert_or_assign(std::string(kind), value(std::move(message)));
    assigns_.assign("flash", value(std::move(m)));
  }
  /// Clears one kind of flash, or all of them.
  void clear_flash(std::optional<std::string_view> kind = std::nullopt) {
    value::map m = flash_map();
    if (kind) m.erase(std::string(*kind));
    else m.clear();
    if (assigns_["flash"].get_if<value::map>()) assigns_.assign("flash", value(std::move(m)));
  }
  /// The flash messages by kind (empty if none).
  value::map flash_map() const {
    auto* m = assigns_["flash"].get_if<value::map>();
    return m ? *m : value::map{};
  }

  /// Phoenix's temporary_assigns: after each render sent to the client, `name` goes back to
  /// `reset_to` without a change being sent (a list the page appends with phx-update="append" or
  /// "prepend" stays on the page; the server keeps none of it).
  void temporary_assign(std::string name, value reset_to) {
    rare().temporary.insert_or_assign(std::move(name), std::move(reset_to));
  }
  /// Internal: after a render was sent, the temporary assigns go back to their defaults.
  void reset_temporary() {
    if (rare_)
      for (auto& [name, v] : rare_->temporary) assigns_.set_untracked(name, v);
  }

  /// Phoenix's allow_upload (upload.hpp): the page may upload files under `name`; the template shows
  /// {{ uploads.NAME.input }} inside a form with phx-change, and the entries. Again: a new config.
  void allow_upload(std::string name, upload_options o);
  /// The entries chosen under `name` (finished or not); null without allow_upload(name).
  const std::vector<upload_entry>* upload_entries(std::string_view name) const;
  /// Hands each finished entry of `name` to `fn` (its file exists until fn returns), then drops
  /// them and their files; returns how many. Call it from the form's submit handler.
  std::size_t consume_uploaded_entries(std::string_view name, const std::function<void(const upload_entry&)>& fn);
  /// Drops one entry of `name` and its file (a cancel button with phx-value-ref).
  void cancel_upload(std::string_view name, std::string_view entry_ref);
  /// Internal (the channel): the configs, re-rendering "uploads" after changing them, and the entry refs
  /// dropped since last asked (their upload channels close).
  std::map<std::string, upload_config, std::less<>>& upload_configs() { return rare().uploads; }
  /// The configs if any were ever made (reading them then allocates nothing).
  std::map<std::string, upload_config, std::less<>>* upload_configs_if_any() noexcept {
    return rare_ ? &rare_->uploads : nullptr;
  }
  void sync_uploads();
  std::vector<std::string> take_dropped_uploads() {
    return rare_ ? std::exchange(rare_->dropped_uploads, {}) : std::vector<std::string>{};
  }

  /// Sends `name` with `payload` to the page with the next render: every hook's handleEvent(name) and a
  /// window event "phx:<name>" get it, after the patch is applied (before it with `before`).
  void push_event(std::string name, value payload, bool before = false) {
    events_.push_back({std::move(name), std::move(payload), before});
  }
  /// Internal: whether events wait for the next render, and taking them (the channel does).
  bool has_events() const noexcept { return !events_.empty(); }
  std::vector<pushed_event> take_events() { return std::exchange(events_, {}); }

  /// Changes the URL without a new mount: handle_params runs with the new params.
  void push_patch(std::string to, nav_kind k = nav_kind::push) { nav_ = navigation{navigation::kind::patch, std::move(to), k}; }
  /// Live navigation to another view (no page load).
  void push_navigate(std::string to, nav_kind k = nav_kind::push) { nav_ = navigation{navigation::kind::navigate, std::move(to), k}; }
  /// Full browser navigation.
  void redirect(std::string to) { nav_ = navigation{navigation::kind::redirect, std::move(to), nav_kind::push}; }
  /// Takes the pending navigation request, if any (the channel calls this).
  std::optional<navigation> take_navigation() { return std::exchange(nav_, std::nullopt); }

 private:
  live::assigns assigns_;
  bool connected_ = false;
  corvid::pid self_;
  corvid::process* proc_ = nullptr;
  std::optional<navigation> nav_;
  std::vector<pushed_event> events_;
  // What few views use, allocated on first use: a session without them saves about 140 bytes.
  struct rare_state {
    std::vector<std::pair<std::string, async_outcome>> landed;
    std::map<std::string, value, std::less<>> temporary;
    std::map<std::string, upload_config, std::less<>> uploads;
    std::vector<std::string> dropped_uploads;
  };
  rare_state& rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
  }
  std::unique_ptr<rare_state> rare_;
  struct async_state;
  // Runs fn as a task under `name`; land(outcome) runs in the session process unless superseded.
  void run_async(std::string name, std::function<value()> fn, std::function<void(socket&, async_outcome)> land);
  std::shared_ptr<async_state> async_;  // created by the first assign_async
};

/// A live view. One instance per mount; runs inside its session process, never concurrently.
/// The assign "page_title", when set, becomes the browser tab title.
class view {
 public:
  virtual ~view() = default;
  /// The template rendered with the socket's assigns; asked once per mount.
  virtual html_template render() const = 0;
  /// Sets the initial assigns. Runs twice: for the HTTP render and again on join (connected()).
  virtual void mount(const params& query, const session& s, socket& sock) { (void)query, (void)s, (void)sock; }
  /// After mount and on every live_patch; `url` is absolute as the browser shows it.
  virtual void handle_params(const params& query, const std::string& url, socket& sock) { (void)query, (void)url, (void)sock; }
  /// A client event (phx-click, phx-submit, ...); the reply carries the diff at once. What to return
  /// when: see status. ("lv:clear-flash", the flash close button of Phoenix's components, never gets here.)
  virtual status handle_event(const std::string& event, const event_value& v, socket& sock) {
    (void)v, (void)sock;
    return status::unknown_event(event);
  }
  /// Any other message sent to the session process (pubsub, timers); diffs are coalesced.
  virtual void handle_info(const caf::message& msg, socket& sock) { (void)msg, (void)sock; }
  /// The outcome of socket::start_async(name, ...) (Phoenix's handle_async); the diff follows.
  virtual void handle_async(const std::string& name, const async_outcome& outcome, socket& sock) {
    (void)name, (void)outcome, (void)sock;
  }
  /// The view is going away (leave, navigation, disconnect): drop subscriptions here.
  virtual void terminate(socket& sock) { (void)sock; }
};

/// Makes a fresh view per mount.
using view_factory = std::function<std::unique_ptr<view>()>;

/// A factory for a default-constructible view: `server.live("/x", make_view<my_view>)`.
template <class T>
std::unique_ptr<view> make_view() {
  return std::make_unique<T>();
}

/// The first element of `msg` as a T, or nullptr (for handle_info).
template <class T>
const T* message_as(const caf::message& msg) {
  if (msg.size() >= 1 && msg.match_element<T>(0)) return &msg.get_as<T>(0);
  return nullptr;
}

}  // namespace corvid::live

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corvid::live::async_done)
