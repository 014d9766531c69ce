// The kernel's floor under "server CPU per click": a server thread that does nothing but answer
// each small frame with another (epoll, edge-triggered, one recv and one send per frame, no
// runtime, no parsing) over 10,000 idle loopback TCP connections, while a client thread sends
// clicks to random connections at a steady rate and reads the answers. The server's thread CPU
// per click is what any server pays per click on this machine: its wake-up, the syscalls, and on
// loopback the client's TCP input, which the server's send runs.
// BENCH_SESSIONS sets the connections (default 10000, fewer if the open-file limit says so),
// BENCH_RATES the clicks a second (default "100,1000,5000"), BENCH_SECONDS each rate's run (default 5).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace bench = corvid::bench;
using clock_type = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const char* what) { bench::die_errno("bench_click_floor", what); }

using bench::thread_cpu_us;

// The sizes of a /bench click and its reply, as live_load measures them.
constexpr std::size_t click_bytes = 130, reply_bytes = 91;

// Answers every frame on its connection until `stop`; adds its thread CPU to `cpu_us` at the end.
void serve(int ep, const std::atomic<bool>& stop, std::atomic<double>& cpu_us) {
  const double start = thread_cpu_us();
  std::vector<epoll_event> evs(256);
  char buf[4096];
  const std::string reply(reply_bytes, 'r');
  while (!stop.load(std::memory_order_relaxed)) {
    const int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int i = 0; i < k; ++i) {
      const int fd = evs[i].data.fd;
      for (;;) {  // edge-triggered: read until nothing is left
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        for (ssize_t got = 0; got + static_cast<ssize_t>(click_bytes) <= n; got += click_bytes)
          if (send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) die("send");
      }
    }
  }
  cpu_us.store(thread_cpu_us() - start);
}

}  // namespace

int main() {
  auto n = bench::env_or("BENCH_SESSIONS", 10000);
  const auto seconds = bench::env_or("BENCH_SECONDS", 5);
  const char* rates_env = std::getenv("BENCH_RATES");
  std::vector<std::size_t> rates;
  {
    std::stringstream ss(rates_env ? rates_env : "100,1000,5000");
    for (std::string r; std::getline(ss, r, ',');) rates.push_back(std::stoul(r));
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2 * n + 64) {
    rlimit more{2 * n + 64, 2 * n + 64};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) rl = more;
  }
  if (rl.rlim_cur < 2 * n + 64) n = (static_cast<std::size_t>(rl.rlim_cur) - 64) / 2;

  const int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(lfd, 4096) < 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &al) < 0)
    die("listen");
  const int server_ep = epoll_create1(0), client_ep = epoll_create1(0);
  std::vector<int> clients(n);
  for (std::size_t i = 0; i < n; ++i) {
    clients[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(clients[i], reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("connect");
    const int one = 1;
    setsockopt(clients[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int s = accept(lfd, nullptr, nullptr);
    if (s < 0) die("accept");
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{EPOLLIN | EPOLLET, {}};
    ev.data.fd = s;
    epoll_ctl(server_ep, EPOLL_CTL_ADD, s, &ev);
    epoll_event cev{EPOLLIN, {}};
    cev.data.fd = clients[i];
    epoll_ctl(client_ep, EPOLL_CTL_ADD, clients[i], &cev);
  }
  bench::figure("click_floor_connections", static_cast<double>(n), "count");

  const std::string click(click_bytes, 'c');
  std::mt19937 rng(7);
  for (auto rate : rates) {
    std::atomic<bool> stop{false};
    std::atomic<double> server_cpu{0};
    std::thread server([&] { serve(server_ep, stop, server_cpu); });
    const auto gap = std::chrono::nanoseconds(1'000'000'000 / rate);
    const std::size_t total = rate * seconds;
    std::size_t answered = 0;
    auto next = clock_type::now();
    std::vector<epoll_event> evs(256);
    char buf[4096];
    for (std::size_t sent = 0; sent < total || answered < total;) {
      if (sent < total && clock_type::now() >= next) {
        if (send(clients[rng() % n], click.data(), click.size(), MSG_NOSIGNAL) < 0) die("send click");
        ++sent;
        next += gap;
      }
      const auto wait_ms = sent < total ? std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 next - clock_type::now()).count())
                                        : 1000;
      const int k = epoll_wait(client_ep, evs.data(), static_cast<int>(evs.size()), static_cast<int>(wait_ms));
      if (k == 0 && sent >= total) break;  // an answer lost: counted as missing below
      for (int i = 0; i < k; ++i) {
        const ssize_t got = recv(evs[i].data.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) answered += static_cast<std::size_t>(got) / reply_bytes;
      }
    }
    stop = true;
    server.join();
    const std::string r = std::to_string(rate);
    bench::figure("server_cpu_us_per_click_at_" + r, server_cpu.load() / static_cast<double>(total), "us");
    bench::figure("clicks_unanswered_at_" + r, static_cast<double>(total - std::min(total, answered)), "count");
  }
  return 0;
}
