// A websocket connection and its session process: frames in (bounded, never parsed here beyond a
// bounded head), frames out (bounded, with a write deadline). Beast answers the upgrade; after it,
// frames are read and written on the raw socket (ws_frame.hpp), so an idle connection holds no read
// buffer and no pending composed operation. The only Beast websocket translation unit.

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <limits>
#include <span>
#include <thread>
#include <vector>

// g++ 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast's HTTP parser
// (boost::optional in basic_parser::do_field), inlined into this file; it is not our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "corvid/live/log.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "outbound_budget.hpp"
#include "server_impl.hpp"
#include "session.hpp"
#include "ws_frame.hpp"

namespace corvid::live::detail {

namespace websocket = beast::websocket;

namespace {

// What one wake-up reads at most before it yields the thread (it reads again at once if more is there).
constexpr std::size_t read_chunk = 64 * 1024;
constexpr int reads_per_wakeup = 4;
// What is kept of a message over max_frame_bytes, and all the I/O thread ever parses of a frame it
// refuses: enough for its refs, topic and event.
constexpr std::size_t head_bytes = 1024;
// Messages over this many times max_frame_bytes fail the connection instead of being read and dropped.
constexpr std::size_t oversize_close_factor = 64;

std::chrono::steady_clock::duration to_duration(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(ms);
}

// Bytes read from any connection on this I/O thread land here first; a connection keeps only what a
// message it is in the middle of needs (ws_reader).
char* read_buffer() {
  thread_local std::unique_ptr<char[]> buf(new char[read_chunk]);
  return buf.get();
}

struct sink_state;

// The socket of an upgraded connection. Besides the I/O thread (reads, queued writes), a session's
// own thread may write a whole frame to it directly while it is idle (ws_conn::write_direct): a
// reply then costs no wake-up of the I/O thread. Every way the socket closes first seals it against
// direct writes, so no thread ever writes to a descriptor that was closed and perhaps reused by
// another connection.
class guarded_socket : public tcp::socket {
 public:
  // idle: anyone may take it; io: the I/O thread writes (or has frames queued, or closes);
  // direct: a thread is in one non-blocking send; handover: a direct write left a part unwritten,
  // which the I/O thread writes next; sealed: no direct write ever again.
  enum state_t : int { idle, io, direct, handover, sealed };

  explicit guarded_socket(const asio::any_io_executor& ex) : tcp::socket(ex) {}

  std::atomic<int> state{io};  // io until the session runs
  std::atomic<bool> io_waiting{false};  // the I/O thread wants the socket back from a direct write
  int fd = -1;                          // set before the first idle: read by direct writers

  // On the I/O thread, before the descriptor closes: waits out a direct send (one non-blocking call).
  void seal() noexcept {
    int st = state.load();
    for (;;) {
      if (st == sealed) return;
      if (st == direct) {
        std::this_thread::yield();
        st = state.load();
        continue;
      }
      if (state.compare_exchange_weak(st, sealed)) return;
    }
  }

  // On the I/O thread: the descriptor goes now, not when the last handler has run.
  void seal_and_close() noexcept {
    seal();
    beast::error_code ignored;
    close(ignored);
  }
};

}  // namespace

class ws_conn : public std::enable_shared_from_this<ws_conn>, private ws_events {
 public:
  ws_conn(server::impl& srv, tcp::socket&& s, std::uint64_t id, conn_slot slot)
      : srv_(srv),
        sock_(s.get_executor()),
        handshake_(std::make_unique<websocket::stream<tcp::socket>>(std::move(s))),
        id_(id),
        slot_(std::move(slot)) {}
  ~ws_conn() { srv_.conn_count.fetch_sub(1); }

  void start(http::request<http::string_body> req);
  // From any thread: writes `frame` (reserved in the sink's budget) straight to the socket if it is
  // idle and no earlier frame of this connection is still on its way to the queue; true if it went
  // (or its start did, the rest handed to the I/O thread). False: post it to enqueue().
  bool write_direct(std::span<const std::string_view> parts);  // at most 3 parts
  // Frames posted to the strand and not yet queued: a direct write must not overtake them.
  std::atomic<std::size_t> posted{0};
  // When the client last sent a byte (any thread: the idle sweep reads it).
  std::chrono::steady_clock::time_point last_read() const {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_read_.load(std::memory_order_relaxed)));
  }
  // On the connection's strand:
  void enqueue(std::string frame);
  void close(std::uint16_t code);
  void drop_slow(const char* why);
  void first_join_due();
  void idle_due();
  auto executor() { return sock_.get_executor(); }

  std::shared_ptr<sink_state> sink;

 private:
  // What current_ is: a queued data frame (framed as it is written, its budget released after),
  // framed bytes that hold no budget (a pong, the rest of a direct write), or our close frame.
  enum class writing_kind : unsigned char { data, control, close };

  // ws_events: what the reader hands on, on the strand.
  void message(std::string data, bool binary) override;
  void oversized(std::string head, std::size_t size, bool binary) override;
  void ping(std::string_view payload) override;
  void closed(std::uint16_t code, std::string_view reason) override;

  void on_accept(beast::error_code ec);
  void on_session(caf::expected<corvid::pid> p);
  void do_read();
  void on_readable(beast::error_code ec);
  void fail(const ws_failure& f);
  caf::error deliver(const caf::message& msg);
  void refuse(std::string_view text, rejection why);
  void write_next();
  void write_frame(writing_kind kind, std::string frame);
  void pop_front();
  void on_write(beast::error_code ec);
  void drop_queued();
  bool take_socket();
  void give_socket();
  void resume_writes();
  void end_direct();
  void write_rest(std::string rest);
  void arm_deadline(std::chrono::steady_clock::time_point due);
  void on_deadline();
  void finished();
  void release(const std::string& frame);
  void touch() {
    last_read_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }

  server::impl& srv_;
  guarded_socket sock_;  // empty until the upgrade is answered
  // Beast answers the upgrade (its checks, the accept key, the handshake timeout), then gives the
  // socket to sock_ and goes with its buffers: null from then on.
  std::unique_ptr<websocket::stream<tcp::socket>> handshake_;
  std::uint64_t id_;
  conn_slot slot_;
  ws_reader reader_;
  std::atomic<std::chrono::steady_clock::rep> last_read_{0};
  // bytes of frames sent to the session and not yet handled by it
  std::shared_ptr<std::atomic<std::size_t>> inbound_ = std::make_shared<std::atomic<std::size_t>>(0);
  // Frames to write, out_[out_head_] first: a vector, since an empty std::deque allocates about
  // 700 bytes and most connections are idle with nothing queued.
  std::vector<std::string> out_;
  std::size_t out_head_ = 0;
  std::string current_;  // the frame being written (or the rest of a direct write)
  std::string pong_;     // a pong for the latest ping, written before queued frames
  unsigned char head_[10];  // the header of a queued data frame being written
  writing_kind kind_ = writing_kind::data;
  bool writing_ = false, closing_ = false, closed_ = false, done_ = false;
  bool close_sent_ = false;   // our close frame went: we wait for the client's
  bool peer_closed_ = false;  // the client's close frame came: ours answers it, then the socket goes
  bool fail_fast_ = false;    // a protocol error: our close frame goes, then the socket, without waiting
  bool turns_here_ = false;   // the session's turns for frames run on the I/O thread (deliver)
  std::optional<std::uint16_t> close_code_;
  corvid::pid session_;
  // A write the client does not take, or a close handshake it does not finish, ends by this deadline.
  std::chrono::steady_clock::time_point write_started_, close_by_;
  std::unique_ptr<asio::steady_timer> deadline_;  // made on first use: most connections never need it armed long
  std::chrono::steady_clock::time_point armed_for_{};
};

namespace {

// The session process's end of a connection: posts to the connection's strand, bounded by a counter.
struct sink_state final : connection_sink {
  sink_state(std::weak_ptr<ws_conn> c, asio::any_io_executor ex, std::size_t limit, std::size_t byte_limit)
      : conn(std::move(c)), exec(std::move(ex)), budget(limit, byte_limit) {}
  void send(std::string frame) override {
    auto c = admit(frame.size());
    if (!c) return;
    const std::string_view parts[1] = {frame};
    if (!close_requested.load() && c->write_direct(parts)) return;
    post(*c, std::move(frame));
  }
  // A shared diff body between this connection's head and tail: one sendmsg, no copy, when the
  // socket is free.
  void send_parts(std::string_view head, std::shared_ptr<const std::string> body, std::string_view tail) override {
    const std::string_view parts[3] = {head, *body, tail};
    auto c = admit(head.size() + body->size() + tail.size());
    if (!c) return;
    if (!close_requested.load() && c->write_direct(parts)) return;
    post(*c, join_frame(head, *body, tail));
  }
  // The connection, with `bytes` reserved in the budget; null (nothing reserved) when it is gone or
  // the budget is spent.
  std::shared_ptr<ws_conn> admit(std::size_t bytes) {
    if (!budget.reserve(bytes)) {
      if (!overflowed.exchange(true))  // a browser that cannot keep up is dropped, not buffered without end
        asio::post(exec, [w = conn] {
          if (auto c = w.lock()) c->drop_slow("outbound queue full");
        });
      return nullptr;
    }
    auto c = conn.lock();
    if (!c) budget.release(bytes);  // the connection is gone
    return c;
  }
  void post(ws_conn& c, std::string frame) {
    c.posted.fetch_add(1);
    asio::post(exec, [w = conn, f = std::move(frame)]() mutable {
      if (auto c = w.lock()) c->enqueue(std::move(f));
    });
  }
  void close(std::uint16_t code) override {
    close_requested.store(true);  // later frames queue behind the close (and are dropped), as before direct writes
    asio::post(exec, [w = conn, code] {
      if (auto c = w.lock()) c->close(code);
    });
  }
  bool watches_first_join() const override { return true; }  // server::impl::watch_first_join
  std::weak_ptr<ws_conn> conn;
  asio::any_io_executor exec;
  outbound_budget budget;
  std::atomic<bool> overflowed{false};
  std::atomic<bool> close_requested{false};
};

}  // namespace

void ws_conn::start(http::request<http::string_body> req) {
  auto& hs = *handshake_;
  websocket::stream_base::timeout t{};
  t.handshake_timeout = srv_.opts.disconnect_timeout.count() > 0 ? to_duration(srv_.opts.disconnect_timeout)
                                                                 : websocket::stream_base::none();
  t.idle_timeout = websocket::stream_base::none();  // ours: server::impl::watch_idle
  t.keep_alive_pings = false;
  hs.set_option(t);
  hs.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "corvid"); }));
  hs.async_accept(req, beast::bind_front_handler(&ws_conn::on_accept, shared_from_this()));
}

void ws_conn::on_accept(beast::error_code ec) {
  if (ec) return finished();
  static_cast<tcp::socket&>(sock_) = std::move(handshake_->next_layer());
  handshake_.reset();
  touch();
  auto self = shared_from_this();
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = srv_.opts.session_mailbox;  // policy reject: a full box answers "overloaded"
  so.label = "live_session";
  // no idle_timeout of the process: the socket has it (a quiet client is closed, and its session ends)
  auto spec = child_spec::worker("live_session", session_init(srv_.ccfg, sink), so, restart::temporary);
  asio::post(*srv_.offload, [self, spec = std::move(spec), sup = srv_.sup]() mutable {
    auto p = start_child(sup, std::move(spec));
    asio::post(self->executor(), [self, p = std::move(p)]() mutable { self->on_session(std::move(p)); });
  });
}

void ws_conn::on_session(caf::expected<corvid::pid> p) {
  if (!p) {  // a session that still starts later finds the connection gone (sink_state::attach) and ends
    log(log_kind::runtime, "cannot start a session: " + describe(p.error()));
    close(1011);
    return;
  }
  session_ = *p;
  turns_here_ = srv_.opts.io_turn_limit.count() > 0;
  if (closing_) return finished();  // the server stopped meanwhile
  if (srv_.ccfg.first_join_timeout.count() > 0) srv_.watch_first_join(id_);
  if (srv_.opts.idle_timeout.count() > 0) srv_.watch_idle(id_, last_read() + to_duration(srv_.opts.idle_timeout));
  sock_.fd = sock_.native_handle();
  give_socket();  // direct writes from here on
  do_read();
}

void ws_conn::first_join_due() {
  if (closing_ || closed_ || done_ || sink->has_joined()) return;
  srv_.metrics.reject(rejection::join_timeout);
  log(log_kind::client, "closing a connection that joined no view within first_join_timeout (1008)");
  close(1008);
}

// The idle sweep found no byte from the client for idle_timeout; one may have come since.
void ws_conn::idle_due() {
  if (done_ || srv_.opts.idle_timeout.count() <= 0) return;
  const auto due = last_read() + to_duration(srv_.opts.idle_timeout);
  if (std::chrono::steady_clock::now() < due) return srv_.watch_idle(id_, due);
  if (!closing_) srv_.metrics.idle_closes.fetch_add(1, std::memory_order_relaxed);
  finished();  // no close frame: a client this quiet is likely gone
}

// A small wait for readability, not a read with a buffer: that is all an idle connection holds.
void ws_conn::do_read() {
  sock_.async_wait(tcp::socket::wait_read, beast::bind_front_handler(&ws_conn::on_readable, shared_from_this()));
}

void ws_conn::on_readable(beast::error_code ec) {
  if (done_) return;
  if (ec) return finished();
  const std::size_t keep = std::max<std::size_t>(srv_.opts.channel.limits.max_bytes, 1);
  const ws_limits lim{keep,
                      keep > std::numeric_limits<std::size_t>::max() / oversize_close_factor
                          ? std::numeric_limits<std::size_t>::max()
                          : keep * oversize_close_factor,
                      head_bytes};
  char* buf = read_buffer();
  for (int round = 0; round < reads_per_wakeup; ++round) {
    const ssize_t n = ::recv(sock_.fd, buf, read_chunk, MSG_DONTWAIT);
    if (n == 0) return finished();  // the client is gone (or closed TCP after its close frame)
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return finished();
    }
    touch();
    if (auto f = reader_.feed(buf, static_cast<std::size_t>(n), lim, *this)) return fail(*f);
    if (done_ || reader_.done()) return;  // a close frame: its answer ends the connection
    if (static_cast<std::size_t>(n) < read_chunk) break;
  }
  do_read();
}

// The client broke the protocol: it is told why (1002, 1007, 1009) and the connection ends.
void ws_conn::fail(const ws_failure& f) {
  if (f.code == 1009) {
    srv_.metrics.reject(rejection::frame_size);
    log(log_kind::client,
        "websocket message over " + std::to_string(oversize_close_factor) + "x max_frame_bytes: closed (1009)");
  } else {
    srv_.metrics.reject(rejection::malformed);
    log(log_kind::client, std::string("websocket protocol error (") + f.why + "): closed (" + std::to_string(f.code) + ")");
  }
  fail_fast_ = true;
  close(f.code);
}

void ws_conn::message(std::string text, bool binary) {
  if (close_sent_) return;  // after our close frame, what the client still sends is not read
  // Frames up to max_frame_bytes each, up to session_mailbox of them; bytes bound the queue per
  // session (at least one frame) and over all sessions.
  const std::size_t n = text.size();
  if (inbound_->load() + n > std::max(srv_.opts.inbound_bytes, srv_.opts.channel.limits.max_bytes) ||
      srv_.inbound_total.fetch_add(n) + n > std::max(srv_.opts.inbound_bytes_total, srv_.opts.channel.limits.max_bytes)) {
    if (inbound_->load() + n <= std::max(srv_.opts.inbound_bytes, srv_.opts.channel.limits.max_bytes))
      srv_.inbound_total.fetch_sub(n);  // only the total was over
    if (!binary) refuse(text, rejection::inbound);  // a chunk dropped here stalls its upload (chunk_timeout)
    else srv_.metrics.reject(rejection::inbound);
    return;
  }
  inbound_->fetch_add(n);
  std::shared_ptr<void> held(nullptr, [c = inbound_, total = &srv_.inbound_total, n](void*) {
    c->fetch_sub(n);
    total->fetch_sub(n);
  });
  // kept to answer from if the mailbox refuses it (a copy of a caf::message shares its data)
  auto msg = caf::make_message(inbound_frame{std::move(text), binary, std::move(held)});
  if (deliver(msg) && !binary) refuse(msg.get_as<inbound_frame>(0).text, rejection::inbound);
}

// An idle session runs its turn here, on the thread that read the frame: no worker wakes for a
// click, and the reply goes out from here (write_direct) before the next read. A turn over
// io_turn_limit sends this session's turns to the workers from then on.
caf::error ws_conn::deliver(const caf::message& msg) {
  if (!turns_here_) return corvid::detail::deliver(session_, msg, corvid::pid{}, caf::timespan{0});
  const auto start = std::chrono::steady_clock::now();
  auto err = corvid::detail::deliver_here(session_, msg);
  if (const auto took = std::chrono::steady_clock::now() - start; took > srv_.opts.io_turn_limit) {
    turns_here_ = false;
    log(log_kind::runtime, "a session's turn took " +
                               std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(took).count()) +
                               " us on an I/O thread (io_turn_limit " + std::to_string(srv_.opts.io_turn_limit.count()) +
                               " us): its turns run on the workers from now on");
  }
  return err;
}

void ws_conn::oversized(std::string head, std::size_t size, bool binary) {
  if (close_sent_) return;
  if (binary) {  // a chunk over the frame limit: the client's chunk_size is ours, so this is no client of ours
    srv_.metrics.reject(rejection::frame_size);
    log(log_kind::client, "binary websocket message over max_frame_bytes: closed (1009)");
    return close(1009);
  }
  // only the session knows whether this was an event of a joined view
  (void)corvid::send(session_, inbound_oversized{std::move(head), size});
}

void ws_conn::ping(std::string_view payload) {
  if (closing_) return;
  pong_ = ws_pong_frame(payload);  // only the latest ping is answered (RFC 6455 5.5.3)
  write_next();
}

void ws_conn::closed(std::uint16_t code, std::string_view) {
  peer_closed_ = true;
  if (close_sent_) return finished();  // the answer to ours
  drop_queued();
  if (closing_) return write_next();  // ours is on its way: it answers theirs
  close(code);  // echo the client's code (none: an empty close frame)
}

// The session is behind (or gone): answer here from the frame's head, never buffer without bound.
void ws_conn::refuse(std::string_view text, rejection why) {
  srv_.metrics.reject(why);
  if (auto reply = encode_refusal(text, "overloaded")) sink->send(std::move(*reply));
}

void ws_conn::release(const std::string& frame) { sink->budget.release(frame.size()); }

void ws_conn::enqueue(std::string frame) {
  if (closing_ || closed_) {
    release(frame);
    posted.fetch_sub(1);
    return;
  }
  out_.push_back(std::move(frame));
  write_next();
  // Only now: the frame is being written, or waits in out_ with io_waiting set; either way no direct
  // write goes before it.
  posted.fetch_sub(1);
}

// Queued frames that will never go (the connection is failing, or the client has closed).
void ws_conn::drop_queued() {
  for (std::size_t i = out_head_; i < out_.size(); ++i) release(out_[i]);
  std::vector<std::string>{}.swap(out_);
  out_head_ = 0;
}

bool ws_conn::write_direct(std::span<const std::string_view> parts) {
  auto& s = sock_;
  if (posted.load() != 0 || parts.size() > 3) return false;
  int st = guarded_socket::idle;
  if (!s.state.compare_exchange_strong(st, guarded_socket::direct)) return false;
  if (s.io_waiting.load()) {  // frames wait in the queue: they go first
    end_direct();
    return false;
  }
  std::size_t size = 0;
  for (auto p : parts) size += p.size();
  std::array<unsigned char, 10> h;
  const std::size_t hl = ws_header(h.data(), ws_op::text, size);
  std::array<iovec, 4> iov;
  std::size_t n_iov = 0;
  iov[n_iov++] = {h.data(), hl};
  for (auto p : parts)
    if (!p.empty()) iov[n_iov++] = {const_cast<char*>(p.data()), p.size()};
  msghdr m{};
  m.msg_iov = iov.data();
  m.msg_iovlen = n_iov;
  const ssize_t n = ::sendmsg(s.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0) {  // would block, or an error the queued write meets again (and handles) on the I/O thread
    end_direct();
    return false;
  }
  sink->budget.release(size);
  auto done = static_cast<std::size_t>(n);
  if (done == hl + size) {
    end_direct();
    return true;
  }
  // Part of it went: the rest must follow before any other byte, so the I/O thread takes over.
  std::string rest;
  for (std::size_t k = 0; k < n_iov; ++k) {
    const auto len = iov[k].iov_len;
    const auto skip = std::min(done, len);
    rest.append(static_cast<const char*>(iov[k].iov_base) + skip, len - skip);
    done -= skip;
  }
  s.state.store(guarded_socket::handover);
  asio::post(sink->exec, [self = shared_from_this(), r = std::move(rest)]() mutable { self->write_rest(std::move(r)); });
  return true;
}

// The socket is free again; if the I/O thread waits for it, it is called back. Only the I/O thread
// clears io_waiting (when it takes the socket), so that until then no direct write overtakes what
// it has queued.
void ws_conn::end_direct() {
  sock_.state.store(guarded_socket::idle);
  if (sock_.io_waiting.load()) asio::post(sink->exec, [self = shared_from_this()] { self->resume_writes(); });
}

// On the strand: the socket for a write of ours. False while a direct write has it (the strand is
// called back: resume_writes) or once it is sealed.
bool ws_conn::take_socket() {
  auto& s = sock_;
  int st = s.state.load();
  for (;;) {
    if (st == guarded_socket::io) {
      s.io_waiting.store(false);
      return true;
    }
    if (st == guarded_socket::sealed) return false;
    if (st == guarded_socket::idle) {
      if (s.state.compare_exchange_weak(st, guarded_socket::io)) {
        s.io_waiting.store(false);
        return true;
      }
      continue;
    }
    s.io_waiting.store(true);  // direct or handover: ask to be called back, then look again
    st = guarded_socket::idle;
    if (s.state.compare_exchange_strong(st, guarded_socket::io)) {
      s.io_waiting.store(false);
      return true;
    }
    if (st == guarded_socket::direct || st == guarded_socket::handover) return false;
  }
}

// On the strand: direct writes may go again once nothing is queued, written or closing.
void ws_conn::give_socket() {
  if (writing_ || out_head_ < out_.size() || !pong_.empty() || closing_ || closed_) return;
  int st = guarded_socket::io;
  sock_.state.compare_exchange_strong(st, guarded_socket::idle);
}

// On the strand: what waited for a direct write (or a handover) to end.
void ws_conn::resume_writes() {
  if (writing_ || closed_ || done_) return;
  write_next();
}

// On the strand: the unwritten end of a direct write, before anything else.
void ws_conn::write_rest(std::string rest) {
  int st = guarded_socket::handover;
  if (!sock_.state.compare_exchange_strong(st, guarded_socket::io)) return;  // sealed: going
  write_frame(writing_kind::control, std::move(rest));  // its budget went with the direct write
}

// On the strand: the next frame to go, in this order: a pong, the queued frames, our close frame.
// With nothing to write, direct writes may go again.
void ws_conn::write_next() {
  if (writing_ || closed_ || done_ || handshake_) return;
  if (pong_.empty() && out_head_ == out_.size() && (!close_code_ || close_sent_)) return give_socket();
  if (!take_socket()) return;  // a direct write has it: resume_writes() comes back here
  if (!pong_.empty()) return write_frame(writing_kind::control, std::exchange(pong_, {}));
  if (out_head_ < out_.size()) {
    auto frame = std::move(out_[out_head_]);
    pop_front();
    return write_frame(writing_kind::data, std::move(frame));
  }
  write_frame(writing_kind::close, ws_close_frame(*close_code_));
}

void ws_conn::write_frame(writing_kind kind, std::string frame) {
  writing_ = true;
  kind_ = kind;
  write_started_ = std::chrono::steady_clock::now();
  if (srv_.opts.write_timeout.count() > 0) arm_deadline(write_started_ + to_duration(srv_.opts.write_timeout));
  current_ = std::move(frame);  // out_ may move its strings (and a short one's bytes) while this is written
  auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); };
  auto& s = static_cast<tcp::socket&>(sock_);
  if (kind != writing_kind::data) return asio::async_write(s, asio::buffer(current_), std::move(done));
  const std::size_t hl = ws_header(head_, ws_op::text, current_.size());
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(head_, hl), asio::buffer(current_)};
  asio::async_write(s, bufs, std::move(done));
}

void ws_conn::pop_front() {  // out_[out_head_] was moved out
  if (++out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
    if (out_.capacity() > 16) out_.shrink_to_fit();  // a burst's queue is not kept by an idle connection
  } else if (out_head_ >= 16 && out_head_ * 2 >= out_.size()) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));  // never grows without end
    out_head_ = 0;
  }
}

void ws_conn::on_write(beast::error_code ec) {
  writing_ = false;
  if (kind_ == writing_kind::data) release(current_);
  std::string{}.swap(current_);
  if (ec) return finished();
  if (kind_ == writing_kind::close) {
    close_sent_ = true;
    if (peer_closed_ || fail_fast_) return finished();
    // the client's close frame should follow; the read loop ends the connection when it does
    if (srv_.opts.disconnect_timeout.count() > 0) {
      close_by_ = std::chrono::steady_clock::now() + to_duration(srv_.opts.disconnect_timeout);
      arm_deadline(close_by_);
    }
    return;
  }
  write_next();
}

// One timer per connection, armed for the earliest pending deadline; a deadline that has moved on by
// the time it fires re-arms it, so a busy connection costs no timer operation per frame.
void ws_conn::arm_deadline(std::chrono::steady_clock::time_point due) {
  if (!deadline_) deadline_ = std::make_unique<asio::steady_timer>(sock_.get_executor());
  if (armed_for_ != std::chrono::steady_clock::time_point{} && armed_for_ <= due) return;
  armed_for_ = due;
  deadline_->expires_at(due);
  deadline_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->on_deadline();
  });
}

void ws_conn::on_deadline() {
  armed_for_ = {};
  if (closed_ || done_) return;
  const auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next{};
  if (writing_ && srv_.opts.write_timeout.count() > 0) {
    auto due = write_started_ + to_duration(srv_.opts.write_timeout);
    if (now >= due) return drop_slow("a write not taken within write_timeout");
    next = due;
  }
  if (closing_ && close_by_ != std::chrono::steady_clock::time_point{}) {
    if (now >= close_by_) {
      if (writing_) return drop_slow("a close handshake stuck behind a write");
      return finished();  // the client never answered our close frame
    }
    if (next == std::chrono::steady_clock::time_point{} || close_by_ < next) next = close_by_;
  }
  if (next != std::chrono::steady_clock::time_point{}) arm_deadline(next);
}

void ws_conn::close(std::uint16_t code) {
  if (closing_ || closed_ || done_) return;
  closing_ = true;  // later frames are dropped; those queued go out first (e.g. the reply saying why)
  close_code_ = code;
  if (fail_fast_ || peer_closed_) drop_queued();
  if (!writing_) return write_next();  // nothing is being written (a direct write may hold the socket: it waits)
  if (srv_.opts.disconnect_timeout.count() > 0) {
    close_by_ = std::chrono::steady_clock::now() + to_duration(srv_.opts.disconnect_timeout);
    arm_deadline(close_by_);
  }
}

// The client does not read. No close handshake (it would queue behind the stuck write): the socket
// goes, and with it the session.
void ws_conn::drop_slow(const char* why) {
  if (closed_ || done_) return;
  srv_.metrics.slow_drops.fetch_add(1, std::memory_order_relaxed);
  log(log_kind::client, std::string("dropping a client that does not read (") + why + ")");
  closing_ = true;
  finished();
}

void ws_conn::finished() {
  if (done_) return;
  done_ = true;
  closed_ = true;
  if (deadline_) deadline_->cancel();
  if (auto attached = sink->detach(); !session_ && attached) session_ = attached;
  if (session_) {
    // A full mailbox refuses the notice; a session stuck in a handler ignores it: after
    // disconnect_timeout the session is killed either way.
    if (corvid::send(session_, connection_closed{})) {
      corvid::exit(session_, reason::kill());
    } else if (srv_.opts.disconnect_timeout.count() > 0) {
      auto t = std::make_shared<asio::steady_timer>(sock_.get_executor(), srv_.opts.disconnect_timeout);
      t->async_wait([t, p = session_](beast::error_code ec) {
        if (!ec && p.alive()) corvid::exit(p, reason::kill());
      });
    }
  }
  if (handshake_) {  // the upgrade failed (or timed out): Beast's socket is the one to close
    beast::error_code ignored;
    handshake_->next_layer().close(ignored);
  }
  sock_.seal_and_close();  // pending operations fail with operation_aborted and find done_
  std::lock_guard<std::mutex> g{srv_.mtx};
  srv_.conns.erase(id_);
}

void open_websocket(server::impl& srv, tcp::socket&& s, conn_slot slot, http::request<http::string_body>&& req,
                    std::vector<std::string> denied) {
  std::shared_ptr<ws_conn> c;
  {
    std::lock_guard<std::mutex> g{srv.mtx};
    srv.conn_count.fetch_add(1);
    auto id = ++srv.next_conn;
    c = std::make_shared<ws_conn>(srv, std::move(s), id, std::move(slot));
    c->sink = std::make_shared<sink_state>(c, c->executor(), srv.opts.outbound_frames, srv.opts.outbound_bytes);
    c->sink->denied = std::move(denied);
    srv.conns.emplace(id, c);
  }
  c->start(std::move(req));
}

void close_websocket(const std::shared_ptr<ws_conn>& c, std::uint16_t code) {
  asio::post(c->executor(), [c, code] { c->close(code); });
}

void first_join_due(const std::shared_ptr<ws_conn>& c) {
  asio::post(c->executor(), [c] { c->first_join_due(); });
}

std::chrono::steady_clock::time_point last_read(const ws_conn& c) { return c.last_read(); }

void idle_due(const std::shared_ptr<ws_conn>& c) {
  asio::post(c->executor(), [c] { c->idle_due(); });
}

}  // namespace corvid::live::detail
