#include "auth.hpp"

#include <cstdint>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace corvid::cluster::detail {

namespace {
// Length prefixes keep the concatenation unambiguous ("ab"+"c" != "a"+"bc").
void put(std::string& out, const std::string& field) {
  const auto n = static_cast<uint32_t>(field.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out += field;
}
} // namespace

std::string make_nonce() {
  std::string n(nonce_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1)
    return {};
  return n;
}

std::string make_proof(const std::string& secret, prover who, const std::string& dialer_nonce,
                       const std::string& acceptor_nonce, const std::string& dialer_name,
                       const std::string& acceptor_name) {
  std::string msg;
  put(msg, who == prover::dialer ? "corvid.cluster.v1 dialer proof"
                                 : "corvid.cluster.v1 acceptor proof");
  put(msg, dialer_nonce);
  put(msg, acceptor_nonce);
  put(msg, dialer_name);
  put(msg, acceptor_name);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len))
    return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool same_digest(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace corvid::cluster::detail
