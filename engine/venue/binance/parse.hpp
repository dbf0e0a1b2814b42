#pragma once
// Parsers for Binance spot payloads (formats in ../shared/binance/). Pure: text in,
// values or an Error out. They never throw and never abort on external input;
// every failure says which field was wrong and how ("kline event: field k.o:
// expected a decimal string, was number"). The JSON library (simdjson) stays in
// parse.cpp.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/venue/binance/messages.hpp"

namespace te::venue::binance {

// Kinds of malformed input, counted separately.
enum class Malformed : std::uint8_t {
  BadJson,        // not JSON at all, or truncated
  MissingField,   // a required key is absent
  WrongType,      // a key holds the wrong JSON type (string vs number, ...)
  BadValue,       // right type, unusable value ("abc" as a price, symbol mismatch)
  UnknownStream,  // a stream name this parser does not handle
};
inline constexpr std::size_t kMalformedKinds = 5;
std::string_view to_string(Malformed kind) noexcept;

struct MalformedCounts {
  std::array<std::uint64_t, kMalformedKinds> by_kind{};

  std::uint64_t operator[](Malformed kind) const noexcept { return by_kind[static_cast<std::size_t>(kind)]; }
  std::uint64_t total() const noexcept;
  void add(Malformed kind) noexcept { ++by_kind[static_cast<std::size_t>(kind)]; }
};

// A reusable parser. Keeps its buffers between calls (no allocation per message
// once warmed up) and counts malformed inputs by kind.
// Not thread-safe: one instance per connection or thread.
class Parser {
 public:
  Parser();
  ~Parser();
  Parser(Parser&&) noexcept;
  Parser& operator=(Parser&&) noexcept;

  // {"stream": "<name>", "data": {...}} for <sym>@kline_<i>, <sym>@bookTicker and
  // !serverShutdown. The data's symbol (and interval) must match the stream name.
  // Errors: Errc::parse; last_malformation() tells the kind.
  Result<StreamMessage> parse_combined(std::string_view text);
  // Same, reusing `out`'s storage (no allocation per message in steady state).
  // On error `out` holds unspecified partial values.
  Status parse_combined(std::string_view text, StreamMessage& out);
  // Raw payloads (as in ws_kline_event.json / ws_bookticker_event.json).
  Result<KlineEvent> parse_kline_event(std::string_view text);
  Result<BookTicker> parse_book_ticker(std::string_view text);
  // GET /api/v3/klines body: an array of 12-element arrays (the 12th is unused
  // and may be absent).
  Result<std::vector<RestKline>> parse_rest_klines(std::string_view text);
  // {"code": <int>, "msg": "<text>"}.
  Result<ApiError> parse_api_error(std::string_view text);
  // POST /api/v3/order response of type ACK, RESULT or FULL (detected from the keys).
  Result<OrderResponse> parse_order_response(std::string_view text);

  const MalformedCounts& counts() const noexcept { return counts_; }
  Malformed last_malformation() const noexcept { return last_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  MalformedCounts counts_;
  Malformed last_ = Malformed::BadJson;
};

// One-shot conveniences (a fresh Parser per call).
Result<StreamMessage> parse_combined(std::string_view text);
Result<KlineEvent> parse_kline_event(std::string_view text);
Result<BookTicker> parse_book_ticker(std::string_view text);
Result<std::vector<RestKline>> parse_rest_klines(std::string_view text);
Result<ApiError> parse_api_error(std::string_view text);
Result<OrderResponse> parse_order_response(std::string_view text);

// The JSON text (minified) found at an RFC 6901 pointer, e.g. "/payload" or
// "/vectors/0/payload". For fixtures and tools.
// Errors: Errc::parse (bad JSON), Errc::not_found (no such member).
Result<std::string> json_at_pointer(std::string_view json, std::string_view pointer);
// Same, for a string member: its unescaped value.
Result<std::string> json_string_at_pointer(std::string_view json, std::string_view pointer);

// Rate-limit response headers. `name` is matched case-insensitively.
// Errors: Errc::not_found when the header is not a rate-limit header;
// Errc::parse when the interval suffix or the value is malformed.
Result<RateLimitCounter> parse_rate_limit_header(std::string_view name, std::string_view value);
// Retry-After in seconds (Binance sends an integer).
// Errors: Errc::parse for anything but a non-negative integer.
Result<std::int64_t> parse_retry_after(std::string_view value);

}  // namespace te::venue::binance
