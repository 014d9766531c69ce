// The load target's CPU time and RSS, read from /proc/PID (and this client's own CPU time and RSS).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace live_load_proc {

// ---- the server's /proc ---------------------------------------------------------------------------------

struct proc_sample {
  bool ok = false;
  double cpu_us = 0;       // utime + stime
  double rss_kb = 0;       // VmRSS
  double self_cpu_us = 0;  // this client's user + system time, to show it is not the bottleneck
  double self_rss_kb = 0;  // this client's VmRSS, so a soak can tell its own growth from the server's
};

/// VmRSS in kB from a /proc/.../status file; 0 if unreadable.
inline double vm_rss_kb(const std::string& status_path) {
  std::ifstream status(status_path);
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  return 0;
}

inline proc_sample read_proc(int pid) {
  proc_sample s;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    s.self_cpu_us = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  s.self_rss_kb = vm_rss_kb("/proc/self/status");
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  auto close = line.rfind(')');  // comm may hold spaces and parentheses
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> f;
  for (std::string t; rest >> t;) f.push_back(t);
  if (f.size() < 13) return s;  // f[0] is field 3 (state): utime is field 14, stime field 15
  const double ticks = std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr);
  s.cpu_us = ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  s.rss_kb = vm_rss_kb("/proc/" + std::to_string(pid) + "/status");
  s.ok = true;
  return s;
}

} // namespace live_load_proc
