// The cost of turning one broadcast into 10,000 sessions' diff frames, per session: the per-session
// path (diff() and encode_diff(), what a session did before) against render once, send to many
// (shared_diff(): the changed slot rendered and the body serialized once, each frame its own head
// around the shared body, as the websocket writes it with scatter/gather). No sockets: this is the
// server's render and encode work alone. BENCH_SESSIONS sets the count (default 10000).
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bench_util.hpp"
#include "corvid/live/diff.hpp"
#include "corvid/live/protocol.hpp"
#include "shared_diff.hpp"

using namespace corvid::live;
namespace bench = corvid::bench;

namespace {

struct session {
  assigns a;
  render_state st;
  std::string topic;
  std::string head;  // the session's diff frame head, made once per view
};

// One case: `sessions` sessions of `t` joined with `init`, then `rounds` broadcasts assigning
// `name` a new value (the same in every session). Returns ns per session per broadcast.
double run(const html_template& t, std::size_t sessions, int rounds, const char* name,
           const std::function<value(int)>& make, bool shared, std::size_t& bytes) {
  std::vector<session> all(sessions);
  for (std::size_t i = 0; i < sessions; ++i) {
    auto& s = all[i];
    s.a.assign("count", static_cast<std::int64_t>(i));
    s.a.assign(name, make(-1));
    (void)render(t, s.a, s.st);
    s.a.clear_changes();
    s.topic = "lv:phx-" + std::to_string(i);
    s.head = encode_frame_head(std::string_view("4"), std::nullopt, s.topic, "diff");
  }
  bytes = 0;
  std::size_t sink = 0;
  const auto t0 = bench::clock::now();
  for (int r = 0; r < rounds; ++r) {
    const value v = make(r);
    for (std::size_t i = 0; i < sessions; ++i) {
      auto& s = all[i];
      s.a.assign(name, v);  // what each session's handle_info does with the broadcast
      if (shared) {
        auto body = detail::shared_diff(t, s.a, s.a.changed(), s.st);
        if (!body || !*body) std::abort();
        // the frame's pieces: head, body, "]" (gathered by sendmsg, not copied)
        sink += s.head.size() + (*body)->size() + 1;
      } else {
        auto d = diff(t, s.a, s.st);
        auto frame = encode_diff(std::string_view("4"), s.topic, d);
        sink += frame.size();
      }
      s.a.clear_changes();
    }
  }
  const double us = bench::us_since(t0);
  bytes = sink / (sessions * static_cast<std::size_t>(rounds));
  return us * 1000.0 / (static_cast<double>(sessions) * rounds);
}

html_template parse(std::string_view src) {
  auto r = html_template::parse(src);
  if (!r.ok()) {
    std::fprintf(stderr, "bench_live_diff: %s\n", r.error().to_string().c_str());
    std::exit(1);
  }
  return *r;
}

}  // namespace

int main() {
  const auto sessions = bench::env_or("BENCH_SESSIONS", 10000);
  // /bench's shape: a count, the last broadcast, 20 items.
  const auto page = parse(
      R"(<main><p>Count: <span id="count">{{ count }}</span></p><p>Last: <span id="last">{{ last }}</span></p>)"
      R"(<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul></main>)");
  // A larger broadcast: a 4 KB notice (e.g. a rendered announcement) into every page.
  const auto notice = parse(R"(<main><p>{{ count }}</p><section>{{ notice }}</section></main>)");
  const auto small = [](int r) { return value("message " + std::to_string(r)); };
  const auto large = [](int r) { return value(std::string(4000, 'a' + static_cast<char>((r + 26) % 26)) + " <x>"); };
  struct one {
    const char* label;
    const html_template* t;
    const char* name;
    std::function<value(int)> make;
  } cases[] = {{"live_diff_bench_page", &page, "last", small}, {"live_diff_4kb_notice", &notice, "notice", large}};
  for (const auto& c : cases) {
    std::size_t bytes = 0, bytes2 = 0;
    (void)run(*c.t, sessions, 2, c.name, c.make, false, bytes);  // warm-up
    const double per = run(*c.t, sessions, 20, c.name, c.make, false, bytes);
    const double shared = run(*c.t, sessions, 20, c.name, c.make, true, bytes2);
    bench::figure(std::string(c.label) + "_per_session_ns", per, "ns");
    bench::figure(std::string(c.label) + "_shared_ns", shared, "ns");
    bench::figure(std::string(c.label) + "_shared_speedup", per / shared, "x");
    bench::figure(std::string(c.label) + "_frame_bytes", static_cast<double>(bytes2), "bytes");
  }
  return 0;
}
