#include "longpoll.hpp"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "base64url.hpp"
#include "corvid/live/log.hpp"
#include "corvid/live/protocol.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "connection_sink.hpp"
#include "server_impl.hpp"

namespace corvid::live::detail {

namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

// Phoenix's batch limit: a POST's lines past it are ignored (the client never sends more).
constexpr std::size_t max_batch = 100;
// What is kept of a frame over max_frame_bytes, as on the websocket.
constexpr std::size_t head_bytes = 1024;

std::string answer_body(int status, std::string_view token = {}, const std::vector<std::string>* messages = nullptr) {
  json::object o{{"status", status}};
  if (!token.empty()) o["token"] = token;
  if (messages) {
    json::array a;
    a.reserve(messages->size());
    for (auto& m : *messages) a.emplace_back(json::string_view(m));
    o["messages"] = std::move(a);
  }
  return json::serialize(o);
}

std::string new_token() {
  if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe to do
  std::string bytes(16, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return base64url_encode(bytes);
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr, &n,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(n);
  return out;
}

}  // namespace

// One long-poll client's end of its session process: the frames queued for its next poll, and the
// poll being held, if any.
struct longpoll_session final : connection_sink {
  struct held_poll {
    longpoll_answer answer;
    std::shared_ptr<boost::asio::steady_timer> timer;  // the window, on the request's executor
    std::uint64_t id = 0;
  };

  longpoll_session(server::impl& s, std::string t) : srv(s), token(std::move(t)) {}
  friend class longpoll_hub;  // it reads and sets what mtx_ guards

  void send(std::string frame) override {
    std::optional<held_poll> h;
    std::vector<std::string> msgs;
    bool overflow = false;
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (closed) return;
      if (out.size() >= srv.opts.outbound_frames || out_bytes + frame.size() > srv.opts.outbound_bytes) {
        overflow = closed = true;  // a client that does not poll fast enough is dropped, not buffered without end
        out.clear();
        out_bytes = 0;
        h = take_held();
      } else {
        out_bytes += frame.size();
        out.push_back(std::move(frame));
        if (held) {
          h = take_held();
          msgs = take_out();
        }
      }
    }
    if (overflow) {
      srv.metrics.slow_drops.fetch_add(1, std::memory_order_relaxed);
      log(log_kind::client, "dropping a long-poll client that does not poll (outbound queue full)");
      stop_process();
    }
    if (h) answer(*h, msgs.empty() ? 410 : 200, msgs);
  }

  // The session process ended or asks to end the connection: what is queued still goes out, then
  // polls get 410 and the client reconnects (and rejoins), as after a websocket close.
  void close(std::uint16_t) override {
    std::optional<held_poll> h;
    std::vector<std::string> msgs;
    {
      std::lock_guard<std::mutex> g{mtx_};
      closed = true;
      if (held) {
        h = take_held();
        msgs = take_out();
      }
    }
    if (h) answer(*h, msgs.empty() ? 410 : 200, msgs);
    stop_process();
  }

  // Caller holds mtx_.
  std::optional<held_poll> take_held() {
    std::optional<held_poll> h;
    h.swap(held);
    return h;
  }
  std::vector<std::string> take_out() {
    std::vector<std::string> v{std::make_move_iterator(out.begin()), std::make_move_iterator(out.end())};
    out.clear();
    out_bytes = 0;
    return v;
  }

  void answer(held_poll& h, int status, const std::vector<std::string>& msgs) {
    if (auto t = h.timer) boost::asio::post(t->get_executor(), [t] { t->cancel(); });
    h.answer(answer_body(status, token, &msgs));
  }

  // Asks the session process to end; one stuck in a handler is killed after disconnect_timeout.
  void stop_process() {
    auto p = detach();
    if (!p || !p.alive()) return;
    if (corvid::send(p, connection_closed{})) {
      corvid::exit(p, reason::kill());
    } else if (srv.opts.disconnect_timeout.count() > 0) {
      auto t = std::make_shared<boost::asio::steady_timer>(srv.ioc, srv.opts.disconnect_timeout);
      t->async_wait([t, p](boost::system::error_code ec) {
        if (!ec && p.alive()) corvid::exit(p, reason::kill());
      });
    }
  }

  server::impl& srv;
  const std::string token;
  conn_slot slot;                   // the client's count against max_connections_per_client
  std::shared_ptr<std::atomic<std::size_t>> inbound = std::make_shared<std::atomic<std::size_t>>(0);

  // guarded by mtx_:
  std::deque<std::string> out;
  std::size_t out_bytes = 0;
  std::optional<held_poll> held;
  std::uint64_t next_poll_id = 0;
  bool closed = false;  // no more frames: the process ended, or the client was dropped
  clock::time_point last_poll = clock::now();
};

longpoll_hub::~longpoll_hub() = default;

std::size_t longpoll_hub::size() const {
  std::lock_guard<std::mutex> g{mtx_};
  return sessions_.size();
}

std::shared_ptr<longpoll_session> longpoll_hub::find(std::string_view token) const {
  std::lock_guard<std::mutex> g{mtx_};
  auto it = sessions_.find(std::string(token));
  return it == sessions_.end() ? nullptr : it->second;
}

void longpoll_hub::poll(std::string_view token, const longpoll_client& who, boost::asio::any_io_executor ex,
                        longpoll_answer answer) {
  if (token.empty()) return start_session(who, std::move(answer));
  auto s = find(token);
  if (!s) return answer(answer_body(410));  // unknown or expired: the client reconnects without it
  std::vector<std::string> msgs;
  bool wait = false;
  {
    std::lock_guard<std::mutex> g{s->mtx_};
    s->last_poll = clock::now();
    if (s->out.empty() && !s->closed) wait = true;
    else msgs = s->take_out();
  }
  if (wait) return hold(s, std::move(ex), std::move(answer));
  if (msgs.empty()) {  // closed, nothing left to deliver
    end(s);
    return answer(answer_body(410));
  }
  answer(answer_body(200, s->token, &msgs));
}

void longpoll_hub::hold(const std::shared_ptr<longpoll_session>& s, boost::asio::any_io_executor ex,
                        longpoll_answer answer) {
  auto timer = std::make_shared<boost::asio::steady_timer>(ex, srv_.opts.longpoll_window);
  std::optional<longpoll_session::held_poll> earlier;
  std::vector<std::string> msgs;
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> g{s->mtx_};
    if (!s->out.empty() || s->closed) {  // something came meanwhile
      msgs = s->take_out();
    } else {
      earlier = s->take_held();  // a client polls once at a time: an earlier poll is stale
      id = ++s->next_poll_id;
      s->held = longpoll_session::held_poll{std::move(answer), timer, id};
    }
  }
  if (earlier) s->answer(*earlier, 204, {});
  if (id == 0) return answer(answer_body(msgs.empty() ? 410 : 200, s->token, &msgs));
  timer->async_wait([w = std::weak_ptr<longpoll_session>(s), id](boost::system::error_code ec) {
    auto s = w.lock();
    if (ec || !s) return;
    const std::vector<std::string> none;
    std::optional<longpoll_session::held_poll> h;
    {
      std::lock_guard<std::mutex> g{s->mtx_};
      if (s->held && s->held->id == id) h = s->take_held();
      s->last_poll = clock::now();
    }
    if (h) h->answer(answer_body(204, s->token, &none));
  });
}

void longpoll_hub::start_session(const longpoll_client& who, longpoll_answer answer) {
  conn_slot slot;
  if (srv_.opts.max_connections_per_client > 0 && !who.address.empty() &&
      !slot.charge(srv_.clients, who.address, srv_.opts.max_connections_per_client)) {
    srv_.metrics.reject(rejection::per_client);
    log(log_kind::client, "over max_connections_per_client for " + log_escape(who.address, 64) + ": long-poll refused");
    return answer(answer_body(500));  // the client retries after its backoff
  }
  auto s = std::make_shared<longpoll_session>(srv_, new_token());
  s->denied = who.denied;
  s->slot = std::move(slot);
  {
    std::lock_guard<std::mutex> g{mtx_};
    if (closed_) return answer(answer_body(500));
    sessions_.emplace(s->token, s);
  }
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = srv_.opts.session_mailbox;
  so.label = "live_session";
  // no idle_timeout: a long-poll client sends nothing to the process while idle; the hub ends the
  // session when the polls stop instead (sweep)
  auto spec = child_spec::worker("live_session", session_init(srv_.ccfg, s), so, restart::temporary);
  boost::asio::post(*srv_.offload, [this, s, spec = std::move(spec), answer = std::move(answer)]() mutable {
    auto p = start_child(srv_.sup, std::move(spec));
    if (!p) {
      log(log_kind::runtime, "cannot start a long-poll session: " + describe(p.error()));
      end(s);
      return answer(answer_body(500));
    }
    {
      std::lock_guard<std::mutex> g{s->mtx_};
      s->session_ = *p;
      s->last_poll = clock::now();
    }
    const std::vector<std::string> none;
    answer(answer_body(410, s->token, &none));  // Phoenix's "new session": the client opens
  });
}

std::string longpoll_hub::publish(std::string_view token, std::string_view body, bool ndjson) {
  auto s = find(token);
  corvid::pid p;
  if (s) {
    std::lock_guard<std::mutex> g{s->mtx_};
    if (!s->closed) p = s->session_;
  }
  if (!p) return answer_body(410);
  const std::size_t max_bytes = srv_.opts.channel.limits.max_bytes;
  // A frame over max_frame_bytes, as on the websocket: an event's view gets told (text), a chunk
  // ends the session (the client's chunk_size is ours, so this is no client of ours).
  auto oversized = [&](std::string_view text, std::size_t n, bool binary) {
    if (!binary) return (void)corvid::send(p, inbound_oversized{std::string(text.substr(0, head_bytes)), n});
    srv_.metrics.reject(rejection::frame_size);
    log(log_kind::client, "long-poll binary message over max_frame_bytes: session closed");
    s->close(1009);
  };
  auto deliver = [&](std::string text, bool binary) {
    const std::size_t n = text.size();
    const std::size_t per_session = std::max(srv_.opts.inbound_bytes, max_bytes);
    const std::size_t total = std::max(srv_.opts.inbound_bytes_total, max_bytes);
    if (s->inbound->load() + n > per_session || srv_.inbound_total.fetch_add(n) + n > total) {
      if (s->inbound->load() + n <= per_session) srv_.inbound_total.fetch_sub(n);  // only the total was over
      srv_.metrics.reject(rejection::inbound);
      if (!binary)
        if (auto reply = encode_refusal(text, "overloaded")) s->send(std::move(*reply));
      return;
    }
    s->inbound->fetch_add(n);
    std::shared_ptr<void> held(nullptr, [c = s->inbound, t = &srv_.inbound_total, n](void*) {
      c->fetch_sub(n);
      t->fetch_sub(n);
    });
    auto msg = caf::make_message(inbound_frame{std::move(text), binary, std::move(held)});
    if (corvid::detail::deliver(p, msg, corvid::pid{}, caf::timespan{0}) && !binary) {
      srv_.metrics.reject(rejection::inbound);
      if (auto reply = encode_refusal(msg.get_as<inbound_frame>(0).text, "overloaded")) s->send(std::move(*reply));
    }
  };
  if (!ndjson) {
    if (body.size() > max_bytes) oversized(body, body.size(), false);
    else deliver(std::string(body), false);
    return answer_body(200);
  }
  std::size_t lines = 0;
  while (!body.empty() && lines < max_batch) {
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    ++lines;
    if (line.front() == '[') {
      if (line.size() > max_bytes) oversized(line, line.size(), false);
      else deliver(std::string(line), false);
    } else if (line.size() / 4 * 3 > max_bytes + 3) {  // decoded, it would be over the limit anyway
      oversized({}, line.size() / 4 * 3, true);
      break;
    } else if (auto bytes = base64_decode(line)) {
      if (bytes->size() > max_bytes) {
        oversized({}, bytes->size(), true);
        break;
      }
      deliver(std::move(*bytes), true);
    } else {
      srv_.metrics.reject(rejection::malformed);
      log(log_kind::client, "a long-poll line that is neither a frame nor base64: dropped");
    }
  }
  return answer_body(200);
}

void longpoll_hub::end(const std::shared_ptr<longpoll_session>& s) {
  {
    std::lock_guard<std::mutex> g{mtx_};
    if (auto it = sessions_.find(s->token); it != sessions_.end() && it->second == s) sessions_.erase(it);
  }
  s->stop_process();
}

void longpoll_hub::sweep() {
  const auto now = clock::now();
  const auto window = srv_.opts.longpoll_window;
  const auto limit = window + window / 2;
  std::vector<std::shared_ptr<longpoll_session>> idle;
  {
    std::lock_guard<std::mutex> g{mtx_};
    for (auto& [token, s] : sessions_) {
      std::lock_guard<std::mutex> gs{s->mtx_};
      if (s->held || !s->session_) continue;  // being polled, or still starting
      if (now - s->last_poll > limit) idle.push_back(s);
    }
  }
  for (auto& s : idle) {
    bool was_open;
    {
      std::lock_guard<std::mutex> g{s->mtx_};
      was_open = !s->closed;
    }
    if (was_open) srv_.metrics.idle_closes.fetch_add(1, std::memory_order_relaxed);
    end(s);
  }
}

void longpoll_hub::close_all() {
  std::unordered_map<std::string, std::shared_ptr<longpoll_session>> all;
  {
    std::lock_guard<std::mutex> g{mtx_};
    closed_ = true;
    all.swap(sessions_);
  }
  for (auto& [token, s] : all) s->close(1001);
}

}  // namespace corvid::live::detail
