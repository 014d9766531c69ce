// Bytes a websocket client sends after the upgrade, as ws_conn hands them to ws_reader: cut into
// reads anywhere (the first byte says where), the same events and failure as read whole; every
// event within the limits; nothing after a close frame or a failure; every kept message, framed
// again as a client would, reads back the same.
#include <string>
#include <vector>

#include "../tests/live/client_frames.hpp"
#include "corvid/live/utf8.hpp"
#include "fuzz_check.hpp"
#include "ws_frame.hpp"

using namespace corvid::live::detail;

namespace {

// Small limits, so that oversized and over-the-limit messages are cheap to reach.
constexpr ws_limits lim{200, 2000, 32};

struct recorder final : ws_events {
  std::vector<std::string> got;
  bool closed_seen = false;
  void message(std::string data, bool binary) override {
    FUZZ_CHECK(!closed_seen);
    FUZZ_CHECK(data.size() <= lim.keep);
    if (!binary) FUZZ_CHECK(corvid::live::valid_utf8(data));
    got.push_back((binary ? "b" : "t") + data);
  }
  void oversized(std::string head, std::size_t size, bool binary) override {
    FUZZ_CHECK(!closed_seen);
    FUZZ_CHECK(size > lim.keep && size <= lim.max_message);
    FUZZ_CHECK(head.size() == std::min(size, lim.head_bytes));
    got.push_back((binary ? "B" : "T") + std::to_string(size) + ":" + head);
  }
  void ping(std::string_view p) override {
    FUZZ_CHECK(!closed_seen);
    FUZZ_CHECK(p.size() <= 125);
    got.push_back("p" + std::string(p));
  }
  void closed(std::uint16_t code, std::string_view reason) override {
    FUZZ_CHECK(!closed_seen);
    FUZZ_CHECK(corvid::live::valid_utf8(reason) && reason.size() <= 123);
    closed_seen = true;
    got.push_back("c" + std::to_string(code) + ":" + std::string(reason));
  }
};

// Feeds `bytes` in reads of `cut` bytes (0: one read); the failure code, 0 for none.
unsigned run(std::string bytes, std::size_t cut, recorder& ev) {
  ws_reader r;
  unsigned failed = 0;
  const std::size_t step = cut == 0 ? std::max<std::size_t>(bytes.size(), 1) : cut;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    const std::size_t n = std::min(step, bytes.size() - at);
    const auto before = ev.got.size();
    const bool was_done = failed || ev.closed_seen;
    auto f = r.feed(bytes.data() + at, n, lim, ev);
    if (was_done) FUZZ_CHECK(ev.got.size() == before && !f);  // nothing after a close or a failure
    if (f) {
      FUZZ_CHECK(f->code == 1002 || f->code == 1007 || f->code == 1009);
      FUZZ_CHECK(r.done());
      failed = f->code;
    }
    // what it holds between reads: a message up to keep (string growth may double it), a control frame, a header
    FUZZ_CHECK(r.buffered() <= 2 * lim.keep + 2 * 125 + 14 + 64);
  }
  return failed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t cut = data[0] % 32;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  recorder whole, pieces;
  const unsigned f1 = run(bytes, 0, whole);
  const unsigned f2 = run(bytes, cut, pieces);
  FUZZ_CHECK(f1 == f2);
  FUZZ_CHECK(whole.got == pieces.got);
  // every kept message comes back the same when a client frames it again
  for (const auto& e : whole.got) {
    if (e[0] != 't' && e[0] != 'b') continue;
    recorder again;
    FUZZ_CHECK(run(corvid::live::test::client_frame(e[0] == 't' ? 1 : 2, std::string_view(e).substr(1)), 3, again) == 0);
    FUZZ_CHECK(again.got.size() == 1 && again.got[0] == e);
  }
  return 0;
}
