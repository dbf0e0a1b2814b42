#pragma once
// The sink of one Binance KlineFeed: hands each closed bar and quote to the
// runners of its symbol (which post it to their strands), measures feed lag,
// and logs connection changes, backfills and malformed messages. Called on the
// feed's strand only; open_connections() from any thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/live/runner_spec.hpp"
#include "engine/venue/binance/sink.hpp"

namespace te::live {

class FeedRouter final : public venue::binance::MarketDataSink {
 public:
  struct Target {
    std::function<void(const model::Bar&, std::int64_t lag_ns)> bar;
    std::function<void(double bid, double bid_size, double ask, double ask_size)> quote;
  };
  using Log = std::function<void(LogLevel, std::string_view)>;

  FeedRouter(const Clock& clock, Log log, std::string interval)
      : clock_(clock), log_(std::move(log)), interval_(std::move(interval)) {}

  // Before the feed starts. `symbol` upper case.
  void add(const std::string& symbol, Target target) { targets_[symbol].push_back(std::move(target)); }
  std::size_t open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }

  void on_bar(const venue::binance::ClosedBar& bar) noexcept override;
  void on_quote(const venue::binance::QuoteUpdate& quote) noexcept override;
  void on_connection(const venue::binance::ConnectionEvent& e) noexcept override;
  void on_parse_error(const venue::binance::ParseErrorEvent& e) noexcept override;
  void on_backfill(const venue::binance::BackfillEvent& e) noexcept override;

 private:
  void log(LogLevel level, std::string_view text) const noexcept;

  const Clock& clock_;
  Log log_;
  std::string interval_;
  std::map<std::string, std::vector<Target>, std::less<>> targets_;
  std::map<std::size_t, bool> connected_;
  std::atomic<std::size_t> open_{0};
  std::uint64_t parse_errors_ = 0;
};

}  // namespace te::live
