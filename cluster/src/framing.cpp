#include "framing.hpp"

#include <algorithm>

namespace corvid::cluster::detail {

namespace {
// Buffers grown by one large frame are given back, so an idle peer costs little memory.
constexpr size_t keep_capacity = 64 * 1024;

uint64_t length_of(const unsigned char* h) {
  return (uint64_t{h[0]} << 24) | (uint64_t{h[1]} << 16) | (uint64_t{h[2]} << 8) | uint64_t{h[3]};
}
} // namespace

error encode_frame(const v1::Frame& f, size_t limit, std::string& out) {
  const size_t n = f.ByteSizeLong();
  if (n == 0)
    return {errc::protocol, "refusing to encode an empty frame"};
  if (n > limit)
    return {errc::frame_too_large, "frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                                       std::to_string(limit) + " bytes"};
  out.resize(header_bytes + n);
  out[0] = static_cast<char>((n >> 24) & 0xff);
  out[1] = static_cast<char>((n >> 16) & 0xff);
  out[2] = static_cast<char>((n >> 8) & 0xff);
  out[3] = static_cast<char>(n & 0xff);
  if (!f.SerializeToArray(out.data() + header_bytes, static_cast<int>(n)))
    return {errc::protocol, "frame serialization failed"};
  return {};
}

frame_reader::step frame_reader::fail(size_t consumed, errc kind, std::string message) {
  failed_ = true;
  failure_ = {kind, std::move(message)};
  std::vector<char>().swap(body_);
  return {consumed, status::failed};
}

frame_reader::step frame_reader::feed(const char* data, size_t n) {
  if (failed_)
    return {0, status::failed};
  size_t used = 0;
  // The common case, a whole frame in the input: checked the same way, parsed where it lies.
  if (header_have_ == 0 && n >= header_bytes) {
    const uint64_t len = length_of(reinterpret_cast<const unsigned char*>(data));
    if (len != 0 && len <= limit_ && n - header_bytes >= len) {
      frame_.Clear();
      if (!frame_.ParseFromArray(data + header_bytes, static_cast<int>(len)))
        return fail(header_bytes + len, errc::protocol,
                    "unparsable frame of " + std::to_string(len) + " bytes");
      return {header_bytes + static_cast<size_t>(len), status::frame};
    }
  }
  if (header_have_ < header_bytes) {
    const size_t take = std::min(n, header_bytes - header_have_);
    std::copy_n(reinterpret_cast<const unsigned char*>(data), take, header_ + header_have_);
    header_have_ += take;
    used += take;
    if (header_have_ < header_bytes)
      return {used, status::need_more};
    const uint64_t len = length_of(header_);
    if (len == 0)
      return fail(used, errc::protocol, "zero-length frame");
    if (len > limit_)
      return fail(used, errc::frame_too_large,
                  "frame of " + std::to_string(len) + " bytes exceeds the limit of " +
                      std::to_string(limit_) + " bytes");
    body_size_ = static_cast<size_t>(len);
    body_.clear();
    if (body_.capacity() < body_size_)
      body_.reserve(body_size_);  // exact: vector::reserve does not round up
  }
  const size_t take = std::min(n - used, body_size_ - body_.size());
  body_.insert(body_.end(), data + used, data + used + take);
  used += take;
  if (body_.size() < body_size_)
    return {used, status::need_more};

  header_have_ = 0;
  frame_.Clear();
  const bool ok = frame_.ParseFromArray(body_.data(), static_cast<int>(body_.size()));
  if (body_.capacity() > keep_capacity)
    std::vector<char>().swap(body_);
  if (!ok)
    return fail(used, errc::protocol,
                "unparsable frame of " + std::to_string(body_size_) + " bytes");
  return {used, status::frame};
}

} // namespace corvid::cluster::detail
