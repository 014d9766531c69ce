// hub: delivery, unsubscribe and exit cleanup, broadcast_from, big fan-out, coalescing, remote.

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "../runtime/fixture.hpp"
#include "../support/loopback_adapter.hpp"
#include "../support/pubsub_conformance.hpp"
#include "corvid/pubsub.hpp"

using namespace corvid;
using namespace corvid::test;
using namespace corvid::pubsub;

namespace {

/// A subscriber that reports "name:value" for every ("topic", int) it gets.
pid reporter(runtime& rt, inbox& box, std::string name, spawn_options so = {}) {
  auto p = spawn(rt, [&box, name](process&) -> behavior {
    return {
      [&box, name](const std::string&, int v) { box.put(name + ":" + std::to_string(v)); },
      [](const std::string& probe) { return probe; },
    };
  }, std::move(so));
  REQUIRE(p);
  return *p;
}

/// A subscriber that reports "key:value"; on "block" it reports "blocked" and waits for `opened`.
/// Its mailbox holds `capacity` messages under `policy`.
caf::expected<pid> gated(runtime& rt, inbox& box, std::shared_future<void> opened, size_t capacity,
                         overflow policy) {
  spawn_options so;
  so.mailbox = mailbox_options{};
  so.mailbox->capacity = capacity;
  so.mailbox->policy = policy;
  return spawn(rt, [&box, opened](process&) -> behavior {
    return {
      [&box, opened](const std::string& cmd) {
        if (cmd == "block") {
          box.put("blocked");
          opened.wait();
        }
        return cmd;
      },
      [&box](const std::string& key, int v) { box.put(key + ":" + std::to_string(v)); },
    };
  }, std::move(so));
}

hub_options named(std::string node) {
  hub_options o;
  o.node = std::move(node);
  return o;
}

} // namespace

TEST_SUITE("hub") {

TEST_CASE_FIXTURE(fixture, "delivers to every subscriber, not to unsubscribed or dead ones") {
  inbox box;
  {
    hub ps{rt};
    auto base = rt.process_count();
    auto a = reporter(rt, box, "a");
    auto b = reporter(rt, box, "b");
    auto c = reporter(rt, box, "c");
    for (auto& p : {a, b, c})
      REQUIRE(ps.subscribe(p, "t") == caf::none);
    CHECK(ps.subscribe(a, "t") == caf::none);  // again: no duplicate
    CHECK(ps.subscriber_count("t") == 3);
    CHECK(ps.subscribe(a, "") == errc::bad_argument);
    ps.unsubscribe(b, "t");
    exit(c, reason::kill());
    CHECK(wait_exit(c));
    CHECK(eventually([&] { return ps.subscriber_count("t") == 1; }));
    CHECK(ps.subscribe(c, "t") == errc::down);
    REQUIRE(ps.broadcast("t", std::string{"t"}, 1) == caf::none);
    // a probe call through each mailbox: anything delivered before it has been handled
    for (auto& p : {a, b})
      REQUIRE(call<std::string>(p, 1s, std::string{"probe"}));
    CHECK(box.size() == 1);
    CHECK(box.take(0ms) == std::optional<std::string>{"a:1"});
    CHECK(ps.stats().subscriptions == 1);
    for (auto& p : {a, b}) {
      exit(p, reason::shutdown());
      CHECK(wait_exit(p));
    }
    CHECK(eventually([&] { return ps.stats().subscriptions == 0 && rt.process_count() == base; }));
  }
  CHECK(eventually([&] { return rt.process_count() == 0; }));
}

TEST_CASE_FIXTURE(fixture, "one process on several topics: leaving one (its last subscriber) and coming back; its exit leaves them all") {
  inbox box;
  hub ps{rt};
  auto a = reporter(rt, box, "a");
  auto b = reporter(rt, box, "b");
  for (auto* t : {"one", "two", "three"})
    REQUIRE(ps.subscribe(a, t) == caf::none);
  REQUIRE(ps.subscribe(b, "one") == caf::none);
  ps.unsubscribe(a, "two");  // "two" had only a: the topic goes
  CHECK(ps.subscriber_count("two") == 0);
  CHECK(ps.subscribe(a, "three") == caf::none);  // again: still one subscription
  CHECK(ps.stats().subscriptions == 3);
  REQUIRE(ps.subscribe(a, "two") == caf::none);  // back, on a new entry of the topic
  for (auto* t : {"one", "two", "three"})
    REQUIRE(ps.broadcast(t, std::string{t}, 1) == caf::none);
  REQUIRE(call<std::string>(a, 1s, std::string{"probe"}));
  REQUIRE(call<std::string>(b, 1s, std::string{"probe"}));
  CHECK(box.size() == 4);  // a: one, two, three; b: one
  exit(a, reason::kill());
  CHECK(wait_exit(a));
  CHECK(eventually([&] { return ps.stats().subscriptions == 1; }));
  CHECK(ps.subscriber_count("one") == 1);
  CHECK(ps.subscriber_count("two") == 0);
  CHECK(ps.subscriber_count("three") == 0);
  CHECK(ps.topics().size() == 1);
  exit(b, reason::shutdown());
  CHECK(wait_exit(b));
}

TEST_CASE_FIXTURE(fixture, "topics() lists each topic with its subscribers and broadcasts; an empty topic leaves") {
  inbox box;
  hub_options o;
  o.partitions = 4;  // subscribers spread over partitions: each counts the topic's broadcasts
  hub ps{rt, o};
  std::vector<pid> ps_list;
  for (int i = 0; i < 6; ++i) {
    ps_list.push_back(reporter(rt, box, "r" + std::to_string(i)));
    REQUIRE(ps.subscribe(ps_list.back(), "room") == caf::none);
  }
  REQUIRE(ps.subscribe(ps_list[0], "solo") == caf::none);
  for (int i = 0; i < 3; ++i)
    REQUIRE(ps.broadcast("room", std::string{"room"}, i) == caf::none);
  REQUIRE(ps.broadcast("nobody", std::string{"nobody"}, 0) == caf::none);  // no subscriber: not listed
  auto list = ps.topics();
  std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.topic < b.topic; });
  REQUIRE(list.size() == 2);
  CHECK(list[0].topic == "room");
  CHECK(list[0].subscribers == 6);
  CHECK(list[0].broadcasts == 3);
  CHECK(list[1].topic == "solo");
  CHECK(list[1].subscribers == 1);
  CHECK(list[1].broadcasts == 0);
  ps.unsubscribe(ps_list[0], "solo");
  CHECK(ps.topics().size() == 1);
  for (auto& p : ps_list) {
    exit(p, reason::shutdown());
    CHECK(wait_exit(p));
  }
  CHECK(eventually([&] { return ps.topics().empty(); }));
}

TEST_CASE_FIXTURE(fixture, "broadcast_from skips the sender") {
  inbox box;
  hub ps{rt};
  auto other = reporter(rt, box, "other");
  auto self_p = spawn(rt, [&box, &ps](process& self) -> behavior {
    return {
      [&box, &ps, &self](const std::string& cmd) {
        if (cmd == "go") {
          REQUIRE(ps.subscribe(self.self(), "room") == caf::none);
          (void) ps.broadcast_from(self.self(), "room", std::string{"room"}, 7);
          (void) self.send(self.self(), std::string{"after"});
        } else {
          box.put("self:" + cmd);
        }
      },
      [&box](const std::string&, int v) { box.put("self:" + std::to_string(v)); },
    };
  });
  REQUIRE(self_p);
  REQUIRE(ps.subscribe(other, "room") == caf::none);
  REQUIRE(send(*self_p, std::string{"go"}) == caf::none);
  std::multiset<std::string> got{*box.take(), *box.take()};
  CHECK(got == std::multiset<std::string>{"other:7", "self:after"});
  exit(*self_p, reason::shutdown());
  exit(other, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "10,000 subscribers each receive exactly one copy") {
  constexpr int n = 10'000;
  hub ps{rt};
  auto base = rt.process_count();
  std::vector<std::atomic<int>> got(n);
  std::atomic<int> total{0};
  std::atomic<int> ends{0};
  std::mutex m;
  std::condition_variable cv;
  auto bump = [&](std::atomic<int>& c) {
    if (c.fetch_add(1) + 1 == n) {
      std::lock_guard<std::mutex> g{m};
      cv.notify_all();
    }
  };
  std::vector<pid> subs;
  for (int i = 0; i < n; ++i) {
    auto p = spawn(rt, [&, i](process&) -> behavior {
      return {
        [&, i](const std::string&, int) {
          got[i].fetch_add(1);
          bump(total);
        },
        [&](const std::string&) { bump(ends); },
      };
    });
    REQUIRE(p);
    REQUIRE(ps.subscribe(*p, "big") == caf::none);
    subs.push_back(*p);
  }
  REQUIRE(ps.broadcast("big", std::string{"big"}, 1) == caf::none);
  // every subscriber gets "end" after the payload (per-sender order), so any duplicate shows
  REQUIRE(ps.broadcast("big", std::string{"end"}) == caf::none);
  {
    std::unique_lock<std::mutex> g{m};
    REQUIRE(cv.wait_for(g, 30s, [&] { return ends.load() == n; }));
  }
  CHECK(total.load() == n);
  int wrong = 0;
  for (auto& c : got)
    wrong += c.load() != 1;
  CHECK(wrong == 0);
  auto st = ps.stats();
  CHECK(st.delivered == 2 * n);
  CHECK(st.failed == 0);
  CHECK(st.dispatched > 0);  // went through the helpers
  for (auto& p : subs)
    exit(p, reason::shutdown());
  CHECK(eventually([&] { return ps.stats().subscriptions == 0 && rt.process_count() == base; }, 30s));
}

TEST_CASE_FIXTURE(fixture, "a coalescing subscriber under a storm gets the latest") {
  inbox box;
  hub ps{rt};
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto p = gated(rt, box, opened, 4, overflow::coalesce);
  REQUIRE(p);
  REQUIRE(ps.subscribe(*p, "prices") == caf::none);
  REQUIRE(send(*p, std::string{"block"}) == caf::none);
  REQUIRE(box.take() == std::optional<std::string>{"blocked"});
  for (int i = 1; i <= 1000; ++i)
    REQUIRE(ps.broadcast("prices", std::string{"price"}, i) == caf::none);
  gate.set_value();
  REQUIRE(call<std::string>(*p, 5s, std::string{"probe"}));
  CHECK(box.size() == 1);
  CHECK(box.take(0ms) == std::optional<std::string>{"price:1000"});
  CHECK(stats(*p).coalesced == 999);
  CHECK(ps.stats().failed == 0);
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "loopback: a duplicate is dropped, a hole is a gap at once, a new incarnation starts over") {
  // Delivery across nodes is in the conformance suite below; this is what a hub does with
  // what an adapter that cannot resend hands it.
  auto link = std::make_shared<loopback_adapter>();
  std::vector<sequence_gap> gaps;
  hub_options oa;
  oa.node = "a@host";
  oa.adapter = link;
  hub_options ob;
  ob.node = "b@host";
  ob.on_gap = [&gaps](const sequence_gap& g) { gaps.push_back(g); };
  hub a{rt, oa};
  hub b{rt, ob};
  link->connect(b);
  inbox box;
  auto on_b = reporter(rt, box, "on_b");
  REQUIRE(b.subscribe(on_b, "t") == caf::none);
  REQUIRE(a.broadcast("t", std::string{"t"}, 1) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"on_b:1"});
  auto sent = link->sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].origin == "a@host");
  CHECK(sent[0].seq == 1);
  auto dup = sent[0];
  CHECK(b.deliver_remote(dup) == caf::none);  // a duplicate is dropped
  auto skipped = dup;
  skipped.seq = 3;
  CHECK(b.deliver_remote(skipped) == caf::none);  // seq 2 never came
  REQUIRE(box.take() == std::optional<std::string>{"on_b:1"});
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].origin == "a@host");
  CHECK(gaps[0].expected == 2);
  CHECK(gaps[0].received == 3);
  CHECK(b.stats().gaps == 1);
  auto recent = b.recent_gaps();
  REQUIRE(recent.size() == 1);
  CHECK(recent[0].gap.origin == "a@host");
  CHECK(recent[0].gap.expected == 2);
  CHECK(std::chrono::system_clock::now() - recent[0].at < std::chrono::minutes(5));
  CHECK(a.recent_gaps().empty());
  REQUIRE(call<std::string>(on_b, 1s, std::string{"probe"}));
  CHECK(box.size() == 0);
  // The origin restarts: a new incarnation numbers from 1 again, which is neither a
  // duplicate nor a gap.
  auto reborn = dup;
  reborn.incarnation = dup.incarnation + 1;
  reborn.seq = 1;
  CHECK(b.deliver_remote(reborn) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"on_b:1"});
  CHECK(gaps.size() == 1);
  exit(on_b, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "subscribe and broadcast run concurrently") {
  hub ps{rt};
  constexpr int n = 3000;
  std::atomic<int> total{0};
  std::vector<pid> subs;
  for (int i = 0; i < n; ++i) {
    auto p = spawn(rt, [&total](process&) -> behavior {
      return {[&total](const std::string&, int) { total.fetch_add(1); }};
    });
    REQUIRE(p);
    subs.push_back(*p);
  }
  std::atomic<bool> stop{false};
  std::thread publisher{[&] {
    while (!stop.load())
      (void) ps.broadcast("c", std::string{"c"}, 0);
  }};
  std::thread other{[&] {
    for (int i = 0; i < n; i += 2)
      (void) ps.subscribe(subs[size_t(i)], "c");
  }};
  for (int i = 1; i < n; i += 2)
    REQUIRE(ps.subscribe(subs[size_t(i)], "c") == caf::none);
  other.join();
  stop = true;
  publisher.join();
  CHECK(ps.subscriber_count("c") == size_t(n));
  for (int i = 0; i < n; i += 3)
    ps.unsubscribe(subs[size_t(i)], "c");
  CHECK(ps.subscriber_count("c") == size_t(n - n / 3));
  for (auto& p : subs)
    exit(p, reason::shutdown());
  CHECK(eventually([&] { return ps.stats().subscriptions == 0; }, 30s));
}

} // TEST_SUITE

TEST_SUITE("hub (issue 14)") {

TEST_CASE_FIXTURE(fixture, "drop_newest refusals count as failed, not delivered") {
  inbox box;
  hub ps{rt};
  std::promise<void> gate;
  auto opened = gate.get_future().share();
  auto p = gated(rt, box, opened, 2, overflow::drop_newest);
  REQUIRE(p);
  REQUIRE(ps.subscribe(*p, "t") == caf::none);
  CHECK(ps.subscribers("t") == std::vector<pid>{*p});
  REQUIRE(send(*p, std::string{"block"}) == caf::none);
  REQUIRE(box.take() == std::optional<std::string>{"blocked"});
  for (int i = 1; i <= 5; ++i)
    REQUIRE(ps.broadcast("t", std::string{"t"}, i) == caf::none);  // 2 fit, 3 are dropped
  auto st = ps.stats();
  CHECK(st.delivered == 2);
  CHECK(st.failed == 3);
  CHECK(stats(*p).dropped == 3);
  gate.set_value();
  CHECK(box.take() == std::optional<std::string>{"t:1"});
  CHECK(box.take() == std::optional<std::string>{"t:2"});
  ps.unsubscribe(*p, "t");
  CHECK(ps.subscriber_count("t") == 0);
  exit(*p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "direct_broadcast: only one to another node goes to the adapter, unsequenced; a third node never sees it") {
  auto link = std::make_shared<loopback_adapter>();
  auto oa = named("a@host");
  oa.adapter = link;
  hub a{rt, oa};
  hub b{rt, named("b@host")};
  hub c{rt, named("c@host")};
  link->connect(b);
  link->connect(c);
  inbox box;
  auto on_b = reporter(rt, box, "on_b");
  auto on_c = reporter(rt, box, "on_c");
  REQUIRE(b.subscribe(on_b, "t") == caf::none);
  REQUIRE(c.subscribe(on_c, "t") == caf::none);
  REQUIRE(a.direct_broadcast("b@host", "t", std::string{"t"}, 1) == caf::none);
  REQUIRE(a.direct_broadcast("a@host", "t", std::string{"t"}, 2) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"on_b:1"});
  auto sent = link->sent();
  REQUIRE(sent.size() == 1);  // the one to this node never left
  CHECK(sent[0].target == "b@host");
  CHECK(sent[0].seq == 0);
  for (auto& p : {on_b, on_c})
    REQUIRE(call<std::string>(p, 1s, std::string{"probe"}));
  CHECK(box.size() == 0);  // c never saw the direct one
  hub lone{rt, named("lone@host")};
  auto err = lone.direct_broadcast("b@host", "t", std::string{"t"}, 4);
  CHECK(err == errc::not_found);
  CHECK(describe(err).find("no cluster adapter: node b@host unknown") != std::string::npos);
  for (auto& p : {on_b, on_c})
    exit(p, reason::shutdown());
}

TEST_CASE_FIXTURE(fixture, "subscribers with metadata; a named dispatcher decides delivery") {
  // Delivers only to subscribers whose metadata is "vip", never to the sender.
  dispatcher vip_only = [](const std::vector<subscriber>& subs, const pid& from, const caf::message& m) {
    std::vector<pid> to;
    for (auto& s : subs)
      if (s.who != from && s.meta.match_elements<std::string>() && s.meta.get_as<std::string>(0) == "vip")
        to.push_back(s.who);
    send_many(to.data(), to.data() + to.size(), m);
  };
  hub_options o;
  o.dispatchers["vip"] = vip_only;
  hub ps{rt, o};
  inbox box;
  auto a = reporter(rt, box, "a");
  auto b = reporter(rt, box, "b");
  auto c = reporter(rt, box, "c");
  auto vip = caf::make_message(std::string{"vip"});
  REQUIRE(ps.subscribe(a, "t", vip) == caf::none);
  REQUIRE(ps.subscribe(b, "t") == caf::none);
  REQUIRE(ps.subscribe(c, "t", vip) == caf::none);
  REQUIRE(ps.subscribe(c, "t", caf::message{}) == caf::none);  // again: c's metadata is replaced
  CHECK(ps.subscriber_count("t") == 3);
  REQUIRE(ps.broadcast_via("vip", pid{}, "t", std::string{"t"}, 1) == caf::none);
  CHECK(box.take() == std::optional<std::string>{"a:1"});
  REQUIRE(ps.broadcast_via("vip", a, "t", std::string{"t"}, 2) == caf::none);  // a sends: skipped
  REQUIRE(ps.broadcast("t", std::string{"t"}, 3) == caf::none);  // the default dispatcher: everyone
  std::multiset<std::string> got{*box.take(), *box.take(), *box.take()};
  CHECK(got == std::multiset<std::string>{"a:3", "b:3", "c:3"});
  CHECK(ps.broadcast_via("nope", pid{}, "t", std::string{"t"}, 4) == errc::not_found);
  for (auto& p : {a, b, c})
    REQUIRE(call<std::string>(p, 1s, std::string{"probe"}));
  CHECK(box.size() == 0);
  for (auto& p : {a, b, c})
    exit(p, reason::shutdown());
}

} // TEST_SUITE

namespace {

/// Three nodes in one process: a runtime and a hub each, a loopback adapter from each to the others.
struct loopback_nodes {
  static constexpr const char* names[3] = {"a@loopback", "b@loopback", "c@loopback"};
  loopback_nodes() {
    for (size_t i = 0; i < 3; ++i) {
      runtime_options o;
      o.threads = 1;
      o.node = names[i];
      rts[i] = std::make_unique<runtime>(o);
      auto ho = conformance::hub_options_for(names[i]);
      ho.adapter = links[i];
      hubs[i] = std::make_unique<pubsub::hub>(*rts[i], ho);
    }
    for (size_t i = 0; i < 3; ++i)
      for (size_t j = 0; j < 3; ++j)
        if (i != j)
          links[i]->connect(*hubs[j]);
  }
  ~loopback_nodes() {
    for (auto& h : hubs)
      h.reset();
    for (auto& r : rts) {
      r->shutdown_all(5s);
      CHECK_MESSAGE(r->process_count() == 0, "processes leaked");
    }
  }
  runtime& rt(size_t i) { return *rts[i]; }
  pubsub::hub& hub(size_t i) { return *hubs[i]; }

  std::shared_ptr<loopback_adapter> links[3] = {std::make_shared<loopback_adapter>(), std::make_shared<loopback_adapter>(),
                                                std::make_shared<loopback_adapter>()};
  std::unique_ptr<runtime> rts[3];
  std::unique_ptr<pubsub::hub> hubs[3];
};

} // namespace

TYPE_TO_STRING(loopback_nodes);
CORVID_PUBSUB_CONFORMANCE(loopback_nodes);
