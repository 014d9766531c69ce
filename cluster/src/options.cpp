#include "corvid/cluster/options.hpp"

namespace corvid::cluster {

const char* to_string(lane l) noexcept {
  return l == lane::control ? "control" : "data";
}

error validate(const options& o) {
  auto bad = [](std::string m) { return error{errc::invalid_argument, std::move(m)}; };
  if (o.node_name.empty() || o.node_name.size() > 255)
    return bad("node name must be 1 to 255 bytes");
  if (o.tls && (o.tls->ca_file.empty() || o.tls->cert_file.empty() || o.tls->key_file.empty()))
    return bad("TLS needs a CA file, a certificate file and a key file");
  if (o.secret.size() < min_secret_bytes && !(o.tls && o.secret.empty()))
    return bad("secret of " + std::to_string(o.secret.size()) + " bytes is too short (at least " +
               std::to_string(min_secret_bytes) + " bytes)");
  // A chunk frame adds a few bytes of framing to its payload.
  if (o.chunk_bytes < 1024 || o.chunk_bytes + 64 > o.max_frame_bytes)
    return bad("chunk_bytes must be at least 1024 and leave 64 bytes of room below max_frame_bytes");
  if (o.max_message_bytes < o.chunk_bytes)
    return bad("max_message_bytes must be at least chunk_bytes");
  if (o.max_frame_bytes > (uint64_t{1} << 31))
    return bad("max_frame_bytes above 2 GiB");
  if (o.control.max_frames == 0 || o.control.max_bytes == 0 || o.data.max_frames == 0 ||
      o.data.max_bytes == 0)
    return bad("lane caps must be positive");
  if (!(o.high_water > 0.0 && o.high_water <= 1.0))
    return bad("high_water must be in (0, 1]");
  if (o.handshake_timeout.count() <= 0 || o.heartbeat_interval.count() <= 0 ||
      o.dead_after <= o.heartbeat_interval || o.stuck_after.count() <= 0)
    return bad("timers must be positive and dead_after longer than heartbeat_interval");
  return {};
}

} // namespace corvid::cluster
