#pragma once
// A local stand-in for Binance spot, for tests and for the standalone binary
// te_test_exchange. One port (127.0.0.1, ephemeral by default) serves both
//   WebSocket combined streams  /stream?streams=<sym>@kline_<i>/<sym>@bookTicker/...
//   REST                        GET /api/v3/klines
// in exactly the formats of ../shared/binance/. A bar script (bars per symbol)
// is "closed" one bar per `pace`: for bar i each subscribed connection gets
// `open_updates_per_bar` "x": false updates, the "x": true kline and a bookTicker.
// REST serves the bars closed so far (or the whole script with rest_serves_all).
//
// Fault injection: drop a connection after N messages, go silent after N
// messages, never send some bars on the WebSocket (REST still has them),
// malformed frames, !serverShutdown, 429/418 with Retry-After, slow responses,
// server pings (and counting the pongs that come back).
//
// Threading: everything runs on one internal thread; the public methods are
// thread-safe. Not part of the engine: no Binance code from engine/venue is used
// to produce the payloads (they are written out by hand, independently).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/result.hpp"

namespace te::testing {

// One kline of the script; decimal fields are sent exactly as written here.
struct ExchangeBar {
  std::int64_t open_time_ms = 0;
  std::string open, high, low, close, volume;
  std::string quote_volume = "0";
  std::int64_t trades = 0;
  std::string taker_buy_base_volume = "0", taker_buy_quote_volume = "0";
};

// A deterministic random walk of `count` bars starting at `first_open_ms`.
std::vector<ExchangeBar> make_bars(std::int64_t first_open_ms, std::int64_t interval_ms, std::size_t count,
                                   std::uint64_t seed, double start_price = 100.0);

// Reads a script from CSV: a header starting with open_time,open,high,low,close,volume
// (the klines CSV written by download-data also works); open_time in epoch ms.
te::Result<std::vector<ExchangeBar>> load_bar_csv(const std::string& path);

struct TestExchangeOptions {
  std::uint16_t port = 0;  // 0: ephemeral
  std::string interval = "1m";
  std::map<std::string, std::vector<ExchangeBar>> bars;  // by upper-case symbol; same length for all
  std::chrono::milliseconds pace{20};                    // wall time between two closes

  // The first close waits until this many WebSocket connections are open.
  std::size_t wait_for_connections = 1;
  // The script pauses while fewer than wait_for_connections healthy connections
  // have been open for this many closes in a row. Keeps gaps bounded (and tests
  // robust) on a loaded machine; 0 disables pausing.
  std::size_t max_closes_while_degraded = 3;
  int open_updates_per_bar = 1;
  bool book_tickers = true;

  bool rest_serves_all = false;          // REST serves the whole script at once (download tests)
  bool rest_includes_open_kline = false; // like Binance, also return the kline still forming
  std::int64_t weight_per_request = 2;   // reported in X-MBX-USED-WEIGHT-1M (cumulative)

  // WebSocket faults, keyed by connection number (0 = the first accepted).
  std::map<std::size_t, std::size_t> drop_after_messages;     // abrupt TCP close after N text messages
  std::map<std::size_t, std::size_t> silence_after_messages;  // stop sending anything after N messages
  std::set<std::size_t> ws_skip_bars;                         // bar indexes never closed on the WebSocket
  std::map<std::size_t, std::vector<std::string>> malformed_before_bar;  // raw frames sent to everyone
  std::set<std::size_t> server_shutdown_before_bar;           // send !serverShutdown before bar i
  std::chrono::milliseconds ping_interval{0};                 // 0: no server pings
  std::string ping_payload = "te-ping";

  // REST faults: the first N requests get 429 (then the next M get 418).
  int rest_429_first = 0;
  int rest_418_first = 0;
  int retry_after_s = 1;
  std::chrono::milliseconds rest_delay{0};  // before every REST response
};

struct TestExchangeStats {
  std::size_t ws_connections = 0;  // accepted WebSocket connections
  std::size_t ws_open = 0;         // currently open
  std::size_t ws_messages = 0;     // text frames queued for sending
  std::size_t drops = 0;
  std::size_t pings_sent = 0;
  std::size_t pongs = 0;
  std::size_t pongs_matching = 0;  // pongs whose payload equals ping_payload
  std::size_t rest_requests = 0;
  std::size_t rest_rate_limited = 0;
  std::size_t bars_closed = 0;
  std::vector<std::string> targets;  // WebSocket request targets, in accept order
};

class TestExchange {
 public:
  explicit TestExchange(TestExchangeOptions options);
  ~TestExchange();  // stop()
  TestExchange(const TestExchange&) = delete;
  TestExchange& operator=(const TestExchange&) = delete;

  // Binds 127.0.0.1:port and starts the internal thread. stats() stays readable
  // after stop().
  // Errors: Errc::io when the port cannot be bound, invalid_argument for a bad script.
  te::Status start();
  void stop();

  std::uint16_t port() const;
  std::string ws_url() const;    // "ws://127.0.0.1:<port>"
  std::string rest_url() const;  // "http://127.0.0.1:<port>"

  // True once every bar of the script has been closed (false on timeout).
  bool wait_until_done(std::chrono::milliseconds timeout);
  TestExchangeStats stats() const;

  struct State;  // implementation (test_exchange.cpp)

 private:
  TestExchangeOptions options_;
  std::shared_ptr<State> state_;
  std::thread thread_;
  std::future<void> finished_;
  bool stopped_ = false;
};

}  // namespace te::testing
