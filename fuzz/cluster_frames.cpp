// Bytes from a cluster peer: the length-checked frame reader (with the 1 KiB limit of the handshake,
// raised once the handshake is through, as the connection does), then chunk reassembly.
#include "chunking.hpp"
#include "corvid/cluster/options.hpp"
#include "framing.hpp"
#include "fuzz_check.hpp"

using namespace corvid::cluster;
using namespace corvid::cluster::detail;

namespace {

// Smaller than the defaults so a hostile size costs the fuzzer little; the checks do not depend on them.
constexpr size_t frame_limit = 64 * 1024;
constexpr size_t message_limit = 256 * 1024;

bool handshake_body(const v1::Frame& f) {
  return f.has_hello() || f.has_challenge() || f.has_proof() || f.has_welcome() || f.has_refuse();
}

// What our own encoders make of a frame must come back as the same frame, whole or in chunks.
void check_round_trip(const v1::Frame& f) {
  if (f.has_chunk()) return;  // the writer never chunks a chunk
  const std::string want = f.SerializeAsString();
  std::vector<std::string> pieces;
  if (encode_data_message(f, 48, frame_limit, message_limit, pieces)) return;  // empty or over a limit
  frame_reader r{frame_limit};
  reassembler ra{message_limit};
  size_t complete = 0;
  for (const auto& p : pieces) {
    auto s = r.feed(p.data(), p.size());
    FUZZ_CHECK(s.what == frame_reader::status::frame && s.consumed == p.size());
    if (!r.frame().has_chunk()) {
      FUZZ_CHECK(pieces.size() == 1 && r.frame().SerializeAsString() == want);
      ++complete;
      continue;
    }
    bool done = false;
    FUZZ_CHECK(!ra.add(r.frame().chunk(), done));
    if (done) {
      FUZZ_CHECK(ra.frame().SerializeAsString() == want);
      ++complete;
    }
  }
  FUZZ_CHECK(complete == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, size_t size) {
  if (size == 0) return 0;
  // The first byte decides how the socket cuts the stream into reads.
  const size_t cut = data[0] % 16 == 0 ? size : data[0] % 16;
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;

  frame_reader reader{handshake_frame_limit};
  reassembler chunks{message_limit};
  bool failed = false, authenticated = false;
  while (left > 0 && !failed) {
    size_t n = std::min(cut, left);
    size_t off = 0;
    while (off < n) {
      const auto s = reader.feed(p + off, n - off);
      FUZZ_CHECK(s.consumed <= n - off);
      FUZZ_CHECK(reader.capacity() <= reader.limit());
      off += s.consumed;
      if (s.what == frame_reader::status::need_more) {
        FUZZ_CHECK(off == n);  // nothing is left unread while it asks for more
        break;
      }
      if (s.what == frame_reader::status::failed) {
        const auto& e = reader.failure();
        FUZZ_CHECK(e.kind == errc::protocol || e.kind == errc::frame_too_large);
        FUZZ_CHECK(!e.message.empty());
        // A failed reader stays failed.
        FUZZ_CHECK(reader.feed(p, n).what == frame_reader::status::failed);
        failed = true;
        break;
      }
      FUZZ_CHECK(s.consumed > 0);
      v1::Frame& f = reader.frame();
      if (!authenticated) {
        if (f.has_welcome() || f.has_proof()) {
          authenticated = true;
          reader.set_limit(frame_limit);
        }
        continue;
      }
      if (handshake_body(f)) continue;  // the connection closes on these; nothing more is read of them
      check_round_trip(f);
      if (f.has_chunk()) {
        bool complete = false;
        if (auto e = chunks.add(f.chunk(), complete)) {
          FUZZ_CHECK(e.kind == errc::protocol || e.kind == errc::frame_too_large);
          failed = true;
          break;
        }
        if (complete) FUZZ_CHECK(!chunks.frame().has_chunk());
      }
    }
    p += n;
    left -= n;
  }
  return 0;
}
