// live_load's command line: the options, their help text and their parsing.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace live_load_cli {

// ---- options -------------------------------------------------------------------------------------------

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4000;
  std::string path = "/bench";
  std::string origin;  // Origin header of the upgrade; empty: http://host:port; "none": no header
  std::size_t sessions = 1000;
  std::size_t concurrency = 200;
  bool reuse_page = false;
  bool same_conn = false;
  std::string click_event = "inc";
  std::string bcast_event = "bcast";
  std::string bcast_key = "value";
  std::size_t idle_clicks = 1000;
  double rate = 1000;
  double duration = 10;
  int broadcasts = -1;  // -1: enough rounds for ~50k delivered diffs, 5..50
  int server_pid = 0;
  double join_timeout = 30;
  unsigned seed = 1;
  double report_every = 0;  // seconds; 0: no per-interval report during the load phase
  std::string metrics_path = "/metrics";  // "none": no queue depths in the report
};

const char* usage =
    "usage: live_load [--host H] [--port P] [--path /bench] [--origin URL|none] [--sessions N] [--concurrency C]\n"
    "                 [--reuse-page] [--same-conn] [--click-event inc] [--bcast-event bcast] [--bcast-key value]\n"
    "                 [--idle-clicks K] [--rate R] [--duration S] [--broadcasts B] [--server-pid PID]\n"
    "                 [--join-timeout S] [--seed X] [--report-every S [--metrics-path /metrics|none]]\n"
    "Defaults: 127.0.0.1:4000, /bench, 1000 sessions, 200 mounting at once, 1000 idle clicks, 1000 clicks/s\n"
    "for 10 s, broadcasts enough for ~50k diffs (5..50 rounds), join timeout 30 s. --bcast-key names the key\n"
    "of the broadcast event's value object (default \"value\").\n"
    "Joins N LiveView sessions on PATH and prints figure<TAB>value<TAB>unit lines. Exit 1 if more than 1%\n"
    "of the joins fail, 2 on bad arguments.\n"
    "--report-every S (a soak): during the load phase, every S seconds one Markdown table row: elapsed\n"
    "minutes, server RSS and CPU % of one core over the interval (--server-pid), clicks sent and answered,\n"
    "click round trip p50/p99, errors (failed or timed-out clicks) and lost sessions (live_load does not\n"
    "reconnect), the server's queue depths from GET --metrics-path (corvid_mailbox_messages,\n"
    "corvid_live_inbound_queued_bytes, corvid_live_sessions; Authorization: Bearer $CORVID_DASHBOARD_TOKEN\n"
    "when set) and this client's RSS (it grows by 8 bytes per answered click, kept for the final\n"
    "percentiles). Then least-squares slopes per minute over the full intervals after the first (warm-up)\n"
    "as soak_* figures, and a verdict: flat if |RSS slope| < 0.5% of the mean RSS per minute.\n";

inline bool parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    auto num = [&](auto& out) {
      auto v = next();
      if (!v) return false;
      char* end = nullptr;
      double d = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end) return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(d);
      return true;
    };
    auto str = [&](std::string& out) {
      auto v = next();
      if (v) out = *v;
      return bool(v);
    };
    bool ok = true;
    if (a == "--host") ok = str(o.host);
    else if (a == "--port") ok = num(o.port);
    else if (a == "--path") ok = str(o.path);
    else if (a == "--origin") ok = str(o.origin);
    else if (a == "--sessions") ok = num(o.sessions);
    else if (a == "--concurrency") ok = num(o.concurrency);
    else if (a == "--reuse-page") o.reuse_page = true;
    else if (a == "--same-conn") o.same_conn = true;
    else if (a == "--click-event") ok = str(o.click_event);
    else if (a == "--bcast-event") ok = str(o.bcast_event);
    else if (a == "--bcast-key") ok = str(o.bcast_key);
    else if (a == "--idle-clicks") ok = num(o.idle_clicks);
    else if (a == "--rate") ok = num(o.rate);
    else if (a == "--duration") ok = num(o.duration);
    else if (a == "--broadcasts") ok = num(o.broadcasts);
    else if (a == "--server-pid") ok = num(o.server_pid);
    else if (a == "--join-timeout") ok = num(o.join_timeout);
    else if (a == "--seed") ok = num(o.seed);
    else if (a == "--report-every") ok = num(o.report_every);
    else if (a == "--metrics-path") ok = str(o.metrics_path);
    else if (a == "-h" || a == "--help") {
      std::cout << usage;
      std::exit(0);
    } else {
      std::cerr << "live_load: unknown option " << a << "\n" << usage;
      return false;
    }
    if (!ok) {
      std::cerr << "live_load: " << a << " needs a (numeric where it applies) value\n";
      return false;
    }
  }
  if (o.sessions == 0 || o.concurrency == 0 || o.rate <= 0 || o.duration < 0 || o.path.empty() || o.path[0] != '/' ||
      o.report_every < 0 || (o.metrics_path != "none" && (o.metrics_path.empty() || o.metrics_path[0] != '/'))) {
    std::cerr << "live_load: --sessions and --concurrency must be > 0, --rate > 0, --report-every >= 0, --path and\n"
                 "--metrics-path must start with /\n";
    return false;
  }
  return true;
}

} // namespace live_load_cli
