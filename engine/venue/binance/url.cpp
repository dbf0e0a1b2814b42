#include "engine/venue/binance/url.hpp"

#include <fmt/core.h>

#include "engine/core/numbers.hpp"

namespace te::venue::binance {

std::string Url::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (!default_port) h += ":" + port;
  return h;
}

Result<Url> parse_url(std::string_view text, UrlKind kind) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument, fmt::format("url \"{}\": {}", text, why));
  };
  Url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("expected scheme://host[:port][/path]");
  u.scheme = std::string(text.substr(0, sep));
  if (kind == UrlKind::WebSocket) {
    if (u.scheme != "ws" && u.scheme != "wss") return bad("scheme must be ws or wss");
  } else if (u.scheme != "http" && u.scheme != "https") {
    return bad("scheme must be http or https");
  }
  u.tls = u.scheme == "wss" || u.scheme == "https";
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("a base url takes no query or fragment");
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.path = std::string(path);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in urls are not supported");

  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [ipv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected :port after ]");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
  }
  if (host.empty()) return bad("missing host");
  u.host = std::string(host);
  if (!port.empty()) {
    std::int64_t p = 0;
    if (!te::parse_int64(port, p) || p <= 0 || p > 65535) return bad("port must be 1..65535");
    u.port = std::to_string(p);
  }
  const char* def = u.tls ? "443" : "80";
  if (u.port.empty()) u.port = def;
  u.default_port = u.port == def;
  return u;
}

}  // namespace te::venue::binance
