#include "engine/venue/binance/signing.hpp"

#include <fmt/core.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace te::venue::binance {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

bool unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

bool is_decimal(std::string_view s) noexcept {
  if (s.empty()) return false;
  bool digit = false, dot = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

}  // namespace

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 0xf];
    }
  }
  return out;
}

std::string encode_query(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view payload) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const unsigned char* r =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(payload.data()),
           payload.size(), md, &len);
  TE_ASSERT(r != nullptr, "HMAC-SHA256 failed inside OpenSSL");
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  OPENSSL_cleanse(md, sizeof md);
  return hex;
}

Credentials::Credentials(std::string api_key, std::string secret_key)
    : api_key_(std::move(api_key)), secret_(std::move(secret_key)) {}

Credentials::~Credentials() { wipe(secret_); }

Credentials::Credentials(Credentials&& o) noexcept : api_key_(std::move(o.api_key_)), secret_(std::move(o.secret_)) {
  wipe(o.secret_);
}

Credentials& Credentials::operator=(Credentials&& o) noexcept {
  if (this != &o) {
    wipe(secret_);
    api_key_ = std::move(o.api_key_);
    secret_ = std::move(o.secret_);
    wipe(o.secret_);
  }
  return *this;
}

Result<Credentials> Credentials::from_env(std::string_view api_key_variable, std::string_view secret_key_variable) {
  auto read = [](std::string_view var, std::string& out) -> Status {
    if (var.empty()) return make_error(Errc::invalid_argument, "credentials: empty environment variable name");
    const char* v = std::getenv(std::string(var).c_str());
    if (v == nullptr || *v == '\0') {
      return make_error(Errc::not_found,
                        fmt::format("credentials: environment variable {} is not set or empty", var));
    }
    out = v;
    return {};
  };
  std::string key, secret;
  if (Status st = read(api_key_variable, key); !st) return std::move(st).error();
  if (Status st = read(secret_key_variable, secret); !st) return std::move(st).error();
  Credentials c(std::move(key), std::move(secret));
  wipe(secret);
  return c;
}

std::string Credentials::sign(std::string_view query, std::string_view body) const {
  if (body.empty()) return hmac_sha256_hex(secret_, query);
  std::string payload;
  payload.reserve(query.size() + body.size());
  payload.append(query).append(body);
  std::string sig = hmac_sha256_hex(secret_, payload);
  return sig;
}

std::string signed_query(Params params, std::int64_t timestamp_ms, std::optional<std::string> recv_window_ms,
                         const Credentials& credentials, std::string_view body) {
  if (recv_window_ms) params.emplace_back("recvWindow", std::move(*recv_window_ms));
  params.emplace_back("timestamp", std::to_string(timestamp_ms));
  std::string q = encode_query(params);
  const std::string sig = credentials.sign(q, body);
  q += "&signature=";
  q += sig;
  return q;
}

std::string_view to_string(OrderType t) noexcept {
  switch (t) {
    case OrderType::Limit: return "LIMIT";
    case OrderType::Market: return "MARKET";
    case OrderType::StopLoss: return "STOP_LOSS";
    case OrderType::StopLossLimit: return "STOP_LOSS_LIMIT";
    case OrderType::TakeProfit: return "TAKE_PROFIT";
    case OrderType::TakeProfitLimit: return "TAKE_PROFIT_LIMIT";
    case OrderType::LimitMaker: return "LIMIT_MAKER";
  }
  return "";
}

std::string_view to_string(TimeInForce t) noexcept {
  switch (t) {
    case TimeInForce::Unset: return "";
    case TimeInForce::Gtc: return "GTC";
    case TimeInForce::Ioc: return "IOC";
    case TimeInForce::Fok: return "FOK";
  }
  return "";
}

std::string_view to_string(ResponseType t) noexcept {
  switch (t) {
    case ResponseType::Unset: return "";
    case ResponseType::Ack: return "ACK";
    case ResponseType::Result: return "RESULT";
    case ResponseType::Full: return "FULL";
  }
  return "";
}

Result<Params> order_params(const OrderRequest& r) {
  std::vector<std::string> problems;
  auto need = [&](bool ok, std::string_view what) {
    if (!ok) problems.push_back(fmt::format("{} orders need {}", to_string(r.type), what));
  };
  auto check_decimal = [&](const std::string& v, std::string_view name) {
    if (!v.empty() && !is_decimal(v)) problems.push_back(fmt::format("{} must be a plain decimal, was \"{}\"", name, v));
  };
  if (r.symbol.empty()) problems.emplace_back("symbol is required");
  check_decimal(r.quantity, "quantity");
  check_decimal(r.quote_order_qty, "quoteOrderQty");
  check_decimal(r.price, "price");
  check_decimal(r.stop_price, "stopPrice");
  check_decimal(r.iceberg_qty, "icebergQty");
  check_decimal(r.recv_window, "recvWindow");

  const bool tif = r.time_in_force != TimeInForce::Unset;
  const bool qty = !r.quantity.empty();
  const bool px = !r.price.empty();
  const bool trigger = !r.stop_price.empty() || r.trailing_delta.has_value();
  switch (r.type) {
    case OrderType::Limit:
      need(tif, "timeInForce");
      need(qty, "quantity");
      need(px, "price");
      break;
    case OrderType::Market:
      need(qty != !r.quote_order_qty.empty(), "exactly one of quantity and quoteOrderQty");
      break;
    case OrderType::StopLoss:
    case OrderType::TakeProfit:
      need(qty, "quantity");
      need(trigger, "stopPrice or trailingDelta");
      break;
    case OrderType::StopLossLimit:
    case OrderType::TakeProfitLimit:
      need(tif, "timeInForce");
      need(qty, "quantity");
      need(px, "price");
      need(trigger, "stopPrice or trailingDelta");
      break;
    case OrderType::LimitMaker:
      need(qty, "quantity");
      need(px, "price");
      break;
  }
  if (r.strategy_type && *r.strategy_type < 1'000'000) {
    problems.push_back(fmt::format("strategyType must be >= 1000000, was {}", *r.strategy_type));
  }
  if (r.peg_offset_value && (*r.peg_offset_value < 0 || *r.peg_offset_value > 100)) {
    problems.push_back(fmt::format("pegOffsetValue must be in 0..100, was {}", *r.peg_offset_value));
  }
  if (!r.recv_window.empty() && is_decimal(r.recv_window)) {
    const auto dot = r.recv_window.find('.');
    const double v = std::strtod(r.recv_window.c_str(), nullptr);
    if (v > 60000.0) problems.push_back(fmt::format("recvWindow must be <= 60000, was {}", r.recv_window));
    if (dot != std::string::npos && r.recv_window.size() - dot - 1 > 3) {
      problems.push_back(fmt::format("recvWindow has at most three decimals, was {}", r.recv_window));
    }
  }
  if (!problems.empty()) {
    std::string msg = "order request:";
    for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : " ") + problems[i];
    return make_error(Errc::invalid_argument, std::move(msg));
  }

  Params p;
  auto add = [&](const char* name, std::string_view v) {
    if (!v.empty()) p.emplace_back(name, std::string(v));
  };
  add("symbol", r.symbol);
  add("side", r.side == model::Side::Buy ? "BUY" : "SELL");
  add("type", to_string(r.type));
  add("timeInForce", to_string(r.time_in_force));
  add("quantity", r.quantity);
  add("quoteOrderQty", r.quote_order_qty);
  add("price", r.price);
  add("newClientOrderId", r.new_client_order_id);
  if (r.strategy_id) add("strategyId", std::to_string(*r.strategy_id));
  if (r.strategy_type) add("strategyType", std::to_string(*r.strategy_type));
  add("stopPrice", r.stop_price);
  if (r.trailing_delta) add("trailingDelta", std::to_string(*r.trailing_delta));
  add("icebergQty", r.iceberg_qty);
  add("newOrderRespType", to_string(r.new_order_resp_type));
  add("selfTradePreventionMode", r.self_trade_prevention_mode);
  add("pegPriceType", r.peg_price_type);
  if (r.peg_offset_value) add("pegOffsetValue", std::to_string(*r.peg_offset_value));
  add("pegOffsetType", r.peg_offset_type);
  add("recvWindow", r.recv_window);
  return p;
}

std::string format_decimal(double value, int max_decimals) {
  if (max_decimals < 0) max_decimals = 0;
  if (max_decimals > 18) max_decimals = 18;
  std::string s = fmt::format("{:.{}f}", value, max_decimals);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace te::venue::binance
