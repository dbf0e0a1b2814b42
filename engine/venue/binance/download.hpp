#pragma once
// Historical klines from GET /api/v3/klines into the klines CSV format:
//
//   open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base_volume,taker_buy_quote_volume
//   1499040000000,0.01634790,0.80000000,0.01575800,0.01577100,148976.11427815,1499644799999,2434.19055334,308,1756.87402397,28.46694368
//
// Times are epoch ms; prices and volumes are written exactly as Binance sent the
// strings. Only closed klines (close_time < now) are written. Resumable: if the
// file exists, the download continues after its last complete row (a partial or
// corrupt last line, e.g. from an interrupted run, is dropped first).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"
#include "engine/venue/binance/rest_client.hpp"

namespace te::venue::binance {

inline constexpr std::string_view kKlinesCsvHeader =
    "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base_volume,taker_buy_quote_volume";

struct DownloadOptions {
  std::string symbol;
  std::string interval = "1m";
  std::int64_t start_ms = 0;  // klines opening at or after this
  std::int64_t end_ms = 0;    // ... and before this (exclusive)
  std::int64_t now_ms = 0;    // only klines with close_time < now_ms (the caller's clock)
  std::string out_path;
  // Pause for weight_pause when X-MBX-USED-WEIGHT-1M reaches this (Binance's
  // REQUEST_WEIGHT limit is 6000 per minute; a klines page of 1000 costs 2).
  std::int64_t weight_budget_1m = 5000;
  std::chrono::milliseconds weight_pause{15'000};
};

struct DownloadProgress {
  std::int64_t start_ms = 0;    // first open time of this run
  std::int64_t end_ms = 0;      // last open time this run can reach + 1
  std::int64_t through_ms = 0;  // open time of the last row written
  std::size_t rows_written = 0; // this run
};

struct DownloadSummary {
  std::size_t rows_written = 0;   // this run
  std::size_t rows_existing = 0;  // kept from an earlier run (0 for a new file)
  bool resumed = false;
  bool dropped_partial_line = false;
  std::size_t inconsistent_rows = 0;  // written as sent, but not a valid bar (e.g. open > high)
  std::optional<std::int64_t> first_open_ms;  // of the whole file
  std::optional<std::int64_t> last_open_ms;
  std::size_t weight_pauses = 0;
};

// Errors: Errc::invalid_argument (options), Errc::io (file), Errc::parse (the
// existing file is not a klines CSV or its tail is corrupt beyond the last line),
// and the REST client's errors (the file then holds every page fetched so far).
Result<DownloadSummary> download_klines(RestClient& client, const DownloadOptions& options,
                                        const std::function<void(const DownloadProgress&)>& progress = {});

}  // namespace te::venue::binance
