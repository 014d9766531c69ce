// The app's settings, and what the safe default and the post-mortem's naive design (--naive)
// set differently, in one place so that tests can check each difference.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "corvid/cluster/node.hpp"

namespace convention {

/// What a run of the app is given (flags.hpp fills it from the command line).
struct app_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4000;                  ///< 0 = any free port
  std::chrono::milliseconds interval{200};    ///< safe mode: updates leave a chair, and pages render, at most this often
  bool naive = false;                         ///< the post-mortem's design, for comparison
  std::string admin_token;                    ///< "" = a random one (printed at start)
  std::uint16_t stats_port = 0;               ///< the JSON status listener (0 = any free port)
  std::string secret;                         ///< signs sessions; "" = the server's default (see server_options)
  std::filesystem::path assets;               ///< the LiveView JS client; "" = the source tree's live/assets
  std::filesystem::path templates;            ///< "" = the source tree's examples/convention/templates
  std::size_t threads = 0;                    ///< runtime scheduler threads (0 = cores)
  std::size_t max_connections = 10'000;       ///< the live server's open connections; more get HTTP 503
  std::size_t admin_rows = 1'000;             ///< safe mode: participant rows an admin page holds
  std::optional<corvid::cluster::node_options> node;  ///< set: this app is a node of a cluster
  std::string node_name;                      ///< the runtime's node name ("" = single node)
};

/// The numbers that make a design safe or naive.
struct tuning {
  bool naive = false;
  std::size_t session_mailbox = 1024;         ///< the live server's per-session bound (policy reject)
  std::chrono::milliseconds render_every{0};  ///< the channel's push-diff coalescing
  std::chrono::milliseconds throttle{0};      ///< the chair's sender-side throttle (0 = every change goes out)
  std::size_t inbox_capacity = 0;             ///< each page's coalescing inbox (0 = no inbox: sessions subscribe themselves)
  std::chrono::milliseconds poll{0};          ///< participant pages re-read everything this often (0 = never)
  bool streams = true;                        ///< admin lists as LiveView streams (else re-rendered lists)
  std::size_t admin_rows = 0;                 ///< participant rows an admin page holds (0 = everyone)
};

/// Safe: throttled chair, coalescing inboxes, streams, no polling. Naive: the opposite of each.
tuning tuning_for(const app_options& o);

}  // namespace convention
