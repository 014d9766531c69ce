#include "tls_context.hpp"

#include <openssl/ssl.h>

namespace corvid::cluster::detail {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>> make_tls_context(const std::optional<tls_files>& tls) {
  if (!tls)
    return std::shared_ptr<ssl::context>{};
  const auto& files = *tls;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  boost::system::error_code ec;
  auto failed = [&ec](const char* what, const std::string& file) {
    return error{errc::invalid_argument,
                 std::string("TLS: cannot load the ") + what + " " + file + ": " + ec.message()};
  };
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION) != 1)
    return error{errc::invalid_argument, "TLS: TLS 1.3 is not available"};
  if (ctx->load_verify_file(files.ca_file, ec); ec)
    return failed("CA file", files.ca_file);
  if (ctx->use_certificate_chain_file(files.cert_file, ec); ec)
    return failed("certificate", files.cert_file);
  if (ctx->use_private_key_file(files.key_file, ssl::context::pem, ec); ec)
    return failed("private key", files.key_file);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return error{errc::invalid_argument, "TLS: the key in " + files.key_file +
                                             " does not match the certificate in " +
                                             files.cert_file};
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec)
    return error{errc::invalid_argument, "TLS: cannot require peer certificates: " + ec.message()};
  return ctx;
}

} // namespace corvid::cluster::detail
