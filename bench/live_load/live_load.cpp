// live_load: a LiveView load client. It speaks the Phoenix LiveView 1.2 wire protocol (V2 JSON frames)
// without a browser, against a corvid live server or any Phoenix LiveView server with the same page shape,
// and prints "figure<TAB>value<TAB>unit" lines.
//
//   live_load [--host H] [--port P] [--path /bench] [--origin URL|none] [--sessions N] [--concurrency C]
//             [--reuse-page] [--same-conn] [--click-event inc] [--bcast-event bcast] [--bcast-key value]
//             [--idle-clicks K] [--rate R] [--duration S] [--broadcasts B] [--server-pid PID]
//             [--join-timeout S] [--seed X]
//
// Phases, one after the other, each quiet otherwise (heartbeats are held back while one runs, unless a
// session would go 45 s without one):
//   1. join N sessions, at most C mounting at once: GET the page (or once, --reuse-page), open
//      /live/websocket (a new connection, as a browser does, or the GET's one with --same-conn),
//      phx_join on lv:<id>;
//   2. idle clicks: K clicks one at a time over random sessions;
//   3. load: an open-loop schedule of R clicks/s over all sessions for S seconds, latency measured from the
//      scheduled send time (so a stalled server cannot hide its queue);
//   4. broadcasts: B times, one session sends the broadcast event with a unique value and we wait until
//      every session got a diff carrying it.
// One io_context on one thread does all the I/O; the main thread only sequences the phases and reads
// /proc/PID for the server's CPU time and RSS.

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "corvid/live/protocol.hpp"
#include "load_util.hpp"
#include "options.hpp"
#include "server_proc.hpp"
#include "soak_report.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using namespace live_load_cli;
using namespace live_load_proc;
using live_load::figure;
using live_load::load_counts;
using live_load::soak_report;

double ms_between(clk::time_point a, clk::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// The name=value pairs of a response's Set-Cookie headers, to send back as Cookie.
void collect_cookies(const http::response<http::string_body>& res, std::vector<std::string>& out) {
  for (auto it = res.find(http::field::set_cookie); it != res.end() && it->name() == http::field::set_cookie; ++it)
    if (auto pair = live_load::cookie_pair(it->value()); !pair.empty()) out.push_back(std::move(pair));
}

// ---- sessions ---------------------------------------------------------------------------------------------

enum class kind { join, idle_click, load_click, bcast, heartbeat };

struct pending {
  kind k;
  clk::time_point t;       // sent (or, for load clicks, scheduled)
  std::uint64_t seq = 0;  // idle clicks: which one
};

class client;

enum class state { idle, getting, connecting, handshaking, joining, joined, failed };

class session {
 public:
  session(client& c, std::size_t index) : c_(c), index_(index) {}
  void start();
  void send_event(kind k, std::string_view event, std::string_view value, clk::time_point t,
                  std::uint64_t seq = 0);
  void send_heartbeat();
  void close();
  bool joined() const { return st_ == state::joined; }
  bool joining() const { return st_ != state::idle && st_ != state::joined && st_ != state::failed; }
  void fail(const std::string& why);

  clk::time_point started{};
  clk::time_point last_heartbeat{};
  int bcast_round_seen = -1;

 private:
  void get_page();
  void on_page(const http::response<http::string_body>& res);
  void open_ws(std::optional<beast::tcp_stream> reuse);
  void send_join();
  void read();
  void on_message(std::string_view text);
  void send(std::string frame);
  void write_next();

  client& c_;
  std::size_t index_;
  state st_ = state::idle;
  live_load::page_info page_;
  std::vector<std::string> cookies_;
  std::optional<beast::tcp_stream> http_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buf_;
  std::unique_ptr<http::response_parser<http::string_body>> parser_;
  std::unique_ptr<http::request<http::empty_body>> req_;
  std::deque<std::string> out_;
  bool writing_ = false;
  std::uint64_t next_ref_ = 1;
  std::string join_ref_;
  std::string topic_;
  std::unordered_map<std::uint64_t, pending> pending_;
  clk::time_point join_sent_{};
};

// ---- the client: all of it runs on the I/O thread ---------------------------------------------------------

class client {
 public:
  explicit client(options o) : opts(std::move(o)), rng(opts.seed), tick_(ioc) {}

  options opts;
  net::io_context ioc;
  tcp::endpoint endpoint;
  std::mt19937_64 rng;
  std::optional<live_load::page_info> shared_page;  // --reuse-page
  std::vector<std::string> shared_cookies;
  std::vector<std::unique_ptr<session>> sessions;
  std::atomic<bool> quiet{false};

  // figures and counters
  std::vector<double> mount_ms, mount_full_ms, idle_ms, load_ms, bcast_last_ms;
  std::vector<double> interval_load_ms;  // load round trips since the last report row (--report-every)
  std::size_t joined = 0, join_errors = 0, click_errors = 0, click_timeouts = 0, heartbeat_errors = 0;
  std::size_t session_errors = 0, bcast_errors = 0, bcast_missed = 0, load_sent = 0;
  double click_reply_bytes = 0, bcast_diff_bytes = 0;
  std::size_t click_replies = 0, bcast_diffs = 0;
  std::map<std::string, std::size_t> errors;  // reason -> count

  std::string host_header() const { return opts.host + ":" + std::to_string(opts.port); }
  std::string origin() const { return "http://" + host_header(); }

  void note_error(const std::string& why) { ++errors[why]; }

  // -- heartbeats and join timeouts: a tick every 250 ms
  void start_tick() {
    tick_.expires_after(250ms);
    tick_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      const auto now = clk::now();
      const auto due = quiet ? 45s : 30s;
      for (auto& s : sessions) {
        if (s->joined() && now - s->last_heartbeat >= due) s->send_heartbeat();
        else if (s->joining() && now - s->started > std::chrono::duration<double>(opts.join_timeout))
          s->fail("join timeout");
      }
      start_tick();
    });
  }
  void stop_tick() { tick_.cancel(); }

  // -- phase 1: joins
  std::promise<void> phase_done;
  std::size_t next_to_start = 0, in_flight = 0, finished = 0;

  void start_joins() {
    while (in_flight < opts.concurrency && next_to_start < sessions.size()) {
      ++in_flight;
      sessions[next_to_start++]->start();
    }
  }
  void join_finished(bool ok) {
    --in_flight;
    ++finished;
    ok ? ++joined : ++join_errors;
    if (finished % 1000 == 0 || finished == sessions.size())
      std::cerr << "live_load: " << finished << "/" << sessions.size() << " mounts done (" << join_errors
                << " failed)\n";
    // started from the handler's stack: keep the recursion shallow
    net::post(ioc, [this] {
      if (next_to_start < sessions.size()) start_joins();
      else if (finished == sessions.size() && !joins_reported_) {
        joins_reported_ = true;
        phase_done.set_value();
      }
    });
  }

  session* random_joined() {
    for (int tries = 0; tries < 1000 && !sessions.empty(); ++tries) {
      auto& s = sessions[std::uniform_int_distribution<std::size_t>(0, sessions.size() - 1)(rng)];
      if (s->joined()) return s.get();
    }
    for (auto& s : sessions)
      if (s->joined()) return s.get();
    return nullptr;
  }

  // -- phase 2: idle clicks, one at a time
  std::size_t idle_left = 0;
  net::steady_timer idle_timer_{ioc};
  std::uint64_t idle_seq = 0;

  void idle_next() {
    if (idle_left == 0) return phase_done.set_value();
    --idle_left;
    auto* s = random_joined();
    if (!s) return phase_done.set_value();
    auto seq = ++idle_seq;
    s->send_event(kind::idle_click, opts.click_event, "", clk::now(), seq);
    idle_timer_.expires_after(10s);
    idle_timer_.async_wait([this, seq](beast::error_code ec) {
      if (ec || seq != idle_seq) return;
      ++click_timeouts;
      idle_next();
    });
  }
  /// The reply to idle click `seq`; false if that click had already timed out.
  bool idle_reply(std::uint64_t seq) {
    if (seq != idle_seq) return false;
    ++idle_seq;  // the timer's wait is now stale
    idle_timer_.cancel();
    net::post(ioc, [this] { idle_next(); });
    return true;
  }

  // -- phase 3: open-loop clicks
  clk::time_point load_t0;
  std::size_t load_total = 0, load_outstanding = 0;
  bool load_sending = false;
  net::steady_timer load_timer_{ioc};

  clk::time_point scheduled(std::size_t i) const {
    return load_t0 + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(double(i) / opts.rate));
  }
  void start_load() {
    load_total = static_cast<std::size_t>(std::llround(opts.rate * opts.duration));
    load_sent = 0;
    load_outstanding = 0;
    load_sending = true;
    load_t0 = clk::now() + 20ms;
    load_timer_.expires_at(load_t0);
    load_timer_.async_wait([this](beast::error_code ec) { if (!ec) load_tick(); });
  }
  void load_tick() {
    const auto now = clk::now();
    while (load_sent < load_total && scheduled(load_sent) <= now) {
      auto* s = random_joined();
      if (!s) {
        load_total = load_sent;
        break;
      }
      ++load_outstanding;
      s->send_event(kind::load_click, opts.click_event, "", scheduled(load_sent));
      ++load_sent;
    }
    if (load_sent < load_total) {
      load_timer_.expires_at(scheduled(load_sent));
      load_timer_.async_wait([this](beast::error_code ec) { if (!ec) load_tick(); });
      return;
    }
    load_sending = false;
    if (load_outstanding == 0) return phase_done.set_value();
    load_timer_.expires_after(10s);  // the drain deadline
    load_timer_.async_wait([this](beast::error_code ec) {
      if (ec || load_outstanding == 0) return;
      click_timeouts += load_outstanding;
      load_outstanding = 0;
      phase_done.set_value();
    });
  }
  /// A load click's reply (or failure); false after the drain deadline.
  bool load_reply() {
    if (load_outstanding == 0) return false;
    if (--load_outstanding == 0 && !load_sending) {
      load_timer_.cancel();
      phase_done.set_value();
    }
    return true;
  }

  // -- phase 4: broadcasts
  int bcast_round = -1, bcast_rounds = 0;
  std::string bcast_marker;
  clk::time_point bcast_t0, bcast_last;
  std::size_t bcast_reached = 0, bcast_expected = 0;
  bool bcast_failed = false;
  net::steady_timer bcast_timer_{ioc};

  void bcast_next() {
    if (bcast_round + 1 >= bcast_rounds || bcast_failed) return phase_done.set_value();
    ++bcast_round;
    auto* s = random_joined();
    if (!s) return phase_done.set_value();
    bcast_marker = "lvb" + std::to_string(bcast_round) + "x" + std::to_string(rng() % 1000000007ULL);
    bcast_expected = 0;
    for (auto& x : sessions) bcast_expected += x->joined();
    bcast_reached = 0;
    bcast_t0 = clk::now();
    s->send_event(kind::bcast, opts.bcast_event, bcast_marker, bcast_t0);
    const int round = bcast_round;
    bcast_timer_.expires_after(10s);
    bcast_timer_.async_wait([this, round](beast::error_code ec) {
      if (ec || round != bcast_round) return;
      bcast_missed += bcast_expected - bcast_reached;
      std::cerr << "live_load: broadcast " << round << " reached " << bcast_reached << "/" << bcast_expected
                << " sessions in 10 s\n";
      bcast_round_end();
    });
  }
  /// A diff (push, or a reply to the sender) that carries the current marker reached session s.
  void bcast_seen(session& s, std::size_t frame_bytes, bool push) {
    if (bcast_round < 0 || s.bcast_round_seen == bcast_round) return;
    s.bcast_round_seen = bcast_round;
    bcast_last = clk::now();
    if (push) {
      bcast_diff_bytes += double(frame_bytes);
      ++bcast_diffs;
    }
    if (++bcast_reached == bcast_expected) {
      bcast_last_ms.push_back(ms_between(bcast_t0, bcast_last));
      bcast_round_end();
    }
  }
  void bcast_error(const std::string& why) {
    ++bcast_errors;
    note_error(why);
    bcast_failed = true;
    bcast_round_end();
  }
  void bcast_round_end() {
    const int round = bcast_round;
    bcast_timer_.cancel();
    bcast_timer_.expires_after(200ms);  // let stragglers and the server settle before the next round
    bcast_timer_.async_wait([this, round](beast::error_code ec) {
      if (ec || round != bcast_round) return;
      bcast_next();
    });
  }

 private:
  net::steady_timer tick_;
  bool joins_reported_ = false;
};

// ---- session --------------------------------------------------------------------------------------------

void session::fail(const std::string& why) {
  if (st_ == state::failed) return;
  const bool was_joining = joining();
  const bool was_joined = st_ == state::joined;
  st_ = state::failed;
  c_.note_error(why);
  close();
  for (auto& [ref, p] : pending_) {
    if (p.k == kind::load_click) {
      ++c_.click_errors;
      c_.load_reply();
    }
  }
  pending_.clear();
  if (was_joining) c_.join_finished(false);
  else if (was_joined) ++c_.session_errors;
}

void session::close() {
  st_ = state::failed;  // the handlers that now complete with errors count nothing
  beast::error_code ignored;
  if (http_) http_->socket().close(ignored);
  if (ws_) beast::get_lowest_layer(*ws_).socket().close(ignored);
}

void session::start() {
  started = clk::now();
  if (c_.opts.reuse_page && c_.shared_page) {
    page_ = *c_.shared_page;
    cookies_ = c_.shared_cookies;
    open_ws(std::nullopt);
  } else {
    get_page();
  }
}

void session::get_page() {
  st_ = state::getting;
  http_.emplace(c_.ioc);
  http_->async_connect(c_.endpoint, [this](beast::error_code ec) {
    if (st_ == state::failed) return;
    if (ec) return fail("page connect: " + ec.message());
    req_ = std::make_unique<http::request<http::empty_body>>(http::verb::get, c_.opts.path, 11);
    req_->set(http::field::host, c_.host_header());
    req_->set(http::field::user_agent, "corvid-live-load");
    req_->set(http::field::accept, "text/html");
    req_->keep_alive(c_.opts.same_conn);
    http::async_write(*http_, *req_, [this](beast::error_code ec, std::size_t) {
      if (st_ == state::failed) return;
      if (ec) return fail("page write: " + ec.message());
      parser_ = std::make_unique<http::response_parser<http::string_body>>();
      parser_->body_limit(4 * 1024 * 1024);
      http::async_read(*http_, buf_, *parser_, [this](beast::error_code ec, std::size_t) {
        if (st_ == state::failed) return;
        if (ec) return fail("page read: " + ec.message());
        auto res = parser_->release();
        parser_.reset();
        req_.reset();
        on_page(res);
      });
    });
  });
}

void session::on_page(const http::response<http::string_body>& res) {
  if (res.result() != http::status::ok) return fail("page status " + std::to_string(res.result_int()));
  auto info = live_load::extract_page(res.body());
  if (!info) return fail("page: no container with id and data-phx-session");
  page_ = std::move(*info);
  collect_cookies(res, cookies_);
  if (c_.opts.same_conn) {
    auto stream = std::move(*http_);
    http_.reset();
    open_ws(std::move(stream));
  } else {
    beast::error_code ignored;
    http_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    http_->socket().close(ignored);
    http_.reset();
    open_ws(std::nullopt);
  }
}

void session::open_ws(std::optional<beast::tcp_stream> reuse) {
  buf_.clear();
  auto handshake = [this] {
    st_ = state::handshaking;
    std::string cookie;
    for (auto& c : cookies_) cookie += (cookie.empty() ? "" : "; ") + c;
    ws_->set_option(websocket::stream_base::decorator([this, cookie](websocket::request_type& req) {
      req.set(http::field::user_agent, "corvid-live-load");
      if (c_.opts.origin != "none") req.set(http::field::origin, c_.opts.origin.empty() ? c_.origin() : c_.opts.origin);
      if (!cookie.empty()) req.set(http::field::cookie, cookie);
    }));
    ws_->read_message_max(16 * 1024 * 1024);
    ws_->text(true);
    std::string target = "/live/websocket?_csrf_token=" + live_load::url_encode(page_.csrf_token) + "&vsn=2.0.0";
    ws_->async_handshake(c_.host_header(), target, [this](beast::error_code ec) {
      if (st_ == state::failed) return;
      if (ec) return fail("ws handshake: " + ec.message());
      send_join();
      read();
    });
  };
  if (reuse) {
    ws_.emplace(std::move(*reuse));
    return handshake();
  }
  st_ = state::connecting;
  ws_.emplace(c_.ioc);
  beast::get_lowest_layer(*ws_).async_connect(c_.endpoint, [this, handshake](beast::error_code ec) {
    if (st_ == state::failed) return;
    if (ec) return fail("ws connect: " + ec.message());
    beast::get_lowest_layer(*ws_).expires_never();
    handshake();
  });
}

void session::send_join() {
  st_ = state::joining;
  topic_ = "lv:" + page_.id;
  const auto ref = next_ref_++;
  join_ref_ = std::to_string(ref);
  json::object params{{"_csrf_token", page_.csrf_token}, {"_mounts", 0}};
  json::object payload{{"url", c_.origin() + c_.opts.path},
                       {"params", std::move(params)},
                       {"session", page_.session},
                       {"static", page_.static_.empty() ? json::value(nullptr) : json::value(page_.static_)},
                       {"sticky", false}};
  join_sent_ = clk::now();
  pending_[ref] = {kind::join, join_sent_};
  send(corvid::live::encode_frame(join_ref_, join_ref_, topic_, "phx_join", payload));
}

void session::send_event(kind k, std::string_view event, std::string_view value, clk::time_point t,
                         std::uint64_t seq) {
  const auto ref = next_ref_++;
  const auto ref_s = std::to_string(ref);
  const std::string_view key = k == kind::bcast ? std::string_view(c_.opts.bcast_key) : "value";
  json::object payload{{"type", "click"}, {"event", event}, {"value", json::object{{key, value}}}};
  pending_[ref] = {k, t, seq};
  send(corvid::live::encode_frame(join_ref_, ref_s, topic_, "event", payload));
}

void session::send_heartbeat() {
  last_heartbeat = clk::now();
  const auto ref = next_ref_++;
  pending_[ref] = {kind::heartbeat, last_heartbeat};
  send(corvid::live::encode_frame(std::nullopt, std::to_string(ref), "phoenix", "heartbeat", json::object{}));
}

void session::send(std::string frame) {
  out_.push_back(std::move(frame));
  if (!writing_) write_next();
}

void session::write_next() {
  if (out_.empty() || st_ == state::failed) {
    writing_ = false;
    return;
  }
  writing_ = true;
  ws_->async_write(net::buffer(out_.front()), [this](beast::error_code ec, std::size_t) {
    if (st_ == state::failed) return;
    if (ec) return fail("ws write: " + ec.message());
    out_.pop_front();
    write_next();
  });
}

void session::read() {
  ws_->async_read(buf_, [this](beast::error_code ec, std::size_t) {
    if (st_ == state::failed) return;
    if (ec) return fail(ec == websocket::error::closed ? "ws closed by server" : "ws read: " + ec.message());
    auto data = buf_.data();
    on_message({static_cast<const char*>(data.data()), data.size()});
    buf_.consume(buf_.size());
    if (st_ != state::failed) read();
  });
}

void session::on_message(std::string_view text) {
  auto h = live_load::scan_header(text);
  if (!h) return fail("malformed frame");
  if (h->event == "diff") {
    if (c_.bcast_round >= 0 && text.find(c_.bcast_marker) != std::string_view::npos)
      c_.bcast_seen(*this, text.size(), true);
    return;
  }
  if (h->event == "phx_error" || h->event == "phx_close") return fail("server sent " + std::string(h->event));
  if (h->event != "phx_reply" || !h->ref) return;  // other pushes (live_patch, redirect...): not ours to judge
  std::uint64_t ref = 0;
  for (char ch : *h->ref) ref = ref * 10 + std::uint64_t(ch - '0');
  auto it = pending_.find(ref);
  if (it == pending_.end()) return;
  const pending p = it->second;
  pending_.erase(it);
  const auto now = clk::now();

  boost::system::error_code jec;
  auto v = json::parse(h->payload, jec);
  const json::object* obj = jec ? nullptr : v.if_object();
  const json::value* status = obj ? obj->if_contains("status") : nullptr;
  const bool ok = status && status->is_string() && status->get_string() == "ok";
  const json::value* resp = obj ? obj->if_contains("response") : nullptr;
  const json::object* robj = resp ? resp->if_object() : nullptr;

  switch (p.k) {
    case kind::join: {
      if (!ok || !robj || !robj->if_contains("rendered") || !robj->at("rendered").is_object()) {
        std::string why = "join refused";
        if (robj)
          if (auto* r = robj->if_contains("reason"); r && r->is_string()) why += ": " + std::string(r->get_string());
        return fail(why);
      }
      c_.mount_ms.push_back(ms_between(join_sent_, now));
      c_.mount_full_ms.push_back(ms_between(started, now));
      st_ = state::joined;
      last_heartbeat = now;
      c_.join_finished(true);
      return;
    }
    case kind::idle_click:
    case kind::load_click: {
      const bool good = ok && robj && robj->if_contains("diff");
      const bool current = p.k == kind::idle_click ? c_.idle_reply(p.seq) : c_.load_reply();
      if (good) {
        if (current && p.k == kind::idle_click) c_.idle_ms.push_back(ms_between(p.t, now));
        if (current && p.k == kind::load_click) {
          c_.load_ms.push_back(ms_between(p.t, now));
          if (c_.opts.report_every > 0) c_.interval_load_ms.push_back(c_.load_ms.back());
        }
        c_.click_reply_bytes += double(text.size());
        ++c_.click_replies;
      } else {
        ++c_.click_errors;
        c_.note_error(ok ? "click reply without diff" : "click reply not ok: " + std::string(h->payload.substr(0, 120)));
      }
      return;
    }
    case kind::bcast:
      if (!ok) return c_.bcast_error("broadcast event refused: " + std::string(h->payload.substr(0, 120)));
      if (text.find(c_.bcast_marker) != std::string_view::npos) c_.bcast_seen(*this, text.size(), false);
      return;
    case kind::heartbeat:
      if (!ok) {
        ++c_.heartbeat_errors;
        c_.note_error("heartbeat reply not ok");
      }
      return;
  }
}

// ---- main ------------------------------------------------------------------------------------------------

template <class F>
auto in_io(net::io_context& ioc, F f) {
  using R = std::invoke_result_t<F>;
  std::promise<R> p;
  auto fut = p.get_future();
  net::post(ioc, [&] {
    if constexpr (std::is_void_v<R>) {
      f();
      p.set_value();
    } else {
      p.set_value(f());
    }
  });
  return fut.get();
}

/// Runs `start` on the I/O thread with a fresh phase promise and waits until the phase says it is done.
template <class F>
void run_phase(client& c, F start) {
  auto done = in_io(c.ioc, [&] {
    c.phase_done = {};
    auto f = c.phase_done.get_future();
    start();
    return f;
  });
  done.get();
}

/// A blocking GET of the page, for --reuse-page.
bool fetch_page_once(client& c) {
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(c.endpoint);
    http::request<http::empty_body> req{http::verb::get, c.opts.path, 11};
    req.set(http::field::host, c.host_header());
    req.set(http::field::user_agent, "corvid-live-load");
    req.keep_alive(false);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(4 * 1024 * 1024);
    http::read(stream, buf, parser);
    auto res = parser.release();
    if (res.result() != http::status::ok) {
      std::cerr << "live_load: GET " << c.opts.path << ": status " << res.result_int() << "\n";
      return false;
    }
    c.shared_page = live_load::extract_page(res.body());
    if (!c.shared_page) {
      std::cerr << "live_load: GET " << c.opts.path << ": no container with id and data-phx-session\n";
      return false;
    }
    collect_cookies(res, c.shared_cookies);
    return true;
  } catch (const std::exception& e) {
    std::cerr << "live_load: GET " << c.opts.path << ": " << e.what() << "\n";
    return false;
  }
}


/// GET of the server's Prometheus text on its own connection (the main thread's, so the I/O thread and
/// its open-loop schedule never wait for it); nullopt, with a message on stderr, if it fails.
std::optional<std::string> fetch_metrics(const client& c) {
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(10s);  // /metrics walks every process: slow under load, but not this slow
    stream.async_connect(c.endpoint, [](beast::error_code ec) { if (ec) throw beast::system_error(ec); });
    ioc.run();
    ioc.restart();
    http::request<http::empty_body> req{http::verb::get, c.opts.metrics_path, 11};
    req.set(http::field::host, c.host_header());
    req.set(http::field::user_agent, "corvid-live-load");
    if (const char* t = std::getenv("CORVID_DASHBOARD_TOKEN"); t && *t)
      req.set(http::field::authorization, std::string("Bearer ") + t);
    req.keep_alive(false);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) throw beast::system_error(ec);
      http::async_read(stream, buf, parser, [](beast::error_code ec2, std::size_t) {
        if (ec2) throw beast::system_error(ec2);
      });
    });
    ioc.run();
    auto res = parser.release();
    if (res.result() != http::status::ok) {
      std::cerr << "live_load: GET " << c.opts.metrics_path << ": status " << res.result_int()
                << (res.result() == http::status::unauthorized ? " (set CORVID_DASHBOARD_TOKEN)" : "") << "\n";
      return std::nullopt;
    }
    return std::move(res.body());
  } catch (const std::exception& e) {
    std::cerr << "live_load: GET " << c.opts.metrics_path << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

/// The load phase with a report row every --report-every seconds, taken while the I/O thread keeps sending.
void run_load_reported(client& c, int pid) {
  auto done = in_io(c.ioc, [&] {
    c.phase_done = {};
    auto f = c.phase_done.get_future();
    c.start_load();
    return std::make_pair(std::move(f), c.load_t0);
  });
  const auto every = std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(c.opts.report_every));
  // the baseline sample waits for the schedule's start, so the first row covers exactly one interval
  std::this_thread::sleep_until(done.second);
  auto take_counts = [&c] {
    return in_io(c.ioc, [&] {
      load_counts k;
      k.sent = c.load_sent;
      k.answered = c.load_ms.size();
      k.errors = c.click_errors + c.click_timeouts;
      k.lost = c.session_errors + c.heartbeat_errors;
      k.rtt_ms.swap(c.interval_load_ms);
      return k;
    });
  };
  std::function<std::optional<std::string>()> metrics;
  if (c.opts.metrics_path != "none") metrics = [&c] { return fetch_metrics(c); };
  soak_report r(pid, done.second, take_counts, metrics);
  r.header();
  auto next = done.second + every;
  while (done.first.wait_until(next) == std::future_status::timeout) {
    r.row(true);
    next += every;
  }
  // the tail (the drain, or the rest of a duration that is no multiple of S) is fitted only if it is at least
  // half an interval: a few seconds' p99 or CPU % would weigh as much as a whole interval's in the fit
  if (clk::now() + every / 2 >= next) r.row(true);
  else r.row(false);
  r.slopes();
}

void raise_fd_limit(std::size_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) std::perror("live_load: setrlimit");
  }
  if (rl.rlim_cur != RLIM_INFINITY && want + 64 > rl.rlim_cur)
    std::cerr << "live_load: warning: " << want << " sessions need more than the open-file limit (" << rl.rlim_cur
              << ") allows\n";
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse_args(argc, argv, opts)) return 2;
  raise_fd_limit(opts.sessions + opts.concurrency);
  std::signal(SIGPIPE, SIG_IGN);

  client c{opts};
  try {
    tcp::resolver r{c.ioc};
    c.endpoint = *r.resolve(opts.host, std::to_string(opts.port)).begin();
  } catch (const std::exception& e) {
    std::cerr << "live_load: cannot resolve " << opts.host << ": " << e.what() << "\n";
    return 2;
  }
  if (opts.reuse_page && !fetch_page_once(c)) return 1;
  for (std::size_t i = 0; i < opts.sessions; ++i) c.sessions.push_back(std::make_unique<session>(c, i));

  auto guard = net::make_work_guard(c.ioc);
  std::thread io([&] { c.ioc.run(); });
  in_io(c.ioc, [&] { c.start_tick(); });
  auto settle = [] { std::this_thread::sleep_for(300ms); };
  const int pid = opts.server_pid;

  // 1. joins
  c.quiet = true;
  const auto p0 = read_proc(pid);
  const auto t_join = clk::now();
  run_phase(c, [&] { c.start_joins(); });
  const double join_s = ms_between(t_join, clk::now()) / 1000;
  settle();
  const auto p1 = read_proc(pid);
  c.quiet = false;
  const auto joined = in_io(c.ioc, [&] { return c.joined; });
  std::cerr << "live_load: " << joined << " sessions joined in " << join_s << " s\n";

  // 2. idle clicks, 3. load, 4. broadcasts
  proc_sample p2, p3, p4, p5;
  std::size_t load_clicks = 0, bcast_delivered = 0;
  if (joined > 0) {
    in_io(c.ioc, [&] { c.idle_left = opts.idle_clicks; });
    run_phase(c, [&] { c.idle_next(); });
    settle();

    c.quiet = true;
    p2 = read_proc(pid);
    if (opts.duration > 0 && opts.report_every > 0) run_load_reported(c, pid);
    else if (opts.duration > 0) run_phase(c, [&] { c.start_load(); });
    settle();
    p3 = read_proc(pid);
    load_clicks = in_io(c.ioc, [&] { return c.load_sent; });
    c.quiet = false;

    int rounds = opts.broadcasts;
    if (rounds < 0) rounds = static_cast<int>(std::clamp<std::size_t>(50'000 / joined, 5, 50));
    c.quiet = true;
    p4 = read_proc(pid);
    in_io(c.ioc, [&] { c.bcast_rounds = rounds; });
    if (rounds > 0) run_phase(c, [&] { c.bcast_next(); });
    settle();
    p5 = read_proc(pid);
    c.quiet = false;
    bcast_delivered = in_io(c.ioc, [&] { return c.bcast_diffs; });
  }

  // close everything and stop the I/O thread
  in_io(c.ioc, [&] {
    c.stop_tick();
    for (auto& s : c.sessions) s->close();
  });
  guard.reset();
  io.join();

  // figures
  using live_load::percentile;
  figure("sessions_joined", double(c.joined), "count");
  figure("join_errors", double(c.join_errors), "count");
  figure("mount_latency_p50_ms", percentile(c.mount_ms, 50), "ms");
  figure("mount_latency_p99_ms", percentile(c.mount_ms, 99), "ms");
  figure("mount_with_page_p50_ms", percentile(c.mount_full_ms, 50), "ms");
  figure("mount_with_page_p99_ms", percentile(c.mount_full_ms, 99), "ms");
  figure("mounts_per_s", join_s > 0 ? double(c.joined) / join_s : std::nan(""), "per_s");
  figure("click_rtt_idle_p50_ms", percentile(c.idle_ms, 50), "ms");
  figure("click_rtt_idle_p99_ms", percentile(c.idle_ms, 99), "ms");
  figure("click_rtt_load_p50_ms", percentile(c.load_ms, 50), "ms");
  figure("click_rtt_load_p99_ms", percentile(c.load_ms, 99), "ms");
  if (load_clicks > 0) figure("click_load_rate_per_s", opts.rate, "per_s");
  figure("click_errors", double(c.click_errors + c.click_timeouts), "count");
  figure("bytes_per_click_reply", c.click_replies ? c.click_reply_bytes / double(c.click_replies) : std::nan(""), "bytes");
  figure("bytes_per_broadcast_diff", c.bcast_diffs ? c.bcast_diff_bytes / double(c.bcast_diffs) : std::nan(""), "bytes");
  figure("broadcast_to_last_ms", percentile(c.bcast_last_ms, 50), "ms");
  figure("broadcast_to_last_max_ms",
         c.bcast_last_ms.empty() ? std::nan("") : *std::max_element(c.bcast_last_ms.begin(), c.bcast_last_ms.end()), "ms");
  if (c.bcast_round >= 0) {
    figure("broadcast_missed", double(c.bcast_missed), "count");
    figure("broadcast_errors", double(c.bcast_errors), "count");
  }
  figure("session_errors", double(c.session_errors + c.heartbeat_errors), "count");
  if (pid > 0) {
    if (p0.ok && p1.ok && c.joined > 0) {
      figure("server_rss_per_session_kb", (p1.rss_kb - p0.rss_kb) / double(c.joined), "kB");
      figure("server_cpu_us_per_mount", (p1.cpu_us - p0.cpu_us) / double(c.joined), "us");
    }
    if (p2.ok && p3.ok && load_clicks > 0)
      figure("server_cpu_us_per_click", (p3.cpu_us - p2.cpu_us) / double(load_clicks), "us");
    if (p4.ok && p5.ok && bcast_delivered > 0)
      figure("server_cpu_us_per_broadcast_diff", (p5.cpu_us - p4.cpu_us) / double(bcast_delivered), "us");
    if (!p0.ok) std::cerr << "live_load: cannot read /proc/" << pid << "/stat\n";
  }
  if (c.joined > 0) figure("client_cpu_us_per_mount", (p1.self_cpu_us - p0.self_cpu_us) / double(c.joined), "us");
  if (load_clicks > 0) figure("client_cpu_us_per_click", (p3.self_cpu_us - p2.self_cpu_us) / double(load_clicks), "us");
  if (bcast_delivered > 0)
    figure("client_cpu_us_per_broadcast_diff", (p5.self_cpu_us - p4.self_cpu_us) / double(bcast_delivered), "us");
  for (auto& [why, n] : c.errors) std::cerr << "live_load: error x" << n << ": " << why << "\n";
  std::fflush(stdout);
  const bool too_many = double(c.join_errors) > 0.01 * double(opts.sessions);
  if (too_many) std::cerr << "live_load: more than 1% of the joins failed\n";
  return too_many ? 1 : 0;
}
