// One browser page of the convention over the LiveView wire protocol: fetches the page, joins
// its view over a websocket, sends events, and keeps the rendered tree up to date with every
// diff, so tests can read a dynamic by the markup in front of it. Every wait has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "net_client.hpp"

namespace convention::test {
using corvid::live::test::header_list;
}

namespace convention::test {

using namespace std::chrono_literals;

class page_client {
 public:
  explicit page_client(std::uint16_t port) : port_(port), ws_(port) {}

  /// GET `path` with `headers`, connect (same headers on the upgrade) and join; false on failure.
  bool open(const std::string& path, const header_list& headers = {});
  /// A click with phx-value-* `values`.
  void click(const std::string& event, const boost::json::object& values = {});
  /// A form submit with an urlencoded body.
  void submit(const std::string& event, const std::string& urlencoded);
  /// Reads frames (merging diffs) until `pred` holds on the page, or `limit` passes.
  bool until(const std::function<bool(const page_client&)>& pred, std::chrono::milliseconds limit = 10s);
  /// Reads frames for `limit`; how many diffs arrived.
  int diffs_within(std::chrono::milliseconds limit);
  /// The text of the dynamic right after the static ending with `marker` ("" if none).
  std::string slot(const std::string& marker) const;
  /// Whether `text` occurs anywhere in the rendered tree (stream inserts included).
  bool has(const std::string& text) const;
  /// Every frame's text so far (diffs of streams are forgotten by the tree: see `has`).
  const std::string& seen() const { return seen_; }

 private:
  bool take(const boost::json::array& frame);
  std::uint16_t port_;
  corvid::live::test::ws_client ws_;
  std::string topic_;
  boost::json::value tree_;
  std::string seen_;
  int ref_ = 10;
};

}  // namespace convention::test
