#pragma once
// KlineFeed: closed klines for many symbols with gap backfill, on top of WsClient
// (live stream) and RestClient (GET /api/v3/klines).
//
// Guarantee, per symbol: every bar is delivered exactly once, in open-time order,
// with no hole that REST can fill. When a live bar arrives more than one interval
// after the last delivered bar (after a reconnect, or a bar the stream skipped),
// live bars for that symbol are held back, the missing range is fetched over REST
// (paginated, limit 1000) and delivered first, then the held bars follow. Other
// symbols keep flowing meanwhile. Open times REST does not have either are
// reported (BackfillEvent::missing) and crossed.
//
// The gap is detected when the first live bar after it closes, so backfilled bars
// arrive at most one interval late. Quotes are passed through as they come.
//
// Threading: sink calls happen on the WebSocket client's strand (never
// concurrently). REST calls run on one worker thread owned by the feed (the REST
// client is synchronous); results are posted back to the strand.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/core/result.hpp"
#include "engine/venue/binance/rest_client.hpp"
#include "engine/venue/binance/sink.hpp"
#include "engine/venue/binance/ws_client.hpp"

namespace te::venue::binance {

struct KlineFeedOptions {
  WsClientOptions ws;      // symbols, interval, ws_url, reconnect policy (klines must be on)
  RestClientOptions rest;  // base_url = rest_url, timeouts, Retry-After policy
  // Per symbol (any case): open time (ms) of the last bar the caller already has,
  // e.g. from a journal after a restart. The first live bar then triggers a
  // backfill from the bar after it.
  std::map<std::string, std::int64_t> resume_after_open_ms;
  // Each attempt is a full RestClient walk (with its own retries); after the
  // last one the gap is given up (BackfillState::Failed) and live bars resume.
  int backfill_max_attempts = 5;
  std::chrono::milliseconds backfill_retry_delay{2'000};
};

struct KlineFeedStats {
  WsClientStats ws;
  RestClientStats rest;
  std::uint64_t bars_delivered = 0;
  std::uint64_t live_bars = 0;
  std::uint64_t backfilled_bars = 0;
  std::uint64_t duplicate_bars = 0;  // dropped by the sequencer (on top of ws.duplicate_bars)
  std::uint64_t backfills_started = 0;
  std::uint64_t backfills_completed = 0;
  std::uint64_t backfills_failed = 0;
  std::uint64_t missing_bars = 0;    // open times REST did not have
};

namespace detail {
class FeedCore;
}  // namespace detail

class KlineFeed {
 public:
  // `io` must outlive this object; `sink` must stay valid until stop() returned.
  KlineFeed(boost::asio::io_context& io, KlineFeedOptions options, MarketDataSink& sink);
  ~KlineFeed();  // stop()
  KlineFeed(const KlineFeed&) = delete;
  KlineFeed& operator=(const KlineFeed&) = delete;

  // Errors: Errc::invalid_argument (options), Errc::io (TLS setup).
  Status start();
  // Stops the stream and the backfill worker (joins it). Not from a sink callback
  // (it joins a thread); after it returns the sink is not called again.
  void stop();
  KlineFeedStats stats() const;

 private:
  std::shared_ptr<detail::FeedCore> core_;
};

}  // namespace te::venue::binance
