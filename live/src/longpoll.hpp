// The long-poll transport (Phoenix.Transports.LongPoll's protocol) for clients whose websockets fail:
// GET /live/longpoll without a token starts a session process and answers 410 with the token; with
// one it answers the frames queued for the client (200) or, after a window with none, 204; POST
// carries newline-delimited frames (base64 lines are upload chunks). Every answer is HTTP 200 with
// {"status", "token", "messages"}. The session process is the websocket's (session.hpp), behind a
// sink that queues for the next poll under the same outbound, inbound and frame limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "corvid/live/server.hpp"

namespace corvid::live::detail {

struct longpoll_session;

/// Called once with the JSON body of a long-poll answer; may run on any thread.
using longpoll_answer = std::function<void(std::string body)>;

/// Who asks for a new long-poll session: the figures the websocket upgrade checks too.
struct longpoll_client {
  std::string address;               ///< counted against max_connections_per_client ("" = not counted)
  std::vector<std::string> denied;   ///< protected prefixes whose hook refused this request
};

/// The long-poll sessions of one server. Thread-safe.
class longpoll_hub {
 public:
  /// `srv` outlives the hub.
  explicit longpoll_hub(server::impl& srv) : srv_(srv) {}
  ~longpoll_hub();
  longpoll_hub(const longpoll_hub&) = delete;
  longpoll_hub& operator=(const longpoll_hub&) = delete;

  /// A GET. An empty token starts a session; `ex` runs the window's timer (the request's executor).
  void poll(std::string_view token, const longpoll_client& who, boost::asio::any_io_executor ex, longpoll_answer answer);
  /// A POST of `body` (application/x-ndjson, or one frame otherwise); returns the JSON body to answer.
  std::string publish(std::string_view token, std::string_view body, bool ndjson);
  /// Ends sessions not polled for 1.5 windows (the client went away); run every half window.
  void sweep();
  /// At server stop: answers held polls, forgets every session (their processes are being stopped).
  void close_all();
  std::size_t size() const;

 private:
  std::shared_ptr<longpoll_session> find(std::string_view token) const;
  void start_session(const longpoll_client& who, longpoll_answer answer);
  void hold(const std::shared_ptr<longpoll_session>& s, boost::asio::any_io_executor ex, longpoll_answer answer);
  void end(const std::shared_ptr<longpoll_session>& s);

  server::impl& srv_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<longpoll_session>> sessions_;  // token -> session
  bool closed_ = false;
};

}  // namespace corvid::live::detail
