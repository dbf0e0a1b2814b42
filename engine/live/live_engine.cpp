#include "engine/live/live_engine.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/core.h>

#include "engine/core/time.hpp"
#include "engine/journal/event.hpp"
#include "engine/live/feed_router.hpp"
#include "engine/runner/observer_fanout.hpp"
#include "engine/runner/session_recorder.hpp"
#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/kline_feed.hpp"

namespace te::live {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;

std::string_view to_string(SourceKind k) noexcept {
  switch (k) {
    case SourceKind::Live: return "live";
    case SourceKind::Historical: return "historical";
    case SourceKind::Simulated: return "simulated";
  }
  return "?";
}

namespace {

// Logs the outcome of a hot reload (the journal records it separately):
// a refused version names file:line and the old one keeps running.
class ReloadLog final : public runner::RunnerObserver {
 public:
  ReloadLog(std::string runner, const EngineOptions& options) : runner_(std::move(runner)), options_(options) {}
  RunnerObserver* bar_hooks() noexcept override { return nullptr; }  // reloads only
  void on_reload(runner::SymbolRunner& r, const runner::ReloadInfo& info) override {
    if (!options_.log) return;
    if (info.ok)
      options_.log(LogLevel::Info, fmt::format("runner {}: reloaded {} (sha256 {} -> {}) from bar {} on",
                                               runner_, info.path, info.old_sha256.substr(0, 12),
                                               info.new_sha256.substr(0, 12), r.bar_index() + 1));
    else
      options_.log(LogLevel::Warn, fmt::format("runner {}: new version of {} refused, the old one keeps running: {}",
                                               runner_, info.path, info.message));
  }

 private:
  std::string runner_;
  const EngineOptions& options_;
};

// A runner, its strand and the state of its data source. Everything but
// `speed` is touched on the strand only.
struct Slot {
  Slot(asio::io_context& io, std::unique_ptr<RunnerUnit> u) : unit(std::move(u)), strand(asio::make_strand(io)), timer(strand) {}
  std::unique_ptr<ReloadLog> reload_log;               // observers the unit's runner reports to
  std::unique_ptr<runner::ObserverFanout> observers;  // (declared first: they outlive the unit)
  std::unique_ptr<RunnerUnit> unit;
  Strand strand;
  asio::steady_timer timer;
  bool counted_final = false;
  // historical
  std::size_t next = 0;
  // simulated
  std::optional<data::BarGenerator> generator;
  std::uint64_t generated = 0;
  // pacing: bar time `anchor_data_ns` is due at wall time `anchor_wall_ns`
  std::int64_t anchor_wall_ns = 0;
  std::int64_t anchor_data_ns = 0;
  double applied_speed = 1;
  std::atomic<double> speed{1};
};

}  // namespace

struct LiveEngine::Impl {
  EngineOptions options;
  LiveClock own_clock;
  const Clock* clock = nullptr;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  script::VmPool pool;
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<std::unique_ptr<FeedRouter>> routers;
  std::vector<std::unique_ptr<venue::binance::KlineFeed>> feeds;
  std::unique_ptr<runner::ReloadWatcher> watcher;  // hot reload; null when off
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> final_count{0};
  bool started = false;
  bool shut_down = false;
  std::mutex end_mutex;
  std::condition_variable end_cv;
  std::size_t ended = 0;  // slots that ran their end task (shutdown)

  explicit Impl(EngineOptions o) : options(std::move(o)), pool(options.limits) {
    clock = options.clock ? options.clock : &own_clock;
  }

  void log(LogLevel level, std::string_view text) const {
    if (options.log) options.log(level, text);
  }

  // Counts a unit that stopped taking bars, once; logs and journals a halt.
  void on_final(Slot& s) {
    if (s.counted_final || s.unit->accepting()) return;
    s.counted_final = true;
    final_count.fetch_add(1, std::memory_order_acq_rel);
    s.timer.cancel();
    const UnitStatus st = s.unit->status();
    if (st.state == UnitState::Halted) {
      log(LogLevel::Error, fmt::format("runner {} halted: {}", st.name, st.halt_reason));
      if (options.session) {
        journal::Note note;
        note.category = "runner_halted";
        note.text = st.halt_reason;
        note.data = Value::map({{"runner", st.name}, {"symbol", st.symbol}});
        (void)options.session->record(
            journal::make_event(st.last_bar_ns, s.unit->runner().config().id, std::move(note)));
      }
    } else if (st.state == UnitState::Finished) {
      log(LogLevel::Info, fmt::format("runner {} finished: end of data after {} bars", st.name, st.bars));
    }
  }

  // Runs `fn` for a slot on its strand; an exception halts that runner only.
  template <class Fn>
  void guarded(Slot& s, Fn&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      s.unit->halt(std::string("internal error: ") + e.what());
    } catch (...) {
      s.unit->halt("internal error: unknown exception");
    }
    on_final(s);
  }

  void deliver(Slot& s, const model::Bar& bar, bool last) {
    guarded(s, [&] { s.unit->on_bar(bar, last); });
  }

  // ---- historical ----
  void step_historical(Slot& s) {
    if (stopping.load(std::memory_order_acquire) || !s.unit->accepting()) return;
    const model::BarSeries& data = *s.unit->spec().source.bars;
    const std::size_t n = data.size();
    if (s.unit->spec().source.simulate_realtime) return pace_historical(s);
    if (s.unit->batch_replay()) {
      // Chunks through the runner's batch loop (RunnerUnit::replay) for one
      // turn (EngineOptions::turn_ns).
      const std::int64_t until = clock->now_ns() + options.turn_ns;
      for (std::size_t k = 1;; ++k) {
        if (!s.unit->replay(s.next, options.chunk_bars)) return;
        if (s.next >= n) return finish_data(s);
        if (k >= EngineOptions::kMaxChunksPerTurn || stopping.load(std::memory_order_acquire) ||
            clock->now_ns() >= until)
          break;
      }
      asio::post(s.strand, [this, &s] { guarded(s, [&] { step_historical(s); }); });
      return;
    }
    for (std::size_t k = 0; k < options.chunk_bars && s.next < n; ++k) {
      const std::size_t i = s.next++;
      deliver(s, data.at(i), i + 1 == n);
      if (!s.unit->accepting()) return;
    }
    if (s.next >= n) return finish_data(s);
    asio::post(s.strand, [this, &s] { guarded(s, [&] { step_historical(s); }); });
  }

  void rebase(Slot& s, std::int64_t data_ns) {
    s.anchor_wall_ns = clock->now_ns();
    s.anchor_data_ns = data_ns;
    s.applied_speed = s.speed.load(std::memory_order_relaxed);
  }

  void pace_historical(Slot& s) {
    const model::BarSeries& data = *s.unit->spec().source.bars;
    const std::size_t n = data.size();
    for (std::size_t k = 0; k < options.chunk_bars; ++k) {
      if (stopping.load(std::memory_order_acquire) || !s.unit->accepting()) return;
      if (s.next >= n) return finish_data(s);
      const model::Bar bar = data.at(s.next);
      if (s.anchor_wall_ns == 0) rebase(s, bar.ts_ns);
      if (s.speed.load(std::memory_order_relaxed) != s.applied_speed) {
        // New speed: the bars from here on are paced from now at the new rate.
        rebase(s, s.next > 0 ? data.at(s.next - 1).ts_ns : bar.ts_ns);
      }
      const auto due = s.anchor_wall_ns + static_cast<std::int64_t>(
                                              static_cast<double>(bar.ts_ns - s.anchor_data_ns) / s.applied_speed);
      const std::int64_t wait = due - clock->now_ns();
      if (wait > 0) return wait_then(s, wait, [this, &s] { pace_historical(s); });
      const std::size_t i = s.next++;
      deliver(s, bar, i + 1 == n);
    }
    asio::post(s.strand, [this, &s] { guarded(s, [&] { pace_historical(s); }); });
  }

  // ---- simulated ----
  void step_simulated(Slot& s) {
    const SourceSpec& src = s.unit->spec().source;
    const double bps = src.bars_per_second;
    for (std::size_t k = 0; k < options.chunk_bars; ++k) {
      if (stopping.load(std::memory_order_acquire) || !s.unit->accepting()) return;
      if (src.max_bars && s.generated >= src.max_bars) return finish_data(s);
      if (bps > 0) {
        if (s.anchor_wall_ns == 0) s.anchor_wall_ns = clock->now_ns();
        const auto due = s.anchor_wall_ns + static_cast<std::int64_t>(static_cast<double>(s.generated) * 1e9 / bps);
        const std::int64_t wait = due - clock->now_ns();
        if (wait > 0) return wait_then(s, wait, [this, &s] { step_simulated(s); });
      }
      const model::Bar bar = s.generator->next();
      ++s.generated;
      deliver(s, bar, src.max_bars && s.generated == src.max_bars);
    }
    asio::post(s.strand, [this, &s] { guarded(s, [&] { step_simulated(s); }); });
  }

  template <class Fn>
  void wait_then(Slot& s, std::int64_t wait_ns, Fn fn) {
    // Sleep at most 200 ms at a time so a speed change takes effect promptly.
    s.timer.expires_after(std::chrono::nanoseconds(std::min<std::int64_t>(wait_ns, 200'000'000)));
    s.timer.async_wait([this, &s, fn](const boost::system::error_code&) {
      if (stopping.load(std::memory_order_acquire)) return;
      guarded(s, fn);
    });
  }

  void finish_data(Slot& s) {
    s.unit->end(UnitState::Finished);
    on_final(s);
  }

  // ---- hot reload ----
  // Every runner whose strategy came from a file is registered with the
  // watcher; runners sharing a file are reloaded together, each at its own
  // next bar boundary (request_reload parks the new source in the runner and
  // its strand applies it before the next bar), so none loses or repeats a bar.
  Status start_watcher() {
    if (!options.hot_reload) return {};
    runner::ReloadWatcherOptions wo;
    wo.debounce_ms = options.reload_debounce_ms;
    wo.watch_files = options.reload_watch_files;
    watcher = std::make_unique<runner::ReloadWatcher>(wo, [this](int level, const std::string& m) {
      log(level >= 2 ? LogLevel::Warn : LogLevel::Info, "reload: " + m);
    });
    std::size_t watched = 0;
    for (auto& s : slots) {
      const script::StrategySource& src = s->unit->spec().strategy;
      std::error_code ec;
      if (src.path.empty() || !std::filesystem::is_regular_file(src.path, ec)) continue;  // code held in memory
      TE_TRY(watcher->watch(s->unit->runner(), src.path, src.sha256));
      ++watched;
    }
    // Lua indicator files (indicators/*.lua): an edit rebuilds the strategy of
    // every runner that loads them, with the indicators re-warmed.
    std::size_t indicator_files = 0;
    for (auto& s : slots)
      for (const auto& f : s->unit->spec().trading.indicator_files) {
        std::error_code ec;
        if (f.path.empty() || !std::filesystem::is_regular_file(f.path, ec)) continue;  // built into the binary
        TE_TRY(watcher->watch_indicator(s->unit->runner(), f.path, f.sha256));
        ++indicator_files;
      }
    if (options.reload_on_sighup) TE_TRY(watcher->handle_sighup());
    if (watched == 0 && indicator_files == 0 && !options.reload_on_sighup) {
      watcher.reset();
      return {};
    }
    TE_TRY(watcher->start());
    log(LogLevel::Info, fmt::format("hot reload: watching the strategy files of {} runner(s) and {} indicator "
                                    "file use(s){}", watched, indicator_files,
                                    options.reload_on_sighup ? "; SIGHUP re-reads them all" : ""));
    return {};
  }

  // ---- live ----
  Status start_feeds() {
    std::map<std::string, std::vector<std::size_t>> by_interval;
    for (std::size_t i = 0; i < slots.size(); ++i)
      if (slots[i]->unit->spec().source.kind == SourceKind::Live)
        by_interval[slots[i]->unit->spec().source.interval].push_back(i);
    for (const auto& [interval, members] : by_interval) {
      auto router = std::make_unique<FeedRouter>(*clock, options.log, interval);
      std::set<std::string> symbols;
      for (std::size_t i : members) {
        Slot* s = slots[i].get();
        symbols.insert(s->unit->spec().symbol);
        router->add(s->unit->spec().symbol, FeedRouter::Target{
            [this, s](const model::Bar& bar, std::int64_t lag_ns) {
              asio::post(s->strand, [this, s, bar, lag_ns] {
                if (stopping.load(std::memory_order_acquire)) return;
                s->unit->set_feed_lag(lag_ns);
                deliver(*s, bar, false);
              });
            },
            [s](double bid, double bid_size, double ask, double ask_size) {
              asio::post(s->strand, [s, bid, bid_size, ask, ask_size] { s->unit->on_quote(bid, bid_size, ask, ask_size); });
            }});
      }
      venue::binance::KlineFeedOptions fo;
      fo.ws.ws_url = options.binance.ws_url;
      fo.ws.symbols.assign(symbols.begin(), symbols.end());
      fo.ws.interval = interval;
      fo.ws.silence_timeout = options.binance.silence_timeout;
      fo.ws.reconnect_initial_delay = options.binance.reconnect_initial_delay;
      fo.ws.reconnect_max_delay = options.binance.reconnect_max_delay;
      fo.ws.jitter_seed = options.binance.jitter_seed;
      fo.ws.ca_file = options.binance.ca_file;
      fo.ws.now_ms = [c = clock] { return c->now_ns() / 1'000'000; };
      fo.rest.base_url = options.binance.rest_url;
      fo.rest.ca_file = options.binance.ca_file;
      fo.rest.jitter_seed = options.binance.jitter_seed;
      fo.backfill_retry_delay = options.binance.backfill_retry_delay;
      auto feed = std::make_unique<venue::binance::KlineFeed>(io, std::move(fo), *router);
      if (auto st = feed->start(); !st)
        return make_error(st.error().code, "binance feed (" + interval + "): " + st.error().message);
      log(LogLevel::Info, fmt::format("binance: {} symbol(s) on {} kline stream(s), {}", symbols.size(), interval,
                                      options.binance.ws_url));
      routers.push_back(std::move(router));
      feeds.push_back(std::move(feed));
    }
    return {};
  }
};

LiveEngine::LiveEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveEngine::~LiveEngine() {
  if (impl_ && impl_->started && !impl_->shut_down) (void)shutdown();
}

Result<std::unique_ptr<LiveEngine>> LiveEngine::create(EngineOptions options, std::vector<RunnerSpec> runners) {
  auto impl = std::make_unique<Impl>(std::move(options));
  std::vector<std::string> problems;
  std::set<std::string> names;
  std::map<const model::BarSeries*, SeriesCheck> series_checks;  // one pass per series shared by runners
  if (runners.empty()) problems.push_back("no runners: add [[runners]] or [[strategies]] to the config");
  for (std::size_t i = 0; i < runners.size(); ++i) {
    RunnerSpec& r = runners[i];
    if (!names.insert(r.name).second) problems.push_back("runner " + r.name + ": two runners have this name");
    const SourceSpec& src = r.source;
    if (src.kind == SourceKind::Historical && (!src.bars || src.bars->empty()))
      problems.push_back("runner " + r.name + ": historical data source has no bars");
    if (src.kind == SourceKind::Historical && src.simulate_realtime && !(src.speed > 0))
      problems.push_back("runner " + r.name + ": speed must be above 0");
    if (src.kind == SourceKind::Live) {
      if (auto iv = venue::binance::parse_interval(src.interval); !iv)
        problems.push_back("runner " + r.name + ": " + iv.error().message);
      std::transform(r.symbol.begin(), r.symbol.end(), r.symbol.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    std::optional<data::BarGenerator> gen;
    if (src.kind == SourceKind::Simulated) {
      auto g = data::BarGenerator::create(src.generator);
      if (!g) {
        problems.push_back("runner " + r.name + ": " + g.error().message);
        continue;
      }
      gen.emplace(std::move(*g));
    }
    runner::RunnerObserver* journal = impl->options.session ? &impl->options.session->add_runner() : nullptr;
    auto reload_log = std::make_unique<ReloadLog>(r.name, impl->options);
    auto observers = std::make_unique<runner::ObserverFanout>(
        std::initializer_list<runner::RunnerObserver*>{journal, reload_log.get()});
    const SeriesCheck* checked = nullptr;
    if (src.kind == SourceKind::Historical && !src.simulate_realtime && src.bars) {
      auto [at, fresh] = series_checks.try_emplace(src.bars.get());
      if (fresh) at->second = check_series(*src.bars);
      checked = &at->second;
    }
    auto unit = RunnerUnit::create(r, static_cast<model::RunnerId>(i), impl->pool, observers.get(), checked);
    if (!unit) {
      problems.push_back(unit.error().message);
      continue;
    }
    auto slot = std::make_unique<Slot>(impl->io, std::move(*unit));
    slot->reload_log = std::move(reload_log);
    slot->observers = std::move(observers);
    slot->generator = std::move(gen);
    slot->speed.store(src.speed > 0 ? src.speed : 1);
    slot->applied_speed = slot->speed.load();
    impl->slots.push_back(std::move(slot));
  }
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
    return make_error(Errc::invalid_argument, text);
  }
  return std::unique_ptr<LiveEngine>(new LiveEngine(std::move(impl)));
}

Status LiveEngine::start() {
  Impl& m = *impl_;
  if (m.started) return make_error(Errc::invalid_argument, "the engine was already started");
  m.started = true;
  // Before the worker threads: handle_sighup() blocks SIGHUP in this thread.
  // A watcher that cannot start (inotify limits) costs hot reload, not the run.
  if (auto st = m.start_watcher(); !st) {
    if (m.watcher) m.watcher->stop();
    m.watcher.reset();
    m.log(LogLevel::Warn, "hot reload is off for this run: " + st.error().message);
  }
  m.work.emplace(asio::make_work_guard(m.io));
  int n = m.options.threads > 0 ? m.options.threads : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(1, n);
  for (int i = 0; i < n; ++i) m.threads.emplace_back([&m] { m.io.run(); });
  // Start every runner (on_start) on its strand; its source begins right after.
  for (auto& sp : m.slots) {
    Slot* s = sp.get();
    asio::post(s->strand, [&m, s] {
      m.guarded(*s, [&] {
        if (!s->unit->start()) return;
        switch (s->unit->spec().source.kind) {
          case SourceKind::Historical: m.step_historical(*s); break;
          case SourceKind::Simulated: m.step_simulated(*s); break;
          case SourceKind::Live: break;  // the feed posts bars
        }
      });
    });
  }
  if (auto st = m.start_feeds(); !st) {
    m.stopping.store(true);
    return st;
  }
  return {};
}

bool LiveEngine::finished() const noexcept {
  return impl_->final_count.load(std::memory_order_acquire) >= impl_->slots.size();
}

std::size_t LiveEngine::runner_count() const noexcept { return impl_->slots.size(); }

std::vector<UnitStatus> LiveEngine::status() const {
  std::vector<UnitStatus> out;
  out.reserve(impl_->slots.size());
  for (const auto& s : impl_->slots) out.push_back(s->unit->status());
  return out;
}

FeedStatus LiveEngine::feed_status() const {
  FeedStatus f;
  for (const auto& feed : impl_->feeds) {
    const auto st = feed->stats();
    f.active = true;
    f.connects += st.ws.connects;
    f.disconnects += st.ws.disconnects;
    f.messages += st.ws.messages;
    f.bars += st.bars_delivered;
    f.quotes += st.ws.quotes;
    f.backfilled_bars += st.backfilled_bars;
    f.backfills_failed += st.backfills_failed;
    f.missing_bars += st.missing_bars;
    f.malformed += st.ws.malformed.total();
  }
  for (const auto& r : impl_->routers) f.connections += r->open_connections();
  return f;
}

bool LiveEngine::set_speed(std::string_view runner, double speed) {
  if (!(speed > 0) || !std::isfinite(speed)) return false;
  for (auto& s : impl_->slots) {
    const auto& src = s->unit->spec().source;
    if (s->unit->name() != runner) continue;
    if (src.kind != SourceKind::Historical || !src.simulate_realtime) return false;
    s->speed.store(speed, std::memory_order_relaxed);
    Slot* p = s.get();
    asio::post(p->strand, [p] { p->timer.cancel(); });  // wake it: the new pace starts now
    return true;
  }
  return false;
}

void LiveEngine::reload_all() {
  if (impl_->watcher && !impl_->shut_down) impl_->watcher->reload_all();
}

void LiveEngine::flush_reloads() {
  if (impl_->watcher && !impl_->shut_down) impl_->watcher->flush();
}

runner::ReloadWatcherStats LiveEngine::reload_stats() const {
  return impl_->watcher ? impl_->watcher->stats() : runner::ReloadWatcherStats{};
}

std::vector<RunnerOutcome> LiveEngine::shutdown() {
  Impl& m = *impl_;
  std::vector<RunnerOutcome> out;
  if (m.shut_down) return out;
  m.shut_down = true;
  m.stopping.store(true, std::memory_order_release);
  // No more reloads: the watcher hands sources to the runners, which end below.
  if (m.watcher) m.watcher->stop();
  // No more market data: after stop() returns the feeds call nothing.
  for (auto& f : m.feeds) f->stop();
  if (m.started) {
    // Each runner finishes what is queued on its strand (the bar in
    // progress), then ends; wait until every one has.
    for (auto& sp : m.slots) {
      Slot* s = sp.get();
      asio::post(s->strand, [&m, s] {
        s->timer.cancel();
        m.guarded(*s, [&] { s->unit->end(UnitState::Stopped); });
        std::lock_guard lock(m.end_mutex);
        ++m.ended;
        m.end_cv.notify_all();
      });
    }
    {
      std::unique_lock lock(m.end_mutex);
      m.end_cv.wait(lock, [&] { return m.ended == m.slots.size(); });
    }
    m.work.reset();
    m.io.stop();
    for (auto& t : m.threads) t.join();
    m.threads.clear();
  }
  out.reserve(m.slots.size());
  for (auto& s : m.slots) {
    RunnerOutcome o;
    o.name = s->unit->name();
    const UnitStatus st = s->unit->status();
    o.state = st.state;
    o.halt_reason = st.halt_reason;
    o.result = s->unit->take_result();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace te::live
