#pragma once
// Endpoint URLs: ws://, wss://, http://, https:// (base URLs from config, so a
// local test server can stand in for the exchange).
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::venue::binance {

struct Url {
  std::string scheme;  // "ws", "wss", "http" or "https"
  bool tls = false;    // wss / https
  std::string host;    // "stream.binance.com", "127.0.0.1", "::1" (no brackets)
  std::string port;    // explicit or the scheme's default ("443", "80")
  std::string path;    // base path without a trailing '/', often empty
  bool default_port = true;

  // Value for the Host header: host, plus ":port" when not the default.
  std::string host_header() const;
};

enum class UrlKind : std::uint8_t { WebSocket, Http };

// Errors: Errc::invalid_argument naming what is wrong (scheme, host, port, query).
Result<Url> parse_url(std::string_view text, UrlKind kind);

}  // namespace te::venue::binance
