// Fixtures of the tests that run a real server on 127.0.0.1 (port 0): a counting view, a started
// server, the page's tokens, temporary directories and environment variables.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "corvid/live/dashboard.hpp"
#include "corvid/live/server.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime.hpp"
#include "net_client.hpp"

namespace corvid::live::test {

/// The session process of the last connected mount of count_view, for server pushes from a test.
extern std::atomic<bool> have_session;
extern corvid::pid last_session;

/// Holds a view inside handle_event("hold") until opened, so that frames queue up behind it.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = true, holding = false;
  void close();
  void release();
  void hold();
  bool is_holding();
};
extern gate view_gate;

/// "<b>{{ n }}</b><i>{{ blob }}</i><u>{{ flash.info }}</u>": "inc" counts, "say" shows the form field body, "hold" waits on
/// view_gate, "spin" works 5 ms; an int sent to the session makes a 32 KiB diff, the string "hold" waits on view_gate
/// (a session busy on a runtime worker, while its I/O thread goes on reading).
struct count_view : view {
  html_template render() const override;
  void mount(const params&, const session&, live::socket& s) override;
  status handle_event(const std::string& ev, const event_value& v, live::socket& s) override;
  void handle_info(const caf::message& m, live::socket& s) override;
};

std::string between(const std::string& s, const std::string& a, const std::string& b);
/// GET / and the tokens of its view.
page_tokens fetch_page(std::uint16_t port);
std::string status_of(const boost::json::array& f);
boost::json::value response_of(const boost::json::array& f);
/// Connects `c` and joins the page's view.
void connect_and_join(ws_client& c, const page_tokens& p);
std::size_t live_sessions(corvid::runtime& rt);

/// A runtime and a started server with the given options (port 0, coalesce 0) serving count_view at "/".
struct env {
  /// `keep_secret`: o.secret as given (maybe empty), not the test's own.
  explicit env(server_options o = {}, bool keep_secret = false);
  ~env();
  std::uint64_t rejected(rejection r) const { return srv->metrics().rejected(r); }
  std::optional<corvid::runtime> rt;
  std::optional<server> srv;
  std::uint16_t port = 0;
};

/// A runtime and a server with the dashboard mounted (loopback, port 0); with_hub gives the
/// mount a pub/sub hub (node "b@host") for the pubsub page.
struct dash_env {
  explicit dash_env(dashboard_mount m, bool with_hub = false);
  ~dash_env();
  std::optional<corvid::runtime> rt;
  std::optional<corvid::pubsub::hub> hub;
  std::optional<server> srv;
  std::string mount_error;
  std::uint16_t port = 0;
};

/// A fresh directory under /tmp, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir();
  ~temp_dir();
};

/// Sets an environment variable for a scope (tests set them before any server thread reads them).
struct scoped_env {
  std::string name;
  std::optional<std::string> old;
  scoped_env(std::string n, const char* value);
  ~scoped_env();
};

}  // namespace corvid::live::test
