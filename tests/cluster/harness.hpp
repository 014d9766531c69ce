#pragma once
// Loopback test harness: an io_context on its own thread per node, handlers that record
// what happened, and waits with deadlines (never sleeps) on those records.

#include "../support/rss.hpp"
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "corvid/cluster/connection.hpp"
#include "corvid/cluster/listener.hpp"

namespace cluster_test {

namespace asio = boost::asio;
using namespace corvid::cluster;
using namespace std::chrono_literals;

inline const std::string secret_a(32, 'a');
inline const std::string secret_b(32, 'b');

inline options make_options(std::string name, std::string secret = secret_a) {
  options o;
  o.node_name = std::move(name);
  o.incarnation = 7;
  o.listen_address = "127.0.0.1:0";
  o.secret = std::move(secret);
  return o;
}

/// One node's event loop on its own thread.
class io_thread {
public:
  io_thread() : guard_(io.get_executor()), t_([this] { io.run(); }) {}
  ~io_thread() { stop(); }
  void stop() {
    if (!t_.joinable())
      return;
    guard_.reset();
    io.stop();
    t_.join();
  }
  asio::io_context io;

private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread t_;
};

/// What a node's handlers saw; wait_for() blocks until a condition holds or a deadline passes.
class recorder {
public:
  struct received {
    lane l;
    corvid::cluster::v1::Frame frame;
  };

  handlers make() {
    handlers h;
    h.on_up = [this](const connection& c) {
      std::lock_guard lk(mu_);
      ups.push_back(c);
      cv_.notify_all();
    };
    h.on_frame = [this](const connection& c, lane l, corvid::cluster::v1::Frame&& f) {
      if (before_frame)
        before_frame(c, l, f);
      std::lock_guard lk(mu_);
      frames.push_back({l, std::move(f)});
      cv_.notify_all();
    };
    h.on_closed = [this](const connection&, const error& e) {
      std::lock_guard lk(mu_);
      closes.push_back(e);
      cv_.notify_all();
    };
    return h;
  }

  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, deadline, [&] { return pred(*this); });
  }

  template <class F>
  auto with_lock(F f) {
    std::lock_guard lk(mu_);
    return f(*this);
  }

  /// Runs on the connection's strand before a frame is recorded; may block there.
  std::function<void(const connection&, lane, const corvid::cluster::v1::Frame&)> before_frame;

  std::vector<connection> ups;
  std::vector<received> frames;
  std::vector<error> closes;

private:
  std::mutex mu_;
  std::condition_variable cv_;
};

/// A one-shot gate a blocked handler waits on; open() releases it.
class gate {
public:
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  /// Waits until opened or the deadline passes.
  bool wait(std::chrono::milliseconds deadline = 30s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, deadline, [&] { return open_; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// A node for tests: its loop thread stops before its records (and the connection handles
/// in them) are destroyed, and those before the io_context.
struct node {
  io_thread net;
  recorder rec;
  ~node() { net.stop(); }
};

inline asio::ip::tcp::endpoint loopback(uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

/// A process-signal frame to send around.
inline corvid::cluster::v1::Frame send_frame(uint64_t to, std::string payload) {
  corvid::cluster::v1::Frame f;
  auto* s = f.mutable_send();
  s->set_to_id(to);
  auto* t = s->add_elements();
  t->set_type("bytes");
  t->set_data(std::move(payload));
  return f;
}

using corvid::test::rss_bytes;

/// A plain blocking TCP client with a receive timeout, for speaking raw bytes.
class raw_client {
public:
  explicit raw_client(uint16_t port, std::chrono::milliseconds recv_timeout = 10s);
  /// Writes all of `bytes`; false if the peer has closed.
  bool write(const std::string& bytes);
  /// Reads one length-prefixed frame; nullopt on EOF, timeout or error.
  std::optional<corvid::cluster::v1::Frame> read_frame();
  /// True if the peer closed the connection (EOF or reset) before the receive timeout.
  bool closed_by_peer();

private:
  asio::io_context io_;
  asio::ip::tcp::socket sock_;
};

/// An encoded frame (header + body).
std::string wire(const corvid::cluster::v1::Frame& f);

} // namespace cluster_test
