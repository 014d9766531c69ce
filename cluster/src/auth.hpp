#pragma once
// Shared-secret challenge-response: each side proves it knows the secret by an HMAC over
// the other's fresh nonce. Both nonces, both names and a per-direction purpose are covered,
// so a proof is useless on another connection, in the other direction, or for another pair.

#include <string>

namespace corvid::cluster::detail {

inline constexpr size_t nonce_bytes = 32;

enum class prover { dialer, acceptor };

/// 32 bytes from the OS CSPRNG; empty if it failed.
std::string make_nonce();

/// HMAC-SHA256 proof by `who` for the connection described by the other arguments.
std::string make_proof(const std::string& secret, prover who, const std::string& dialer_nonce,
                       const std::string& acceptor_nonce, const std::string& dialer_name,
                       const std::string& acceptor_name);

/// Constant-time equality, so a forger learns nothing from timing.
bool same_digest(const std::string& a, const std::string& b);

} // namespace corvid::cluster::detail
