// CAF's own timeouts on corvid's scheduler, whose clock skips the cancellation at an actor's end
// for actors that never set a timeout: the ones that do still get theirs.

#include <set>

#include <caf/all.hpp>

#include "corvid/runtime/tsan.hpp"
#include "fixture.hpp"

using namespace corvid;
using namespace corvid::test;

TEST_SUITE("clock") {

namespace {

// Class-based actors: CAF 0.17's function-based spawn binds a reference to a null pointer
// inside its own header (init_fun_factory), which UBSan reports.

// tsan_ordered: CAF's mailbox orders a send before its handling with atomics that
// ThreadSanitizer cannot see; these raw actors state it, as process_actor does.
using traced_actor = tsan_ordered<caf::event_based_actor>;

// Takes the request and never answers it.
class silent_actor : public traced_actor {
public:
  using traced_actor::traced_actor;
  caf::behavior make_behavior() override {
    return {[](int) -> caf::delegated<void> { return {}; }};
  }
};

class asking_actor : public traced_actor {
public:
  asking_actor(caf::actor_config& cfg, caf::actor silent, inbox* got)
    : traced_actor(cfg), silent_(std::move(silent)), got_(got) {}
  caf::behavior make_behavior() override {
    request(silent_, std::chrono::milliseconds(20), 1)
      .then([this]() { got_->put("answered"); },
            [this](caf::error& e) { got_->put(e == caf::sec::request_timeout ? "request timeout" : "other error"); });
    return {caf::after(std::chrono::milliseconds(30)) >> [this] {
      got_->put("receive timeout");
      quit();
    }};
  }

private:
  caf::actor silent_;
  inbox* got_;
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a raw CAF request times out, and a receive timeout fires") {
  auto& sys = rt.system();
  inbox got;
  auto silent = sys.spawn<silent_actor>();
  auto asker = sys.spawn<asking_actor>(silent, &got);
  std::multiset<std::string> seen;
  for (int i = 0; i < 2; ++i)
    if (auto s = got.take())
      seen.insert(*s);
  CHECK(seen == std::multiset<std::string>{"receive timeout", "request timeout"});
  caf::anon_send_exit(silent, caf::exit_reason::kill);
  caf::anon_send_exit(asker, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(fixture, "timers of processes that end early never reach anyone, and later ones still fire") {
  inbox got;
  for (int i = 0; i < 100; ++i) {
    auto p = spawn(rt, [&got](process& self) -> behavior {
      self.send_after(std::chrono::milliseconds(5), self.self(), std::string{"late"});
      self.exit(reason::normal());
      return {[&got](const std::string& s) { got.put(s); }};
    });
    REQUIRE(p);
  }
  auto q = spawn(rt, [&got](process& self) -> behavior {
    self.send_after(std::chrono::milliseconds(20), self.self(), std::string{"on time"});
    return {[&got, &self](const std::string& s) {
      got.put(s);
      self.exit(reason::normal());
    }};
  });
  REQUIRE(q);
  CHECK(got.take() == std::optional<std::string>{"on time"});
  CHECK(wait_exit(*q));
  CHECK(got.size() == 0);
}

}
