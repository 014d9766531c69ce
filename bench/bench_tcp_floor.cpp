// The kernel's floor under "CPU per broadcast diff" and "broadcast to the last session": the same
// frames corvid writes for a /bench broadcast (a 2-byte websocket header and a 62-byte payload, one
// sendmsg per connection, MSG_DONTWAIT) over 10,000 loopback TCP connections, with no runtime, no
// rendering and no event loop on the sending side. A reader thread stands in for the load client
// (epoll, one read per readable socket). On loopback the sender's sendmsg also runs the receiver's
// TCP input, so its CPU is what any server pays per frame on this machine.
// BENCH_SESSIONS sets the count (default 10000, fewer if the open-file limit says so), BENCH_ROUNDS the broadcasts (default 20).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

namespace bench = corvid::bench;

namespace {

[[noreturn]] void die(const char* what) { bench::die_errno("bench_tcp_floor", what); }

using bench::thread_cpu_us;

}  // namespace

int main() {
  auto n = bench::env_or("BENCH_SESSIONS", 10000);
  const auto rounds = static_cast<int>(bench::env_or("BENCH_ROUNDS", 20));
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2 * n + 64) {  // both ends live here; root may raise the hard limit
    rlimit more{2 * n + 64, 2 * n + 64};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) rl = more;
  }
  if (rl.rlim_cur < 2 * n + 64) {  // both ends in one process: as many as the limit allows
    if (rl.rlim_cur < 200) return std::fprintf(stderr, "bench_tcp_floor: too few open files allowed\n"), 1;
    n = (static_cast<std::size_t>(rl.rlim_cur) - 64) / 2;
  }

  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0)
    die("listen");
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> servers, clients;
  const int one = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    const int s = ::accept(lfd, nullptr, nullptr);
    if (s < 0) die("accept");
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as Beast's websocket sockets
    ::fcntl(c, F_SETFL, O_NONBLOCK);
    clients.push_back(c);
    servers.push_back(s);
  }

  // The reader: counts frames (64 bytes each) until it has them all for the round.
  const int ep = ::epoll_create1(0);
  for (std::size_t i = 0; i < n; ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, clients[i], &ev);
  }
  std::atomic<std::size_t> received{0};
  std::atomic<bool> stop{false};
  std::atomic<double> reader_cpu{0};
  std::thread reader([&] {
    std::vector<epoll_event> evs(256);
    char buf[4096];
    while (!stop.load()) {
      const int k = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 50);
      for (int j = 0; j < k; ++j) {
        const auto got = ::read(clients[evs[j].data.u32], buf, sizeof buf);
        if (got > 0) received.fetch_add(static_cast<std::size_t>(got) / 64);
      }
    }
    reader_cpu.store(thread_cpu_us());
  });

  unsigned char header[2] = {0x81, 62};  // FIN + text, 62-byte payload
  const std::string payload(62, 'x');
  // One slice of the connections, as one sender thread (a runtime's worker) writes it.
  auto send_slice = [&](std::size_t from, std::size_t to) {
    const double c0 = thread_cpu_us();
    for (std::size_t i = from; i < to; ++i) {
      iovec iov[2] = {{header, 2}, {const_cast<char*>(payload.data()), payload.size()}};
      msghdr m{};
      m.msg_iov = iov;
      m.msg_iovlen = 2;
      if (::sendmsg(servers[i], &m, MSG_DONTWAIT | MSG_NOSIGNAL) != 64) die("sendmsg");
    }
    return thread_cpu_us() - c0;
  };
  for (std::size_t senders : {std::size_t{1}, std::size_t{2}}) {
    std::vector<double> to_last;
    double cpu = 0;  // the send loops' own CPU, not the wait after them
    std::size_t sent = 0;
    for (int r = 0; r < rounds; ++r) {
      const std::size_t want = received.load() + n;
      const auto t0 = bench::clock::now();
      std::vector<double> cpus(senders, 0);
      std::vector<std::thread> ts;
      for (std::size_t k = 1; k < senders; ++k)
        ts.emplace_back([&, k] { cpus[k] = send_slice(n * k / senders, n * (k + 1) / senders); });
      cpus[0] = send_slice(0, n / senders);
      for (auto& t : ts) t.join();
      for (double c : cpus) cpu += c;
      sent += n;
      while (received.load() < want) std::this_thread::yield();
      to_last.push_back(bench::us_since(t0) / 1000.0);
    }
    std::sort(to_last.begin(), to_last.end());
    const std::string tag = "tcp_floor_" + std::to_string(senders) + "_sender" + (senders > 1 ? "s" : "");
    bench::figure(tag + "_cpu_per_frame_us", cpu / static_cast<double>(sent), "us");
    bench::figure(tag + "_broadcast_to_last_ms", to_last[to_last.size() / 2], "ms");
  }
  stop.store(true);
  reader.join();
  bench::figure("tcp_floor_connections", static_cast<double>(n), "count");
  bench::figure("tcp_floor_reader_cpu_per_frame_us", reader_cpu.load() / (2.0 * rounds * static_cast<double>(n)), "us");
  for (int fd : servers) ::close(fd);
  for (int fd : clients) ::close(fd);
  ::close(lfd);
  ::close(ep);
  return 0;
}
