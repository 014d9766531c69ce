#pragma once
// Mutual TLS: both sides present a certificate and require the peer's to chain to the
// configured CA (TLS 1.3 only). Trust is "signed by our CA"; names are not checked here.

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "corvid/cluster/error.hpp"
#include "corvid/cluster/options.hpp"

namespace corvid::cluster::detail {

/// A context for `files` (null without them), or why it cannot be built (unreadable file,
/// key not matching the certificate).
result<std::shared_ptr<boost::asio::ssl::context>>
make_tls_context(const std::optional<tls_files>& files);

} // namespace corvid::cluster::detail
