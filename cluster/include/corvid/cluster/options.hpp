#pragma once
// Settings shared by both ends of a cluster connection: identity, secret, limits, timers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "corvid/cluster/error.hpp"

namespace corvid::cluster {

/// The protocol major this build speaks; a peer with another one is refused.
inline constexpr uint32_t protocol_major = 1;
inline constexpr uint32_t protocol_minor = 0;

/// The two traffic classes of a connection. Control is always written first.
enum class lane { control = 0, data = 1 };

/// "control" or "data".
const char* to_string(lane l) noexcept;

/// Caps of one lane's outbound queue; a send that would exceed either is refused.
struct lane_limits {
  size_t max_frames;  ///< queued messages (a chunked message counts once)
  size_t max_bytes;   ///< queued wire bytes
};

/// PEM files for mutual TLS: this node's certificate and key, and the CA that must have
/// signed every peer's certificate.
struct tls_files {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct options {
  std::string node_name;       ///< this node's name, sent in the Hello
  uint64_t incarnation = 0;    ///< distinguishes restarts of the same node name
  std::string listen_address;  ///< where peers can reach this node (informative)
  /// Shared cluster secret, at least 32 bytes; it never crosses the wire. May be empty
  /// only with `tls`: the proofs then bind nothing but the nonces, trust is the certificate.
  std::string secret;
  /// Mutual TLS (1.3) before the handshake, alone or together with the secret.
  std::optional<tls_files> tls;

  std::chrono::milliseconds handshake_timeout{2000};
  /// Largest frame read after authentication (before it: 1 KiB, fixed).
  size_t max_frame_bytes = 4u << 20;
  /// Largest data-lane message, reassembled from chunks.
  size_t max_message_bytes = 64u << 20;
  /// Data-lane messages above this are sent as chunks, so heartbeats interleave.
  size_t chunk_bytes = 64u << 10;

  lane_limits control{1024, 4u << 20};
  lane_limits data{8192, 32u << 20};
  /// A lane is above high-water when it holds this fraction of either cap.
  double high_water = 0.9;
  /// A peer keeping a lane above high-water this long is disconnected.
  std::chrono::milliseconds stuck_after{10000};

  std::chrono::milliseconds heartbeat_interval{500};
  /// A peer heard nothing from for this long is closed with "heartbeat timeout".
  std::chrono::milliseconds dead_after{5000};
};

/// Bytes read per frame before authentication.
inline constexpr size_t handshake_frame_limit = 1024;
/// Shortest accepted secret.
inline constexpr size_t min_secret_bytes = 32;

/// Why `o` cannot be used, or no error.
error validate(const options& o);

} // namespace corvid::cluster
