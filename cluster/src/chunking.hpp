#pragma once
// Large data-lane messages travel as consecutive Chunk frames of at most `chunk_bytes`
// payload each, so the writer can slip control frames (heartbeats) between them.

#include <cstddef>
#include <string>
#include <vector>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/v1/wire.pb.h"

namespace corvid::cluster::detail {

/// The wire pieces of `f` on the data lane: one frame, or its chunk frames when its
/// serialized size exceeds `chunk_bytes`.
error encode_data_message(const v1::Frame& f, size_t chunk_bytes, size_t frame_limit,
                          size_t message_limit, std::vector<std::string>& pieces);

/// Reassembles one message at a time (pieces of a message are consecutive on the lane).
class reassembler {
public:
  explicit reassembler(size_t message_limit) : limit_(message_limit) {}

  /// Adds a chunk; sets `complete` once the whole message is in frame().
  error add(const v1::Chunk& c, bool& complete);

  v1::Frame& frame() noexcept { return frame_; }

private:
  size_t limit_;
  size_t total_ = 0;
  std::string buf_;
  v1::Frame frame_;
};

} // namespace corvid::cluster::detail
