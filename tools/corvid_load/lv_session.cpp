#include "lv_session.hpp"

#include <atomic>
#include <deque>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "corvid/live/protocol.hpp"
#include "load_util.hpp"

namespace corvid::load {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clk = std::chrono::steady_clock;

std::uint64_t us_between(clk::time_point a, clk::time_point b) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count());
}

class session_impl final : public lv_session {
public:
  session_impl(asio::io_context& io, lv_target t, sink s)
    : strand_(asio::make_strand(io)), target_(std::move(t)), sink_(std::move(s)), heartbeat_(strand_) {}

  void mount(std::string path, std::string cookies) override {
    asio::post(strand_, [self = me(), path = std::move(path), cookies = std::move(cookies)]() mutable {
      self->get_page(std::move(path), std::move(cookies));
    });
  }

  std::uint64_t push(std::string type, std::string event, std::map<std::string, std::string> values) override {
    auto ref = next_ref_.fetch_add(1);
    asio::post(strand_, [self = me(), ref, type = std::move(type), event = std::move(event),
                         values = std::move(values)]() mutable {
      if (self->muted_)
        return;
      if (!self->joined_)
        return self->fail("not_joined", "an event before the join completed");
      json::value value;
      if (type == "form") {
        value = json::value(form_encode(values));
      } else {
        json::object o;
        for (auto& [k, v] : values)
          o[k] = v;
        value = std::move(o);
      }
      json::object payload{{"type", type}, {"event", event}, {"value", std::move(value)}};
      self->pending_[ref] = clk::now();
      self->write(live::encode_frame(self->join_ref_, std::to_string(ref), self->topic_, "event", payload));
    });
    return ref;
  }

  void close() override {
    asio::post(strand_, [self = me()] {
      if (self->muted_)
        return;
      self->muted_ = true;
      self->heartbeat_.cancel();
      beast::error_code ignored;
      if (self->http_)
        self->http_->socket().close(ignored);
      if (self->joined_ && self->ws_ && self->ws_->is_open()) {
        // phx_leave and a close frame: the server ends the session now, not at its socket timeout.
        self->write(live::encode_frame(self->join_ref_, std::to_string(self->next_ref_++), self->topic_, "phx_leave",
                                       json::object{}));
        self->closing_ = true;
        self->maybe_close_ws();
      } else if (self->ws_) {
        beast::get_lowest_layer(*self->ws_).socket().close(ignored);
      }
    });
  }

private:
  std::shared_ptr<session_impl> me() { return std::static_pointer_cast<session_impl>(shared_from_this()); }

  void fail(std::string kind, std::string detail) {
    if (muted_)
      return;
    muted_ = true;
    heartbeat_.cancel();
    beast::error_code ignored;
    if (http_)
      http_->socket().close(ignored);
    if (ws_)
      beast::get_lowest_layer(*ws_).socket().close(ignored);
    lv_event e;
    e.type = lv_event::kind::failed;
    e.error = std::move(kind);
    e.detail = std::move(detail);
    sink_(std::move(e));
  }

  void get_page(std::string path, std::string cookies) {
    if (muted_)
      return;
    t_start_ = clk::now();
    cookies_ = std::move(cookies);
    redirects_ = 0;
    get(std::move(path));
  }

  // Binds to the target's source address, the port left to connect(): past ~60k connections from
  // one address the kernel's search for a free port took a whole core (100% system time).
  beast::error_code bind_source(tcp::socket& s) {
    beast::error_code ec;
    if (!target_.source)
      return ec;
    s.open(target_.endpoint.protocol(), ec);
    if (!ec)
      s.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ec);
    if (!ec)
      s.bind(tcp::endpoint(*target_.source, 0), ec);
    return ec;
  }

  void get(std::string path) {
    path_ = std::move(path);
    http_.emplace(strand_);
    if (auto ec = bind_source(http_->socket()))
      return fail("connect", "page connect from " + target_.source->to_string() + ": " + ec.message());
    http_->async_connect(target_.endpoint, [self = me()](beast::error_code ec) {
      if (self->muted_)
        return;
      if (ec)
        return self->fail("connect", "page connect: " + ec.message());
      self->req_.emplace(http::verb::get, self->path_, 11);
      self->req_->set(http::field::host, self->target_.host_header);
      self->req_->set(http::field::user_agent, "corvid-load");
      self->req_->set(http::field::accept, "text/html");
      if (!self->cookies_.empty())
        self->req_->set(http::field::cookie, self->cookies_);
      self->req_->keep_alive(false);
      http::async_write(*self->http_, *self->req_, [self](beast::error_code ec, std::size_t) {
        if (self->muted_)
          return;
        if (ec)
          return self->fail("connect", "page write: " + ec.message());
        self->parser_.emplace();
        self->parser_->body_limit(8 * 1024 * 1024);
        http::async_read(*self->http_, self->buf_, *self->parser_, [self](beast::error_code ec, std::size_t) {
          if (self->muted_)
            return;
          if (ec)
            return self->fail("http", "page read: " + ec.message());
          self->on_page(self->parser_->release());
        });
      });
    });
  }

  void on_page(http::response<http::string_body> res) {
    parser_.reset();
    req_.reset();
    beast::error_code ignored;
    http_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    http_->socket().close(ignored);
    http_.reset();
    for (auto it = res.find(http::field::set_cookie); it != res.end() && it->name() == http::field::set_cookie; ++it)
      if (auto pair = live_load::cookie_pair(it->value()); !pair.empty())
        cookies_ += (cookies_.empty() ? "" : "; ") + pair;
    auto code = res.result_int();
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
      // As a browser: follow a redirect within the site (a login that sets a cookie, say), keeping cookies.
      std::string to{res[http::field::location]};
      auto site = target_.origin.empty() ? "http://" + target_.host_header : target_.origin;
      if (to.rfind(site, 0) == 0)
        to = to.substr(site.size());
      if (to.empty() || to.front() != '/' || ++redirects_ > 5)
        return fail("http_status", "GET " + path_ + ": status " + std::to_string(code) + " to '" + to + "'");
      return get(std::move(to));
    }
    if (res.result() != http::status::ok)
      return fail("http_status", "GET " + path_ + ": status " + std::to_string(code));
    auto info = live_load::extract_page(res.body());
    if (!info)
      return fail("no_liveview", "GET " + path_ + ": no element with an id and data-phx-session");
    page_ = std::move(*info);
    t_got_ = clk::now();
    open_ws();
  }

  void open_ws() {
    buf_.clear();
    ws_.emplace(strand_);
    if (auto ec = bind_source(beast::get_lowest_layer(*ws_).socket()))
      return fail("connect", "websocket connect from " + target_.source->to_string() + ": " + ec.message());
    beast::get_lowest_layer(*ws_).async_connect(target_.endpoint, [self = me()](beast::error_code ec) {
      if (self->muted_)
        return;
      if (ec)
        return self->fail("connect", "websocket connect: " + ec.message());
      beast::get_lowest_layer(*self->ws_).expires_never();
      self->ws_->set_option(websocket::stream_base::decorator([self](websocket::request_type& req) {
        req.set(http::field::user_agent, "corvid-load");
        if (!self->target_.origin.empty())
          req.set(http::field::origin, self->target_.origin);
        if (!self->cookies_.empty())
          req.set(http::field::cookie, self->cookies_);
      }));
      self->ws_->read_message_max(16 * 1024 * 1024);
      self->ws_->text(true);
      std::string target = "/live/websocket?_csrf_token=" + live_load::url_encode(self->page_.csrf_token) + "&vsn=2.0.0";
      self->ws_->async_handshake(self->target_.host_header, target, [self](beast::error_code ec) {
        if (self->muted_)
          return;
        if (ec)
          return self->fail("ws_upgrade", "websocket upgrade: " + ec.message());
        self->t_upgraded_ = clk::now();
        self->send_join();
        self->read();
        self->arm_heartbeat();
      });
    });
  }

  void send_join() {
    topic_ = "lv:" + page_.id;
    join_ref_ = std::to_string(next_ref_++);
    json::object params{{"_csrf_token", page_.csrf_token}, {"_mounts", 0}};
    json::object payload{{"url", target_.origin.empty() ? "http://" + target_.host_header + path_ : target_.origin + path_},
                         {"params", std::move(params)},
                         {"session", page_.session},
                         {"static", page_.static_.empty() ? json::value(nullptr) : json::value(page_.static_)},
                         {"sticky", false}};
    write(live::encode_frame(join_ref_, join_ref_, topic_, "phx_join", payload));
  }

  void arm_heartbeat() {
    heartbeat_.expires_after(target_.heartbeat);
    heartbeat_.async_wait([self = me()](beast::error_code ec) {
      if (ec || self->muted_)
        return;
      self->write(live::encode_frame(std::nullopt, std::to_string(self->next_ref_++), "phoenix", "heartbeat",
                                     json::object{}));
      self->arm_heartbeat();
    });
  }

  void write(std::string frame) {
    out_.push_back(std::move(frame));
    if (out_.size() == 1)
      write_next();
  }

  void write_next() {
    ws_->async_write(asio::buffer(out_.front()), [self = me()](beast::error_code ec, std::size_t) {
      if (ec)
        return self->fail("closed", "write: " + ec.message());
      self->out_.pop_front();
      if (!self->out_.empty())
        self->write_next();
      else
        self->maybe_close_ws();
    });
  }

  void maybe_close_ws() {
    if (!closing_ || !out_.empty() || !ws_ || close_sent_)
      return;
    close_sent_ = true;
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(5));
    ws_->async_close(websocket::close_code::normal, [self = me()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(*self->ws_).socket().close(ignored);
    });
  }

  void read() {
    ws_->async_read(buf_, [self = me()](beast::error_code ec, std::size_t n) {
      if (self->muted_)
        return;
      if (ec)
        return self->fail("closed", "read: " + ec.message());
      auto now = clk::now();
      std::string text = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      self->on_frame(std::move(text), n, now);
      if (!self->muted_)
        self->read();
    });
  }

  void on_frame(std::string text, std::size_t n, clk::time_point now) {
    auto h = live_load::scan_header(text);
    if (!h)
      return fail("bad_frame", "a frame that is not a 5-array: " + text.substr(0, 80));
    if (h->event == "phx_reply") {
      if (!h->ref)
        return;
      bool ok = text.find("\"status\":\"ok\"") != std::string::npos;
      if (!joined_ && *h->ref == join_ref_) {
        if (!ok)
          return fail("join_refused", text.substr(0, 200));
        joined_ = true;
        lv_event e;
        e.type = lv_event::kind::mounted;
        e.get_us = us_between(t_start_, t_got_);
        e.upgrade_us = us_between(t_got_, t_upgraded_);
        e.join_us = us_between(t_upgraded_, now);
        e.bytes = n;
        e.text = std::move(text);
        sink_(std::move(e));
        return;
      }
      std::uint64_t ref = 0;
      for (char c : *h->ref) {
        if (c < '0' || c > '9')
          return;  // not one of ours (refs are numbers we made)
        ref = ref * 10 + static_cast<std::uint64_t>(c - '0');
      }
      auto it = pending_.find(ref);
      if (it == pending_.end())
        return;  // a heartbeat's or a leave's reply
      lv_event e;
      e.type = lv_event::kind::reply;
      e.ref = ref;
      e.ok = ok;
      e.rtt_us = us_between(it->second, now);
      e.bytes = n;
      e.text = std::move(text);
      pending_.erase(it);
      sink_(std::move(e));
      return;
    }
    lv_event e;
    e.type = lv_event::kind::push;
    e.event = std::string(h->event);
    e.bytes = n;
    e.text = std::move(text);
    sink_(std::move(e));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  lv_target target_;
  sink sink_;
  asio::steady_timer heartbeat_;
  std::optional<beast::tcp_stream> http_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  std::optional<http::request<http::empty_body>> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  std::string path_, cookies_, topic_, join_ref_;
  live_load::page_info page_;
  std::map<std::uint64_t, clk::time_point> pending_;
  std::atomic<std::uint64_t> next_ref_{1};
  clk::time_point t_start_, t_got_, t_upgraded_;
  int redirects_ = 0;
  bool joined_ = false;
  bool muted_ = false;  // failed or closed by the user: nothing more is reported
  bool closing_ = false;
  bool close_sent_ = false;
};

} // namespace

std::shared_ptr<lv_session> lv_session::make(asio::io_context& io, lv_target target, sink s) {
  return std::make_shared<session_impl>(io, std::move(target), std::move(s));
}

lv_target make_target(const std::string& host, std::uint16_t port, const std::string& origin,
                      const std::string& sources) {
  lv_target t;
  for (std::size_t at = 0; at < sources.size();) {
    auto comma = sources.find(',', at);
    auto one = sources.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    boost::system::error_code ec;
    auto a = asio::ip::make_address(one, ec);
    if (ec)
      throw std::invalid_argument("--source wants IP addresses (got '" + one + "')");
    t.sources.push_back(a);
    at = comma == std::string::npos ? sources.size() : comma + 1;
  }
  asio::io_context io;
  tcp::resolver res{io};
  t.endpoint = res.resolve(host, std::to_string(port)).begin()->endpoint();
  t.host_header = host + ":" + std::to_string(port);
  t.origin = origin == "none" ? "" : origin.empty() ? "http://" + t.host_header : origin;
  return t;
}

std::string form_encode(const std::map<std::string, std::string>& values) {
  std::string out;
  for (auto& [k, v] : values) {
    if (!out.empty())
      out += '&';
    out += live_load::url_encode(k);
    out += '=';
    out += live_load::url_encode(v);
  }
  return out;
}

} // namespace corvid::load
