// One LiveView connection of a virtual user, on the load tool's I/O threads: GET the page, upgrade
// to /live/websocket, join, push events, keep the heartbeat. It speaks the wire protocol only
// (Phoenix LiveView 1.x, V2 JSON frames), so it works against any LiveView server.
// Everything it learns goes to a sink, called on its strand; a user process forwards it to itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace corvid::load {

/// What the connection reports.
struct lv_event {
  enum class kind {
    mounted,  ///< joined: get_us, upgrade_us, join_us, bytes and text of the join reply
    reply,    ///< a reply to push(): ref, ok, rtt_us, bytes, text
    push,     ///< a server push: event ("diff", "phx_error", "phx_close", "redirect", ...), bytes, text
    failed,   ///< the connection is lost or was refused: error (a kind) and detail
  };
  kind type = kind::failed;
  std::uint64_t ref = 0;
  bool ok = true;
  std::uint64_t get_us = 0, upgrade_us = 0, join_us = 0, rtt_us = 0;
  std::size_t bytes = 0;
  std::string event;
  std::string text;
  std::string error;
  std::string detail;
};

/// Where a session connects and how it presents itself.
struct lv_target {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  ///< "127.0.0.1:4000"
  std::string origin;       ///< "http://127.0.0.1:4000"; empty: no Origin header
  std::chrono::seconds heartbeat{30};
  /// Local addresses to connect from (--source); a user takes one. Empty: the kernel picks.
  std::vector<boost::asio::ip::address> sources;
  std::optional<boost::asio::ip::address> source;  ///< the one this session binds to
};

class lv_session : public std::enable_shared_from_this<lv_session> {
public:
  using sink = std::function<void(lv_event&&)>;
  static std::shared_ptr<lv_session> make(boost::asio::io_context& io, lv_target target, sink s);
  virtual ~lv_session() = default;

  /// GET `path` (sending `cookies`, "a=1; b=2", as a browser holding them would), upgrade, join the
  /// page's main view; reports mounted or failed.
  virtual void mount(std::string path, std::string cookies = {}) = 0;
  /// Pushes an event (type "click" with a value map, or "form" with url-encoded fields) and returns its
  /// ref; the reply comes as kind::reply with that ref.
  virtual std::uint64_t push(std::string type, std::string event, std::map<std::string, std::string> values) = 0;
  /// Leaves the view and closes the socket; nothing is reported after this.
  virtual void close() = 0;
};

/// Resolves host:port into a target; `origin` as --origin takes it ("" = http://host:port, "none" =
/// no Origin header); `sources` as --source takes it ("A,B,..."). Throws what the resolver throws,
/// or std::invalid_argument for a source that is not an IP address.
lv_target make_target(const std::string& host, std::uint16_t port, const std::string& origin,
                      const std::string& sources = "");

/// Percent-encodes `values` as an HTML form would (application/x-www-form-urlencoded).
std::string form_encode(const std::map<std::string, std::string>& values);

} // namespace corvid::load
