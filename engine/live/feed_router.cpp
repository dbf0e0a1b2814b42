#include "engine/live/feed_router.hpp"

#include <fmt/core.h>

#include "engine/core/time.hpp"

namespace te::live {

void FeedRouter::log(LogLevel level, std::string_view text) const noexcept {
  if (!log_) return;
  try {
    log_(level, text);
  } catch (...) {
    // Logging must never take the feed down.
  }
}

void FeedRouter::on_bar(const venue::binance::ClosedBar& b) noexcept {
  auto it = targets_.find(b.symbol);
  if (it == targets_.end()) return;
  // Lag: how long after the kline closed (close_time_ms is its last ms) it reached us.
  const std::int64_t lag = clock_.now_ns() - (b.close_time_ms + 1) * 1'000'000;
  for (const auto& t : it->second) {
    try {
      t.bar(b.bar, lag);
    } catch (...) {
      log(LogLevel::Error, fmt::format("{}: bar could not be queued (out of memory?)", b.symbol));
    }
  }
}

void FeedRouter::on_quote(const venue::binance::QuoteUpdate& q) noexcept {
  auto it = targets_.find(q.symbol);
  if (it == targets_.end()) return;
  for (const auto& t : it->second) {
    try {
      t.quote(q.bid, q.bid_size, q.ask, q.ask_size);
    } catch (...) {
    }
  }
}

void FeedRouter::on_connection(const venue::binance::ConnectionEvent& e) noexcept {
  using venue::binance::ConnectionState;
  try {
    const bool was = connected_[e.connection];
    const bool now = e.state == ConnectionState::Connected;
    connected_[e.connection] = now;
    if (was != now) {
      if (now)
        open_.fetch_add(1, std::memory_order_relaxed);
      else
        open_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (e.state == ConnectionState::Connected) {
      log(LogLevel::Info, fmt::format("binance {} stream {}: connected", interval_, e.connection));
    } else if (e.state == ConnectionState::Disconnected) {
      log(LogLevel::Warn, fmt::format("binance {} stream {}: disconnected ({}{}{}); reconnecting", interval_,
                                      e.connection, venue::binance::to_string(e.reason), e.detail.empty() ? "" : ": ",
                                      e.detail));
    }
  } catch (...) {
  }
}

void FeedRouter::on_parse_error(const venue::binance::ParseErrorEvent& e) noexcept {
  ++parse_errors_;
  // Every one is counted (feed status); the log shows the first ones and then
  // one in a thousand, so a broken stream cannot flood it.
  if (parse_errors_ <= 20 || parse_errors_ % 1000 == 0)
    log(LogLevel::Warn, fmt::format("binance {} stream {}: malformed message #{} ignored: {}", interval_, e.connection,
                                    parse_errors_, e.message));
}

void FeedRouter::on_backfill(const venue::binance::BackfillEvent& e) noexcept {
  using venue::binance::BackfillState;
  try {
    const std::string range = format_iso8601(e.from_open_ms * 1'000'000) + " .. " + format_iso8601(e.to_open_ms * 1'000'000);
    switch (e.state) {
      case BackfillState::Started:
        log(LogLevel::Info, fmt::format("{}: gap {} ({}), fetching over REST", e.symbol, range, interval_));
        break;
      case BackfillState::Completed:
        log(LogLevel::Info, fmt::format("{}: gap {} filled with {} bar(s){}", e.symbol, range, e.bars,
                                        e.missing ? fmt::format(", {} not available", e.missing) : std::string()));
        break;
      case BackfillState::Failed:
        log(LogLevel::Error, fmt::format("{}: gap {} could not be filled after {} attempt(s): {}", e.symbol, range,
                                         e.attempt, e.detail));
        break;
    }
  } catch (...) {
  }
}

}  // namespace te::live
