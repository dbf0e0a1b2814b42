#pragma once
// What the market-data clients deliver: plain events, pushed to a sink the
// caller supplies. The venue knows nothing about runners; whoever owns the sink
// posts events onward (e.g. to the runner that owns the symbol).
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/model/bar.hpp"
#include "engine/venue/binance/parse.hpp"

namespace te::venue::binance {

enum class BarSource : std::uint8_t { Live, Backfill };

// A closed kline (only "x": true klines, or REST klines that closed before a
// later live bar) as a bar labelled by its open time.
struct ClosedBar {
  std::string symbol;  // upper case, e.g. "BTCUSDT"
  model::Bar bar;      // ts_ns = kline open time; bid/ask NaN (quotes arrive separately)
  std::int64_t close_time_ms = 0;
  double quote_volume = 0;
  std::int64_t trades = 0;
  BarSource source = BarSource::Live;
};

// A bookTicker update: best bid/ask and their sizes, between bars.
struct QuoteUpdate {
  std::string symbol;  // upper case
  std::int64_t update_id = 0;
  double bid = 0, bid_size = 0, ask = 0, ask_size = 0;
};

enum class ConnectionState : std::uint8_t { Connecting, Connected, Disconnected };

// Why a connection ended.
enum class DisconnectReason : std::uint8_t {
  None,            // not a disconnect
  Error,           // resolve/connect/TLS/handshake/read failure, or the server closed
  Silence,         // no message for silence_timeout
  ServerShutdown,  // the server announced !serverShutdown; replaced by a new connection
  Rotation,        // replaced before Binance's 24-hour cut (max_connection_age)
  Stopped,         // stop() was called
};
std::string_view to_string(ConnectionState s) noexcept;
std::string_view to_string(DisconnectReason r) noexcept;

struct ConnectionEvent {
  std::size_t connection = 0;  // index of the stream group (0 .. connection_count()-1)
  ConnectionState state = ConnectionState::Connecting;
  DisconnectReason reason = DisconnectReason::None;
  std::uint32_t attempt = 0;   // failed attempts before this one since the last good connection
  std::string detail;          // human-readable, e.g. "read: end of stream"
};

struct ParseErrorEvent {
  std::size_t connection = 0;
  Malformed kind = Malformed::BadJson;
  std::string message;     // what was wrong, with an excerpt of the message
  MalformedCounts totals;  // running totals for the client, by kind
};

enum class BackfillState : std::uint8_t { Started, Completed, Failed };
std::string_view to_string(BackfillState s) noexcept;

// Gap backfill progress (KlineFeed only). Bars with open times in
// [from_open_ms, to_open_ms] were missing on the stream and are fetched over REST.
struct BackfillEvent {
  std::string symbol;
  std::int64_t from_open_ms = 0;
  std::int64_t to_open_ms = 0;
  BackfillState state = BackfillState::Started;
  std::size_t bars = 0;     // Completed: bars fetched for the gap
  std::size_t missing = 0;  // Completed/Failed: open times in the gap that REST did not have
  std::uint32_t attempt = 0;
  std::string detail;       // Failed: the last error
};

// Called on the client's Asio strand (one call at a time, never concurrently).
// Implementations must be quick and must not throw (the methods are noexcept).
// After the client's stop() returns, the sink is never called again.
class MarketDataSink {
 public:
  virtual ~MarketDataSink() = default;
  virtual void on_bar(const ClosedBar& bar) noexcept = 0;
  virtual void on_quote(const QuoteUpdate& quote) noexcept = 0;
  virtual void on_connection(const ConnectionEvent&) noexcept {}
  virtual void on_parse_error(const ParseErrorEvent&) noexcept {}
  virtual void on_backfill(const BackfillEvent&) noexcept {}
};

}  // namespace te::venue::binance
