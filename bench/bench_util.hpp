#pragma once
// Shared helpers for corvid's benchmark programs: figure lines, RSS readings, and running
// each scenario in a fresh child process (freed memory is reused, not returned, so RSS
// figures are only honest in a new process).

#include <unistd.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace corvid::bench {

using clock = std::chrono::steady_clock;

inline double us_since(clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock::now() - t0).count();
}

/// The number in environment variable `name` (a benchmark's size), or `dflt`.
inline size_t env_or(const char* name, size_t dflt) {
  auto v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

/// Prints one figure line: name, value, unit (tab-separated), and flushes.
inline void figure(const std::string& name, double value, const char* unit) {
  std::printf("%s\t%.4g\t%s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

/// CPU time of the calling thread so far, in microseconds.
inline double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

/// Ends a benchmark on a failed system call: "program: what: strerror(errno)".
[[noreturn]] inline void die_errno(const char* program, const char* what) {
  std::fprintf(stderr, "%s: %s: %s\n", program, what, std::strerror(errno));
  std::exit(1);
}

/// A field of /proc/self/status in kB (VmRSS, VmHWM).
inline long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  auto n = std::string(field).size();
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return 0;
}

/// Runs scenarios: with "--scenario NAME" runs that one here; else re-executes itself once
/// per scenario so each starts in a fresh process.
inline int run_scenarios(int argc, char** argv, const std::map<std::string, std::function<void()>>& all) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--scenario") {
      auto it = all.find(argv[i + 1]);
      if (it == all.end()) {
        std::fprintf(stderr, "unknown scenario %s\n", argv[i + 1]);
        return 2;
      }
      it->second();
      return 0;
    }
  }
  std::string only = argc > 1 ? argv[1] : "";
  int failures = 0;
  for (auto& [name, fn] : all) {
    if (!only.empty() && name.find(only) == std::string::npos)
      continue;
    auto child = fork();
    if (child == 0) {
      execl("/proc/self/exe", argv[0], "--scenario", name.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "scenario %s failed (status %d)\n", name.c_str(), status);
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

} // namespace corvid::bench
