#include "flags.hpp"

#include <charconv>

namespace convention {

namespace {

bool to_number(const std::string& s, unsigned long long max, unsigned long long& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out <= max;
}

}  // namespace

std::string usage() {
  return "usage: convention [--host ADDR] [--port N] [--interval-ms MS] [--naive] [--admin-token T] [--stats-port N]\n"
         "                  [--max-connections N] [--admin-rows N]\n"
         "                  [--assets DIR]\n"
         "                  [--node NAME@HOST:PORT --secret-file FILE [--seed [NAME@]HOST:PORT]... [--dns NAME:PORT]\n"
         "                   [--tls-dir DIR] [--net-ticktime S]]\n"
         "\n"
         "A party convention: participants join at / and vote on the current motion; the chair (admins)\n"
         "watches participants, tallies and events at /admin and opens motions.\n"
         "\n"
         "  --host ADDR         listen address (default 127.0.0.1)\n"
         "  --port N            HTTP + websocket port (default 4000; 0 = any free port)\n"
         "  --interval-ms MS    safe mode: tallies and list changes go out, and pages render, at most\n"
         "                      once per MS (default 200)\n"
         "  --naive             the post-mortem's design, for comparison: pages poll every second, every\n"
         "                      change is broadcast unthrottled, mailboxes are unbounded, lists re-render\n"
         "  --max-connections N open connections at most (default 10000; each needs a file descriptor)\n"
         "  --admin-rows N      safe mode: an admin page lists the latest N participants to join or vote\n"
         "                      (default 1000; the counts are everyone's)\n"
         "  --admin-token T     the token /admin needs (at least 16 bytes; default: a random one, printed)\n"
         "  --stats-port N      port of GET /convention/stats (JSON; default 0 = any free port, printed)\n"
         "  --assets DIR        holds node_modules/ and corvid_boot.js (default: the source tree's live/assets)\n"
         "  --node NAME@HOST:PORT   run as a node of a cluster, listening there for the other nodes\n"
         "  --seed [NAME@]HOST:PORT a member to join through (repeatable)\n"
         "  --dns NAME:PORT     join the members NAME resolves to\n"
         "  --secret-file FILE  the cluster secret (>= 32 bytes), the same file on every node\n"
         "  --tls-dir DIR       mutual TLS: DIR/ca.pem, DIR/node.pem, DIR/node.key\n"
         "  --net-ticktime S    a member silent S seconds is down (Erlang's net_ticktime; 4-600); default:\n"
         "                      phi accrual, which notices a dead member within about a second\n"
         "  --help              this text\n";
}

parsed_flags parse_flags(const std::vector<std::string>& args) {
  parsed_flags out;
  for (std::size_t i = 0; i < args.size() && out.error.empty(); ++i) {
    const auto& a = args[i];
    bool missing = false;
    auto next = [&]() -> std::string {
      if (i + 1 < args.size()) return args[++i];
      missing = true;
      return {};
    };
    unsigned long long n = 0;
    if (a == "--help" || a == "-h") {
      out.help = true;
    } else if (a == "--naive") {
      out.app.naive = true;
    } else if (a == "--host") {
      out.app.host = next();
    } else if (a == "--assets") {
      out.app.assets = next();
    } else if (a == "--admin-token") {
      out.app.admin_token = next();
    } else if (a == "--port" || a == "--stats-port") {
      auto v = next();
      if (!missing && !to_number(v, 65535, n)) out.error = a + " wants a port number 0-65535 (got '" + v + "')";
      (a == "--port" ? out.app.port : out.app.stats_port) = static_cast<std::uint16_t>(n);
    } else if (a == "--max-connections") {
      auto v = next();
      if (!missing && (!to_number(v, 1'000'000, n) || n == 0))
        out.error = "--max-connections wants a number 1-1000000 (got '" + v + "')";
      out.app.max_connections = static_cast<std::size_t>(n);
    } else if (a == "--admin-rows") {
      auto v = next();
      if (!missing && (!to_number(v, 1'000'000, n) || n == 0))
        out.error = "--admin-rows wants a number 1-1000000 (got '" + v + "')";
      out.app.admin_rows = static_cast<std::size_t>(n);
    } else if (a == "--interval-ms") {
      auto v = next();
      if (!missing && (!to_number(v, 60'000, n) || n == 0))
        out.error = "--interval-ms wants milliseconds 1-60000 (got '" + v + "')";
      out.app.interval = std::chrono::milliseconds(n);
    } else if (!out.cluster.take(a, next)) {
      out.error = "unknown flag " + a + " (see --help)";
    }
    if (missing) out.error = a + " needs a value";
  }
  if (!out.error.empty() || out.help) return out;
  if (auto bad = out.cluster.check(); !bad.empty()) {
    out.error = bad;
    return out;
  }
  if (!out.cluster.node.empty()) {
    out.app.node = out.cluster.options(out.error);
    out.app.node_name = out.cluster.node_name();
  }
  return out;
}

}  // namespace convention
