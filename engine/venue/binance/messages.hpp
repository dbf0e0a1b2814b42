#pragma once
// Plain values for what Binance sends (WebSocket stream events, REST payloads and
// headers), as produced by parse.hpp. Field names follow the Binance docs; the
// single-letter wire keys are noted beside each field. Times are epoch ms UTC.
// Nothing here depends on a JSON library.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/model/bar.hpp"

namespace te::venue::binance {

// The "k" object of a kline stream event.
struct Kline {
  std::int64_t open_time_ms = 0;   // t
  std::int64_t close_time_ms = 0;  // T
  std::string symbol;              // s (upper case, as sent)
  std::string interval;            // i
  double open = 0, high = 0, low = 0, close = 0;  // o h l c
  double volume = 0;                              // v (base asset)
  double quote_volume = 0;                        // q
  double taker_buy_base_volume = 0;               // V
  double taker_buy_quote_volume = 0;              // Q
  std::int64_t trades = 0;                        // n
  bool closed = false;                            // x: only closed klines become bars

  // Bar labelled by its open time (ts_ns = open_time_ms * 1e6), no quote fields.
  // Not checked: the parser validates types and decimals, not OHLC consistency
  // (the docs' sample kline has open < low); check model::bar_problem() before use.
  model::Bar to_bar() const noexcept;
};

// Payload of <symbol>@kline_<interval>.
struct KlineEvent {
  std::int64_t event_time_ms = 0;  // E
  std::string symbol;              // s
  Kline kline;                     // k
};

// Payload of <symbol>@bookTicker (spot: no "e"/"E" fields).
struct BookTicker {
  std::int64_t update_id = 0;  // u
  std::string symbol;          // s
  double bid_price = 0;        // b
  double bid_qty = 0;          // B
  double ask_price = 0;        // a
  double ask_qty = 0;          // A
};

// Payload of !serverShutdown: the server will disconnect soon; reconnect now.
struct ServerShutdown {
  std::int64_t event_time_ms = 0;  // E
};

using StreamPayload = std::variant<KlineEvent, BookTicker, ServerShutdown>;

// One combined-stream message {"stream": ..., "data": ...}.
struct StreamMessage {
  std::string stream;  // e.g. "bnbbtc@kline_1m", "bnbusdt@bookTicker", "!serverShutdown"
  StreamPayload payload;
};

// One row of GET /api/v3/klines. Decimal fields keep the exact text Binance sent
// (download-data writes them unchanged); `bar` holds the parsed values.
struct RestKline {
  std::int64_t open_time_ms = 0;
  std::string open, high, low, close, volume;
  std::int64_t close_time_ms = 0;
  std::string quote_volume;
  std::int64_t trades = 0;
  std::string taker_buy_base_volume, taker_buy_quote_volume;
  model::Bar bar;  // ts_ns = open time; OHLCV parsed from the strings above (not checked
                   // for OHLC consistency, see Kline::to_bar)
};

// The REST error body {"code": -1121, "msg": "Invalid symbol."}.
struct ApiError {
  int code = 0;
  std::string msg;
};

// POST /api/v3/order responses. ACK has the first five fields; RESULT adds the
// order state; FULL adds the fills. `kind` says which one was parsed.
enum class OrderResponseKind : std::uint8_t { Ack, Result, Full };

struct OrderFill {
  double price = 0;
  double qty = 0;
  double commission = 0;
  std::string commission_asset;
  std::int64_t trade_id = 0;
};

struct OrderResponse {
  OrderResponseKind kind = OrderResponseKind::Ack;
  std::string symbol;
  std::int64_t order_id = 0;
  std::int64_t order_list_id = -1;
  std::string client_order_id;
  std::int64_t transact_time_ms = 0;
  // RESULT and FULL only (zero / empty for ACK):
  double price = 0;
  double orig_qty = 0;
  double executed_qty = 0;
  double orig_quote_order_qty = 0;
  double cummulative_quote_qty = 0;  // sic: Binance's spelling
  std::string status;                 // NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED, ...
  std::string time_in_force;
  std::string type;
  std::string side;
  std::int64_t working_time_ms = 0;
  std::string self_trade_prevention_mode;
  // FULL only:
  std::vector<OrderFill> fills;
};

// One rate-limit header: X-MBX-USED-WEIGHT-1M: 42 or X-MBX-ORDER-COUNT-10S: 3.
// The legacy X-MBX-USED-WEIGHT (no interval) reads as the 1-minute weight.
struct RateLimitCounter {
  enum class Kind : std::uint8_t { UsedWeight, OrderCount };
  Kind kind = Kind::UsedWeight;
  int interval_num = 1;
  char interval_letter = 'M';  // S, M, H or D
  std::int64_t value = 0;
};

// All rate-limit information of one HTTP response.
struct RateLimitUsage {
  std::vector<RateLimitCounter> counters;
  std::optional<std::int64_t> retry_after_s;  // Retry-After, sent with 418 and 429

  // The 1-minute request weight (X-MBX-USED-WEIGHT-1M), when present.
  std::optional<std::int64_t> used_weight_1m() const noexcept;
};

}  // namespace te::venue::binance
