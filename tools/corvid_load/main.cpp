// corvid-load: load tests of LiveView servers with scenarios of virtual users.
// See `corvid-load --help` and tools/corvid_load/README.md.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/serialize.hpp>

#include "collector.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/runtime.hpp"
#include "distributed.hpp"
#include "load_node.hpp"
#include "report_html.hpp"
#include "scenario.hpp"

namespace {

const char* usage = R"(corvid-load: load tests of LiveView servers, with scenarios of virtual users.

  corvid-load --scenario NAME [options]
  corvid-load --list

It speaks the Phoenix LiveView wire protocol (HTTP GET, websocket upgrade, phx_join, events),
not corvid internals: the same scenario runs against any LiveView server, Phoenix included, when
its pages have the same events and texts.

Each virtual user is a corvid process under a dynamic supervisor. Users start at --rate per
second with at most --max-mounting mounting at once. A user that fails (refused, timed out,
crashed channel) is counted by kind and restarted from its first step after a backoff; it never
takes the run down. The run ends when every user has finished its scenario, or at --duration.

Options:
  --host H              server host (default 127.0.0.1)
  --port P[,P...]       server port (default 4000); with several, user n goes to the n-th modulo
                        (the nodes of a clustered server)
  --origin URL|none     Origin header of the websocket (default http://H:P)
  --source A[,B...]     connect from these local addresses, users spread over them (e.g. 127.0.0.2,
                        127.0.0.3: past ~60,000 connections from one address the kernel spends a
                        core looking for a free port)
  --scenario NAME       a built-in scenario (--list shows them)
  --users N             virtual users (default 100)
  --rate R              users started per second (default 50; 0 = all at once)
  --max-mounting M      users mounting at once, at most (default 200)
  --duration S          stop after S seconds even if users are still running (default: none)
  --io-threads T        I/O threads for the users' sockets (default 1)
  --max-attempts K      a user that failed K times gives up (error gave_up; default 5)
  --mount-path P        mount P instead of each mount step's path (the same scenario against a
                        server whose page lives elsewhere: Phoenix's bench page is /, the demo's /bench)
  --var NAME=VALUE      a value for "{NAME}" in the scenario's steps (e.g. --var token=T), repeatable
  --seed X              random seed for think times and values (default 1)
  --server-pid PID      sample the server's CPU and RSS from /proc/PID once a second
  --json FILE           write the JSON result there ("-" = standard output)
  --html FILE           write the report there: one self-contained page with charts of latency,
                        users and the server over time, and latency histograms
  --workers N           spread the users over N worker nodes of a corvid cluster on this machine:
                        each is a child process started when the ramp reaches its share (so
                        nodes start on demand), stopped as soon as its users are done; every
                        user belongs to one worker for good. One process holds about 19,000
                        sockets here (the fd limit), so large runs need workers.
  --users-per-worker K  users per worker (default: users / workers, rounded up)
  --quiet               no progress lines
)";

struct cli {
  std::string host = "127.0.0.1";
  std::vector<std::uint16_t> ports{4000};
  std::string origin;
  std::string sources;
  std::string scenario;
  std::uint64_t users = 100;
  double rate = 50;
  std::uint64_t max_mounting = 200;
  double duration = 0;
  int io_threads = 1;
  std::uint32_t max_attempts = 5;
  std::uint64_t seed = 1;
  int server_pid = 0;
  std::string json_path;
  std::string html_path;
  corvid::load::variables vars;
  bool quiet = false;
  bool list = false;
  int workers = 0;
  std::uint64_t users_per_worker = 0;
};

[[noreturn]] void bad(const std::string& why) {
  std::cerr << "corvid-load: " << why << " (see --help)\n";
  std::exit(2);
}

cli parse(int argc, char** argv) {
  cli c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        bad(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](double lo, double hi) {
      auto v = value();
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(d >= lo && d <= hi))
        bad(a + " wants a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not '" + v + "'");
      return d;
    };
    if (a == "-h" || a == "--help") {
      std::cout << usage;
      std::exit(0);
    } else if (a == "--list") c.list = true;
    else if (a == "--host") c.host = value();
    else if (a == "--port") {
      c.ports.clear();
      auto v = value();
      for (std::size_t at = 0; at <= v.size();) {
        auto comma = v.find(',', at);
        auto part = v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        char* end = nullptr;
        long n = std::strtol(part.c_str(), &end, 10);
        if (part.empty() || *end || n < 1 || n > 65535)
          bad("--port wants ports 1-65535, comma-separated, not '" + v + "'");
        c.ports.push_back(static_cast<std::uint16_t>(n));
        if (comma == std::string::npos)
          break;
        at = comma + 1;
      }
    }
    else if (a == "--origin") c.origin = value();
    else if (a == "--source") c.sources = value();
    else if (a == "--scenario") c.scenario = value();
    else if (a == "--users") c.users = static_cast<std::uint64_t>(number(1, 1e7));
    else if (a == "--rate") c.rate = number(0, 1e6);
    else if (a == "--max-mounting") c.max_mounting = static_cast<std::uint64_t>(number(1, 1e6));
    else if (a == "--duration") c.duration = number(0, 1e7);
    else if (a == "--io-threads") c.io_threads = static_cast<int>(number(1, 64));
    else if (a == "--max-attempts") c.max_attempts = static_cast<std::uint32_t>(number(0, 1e6));
    else if (a == "--seed") c.seed = static_cast<std::uint64_t>(number(0, 1e18));
    else if (a == "--server-pid") c.server_pid = static_cast<int>(number(1, 1e9));
    else if (a == "--json") c.json_path = value();
    else if (a == "--html") c.html_path = value();
    else if (a == "--mount-path") c.vars["mount_path"] = value();
    else if (a == "--var") {
      auto v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        bad("--var wants NAME=VALUE, not '" + v + "'");
      c.vars[v.substr(0, eq)] = v.substr(eq + 1);
    }
    else if (a == "--quiet") c.quiet = true;
    else if (a == "--workers") c.workers = static_cast<int>(number(1, 64));
    else if (a == "--users-per-worker") c.users_per_worker = static_cast<std::uint64_t>(number(1, 1e7));
    else bad("unknown option '" + a + "'");
  }
  return c;
}

} // namespace

int main(int argc, char** argv) {
  using namespace corvid::load;
  if (argc > 1 && std::string(argv[1]) == "--worker")
    return run_worker(argc, argv);
  auto c = parse(argc, argv);
  if (c.list) {
    for (auto& s : builtin_scenarios())
      std::cout << s.name() << "\t" << s.description() << "\n";
    return 0;
  }
  if (c.scenario.empty())
    bad("--scenario is required");
  auto plan = find_scenario(c.scenario);
  if (!plan)
    bad("no scenario '" + c.scenario + "' (--list shows them)");

  std::vector<lv_target> targets;
  for (auto port : c.ports) {
    try {
      targets.push_back(make_target(c.host, port, c.origin, c.sources));
    } catch (const std::exception& e) {
      bad("target " + c.host + ": " + e.what());
    }
  }
  auto& target = targets.front();
  run_meta meta{"http://" + target.host_header, c.scenario, utc_now(), c.users, c.workers};
  collector col{c.server_pid};
  node_plan np;
  np.plan = plan;
  np.targets = targets;
  np.count = c.users;
  np.rate = c.rate;
  np.max_mounting = c.max_mounting;
  np.seed = c.seed;
  np.io_threads = c.io_threads;
  np.max_attempts = c.max_attempts;
  np.vars = c.vars;
  if (c.workers > 0) {
    distributed_plan dp;
    dp.scenario = c.scenario;
    dp.host = c.host;
    dp.ports = c.ports;
    dp.origin = c.origin;
    dp.sources = c.sources;
    dp.users = np;
    dp.workers = c.workers;
    dp.users_per_worker = c.users_per_worker;
    dp.duration = c.duration;
    dp.quiet = c.quiet;
    auto started = run_coordinator(dp, col);
    if (!started) {
      std::cerr << "corvid-load: " << corvid::describe(started.error()) << "\n";
      return 1;
    }
    meta.workers = *started;
  } else {
    corvid::runtime_options ro;
    corvid::runtime rt{ro};
    load_node node{rt, np};
    if (auto err = node.start()) {
      std::cerr << "corvid-load: cannot start: " << corvid::describe(err) << "\n";
      return 1;
    }
    const bool tty = isatty(STDERR_FILENO);
    auto t0 = std::chrono::steady_clock::now();
    auto next_second = t0 + std::chrono::seconds(1);
    for (;;) {
      node.tick();
      auto now = std::chrono::steady_clock::now();
      bool done = node.finished();
      bool timed_out = c.duration > 0 && now - t0 >= std::chrono::duration<double>(c.duration);
      if (now >= next_second || done || timed_out) {
        col.add(node.rec().take_interval(), node.rec().active.load(), node.rec().mounting.load());
        col.close_second();
        next_second += std::chrono::seconds(1);
        if (!c.quiet)
          std::cerr << (tty ? "\r" : "") << col.progress_line() << (tty ? "" : "\n") << std::flush;
      }
      if (done || timed_out)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the driver thread paces the ramp
    }
    node.stop();
    col.add(node.rec().take_interval(), 0, 0);
    if (!c.quiet && tty)
      std::cerr << "\n";
  }
  auto result = col.result(meta);
  auto& t = col.totals();
  std::uint64_t errors = 0;
  for (auto& [k, n] : t.errors)
    errors += n;
  std::cerr << "corvid-load: " << c.scenario << ", " << t.started << " user starts, " << t.completed << " completed, "
            << t.failed << " failed; mount p99 " << t.phases[std::size_t(phase::mount)].quantile(0.99) / 1000.0
            << " ms, event p99 " << t.phases[std::size_t(phase::event)].quantile(0.99) / 1000.0 << " ms, " << errors
            << " errors\n";
  for (auto& [k, n] : t.errors)
    std::cerr << "  error " << k << ": " << n << "\n";
  if (!c.json_path.empty()) {
    auto text = boost::json::serialize(result);
    if (c.json_path == "-") {
      std::cout << text << "\n";
    } else {
      std::ofstream f{c.json_path};
      f << text << "\n";
      if (!f) {
        std::cerr << "corvid-load: cannot write " << c.json_path << "\n";
        return 1;
      }
    }
  }
  if (!c.html_path.empty()) {
    std::ofstream f{c.html_path};
    f << render_report(result);
    if (!f) {
      std::cerr << "corvid-load: cannot write " << c.html_path << "\n";
      return 1;
    }
  }
  return errors == 0 ? 0 : 3;
}
