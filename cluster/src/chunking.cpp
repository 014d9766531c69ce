#include "chunking.hpp"

#include <algorithm>

#include "framing.hpp"

namespace corvid::cluster::detail {

error encode_data_message(const v1::Frame& f, size_t chunk_bytes, size_t frame_limit,
                          size_t message_limit, std::vector<std::string>& pieces) {
  const size_t n = f.ByteSizeLong();
  if (n > message_limit)
    return {errc::frame_too_large, "message of " + std::to_string(n) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(message_limit) + " bytes"};
  pieces.emplace_back();
  if (n <= chunk_bytes)
    return encode_frame(f, frame_limit, pieces.back());
  pieces.clear();
  std::string whole;
  if (!f.SerializeToString(&whole))
    return {errc::protocol, "message serialization failed"};
  v1::Frame c;
  c.set_lane(v1::DATA);
  c.mutable_chunk()->set_total_size(whole.size());
  for (size_t off = 0; off < whole.size(); off += chunk_bytes) {
    c.mutable_chunk()->set_data(whole.substr(off, std::min(chunk_bytes, whole.size() - off)));
    pieces.emplace_back();
    if (auto e = encode_frame(c, frame_limit, pieces.back()))
      return e;
  }
  return {};
}

error reassembler::add(const v1::Chunk& c, bool& complete) {
  complete = false;
  if (buf_.empty()) {
    if (c.total_size() > limit_)
      return {errc::frame_too_large, "chunked message of " + std::to_string(c.total_size()) +
                                         " bytes exceeds the limit of " + std::to_string(limit_) +
                                         " bytes"};
    total_ = static_cast<size_t>(c.total_size());
    buf_.reserve(total_);
  } else if (c.total_size() != total_) {
    return {errc::protocol, "chunk of another message before the previous one was complete"};
  }
  if (c.data().empty() || c.data().size() > total_ - buf_.size())
    return {errc::protocol, "chunk data does not fit its message's announced size"};
  buf_ += c.data();
  if (buf_.size() < total_)
    return {};
  frame_.Clear();
  const bool ok = frame_.ParseFromString(buf_);
  std::string().swap(buf_);
  if (!ok)
    return {errc::protocol, "unparsable chunked message of " + std::to_string(total_) + " bytes"};
  if (frame_.has_chunk())
    return {errc::protocol, "a chunked message may not itself be a chunk"};
  complete = true;
  return {};
}

} // namespace corvid::cluster::detail
