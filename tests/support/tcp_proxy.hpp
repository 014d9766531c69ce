#pragma once
// A TCP proxy on loopback that a test controls, to partition nodes: cut() closes every
// connection through it and refuses new ones until heal(). Nodes reach each other through it
// when they advertise its address (node_options::advertise).
//
//   tcp_proxy p;                       // listens on 127.0.0.1:p.port()
//   p.target(b.node->port());          // forwards there
//   p.cut(); ... p.heal();

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>

#include "cluster_member.hpp"

namespace corvid::test {

class tcp_proxy {
public:
  tcp_proxy() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~tcp_proxy() {
    boost::asio::post(io_, [this] {
      acceptor_.close();
      close_all();
      work_.reset();
      io_.stop();
    });
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  /// Where connections go (set before the first one arrives).
  void target(uint16_t port) { target_ = port; }
  /// Closes every connection and refuses new ones.
  void cut() {
    cut_ = true;
    boost::asio::post(io_, [this] { close_all(); });
  }
  void heal() { cut_ = false; }
  /// Stops forwarding (connections stay open, bytes wait), as a link that went silent.
  void freeze() { frozen_ = true; }
  void thaw() { frozen_ = false; }

private:
  using tcp = boost::asio::ip::tcp;
  struct pipe : std::enable_shared_from_this<pipe> {
    explicit pipe(boost::asio::io_context& io) : a(io), b(io) {}
    tcp::socket a, b;
    std::array<char, 16384> ab, ba;
    void close() {
      boost::system::error_code ec;
      a.close(ec);
      b.close(ec);
    }
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec)
        return;
      if (!cut_) {
        auto p = std::make_shared<pipe>(io_);
        p->a = std::move(s);
        pipes_.insert(p);
        p->b.async_connect({boost::asio::ip::make_address("127.0.0.1"), target_.load()},
                           [this, p](const boost::system::error_code& e) {
                             if (e || !pipes_.count(p))
                               return drop(p);
                             pump(p, p->a, p->b, p->ab);
                             pump(p, p->b, p->a, p->ba);
                           });
      }  // else `s` closes here: refused
      accept();
    });
  }
  void pump(const std::shared_ptr<pipe>& p, tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buf) {
    if (frozen_) {  // look again shortly
      auto t = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(10));
      t->async_wait([this, p, t, &from, &to, &buf](const boost::system::error_code& ec) {
        if (!ec && pipes_.count(p))
          pump(p, from, to, buf);
      });
      return;
    }
    from.async_read_some(boost::asio::buffer(buf), [this, p, &from, &to, &buf](const boost::system::error_code& ec, size_t n) {
      if (ec)
        return drop(p);
      boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                               [this, p, &from, &to, &buf](const boost::system::error_code& e, size_t) {
                                 if (e)
                                   return drop(p);
                                 pump(p, from, to, buf);
                               });
    });
  }
  void drop(const std::shared_ptr<pipe>& p) {
    p->close();
    pipes_.erase(p);
  }
  void close_all() {
    for (auto& p : pipes_)
      p->close();
    pipes_.clear();
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{io_.get_executor()};
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<uint16_t> target_{0};
  std::atomic<bool> cut_{false};
  std::atomic<bool> frozen_{false};
  std::set<std::shared_ptr<pipe>> pipes_;  // io thread only
};

/// Test node options under which the others reach this node only through `p`.
inline cluster::node_options reached_through(const tcp_proxy& p, std::vector<std::string> seeds = {}) {
  auto o = node_opts(std::move(seeds));
  o.advertise = p.address();
  return o;
}

} // namespace corvid::test
