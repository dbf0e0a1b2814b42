#include "engine/venue/binance/detail/tls.hpp"

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace te::venue::binance::detail {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> make_tls_client_context(const std::string& ca_file) {
  std::unique_ptr<ssl::context> ctx;
  try {
    ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  } catch (const boost::system::system_error& e) {
    return make_error(Errc::io, fmt::format("tls: cannot create a client context: {}", e.what()));
  }
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (ec) return make_error(Errc::io, fmt::format("tls: cannot set protocol options: {}", ec.message()));
  ctx->set_default_verify_paths(ec);
  if (ec) return make_error(Errc::io, fmt::format("tls: cannot load the system trust store: {}", ec.message()));
  if (!ca_file.empty()) {
    ctx->load_verify_file(ca_file, ec);
    if (ec) return make_error(Errc::io, fmt::format("tls: cannot load ca_file {}: {}", ca_file, ec.message()));
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return make_error(Errc::io, fmt::format("tls: cannot enable peer verification: {}", ec.message()));
  return ctx;
}

boost::system::error_code prepare_tls_stream(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                                             const std::string& host) {
  boost::system::error_code ec;
  // SNI: many endpoints (Binance behind a CDN) need the name to pick a certificate.
  // SSL_set_tlsext_host_name() is a macro with a C cast; this is its expansion.
  if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str())) != 1) {
    return {static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category()};
  }
  stream.set_verify_mode(ssl::verify_peer, ec);
  if (ec) return ec;
  stream.set_verify_callback(ssl::host_name_verification(host), ec);
  return ec;
}

}  // namespace te::venue::binance::detail
