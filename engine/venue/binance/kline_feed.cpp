#include "engine/venue/binance/kline_feed.hpp"

#include <fmt/core.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/kline_sequencer.hpp"

namespace te::venue::binance {
namespace detail {

class FeedCore final : public MarketDataSink, public std::enable_shared_from_this<FeedCore> {
 public:
  FeedCore(boost::asio::io_context& io, KlineFeedOptions options, Interval interval, MarketDataSink& sink)
      : opts_(std::move(options)), interval_(std::move(interval)), user_(&sink), ws_(io, opts_.ws, *this),
        seq_(interval_) {}

  ~FeedCore() override {
    stop();
    if (worker_.joinable()) worker_.detach();  // only if the worker itself dropped the last reference
  }

  Status start() {
    if (!opts_.ws.klines) return make_error(Errc::invalid_argument, "kline feed: ws.klines must be enabled");
    auto rest = RestClient::create(opts_.rest);
    if (!rest) return std::move(rest).error();
    rest_ = std::make_unique<RestClient>(std::move(*rest));
    for (const auto& [sym, open_ms] : opts_.resume_after_open_ms) seq_.set_last_delivered(upper_symbol(sym), open_ms);
    if (Status st = ws_.start(); !st) return st;
    // The worker keeps the core alive until stop() joins it.
    worker_ = std::thread([self = shared_from_this()] { self->worker_loop(); });
    return {};
  }

  void stop() {
    {
      std::lock_guard<std::recursive_mutex> lock(sink_mutex_);
      user_ = nullptr;
    }
    ws_.stop();
    {
      std::lock_guard<std::mutex> lock(jobs_mutex_);
      stopping_ = true;
    }
    jobs_cv_.notify_all();
    if (rest_) rest_->cancel();
    if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
  }

  KlineFeedStats stats() const {
    KlineFeedStats s;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      s = stats_;
    }
    s.ws = ws_.stats();
    if (rest_) s.rest = rest_->stats();
    return s;
  }

  // ---- MarketDataSink: called by the WebSocket client on its strand -----------
  void on_bar(const ClosedBar& bar) noexcept override {
    out_.clear();
    seq_.on_live_bar(bar, out_);
    bump([](KlineFeedStats& s) { ++s.live_bars; });
    flush();
  }
  void on_quote(const QuoteUpdate& quote) noexcept override {
    emit([&](MarketDataSink& s) { s.on_quote(quote); });
  }
  void on_connection(const ConnectionEvent& event) noexcept override {
    emit([&](MarketDataSink& s) { s.on_connection(event); });
  }
  void on_parse_error(const ParseErrorEvent& event) noexcept override {
    emit([&](MarketDataSink& s) { s.on_parse_error(event); });
  }

 private:
  struct Job {
    BackfillRequest request;
    std::uint32_t attempt = 0;
  };

  // On the strand: deliver what the sequencer released, start requested backfills.
  void flush() {
    bump([&](KlineFeedStats& s) {
      s.duplicate_bars += out_.duplicates;
      s.bars_delivered += out_.bars.size();
    });
    for (const auto& b : out_.bars) emit([&](MarketDataSink& s) { s.on_bar(b); });
    for (auto& req : out_.backfills) {
      bump([](KlineFeedStats& s) { ++s.backfills_started; });
      BackfillEvent ev{req.symbol, req.from_open_ms, req.to_open_ms, BackfillState::Started, 0, 0, 0, {}};
      emit([&](MarketDataSink& s) { s.on_backfill(ev); });
      {
        std::lock_guard<std::mutex> lock(jobs_mutex_);
        jobs_.push_back(Job{std::move(req), 0});
      }
      jobs_cv_.notify_one();
    }
    out_.clear();
  }

  // On the strand.
  void on_backfill_done(const Job& job, std::vector<ClosedBar> bars, std::size_t bad) {
    out_.clear();
    const std::size_t n = bars.size();
    const std::size_t missing = seq_.on_backfill(job.request, std::move(bars), out_);
    for (auto& b : out_.bars) {
      if (b.source == BarSource::Backfill) bump([](KlineFeedStats& s) { ++s.backfilled_bars; });
    }
    bump([&](KlineFeedStats& s) {
      ++s.backfills_completed;
      s.missing_bars += missing;
    });
    BackfillEvent ev{job.request.symbol, job.request.from_open_ms, job.request.to_open_ms, BackfillState::Completed,
                     n, missing, job.attempt,
                     bad ? fmt::format("{} klines were not valid bars and were dropped", bad) : std::string()};
    emit([&](MarketDataSink& s) { s.on_backfill(ev); });
    flush();
  }

  // On the strand.
  void on_backfill_failed(const Job& job, const std::string& why) {
    out_.clear();
    seq_.on_backfill_failed(job.request, out_);
    const std::size_t missing =
        static_cast<std::size_t>(klines_between(interval_, job.request.from_open_ms, job.request.to_open_ms));
    bump([&](KlineFeedStats& s) {
      ++s.backfills_failed;
      s.missing_bars += missing;
    });
    BackfillEvent ev{job.request.symbol, job.request.from_open_ms, job.request.to_open_ms, BackfillState::Failed,
                     0, missing, job.attempt, why};
    emit([&](MarketDataSink& s) { s.on_backfill(ev); });
    flush();
  }

  // The worker thread: one REST walk at a time, in request order.
  void worker_loop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        jobs_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      for (;;) {
        ++job.attempt;
        std::vector<ClosedBar> bars;
        std::size_t bad = 0;
        const Status st = for_each_kline_page(
            *rest_, job.request.symbol, opts_.ws.interval, job.request.from_open_ms, job.request.to_open_ms,
            [&](std::vector<RestKline>& page) -> Status {
              for (const auto& k : page) {
                if (model::bar_problem(k.bar) != nullptr) {
                  ++bad;
                  continue;
                }
                ClosedBar b;
                b.symbol = job.request.symbol;
                b.bar = k.bar;
                b.close_time_ms = k.close_time_ms;
                te::parse_double(k.quote_volume, b.quote_volume);
                b.trades = k.trades;
                b.source = BarSource::Backfill;
                bars.push_back(std::move(b));
              }
              return {};
            });
        if (st.ok()) {
          ws_.post([self = shared_from_this(), job, bars = std::move(bars), bad]() mutable {
            self->on_backfill_done(job, std::move(bars), bad);
          });
          break;
        }
        if (job.attempt >= static_cast<std::uint32_t>(std::max(1, opts_.backfill_max_attempts))) {
          ws_.post([self = shared_from_this(), job, why = st.error().message] { self->on_backfill_failed(job, why); });
          break;
        }
        std::unique_lock<std::mutex> lock(jobs_mutex_);
        if (jobs_cv_.wait_for(lock, opts_.backfill_retry_delay, [&] { return stopping_; })) return;
      }
    }
  }

  template <class F>
  void emit(F&& f) {
    std::lock_guard<std::recursive_mutex> lock(sink_mutex_);
    if (user_) f(*user_);
  }
  template <class F>
  void bump(F&& f) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    f(stats_);
  }

  const KlineFeedOptions opts_;
  const Interval interval_;
  std::recursive_mutex sink_mutex_;  // held while calling the user's sink (see WsClient)
  MarketDataSink* user_;
  WsClient ws_;
  KlineSequencer seq_;
  KlineSequencer::Output out_;  // reused; strand only
  std::unique_ptr<RestClient> rest_;

  std::mutex jobs_mutex_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread worker_;

  mutable std::mutex stats_mutex_;
  KlineFeedStats stats_;
};

}  // namespace detail

KlineFeed::KlineFeed(boost::asio::io_context& io, KlineFeedOptions options, MarketDataSink& sink) {
  auto iv = parse_interval(options.ws.interval);
  const Interval interval = iv ? *iv : *parse_interval("1m");  // start() reports a bad interval
  core_ = std::make_shared<detail::FeedCore>(io, std::move(options), interval, sink);
}

KlineFeed::~KlineFeed() { stop(); }

Status KlineFeed::start() {
  // plan_connections (inside start) validates the WebSocket options.
  return core_->start();
}

void KlineFeed::stop() {
  if (core_) core_->stop();
}

KlineFeedStats KlineFeed::stats() const { return core_->stats(); }

}  // namespace te::venue::binance
