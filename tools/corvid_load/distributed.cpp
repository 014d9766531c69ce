#include "distributed.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <caf/atom.hpp>

#include "corvid/cluster/global_registry.hpp"
#include "corvid/cluster/node.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/process.hpp"
#include "wire.hpp"

extern char** environ;

namespace corvid::load {

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;

// The messages between coordinator and workers are built-in types only (atoms, strings, pids), so
// they need no codec of their own.
using hello_atom = caf::atom_constant<caf::atom("lw_hello")>;    // worker -> coordinator: (pid, name)
using assign_atom = caf::atom_constant<caf::atom("lw_assign")>;  // coordinator -> worker: (plan bytes)
using report_atom = caf::atom_constant<caf::atom("lw_report")>;  // worker -> coordinator: (report bytes)
using stop_atom = caf::atom_constant<caf::atom("lw_stop")>;      // coordinator -> worker

constexpr const char* coordinator_name = "corvid_load.coordinator";

/// One worker's second: its interval and gauges; `done` once all its users have ended.
struct report {
  std::string worker;
  measurements interval;
  std::int64_t active = 0, mounting = 0, ended = 0;
  bool done = false;
};

std::string encode_report(const report& r) {
  std::string out;
  wire::put_str(out, r.worker);
  wire::put_str(out, r.interval.encode());
  for (auto v : {r.active, r.mounting, r.ended})
    wire::put_varint(out, static_cast<std::uint64_t>(std::max<std::int64_t>(0, v)));
  wire::put_varint(out, r.done ? 1 : 0);
  return out;
}

std::optional<report> decode_report(std::string_view in) {
  report r;
  std::string m;
  std::uint64_t a = 0, mo = 0, e = 0, d = 0;
  if (!wire::take_str(in, r.worker) || !wire::take_str(in, m) || !wire::take_varint(in, a) ||
      !wire::take_varint(in, mo) || !wire::take_varint(in, e) || !wire::take_varint(in, d) || !in.empty())
    return std::nullopt;
  auto mm = measurements::decode(m);
  if (!mm)
    return std::nullopt;
  r.interval = std::move(*mm);
  r.active = static_cast<std::int64_t>(a);
  r.mounting = static_cast<std::int64_t>(mo);
  r.ended = static_cast<std::int64_t>(e);
  r.done = d != 0;
  return r;
}

/// A worker's share: everything its load_node needs.
struct assignment {
  std::string scenario, host, origin, sources;
  std::vector<std::uint16_t> ports;
  std::uint64_t first = 0, count = 0, max_mounting = 0, seed = 0;
  double rate = 0;
  std::uint32_t max_attempts = 0;
  int io_threads = 1;
  variables vars;
};

std::string encode_assignment(const assignment& a) {
  std::string out;
  for (auto* s : {&a.scenario, &a.host, &a.origin, &a.sources})
    wire::put_str(out, *s);
  wire::put_str(out, std::to_string(a.rate));
  wire::put_varint(out, a.ports.size());
  for (auto port : a.ports)
    wire::put_varint(out, port);
  for (std::uint64_t v : {a.first, a.count, a.max_mounting, a.seed, std::uint64_t(a.max_attempts),
                          std::uint64_t(a.io_threads), std::uint64_t(a.vars.size())})
    wire::put_varint(out, v);
  for (auto& [k, v] : a.vars) {
    wire::put_str(out, k);
    wire::put_str(out, v);
  }
  return out;
}

std::optional<assignment> decode_assignment(std::string_view in) {
  assignment a;
  std::string rate;
  std::uint64_t nports = 0, attempts = 0, io = 0, nvars = 0;
  if (!wire::take_str(in, a.scenario) || !wire::take_str(in, a.host) || !wire::take_str(in, a.origin) ||
      !wire::take_str(in, a.sources) ||
      !wire::take_str(in, rate) || !wire::take_varint(in, nports) || nports == 0 || nports > 1024)
    return std::nullopt;
  for (std::uint64_t i = 0; i < nports; ++i) {
    std::uint64_t port = 0;
    if (!wire::take_varint(in, port) || port == 0 || port > 65535)
      return std::nullopt;
    a.ports.push_back(static_cast<std::uint16_t>(port));
  }
  for (auto* v : {&a.first, &a.count, &a.max_mounting, &a.seed, &attempts, &io, &nvars})
    if (!wire::take_varint(in, *v))
      return std::nullopt;
  for (std::uint64_t i = 0; i < nvars; ++i) {
    std::string k, v;
    if (!wire::take_str(in, k) || !wire::take_str(in, v))
      return std::nullopt;
    a.vars[k] = v;
  }
  if (!in.empty())
    return std::nullopt;
  a.rate = std::strtod(rate.c_str(), nullptr);
  a.max_attempts = static_cast<std::uint32_t>(attempts);
  a.io_threads = static_cast<int>(io);
  return a;
}

/// A mailbox for the driving thread: what the coordinator's or worker's process received.
template <class T>
struct handoff {
  std::mutex m;
  std::deque<T> q;
  void put(T x) {
    std::lock_guard g{m};
    q.push_back(std::move(x));
  }
  std::deque<T> take() {
    std::lock_guard g{m};
    return std::exchange(q, {});
  }
};

std::string random_secret() {
  std::random_device rd;
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 48; ++i)
    s += alphabet[rd() % (sizeof alphabet - 1)];
  return s;
}

struct child_proc {
  pid_t os_pid = -1;
  std::string name;
  std::uint64_t first = 0, count = 0;
  pid agent;
  bool assigned = false, done = false, stopped = false, exited = false;
  report last;
};

} // namespace

caf::expected<int> run_coordinator(const distributed_plan& p, collector& col) {
  // The cluster secret goes to the workers in a file only this user can read.
  char secret_path[] = "/tmp/corvid-load-secret.XXXXXX";
  int fd = mkstemp(secret_path);
  if (fd < 0)
    return make_error(errc::bad_argument, "cannot create a secret file in /tmp");
  auto secret = random_secret();
  if (::write(fd, secret.data(), secret.size()) != static_cast<ssize_t>(secret.size())) {
    ::close(fd);
    return make_error(errc::bad_argument, "cannot write the secret file");
  }
  ::close(fd);
  struct unlink_at_end {
    const char* path;
    ~unlink_at_end() { ::unlink(path); }
  } cleanup{secret_path};

  runtime_options ro;
  ro.node = "corvid-load";
  runtime rt{ro};
  cluster::node_options no;
  no.listen_host = "127.0.0.1";
  no.wire.secret = secret;
  auto started = cluster::node::start(rt, no);
  if (!started)
    return make_error(errc::bad_argument, "cannot start the coordinator's node: " + cluster::to_string(started.err()));
  auto node = started.value();
  auto registry = cluster::global_registry::start(rt, node);
  if (!registry)
    return registry.error();

  handoff<std::pair<std::string, pid>> hellos;
  handoff<report> reports;
  auto coord = spawn(rt, [&hellos, &reports](process&) -> behavior {
    return {
      [&hellos](hello_atom, const pid& agent, const std::string& name) { hellos.put({name, agent}); },
      [&reports](report_atom, const std::string& bytes) {
        if (auto r = decode_report(bytes))
          reports.put(std::move(*r));
      },
    };
  });
  if (!coord)
    return coord.error();
  if (auto err = (*registry)->register_name(coordinator_name, *coord))
    return err;

  const std::uint64_t users = p.users.count;
  const std::uint64_t per = p.users_per_worker ? p.users_per_worker
                                               : (users + static_cast<std::uint64_t>(p.workers) - 1) /
                                                     static_cast<std::uint64_t>(std::max(1, p.workers));
  const auto chunks = static_cast<int>((users + per - 1) / per);
  if (chunks > p.workers)
    return make_error(errc::bad_argument, std::to_string(users) + " users at " + std::to_string(per) +
                                              " per worker need " + std::to_string(chunks) + " workers; --workers is " +
                                              std::to_string(p.workers));
  std::vector<child_proc> kids;
  auto exe = std::string("/proc/self/exe");
  auto seed_addr = "127.0.0.1:" + std::to_string(node->port());

  auto start_worker = [&](int k) -> caf::error {
    child_proc c;
    c.name = "w" + std::to_string(k + 1);
    c.first = static_cast<std::uint64_t>(k) * per;
    c.count = std::min<std::uint64_t>(per, users - c.first);
    std::vector<std::string> args{"corvid-load", "--worker", c.name, "--coordinator", seed_addr, "--secret-file",
                                  std::string(secret_path)};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = -1;
    if (posix_spawn(&child, exe.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
      return make_error(errc::bad_argument, "cannot start worker " + c.name);
    c.os_pid = child;
    if (!p.quiet)
      std::cerr << "corvid-load: started worker " << c.name << " (pid " << child << ") for users " << c.first << ".."
                << c.first + c.count - 1 << "\n";
    kids.push_back(std::move(c));
    return caf::none;
  };

  auto assign = [&](child_proc& c) {
    assignment a;
    a.scenario = p.scenario;
    a.host = p.host;
    a.ports = p.ports;
    a.origin = p.origin;
    a.sources = p.sources;
    a.first = c.first;
    a.count = c.count;
    a.rate = p.users.rate;
    a.max_mounting = p.users.max_mounting;
    a.seed = p.users.seed;
    a.max_attempts = p.users.max_attempts;
    a.io_threads = p.users.io_threads;
    a.vars = p.users.vars;
    (void) send(c.agent, assign_atom::value, encode_assignment(a));
    c.assigned = true;
  };

  auto t0 = clk::now();
  auto next_second = t0 + 1s;
  const bool tty = isatty(STDERR_FILENO);
  caf::error failure;
  for (;;) {
    auto now = clk::now();
    double elapsed = std::chrono::duration<double>(now - t0).count();
    // On demand: worker k starts when the ramp reaches its first user (its share would start then).
    while (static_cast<int>(kids.size()) < chunks) {
      double due = p.users.rate > 0 ? double(kids.size() * per) / p.users.rate : 0;
      if (elapsed + 0.5 < due)  // half a second early: a node needs a moment to join
        break;
      if (auto err = start_worker(static_cast<int>(kids.size()))) {
        failure = err;
        break;
      }
    }
    if (failure)
      break;
    for (auto& [name, agent] : hellos.take())
      for (auto& c : kids)
        if (c.name == name && !c.assigned) {
          c.agent = agent;
          assign(c);
        }
    measurements second;
    bool got = false;
    for (auto& r : reports.take())
      for (auto& c : kids)
        if (c.name == r.worker) {
          second.merge(r.interval);
          got = true;
          c.last = r;
          if (r.done && !c.stopped) {  // idle: its users are done; it goes now, not at the end
            c.done = true;
            c.stopped = true;
            (void) send(c.agent, stop_atom::value);
          }
        }
    for (auto& c : kids) {
      int status = 0;
      if (!c.exited && c.os_pid > 0 && waitpid(c.os_pid, &status, WNOHANG) == c.os_pid) {
        c.exited = true;
        if (!c.done) {  // its users are lost, and not moved to another worker
          failure = failure ? failure : make_error(errc::down, "worker " + c.name + " ended before its users did");
          c.done = true;
          second.errors["worker_lost"] += c.count;
        }
      }
    }
    if (now >= next_second) {
      std::int64_t active = 0, mounting = 0;
      for (auto& c : kids)
        if (!c.done) {
          active += c.last.active;
          mounting += c.last.mounting;
        }
      col.add(second, active, mounting);
      col.close_second();
      next_second += 1s;
      if (!p.quiet)
        std::cerr << (tty ? "\r" : "") << col.progress_line() << "  workers " << std::count_if(kids.begin(), kids.end(), [](auto& c) { return !c.done; })
                  << (tty ? "" : "\n") << std::flush;
    } else if (got) {
      col.add(second, 0, 0);
    }
    bool all_done = static_cast<int>(kids.size()) == chunks &&
                    std::all_of(kids.begin(), kids.end(), [](auto& c) { return c.done; });
    bool timed_out = p.duration > 0 && elapsed >= p.duration;
    if (all_done || timed_out)
      break;
    std::this_thread::sleep_for(2ms);  // the coordinator's driver thread paces itself
  }
  // Stop whatever still runs; collect its last reports for a few seconds.
  for (auto& c : kids)
    if (!c.stopped && c.agent) {
      c.stopped = true;
      (void) send(c.agent, stop_atom::value);
    }
  auto deadline = clk::now() + 15s;
  for (;;) {
    measurements late;
    for (auto& r : reports.take())
      late.merge(r.interval);
    col.add(late, 0, 0);
    bool all_exited = true;
    for (auto& c : kids) {
      int status = 0;
      if (!c.exited && waitpid(c.os_pid, &status, WNOHANG) == c.os_pid)
        c.exited = true;
      all_exited = all_exited && c.exited;
    }
    if (all_exited || clk::now() >= deadline)
      break;
    std::this_thread::sleep_for(5ms);
  }
  for (auto& c : kids)
    if (!c.exited) {
      ::kill(c.os_pid, SIGKILL);
      waitpid(c.os_pid, nullptr, 0);
    }
  col.close_second();
  if (!p.quiet && tty)
    std::cerr << "\n";
  exit(*coord, reason::shutdown());
  (*registry)->stop();
  node->stop();
  if (failure)
    std::cerr << "corvid-load: " << describe(failure) << "\n";
  return static_cast<int>(kids.size());
}

int run_worker(int argc, char** argv) {
  std::string name, coordinator, secret_file;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--worker") name = argv[++i];
    else if (a == "--coordinator") coordinator = argv[++i];
    else if (a == "--secret-file") secret_file = argv[++i];
  }
  if (name.empty() || coordinator.empty() || secret_file.empty()) {
    std::cerr << "corvid-load worker: needs --worker NAME --coordinator HOST:PORT --secret-file FILE\n";
    return 2;
  }
  std::ifstream in{secret_file};
  std::string secret;
  std::getline(in, secret);
  runtime_options ro;
  ro.node = name;
  runtime rt{ro};
  cluster::node_options no;
  no.listen_host = "127.0.0.1";
  no.seeds = {coordinator};
  no.wire.secret = secret;
  auto started = cluster::node::start(rt, no);
  if (!started) {
    std::cerr << "corvid-load worker " << name << ": " << cluster::to_string(started.err()) << "\n";
    return 1;
  }
  auto node = started.value();
  auto registry = cluster::global_registry::start(rt, node);
  if (!registry)
    return 1;
  handoff<std::string> assignments;
  std::atomic<bool> stop{false};
  pid coord_pid;
  std::mutex coord_m;
  // The agent finds the coordinator by its cluster-wide name (a timer, never a blocking wait), says
  // hello, and hands what the coordinator sends to this thread.
  auto agent = spawn(rt, [&, reg = *registry](process& self) -> behavior {
    self.send_interval(std::chrono::milliseconds(50), self.self(), caf::atom("lw_look"));
    return {
      [&, reg](caf::atom_value a) {
        if (a != caf::atom("lw_look"))
          return;
        std::lock_guard g{coord_m};
        if (coord_pid)
          return;
        if (auto c = reg->whereis(coordinator_name)) {
          coord_pid = c;
          (void) self.send(c, hello_atom::value, self.self(), name);
        }
      },
      [&](assign_atom, const std::string& bytes) { assignments.put(bytes); },
      [&](stop_atom) { stop = true; },
    };
  });
  if (!agent)
    return 1;
  std::optional<assignment> job;
  auto deadline = clk::now() + 30s;
  while (!job && !stop && clk::now() < deadline) {
    for (auto& b : assignments.take())
      job = decode_assignment(b);
    std::this_thread::sleep_for(2ms);
  }
  if (!job) {
    std::cerr << "corvid-load worker " << name << ": no assignment from the coordinator within 30 s\n";
    return 1;
  }
  auto plan = find_scenario(job->scenario);
  if (!plan)
    return 1;
  node_plan np;
  np.plan = plan;
  for (auto port : job->ports) {
    try {
      np.targets.push_back(make_target(job->host, port, job->origin, job->sources));
    } catch (const std::exception& e) {
      std::cerr << "corvid-load worker " << name << ": cannot resolve " << job->host << ": " << e.what() << "\n";
      return 1;
    }
  }
  np.first_user = job->first;
  np.count = job->count;
  np.rate = job->rate;
  np.max_mounting = job->max_mounting;
  np.seed = job->seed;
  np.max_attempts = job->max_attempts;
  np.io_threads = job->io_threads;
  np.vars = job->vars;
  load_node users{rt, np};
  if (auto err = users.start()) {
    std::cerr << "corvid-load worker " << name << ": " << describe(err) << "\n";
    return 1;
  }
  pid to;
  {
    std::lock_guard g{coord_m};
    to = coord_pid;
  }
  auto send_report = [&](bool done) {
    report r;
    r.worker = name;
    r.interval = users.rec().take_interval();
    r.active = users.rec().active.load();
    r.mounting = users.rec().mounting.load();
    r.ended = users.rec().ended.load();
    r.done = done;
    (void) send(to, report_atom::value, encode_report(r));
  };
  auto next_second = clk::now() + 1s;
  while (!stop) {
    users.tick();
    auto now = clk::now();
    if (users.finished()) {
      send_report(true);
      break;
    }
    if (now >= next_second) {
      send_report(false);
      next_second += 1s;
    }
    std::this_thread::sleep_for(2ms);  // the worker's driver thread paces the ramp
  }
  users.stop();
  send_report(true);
  // Wait for the coordinator's stop (it has our last report then), at most a few seconds.
  auto until = clk::now() + 5s;
  while (!stop && clk::now() < until)
    std::this_thread::sleep_for(5ms);
  exit(*agent, reason::shutdown());
  (*registry)->stop();
  node->stop();
  return 0;
}

} // namespace corvid::load
