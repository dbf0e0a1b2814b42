#pragma once
// venue-private: TLS client setup shared by the WebSocket and REST clients.
// Includes Boost.Asio SSL / OpenSSL; never include this from a public header.
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl.hpp>

#include <memory>
#include <string>

#include "engine/core/result.hpp"

namespace te::venue::binance::detail {

// TLS 1.2+ client context: system trust store plus `ca_file` (PEM) when given,
// verify_peer. Errors: Errc::io naming what could not be loaded.
Result<std::unique_ptr<boost::asio::ssl::context>> make_tls_client_context(const std::string& ca_file);

// Per-connection setup before the TLS handshake: SNI (SSL_set_tlsext_host_name)
// and host name verification of the peer certificate against `host`.
boost::system::error_code prepare_tls_stream(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                                             const std::string& host);

}  // namespace te::venue::binance::detail
