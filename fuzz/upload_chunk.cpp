// Binary websocket messages (upload chunks): parse_binary_frame either refuses with bad_frame or
// returns parts that lie exactly where the header says; a channel answers any of them without harm.
#include <string>

#include "corvid/live/channel.hpp"
#include "corvid/live/protocol.hpp"
#include "fuzz_check.hpp"

using namespace corvid::live;

namespace {

struct quiet_host : channel_host {
  std::size_t sent = 0;
  void send(std::string) override { ++sent; }
  void schedule_flush(std::chrono::milliseconds) override {}
};

struct fixture {
  router routes;
  token_signer sessions{"fuzz secret, at least thirty-two bytes long", "corvid.live.session"};
  channel_config cfg;
  quiet_host host;
  channel ch{cfg, host};
  fixture() {
    cfg.routes = &routes;
    cfg.signer = &sessions;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view in = corvid_fuzz::as_text(data, size);
  auto b = parse_binary_frame(in);
  if (!b) {
    FUZZ_CHECK(b.error().code == errc::bad_frame);
    FUZZ_CHECK(!b.error().message.empty());
  } else {
    FUZZ_CHECK(size >= 5 && data[0] == 0);
    std::string_view parts[] = {b->join_ref, b->ref, b->topic, b->event};
    std::size_t at = 5;
    for (int i = 0; i < 4; ++i) {  // each part is the bytes its length names, in order
      FUZZ_CHECK(parts[i].size() == data[1 + i]);
      FUZZ_CHECK(parts[i].data() == in.data() + at);
      at += parts[i].size();
    }
    FUZZ_CHECK(!b->topic.empty());
    FUZZ_CHECK(b->payload.data() == in.data() + at && b->payload.size() == size - at);
  }
  // No upload is joined here: every message must be answered or dropped, never crash the channel.
  static fixture f;
  f.ch.handle_binary(in);
  FUZZ_CHECK(f.ch.joined() == 0);
  return 0;
}
