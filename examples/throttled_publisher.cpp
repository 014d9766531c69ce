// A throttled publisher feeding many subscribers.
//
// A "ticker" process receives a storm of price updates (one every 100 µs) but publishes at
// most one per 50 ms on the topic "prices" (the latest price wins, the last one is always
// delivered). 1,000 subscribers count what they get; one of them is slow and uses a small
// coalescing mailbox, so it only ever sees the newest price. The counts are printed at the end.
//
//   ./throttled_publisher

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "corvid/pubsub.hpp"
#include "corvid/runtime.hpp"

using namespace std::chrono_literals;

int main() {
  corvid::runtime_options opts;
  opts.threads = 2;
  corvid::runtime rt{opts};
  constexpr int subscribers = 1'000;
  constexpr int updates = 5'000;  // ~0.5 s of storm
  std::vector<std::atomic<int>> received(subscribers);
  std::atomic<int> last_seen{0};  // subscribers that got the final price
  std::mutex m;
  std::condition_variable cv;
  corvid::pubsub::limiter_stats ticker_stats;
  {
    corvid::pubsub::hub ps{rt};

    // Subscribers: each counts the prices it gets; ("prices", n) with n == updates is the last one.
    std::vector<corvid::pid> subs;
    for (int i = 0; i < subscribers; ++i) {
      corvid::spawn_options so;
      if (i == 0) {  // a slow consumer: keeps only the newest message per key ("prices")
        so.mailbox = corvid::mailbox_options{};
        so.mailbox->capacity = 2;
        so.mailbox->policy = corvid::overflow::coalesce;
      }
      auto p = corvid::spawn(rt, [&, i](corvid::process&) -> corvid::behavior {
        return {[&, i](const std::string&, int price) {
          if (i == 0)
            std::this_thread::sleep_for(120ms);  // pretend this one does expensive work
          received[size_t(i)].fetch_add(1, std::memory_order_relaxed);
          if (price == updates && last_seen.fetch_add(1) + 1 == subscribers) {
            std::lock_guard<std::mutex> g{m};
            cv.notify_all();
          }
        }};
      }, so);
      if (!p || ps.subscribe(*p, "prices")) {
        std::fprintf(stderr, "could not start subscriber %d\n", i);
        return 1;
      }
      subs.push_back(*p);
    }

    // The ticker: a storm in, at most one broadcast per 50 ms out.
    auto ticker = corvid::spawn(rt, [&ps, &ticker_stats](corvid::process& self) -> corvid::behavior {
      // Passing self: were the ticker subscribed to "prices" too, it would not get its own prices.
      auto out = std::make_shared<corvid::pubsub::throttle>(self, 50ms,
                                                            corvid::pubsub::to_topic(ps, "prices", self.self()));
      return {
        corvid::pubsub::limiter_handler(),
        [out, &ticker_stats](int price) {
          (*out)(std::string{"prices"}, price);
          ticker_stats = out->stats();  // read by main() once everything arrived
        },
      };
    });
    if (!ticker)
      return 1;
    for (int price = 1; price <= updates; ++price) {
      (void) corvid::send(*ticker, price);
      std::this_thread::sleep_for(100us);  // the outside world producing updates
    }
    {
      std::unique_lock<std::mutex> g{m};
      cv.wait_for(g, 10s, [&] { return last_seen.load() == subscribers; });
    }
    auto hs = ps.stats();
    auto slow = corvid::stats(subs[0]);
    std::printf("updates pushed to the throttle: %llu\n", (unsigned long long) ticker_stats.pushed);
    std::printf("broadcasts (throttled to 50 ms): %llu\n", (unsigned long long) hs.broadcasts);
    std::printf("replaced inside the throttle:    %llu\n", (unsigned long long) ticker_stats.suppressed);
    std::printf("deliveries accepted by mailboxes: %llu (refused: %llu)\n",
                (unsigned long long) hs.delivered, (unsigned long long) hs.failed);
    std::printf("a normal subscriber received:    %d\n", received[1].load());
    std::printf("the slow subscriber received:    %d (coalesced in its mailbox: %llu)\n",
                received[0].load(), (unsigned long long) slow.coalesced);
    std::printf("subscribers that saw the final price: %d of %d\n", last_seen.load(), subscribers);
    exit(*ticker, corvid::reason::shutdown());
    for (auto& p : subs)
      exit(p, corvid::reason::shutdown());
    rt.shutdown_all();
  }
  return 0;
}
