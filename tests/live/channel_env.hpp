// A channel with a host that records its frames, for tests that drive the protocol at the frame level.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "corvid/live/channel.hpp"

namespace corvid::live::test {

struct recording_host : channel_host {
  std::vector<boost::json::array> frames;
  void send(std::string f) override { frames.push_back(boost::json::parse(f).as_array()); }
  void schedule_flush(std::chrono::milliseconds) override {}
  std::vector<boost::json::array> take() { return std::exchange(frames, {}); }
};

/// One connection (topic lv:phx-1) over `routes`, diffs sent at once, no CSRF check.
struct channel_env {
  router routes;
  token_signer sessions{"test secret, at least thirty-two bytes long", "corvid.live.session"};
  channel_config cfg;
  recording_host host;
  channel ch{cfg, host};

  channel_env() {
    cfg.routes = &routes;
    cfg.signer = &sessions;
    cfg.coalesce = std::chrono::milliseconds(0);
  }
  /// A phx_join of `url` with `token` (a "redirect" join after live navigation when `redirect`).
  boost::json::array join(const std::string& url, const std::string& token, bool redirect = false) {
    boost::json::object payload{{redirect ? "redirect" : "url", url}, {"params", boost::json::object{}}, {"session", token}};
    ch.handle_frame(boost::json::serialize(boost::json::array{"4", "4", "lv:phx-1", "phx_join", payload}));
    auto out = host.take();
    REQUIRE(out.size() >= 1);
    return out.back();
  }
  /// A join of `path` with a token the dead render of `path` would carry.
  boost::json::array join(const std::string& path = "/") { return join("http://h" + path, sessions.sign(path, path)); }
  /// Any push on lv:phx-1; returns the first frame it produced.
  boost::json::array push(const std::string& ref, const std::string& event, boost::json::object payload) {
    ch.handle_frame(boost::json::serialize(boost::json::array{"4", ref, "lv:phx-1", event, std::move(payload)}));
    auto out = host.take();
    REQUIRE(out.size() >= 1);
    return out[0];
  }
  /// A click, aimed at component `cid` if given.
  boost::json::array click(const std::string& ref, const std::string& name, std::optional<std::int64_t> cid = {}) {
    boost::json::object p{{"type", "click"}, {"event", name}, {"value", boost::json::object{}}};
    if (cid) p["cid"] = *cid;
    return push(ref, "event", std::move(p));
  }
};

inline const boost::json::object& response(const boost::json::array& reply) {
  return reply[4].as_object().at("response").as_object();
}
inline std::string status_of(const boost::json::array& reply) {
  return std::string(reply[4].as_object().at("status").as_string());
}

}  // namespace corvid::live::test
