// Spawns a supervised process through an embedded corvid, crashes it once, and checks that
// the supervisor brought it back under its name. Prints "embed ok" on success.

#include <cstdio>

#include <corvid/runtime.hpp>

using namespace corvid;
using namespace std::chrono_literals;

int main() {
  runtime rt;
  spawn_options named;
  named.name = "greeter";
  auto sup = start_supervisor(rt, {}, {child_spec::worker("greeter", [](process&) -> behavior {
    return {[](const std::string& who) {
      if (who == "crash")
        throw std::runtime_error("asked to crash");
      return "hello " + who;
    }};
  }, named)});
  if (!sup) {
    std::fprintf(stderr, "supervisor failed: %s\n", describe(sup.error()).c_str());
    return 1;
  }
  auto first = whereis(rt, "greeter");
  send(first, std::string{"crash"});
  for (int i = 0; i < 1000; ++i) {
    auto now = whereis(rt, "greeter");
    if (now && now != first) {
      auto r = call<std::string>(now, 5s, std::string{"embedder"});
      if (r && *r == "hello embedder") {
        std::printf("embed ok: %s\n", r->c_str());
        return 0;
      }
    }
    std::this_thread::sleep_for(5ms);  // a test driver thread, not a process
  }
  std::fprintf(stderr, "the greeter did not come back\n");
  return 1;
}
