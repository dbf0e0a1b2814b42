#pragma once
// Helpers for the loopback network tests: a sink that records everything, and
// an io_context running on its own thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/venue/binance/sink.hpp"
#include "tests/support/test_exchange.hpp"

namespace te::venue::binance::test {

class RecordingSink final : public MarketDataSink {
 public:
  void on_bar(const ClosedBar& bar) noexcept override { record([&] { bars_.push_back(bar); }); }
  void on_quote(const QuoteUpdate& q) noexcept override { record([&] { quotes_.push_back(q); }); }
  void on_connection(const ConnectionEvent& e) noexcept override { record([&] { connections_.push_back(e); }); }
  void on_parse_error(const ParseErrorEvent& e) noexcept override { record([&] { errors_.push_back(e); }); }
  void on_backfill(const BackfillEvent& e) noexcept override { record([&] { backfills_.push_back(e); }); }

  // Waits until `pred()` (called with the lock held) is true.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return pred(); });
  }
  // For predicates of wait_for (the lock is held there).
  std::size_t bar_count() const { return bars_.size(); }
  std::size_t quote_count() const { return quotes_.size(); }
  const std::vector<ClosedBar>& bars_unlocked() const { return bars_; }
  const std::vector<ConnectionEvent>& connections_unlocked() const { return connections_; }
  const std::vector<BackfillEvent>& backfills_unlocked() const { return backfills_; }
  std::size_t bar_count(const std::string& symbol) const {
    std::size_t n = 0;
    for (const auto& b : bars_) n += b.symbol == symbol;
    return n;
  }

  std::vector<ClosedBar> bars() const { return locked(bars_); }
  std::vector<QuoteUpdate> quotes() const { return locked(quotes_); }
  std::vector<ConnectionEvent> connections() const { return locked(connections_); }
  std::vector<ParseErrorEvent> errors() const { return locked(errors_); }
  std::vector<BackfillEvent> backfills() const { return locked(backfills_); }

 private:
  template <class F>
  void record(F&& f) {
    {
      std::lock_guard<std::mutex> lock(m_);
      f();
    }
    cv_.notify_all();
  }
  template <class T>
  std::vector<T> locked(const std::vector<T>& v) const {
    std::lock_guard<std::mutex> lock(m_);
    return v;
  }

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<ClosedBar> bars_;
  std::vector<QuoteUpdate> quotes_;
  std::vector<ConnectionEvent> connections_;
  std::vector<ParseErrorEvent> errors_;
  std::vector<BackfillEvent> backfills_;
};

// An io_context run by one background thread until finish().
class IoThread {
 public:
  IoThread() : guard_(boost::asio::make_work_guard(io_)) {
    std::promise<void> done;
    done_ = done.get_future();
    thread_ = std::thread([this, p = std::move(done)]() mutable {
      io_.run();
      p.set_value();
    });
  }
  ~IoThread() { finish(); }
  boost::asio::io_context& io() { return io_; }

  // Lets pending work complete (clients must have been stopped), then joins.
  void finish() {
    if (!thread_.joinable()) return;
    guard_.reset();
    if (done_.wait_for(std::chrono::seconds(10)) != std::future_status::ready) io_.stop();
    thread_.join();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::future<void> done_;
  std::thread thread_;
};

// Open times of the script bars, for comparing with what a sink received.
inline std::vector<std::int64_t> script_open_times(const std::vector<te::testing::ExchangeBar>& bars) {
  std::vector<std::int64_t> v;
  for (const auto& b : bars) v.push_back(b.open_time_ms);
  return v;
}

inline std::vector<std::int64_t> received_open_times(const std::vector<ClosedBar>& bars, const std::string& symbol) {
  std::vector<std::int64_t> v;
  for (const auto& b : bars) {
    if (b.symbol == symbol) v.push_back(b.bar.ts_ns / 1'000'000);
  }
  return v;
}

}  // namespace te::venue::binance::test
