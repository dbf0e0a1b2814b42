#pragma once
// Binance request signing (HMAC-SHA256, hmac_signature_examples.json) and the
// parameters of POST /api/v3/order (rest_order_request_params.json).
//
// The signature payload is the query string concatenated WITHOUT separator to
// the request body; non-ASCII characters are percent-encoded before signing.
// Secrets are read from environment variables whose names the caller supplies.
// They are never logged, never part of an error message, and wiped on destruction.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/model/order.hpp"

namespace te::venue::binance {

using Params = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 percent-encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX
// (upper-case hex), so UTF-8 "１" becomes "%EF%BC%91".
std::string percent_encode(std::string_view text);
// "k1=v1&k2=v2" in the given order, names and values percent-encoded.
std::string encode_query(const Params& params);

// Lowercase hex HMAC-SHA256 of `payload` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view payload);

// An API key and its secret. Move-only; the secret never leaves this object
// except through the HMAC it computes.
class Credentials {
 public:
  Credentials(std::string api_key, std::string secret_key);
  ~Credentials();
  Credentials(Credentials&&) noexcept;
  Credentials& operator=(Credentials&&) noexcept;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // Reads both from the environment.
  // Errors: Errc::not_found naming the variable that is unset or empty (never its value).
  static Result<Credentials> from_env(std::string_view api_key_variable, std::string_view secret_key_variable);

  const std::string& api_key() const noexcept { return api_key_; }  // sent as X-MBX-APIKEY
  // HMAC-SHA256 hex of query + body (no separator), as Binance verifies it.
  std::string sign(std::string_view query, std::string_view body = {}) const;

 private:
  std::string api_key_;
  std::string secret_;
};

// Appends recvWindow (when given) and timestamp to `params`, encodes them and
// appends "&signature=<hex>" computed over the query (and `body`, if the caller
// sends parameters in the body too). Returns the final query string.
std::string signed_query(Params params, std::int64_t timestamp_ms, std::optional<std::string> recv_window_ms,
                         const Credentials& credentials, std::string_view body = {});

// ---- POST /api/v3/order ---------------------------------------------------------

enum class OrderType : std::uint8_t { Limit, Market, StopLoss, StopLossLimit, TakeProfit, TakeProfitLimit, LimitMaker };
enum class TimeInForce : std::uint8_t { Unset, Gtc, Ioc, Fok };
enum class ResponseType : std::uint8_t { Unset, Ack, Result, Full };
std::string_view to_string(OrderType t) noexcept;      // "LIMIT", "STOP_LOSS_LIMIT", ...
std::string_view to_string(TimeInForce t) noexcept;    // "GTC", ... ("" for Unset)
std::string_view to_string(ResponseType t) noexcept;   // "ACK", ... ("" for Unset)

// Decimal fields are text so that the caller decides the precision (tick and lot
// sizes); an empty string means "not sent".
struct OrderRequest {
  std::string symbol;
  model::Side side = model::Side::Buy;
  OrderType type = OrderType::Limit;
  TimeInForce time_in_force = TimeInForce::Unset;
  std::string quantity;
  std::string quote_order_qty;
  std::string price;
  std::string new_client_order_id;
  std::optional<std::int64_t> strategy_id;
  std::optional<std::int64_t> strategy_type;  // >= 1000000
  std::string stop_price;
  std::optional<std::int64_t> trailing_delta;
  std::string iceberg_qty;
  ResponseType new_order_resp_type = ResponseType::Unset;
  std::string self_trade_prevention_mode;
  std::string peg_price_type;  // PRIMARY_PEG or MARKET_PEG
  std::optional<std::int64_t> peg_offset_value;
  std::string peg_offset_type;  // PRICE_LEVEL
  std::string recv_window;      // ms, <= 60000, up to three decimals
};

// The request's parameters in the documented table order (recvWindow last when
// set), without timestamp and signature: signed_query adds those. Checks the per-type mandatory parameters
// (LIMIT: timeInForce, quantity, price; MARKET: quantity or quoteOrderQty; ...),
// decimal syntax and documented ranges.
// Errors: Errc::invalid_argument listing every problem.
Result<Params> order_params(const OrderRequest& request);

// Shortest decimal text with at most `max_decimals` fractional digits, no exponent
// ("0.1", "25000", "0.00012"). For quantities and prices already on the grid.
std::string format_decimal(double value, int max_decimals);

}  // namespace te::venue::binance
