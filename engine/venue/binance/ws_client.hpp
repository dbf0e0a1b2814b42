#pragma once
// Binance market-data WebSocket client: combined streams
//   {ws_url}/stream?streams=<sym>@kline_<interval>/<sym>@bookTicker/...
// for many symbols, split over several connections at the per-connection stream
// limit (1024). Answers pings (Beast replies with a pong carrying the ping's
// payload), detects silence, reconnects with jittered exponential backoff, and
// replaces a connection before Binance's 24-hour cut or after !serverShutdown
// (make-before-break: the new connection takes over once it delivers data).
// Closed klines become bars (deduplicated per symbol by open time), bookTicker
// updates become quotes; everything goes to a MarketDataSink on the client's strand.
//
// This client does not fill gaps: a bar closed while disconnected is simply not
// seen. KlineFeed (kline_feed.hpp) adds REST backfill on top.
//
// TLS (wss://): system trust store (+ ca_file), verify_peer, SNI and host name
// verification; ws:// is for loopback tests.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/venue/binance/sink.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace te::venue::binance {
namespace detail {
class WsCore;
}  // namespace detail

struct WsClientOptions {
  std::string ws_url = "wss://stream.binance.com:9443";  // a trailing /ws or /stream is ignored
  std::vector<std::string> symbols;  // any case; "BTCUSDT" and "btcusdt" are the same symbol
  std::string interval = "1m";
  bool klines = true;                // <sym>@kline_<interval>
  bool book_tickers = true;          // <sym>@bookTicker
  // Binance: "A single connection can listen to a maximum of 1024 streams."
  // A symbol's streams always share one connection.
  std::size_t max_streams_per_connection = 1024;

  std::chrono::milliseconds connect_timeout{10'000};  // resolve + TCP + TLS + WebSocket handshake
  // No text message for this long => reconnect. Kline streams push every 1-2 s,
  // so silence means a dead feed; ping frames do not count as messages.
  std::chrono::milliseconds silence_timeout{30'000};
  std::chrono::milliseconds reconnect_initial_delay{500};
  std::chrono::milliseconds reconnect_max_delay{30'000};
  // Replace each connection after this long (Binance cuts them at 24 h).
  std::chrono::milliseconds max_connection_age{std::chrono::hours(23)};
  std::size_t max_message_bytes = 1 << 20;

  // Backoff jitter: delay = base * (0.5 + 0.5 * u), u in [0, 1) drawn from
  // `jitter` when set, else from a PRNG seeded with `jitter_seed` (0: random seed).
  std::uint64_t jitter_seed = 0;
  std::function<double()> jitter;

  // The engine's clock (ms since the epoch). When set, a closed kline that
  // closes more than max_clock_ahead after it is malformed: it would make every
  // real bar up to its time look like a duplicate. Unset: no check (tests).
  std::function<std::int64_t()> now_ms;
  std::chrono::milliseconds max_clock_ahead{60'000};

  std::string ca_file;     // extra PEM trust anchors for wss:// (besides the system store)
  std::string user_agent = "trading-engine";
};

// One connection's worth of streams, as the client will request them.
struct ConnectionPlan {
  std::string target;                // "/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker"
  std::vector<std::string> symbols;  // upper case
  std::size_t streams = 0;
};

// Validates the options and splits the streams over connections.
// Errors: Errc::invalid_argument listing every problem (url, symbols, interval, limits).
Result<std::vector<ConnectionPlan>> plan_connections(const WsClientOptions& options);

struct WsClientStats {
  std::uint64_t messages = 0;            // text messages received
  std::uint64_t closed_bars = 0;         // delivered to the sink
  std::uint64_t open_kline_updates = 0;  // "x": false, ignored
  std::uint64_t duplicate_bars = 0;      // closed klines not newer than the last one delivered
  std::uint64_t bad_bars = 0;            // closed klines that are not a consistent bar, off the interval's
                                         // grid, or closing after the local clock
  std::uint64_t quotes = 0;
  std::uint64_t pings = 0;               // ping frames received (each answered with a pong)
  std::uint64_t connects = 0;            // successful WebSocket handshakes
  std::uint64_t disconnects = 0;
  std::uint64_t silence_timeouts = 0;
  std::uint64_t server_shutdowns = 0;
  std::uint64_t rotations = 0;
  MalformedCounts malformed;
};

class WsClient {
 public:
  // `io` must outlive this object. `sink` must stay valid until stop() has
  // returned (or this object is destroyed). Nothing happens before start().
  WsClient(boost::asio::io_context& io, WsClientOptions options, MarketDataSink& sink);
  ~WsClient();  // stop()
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Validates the options (see plan_connections) and opens the connections
  // asynchronously; events arrive once `io` runs. Call once, from the owner's thread.
  Status start();
  // Closes everything. Idempotent; callable from any thread once start() has
  // returned, including from inside a sink callback. After it returns the sink
  // is not called again (a call in progress on another thread is waited for).
  void stop();

  // Runs `fn` on the client's strand (the context sink calls happen in). Dropped
  // after stop(). For components layered on the client (KlineFeed).
  void post(std::function<void()> fn);

  std::size_t connection_count() const;  // 0 before start()
  std::vector<ConnectionPlan> connections() const;
  WsClientStats stats() const;  // thread-safe snapshot

 private:
  boost::asio::io_context& io_;
  WsClientOptions options_;
  MarketDataSink& sink_;
  std::vector<ConnectionPlan> plan_;
  std::shared_ptr<detail::WsCore> core_;
};

}  // namespace te::venue::binance
