#include "engine/backtest/backtest_engine.hpp"

#include <algorithm>
#include <optional>

#include "engine/backtest/result_recorder.hpp"
#include "engine/core/clock.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/risk/kill_switch_control.hpp"
#include "engine/risk/risk_engine.hpp"
#include "engine/runner/observer_fanout.hpp"

namespace te::backtest {
namespace {

// A series whose first `seen` bars already count as history (warm-up).
class WarmedHistory final : public runner::BarHistory {
 public:
  WarmedHistory(model::BarSeries series, std::size_t seen) : BarHistory(true, seen), series_(std::move(series)) {}
  std::size_t size() const noexcept override { return seen_; }
  model::Bar at(std::size_t i) const noexcept override { return series_.at(i); }

 private:
  model::BarSeries series_;
};

}  // namespace

Result<BacktestResult> run_backtest(const BacktestConfig& config, const model::BarSeries& data,
                                    const script::StrategySource& strategy) {
  BacktestResult out;
  out.symbol = data.symbol();
  out.initial_cash = config.initial_cash;
  out.date_only = data.date_only();

  portfolio::Portfolio account(config.initial_cash, config.margin);
  runner::Router router(account);
  exec::SimulatedExchange exchange(config.exchange, router, router);
  ResultRecorder recorder(out, config.keep_activity);
  runner::ObserverFanout observers{&recorder, config.observer};

  model::Instrument instrument;
  instrument.id = data.instrument();
  instrument.symbol = data.symbol();
  instrument.lot_size = config.lot_size;
  instrument.tick_size = config.tick_size;
  instrument.min_qty = config.min_qty;
  instrument.min_notional = config.min_notional;
  exchange.set_instrument(instrument);
  std::unique_ptr<risk::RiskEngine> risk_engine;
  if (config.risk) risk_engine = std::make_unique<risk::RiskEngine>(*config.risk, account);
  // The operator's kill switch triggers (control file, SIGUSR1) while the run goes.
  std::unique_ptr<risk::KillSwitchControl> kill_control;
  if (risk_engine) {
    risk::KillSwitchTriggers triggers;
    triggers.file = config.risk->kill_switch_file;
    triggers.signal = config.risk->kill_switch_signal;
    if (triggers.any()) kill_control = std::make_unique<risk::KillSwitchControl>(*risk_engine, triggers);
    // Engaged by configuration from the start: no KillSwitchEvent will say so.
    if (risk_engine->kill_switch_engaged()) out.kill_switch = true;
  }

  const std::size_t first = std::min(config.warmup_bars, data.size());
  // Bars read before the run: the warm-up history (the runner may read it from
  // its creation on) and the first 64 (the bar interval, below).
  const std::size_t early = std::max(first, std::min<std::size_t>(64, data.size()));
  const bool early_ready = !config.bar_gate || early == 0 || config.bar_gate->ready(early) >= early;
  runner::RunnerConfig rc;
  rc.id = 0;
  rc.closewatch_timeout_bars = config.closewatch_timeout_bars;
  rc.keep_transitions = config.keep_transitions;
  rc.allow_short = config.allow_short;
  rc.pyramiding = config.pyramiding;
  rc.max_consecutive_errors = config.max_consecutive_errors;
  rc.flatten_on_fault = config.flatten_on_fault;
  rc.bar_interval_ns = model::smallest_gap_ns(data);
  if (config.indicator_cache && config.indicator_cache->bars().size() == data.size() &&
      config.indicator_cache->bars().columns().ts_ns == data.columns().ts_ns)
    rc.indicator_cache = config.indicator_cache;
  std::optional<script::VmPool> own_pool;  // one watchdog thread for the run, unless the caller has one
  script::VmPool* pool = config.vm_pool ? config.vm_pool : &own_pool.emplace(config.limits);
  script::HostOptions ho;
  ho.limits = config.limits;
  ho.pool = pool;
  ho.symbol = data.symbol();
  ho.seed = config.seed;
  ho.param_overrides = config.params;
  ho.indicator_files = config.indicator_files;
  ho.jit_trace = config.jit_trace;
  auto created = runner::SymbolRunner::create(rc, instrument, strategy, ho,
                                              std::make_unique<WarmedHistory>(data, first), exchange, account,
                                              config.observer ? static_cast<runner::RunnerObserver*>(&observers)
                                                              : &recorder);
  if (!created) return std::move(created).error();
  runner::SymbolRunner& run = **created;
  router.add(run);
  run.set_risk(risk_engine.get());

  const std::size_t n = data.size();
  EquityCurve& eq = out.equity;
  const bool keep = config.keep_equity_curve;
  if (keep) {
    eq.ts_ns.reserve(n - first);
    eq.cash.reserve(n - first);
    eq.position_value.reserve(n - first);
    eq.equity.reserve(n - first);
    eq.drawdown.reserve(n - first);
  }
  std::size_t done = 0;

  // The data as the runner's feed; after each bar: the end-of-data close, the
  // equity point, progress. Called from inside the runner's batch loop (no Lua).
  struct Feed final : runner::SymbolRunner::BarFeed {
    const model::BarSeries::Columns& c;
    std::size_t i, n;
    BarGate* gate;
    std::size_t readable;  // bars [0, readable) may be read: n without a gate
    const BacktestConfig& config;
    runner::SymbolRunner& run;
    exec::SimulatedExchange& exchange;
    portfolio::Portfolio& account;
    model::InstrumentId instrument;
    EquityCurve& eq;
    bool keep;
    std::size_t first;
    std::size_t done = 0;
    double peak;
    // The equity point of the last bar, computed when the account's version
    // moved (a fill, a mark of an open position): while it holds, cash and
    // position value are the same bits (Portfolio::version), so are equity,
    // the peak and the drawdown, and a bar's point is the previous one at a
    // new time. The curve's rows [filled, done) hold this point and are
    // written in one pass when it changes or the run ends (most bars of most
    // strategies are flat with nothing working: one compare per bar instead
    // of the sums and five stores).
    std::uint64_t point_version = ~std::uint64_t{0};  // none yet
    std::size_t filled = 0;
    double pt_cash = 0, pt_pv = 0, pt_equity = 0, pt_dd = 0;
    // Per-bar tests of the configuration, read once (the config is fixed for the run).
    bool quotes;
    bool close_at_end;
    EquityListener* listener;
    std::size_t progress_every;  // 0: no progress callback
    std::size_t progress_in;     // bars until the next progress call (a countdown, not a division per bar)
    // A curve kept, no quotes, listener or progress calls: after_bar_then_next's short path.
    bool plain;
    // The curve's columns, written by index (one store per column and bar);
    // finish() sets their sizes once the run is over.
    std::int64_t* eq_ts = nullptr;
    double *eq_cash = nullptr, *eq_pv = nullptr, *eq_equity = nullptr, *eq_dd = nullptr;

    Feed(const model::BarSeries::Columns& c_, std::size_t first_, std::size_t n_, const BacktestConfig& config_,
         runner::SymbolRunner& run_, exec::SimulatedExchange& exchange_, portfolio::Portfolio& account_,
         model::InstrumentId instrument_, EquityCurve& eq_, bool keep_)
        : c(c_), i(first_), n(n_), gate(config_.bar_gate), readable(gate ? 0 : n_), config(config_), run(run_), exchange(exchange_), account(account_),
          instrument(instrument_), eq(eq_), keep(keep_), first(first_), peak(config_.initial_cash),
          quotes(c_.bid || c_.ask || c_.bid_size || c_.ask_size), close_at_end(config_.close_at_end),
          listener(config_.equity_listener), progress_every(config_.progress ? config_.progress_every : 0),
          progress_in(progress_every), plain(keep && !quotes && !listener && progress_every == 0) {
      if (keep) {
        eq_ts = eq.ts_ns.writable();
        eq_cash = eq.cash.writable();
        eq_pv = eq.position_value.writable();
        eq_equity = eq.equity.writable();
        eq_dd = eq.drawdown.writable();
      }
    }
    void finish() {
      if (!keep) return;
      fill_rows();
      eq.ts_ns.set_size(done);
      eq.cash.set_size(done);
      eq.position_value.set_size(done);
      eq.equity.set_size(done);
      eq.drawdown.set_size(done);
    }

    // Bar i's OHLCV and time (quotes aside).
    [[gnu::always_inline]] void load_row(model::Bar& bar) const noexcept {
      bar.ts_ns = c.ts_ns[i];
      bar.open = c.open[i];
      bar.high = c.high[i];
      bar.low = c.low[i];
      bar.close = c.close[i];
      bar.volume = c.volume[i];
    }
    bool next(model::Bar& bar) override {
      if (i >= readable && !more()) return false;
      load_row(bar);
      if (quotes) {  // most data has none: one test per bar instead of four
        if (c.bid) bar.bid = c.bid[i];
        if (c.ask) bar.ask = c.ask[i];
        if (c.bid_size) bar.bid_size = c.bid_size[i];
        if (c.ask_size) bar.ask_size = c.ask_size[i];
      }
      ++i;
      return true;
    }
    // Past the bars the gate allowed so far: asks for more (all that passed by now).
    bool more() {
      if (i >= n || !gate) return false;
      const std::size_t got = std::min(n, gate->ready(i + 1));
      readable = std::max(readable, got);
      return i < readable;
    }
    // Rows [filled, done) of the curve get the current point.
    void fill_rows() noexcept {
      const std::size_t k = done - filled;
      if (k == 1) {
        // A point per bar (in a position: every mark moves the account):
        // four stores, without fill_n's loop set-up for each column.
        eq_cash[filled] = pt_cash;
        eq_pv[filled] = pt_pv;
        eq_equity[filled] = pt_equity;
        eq_dd[filled] = pt_dd;
        filled = done;
        return;
      }
      std::fill_n(eq_cash + filled, k, pt_cash);
      std::fill_n(eq_pv + filled, k, pt_pv);
      std::fill_n(eq_equity + filled, k, pt_equity);
      std::fill_n(eq_dd + filled, k, pt_dd);
      filled = done;
    }
    // The account moved since the last point: the rows so far get the old
    // point, then the new one is computed (the same expressions as per bar).
    [[gnu::noinline]] void new_point(std::uint64_t version) noexcept {
      if (keep) fill_rows();
      point_version = version;
      pt_cash = account.cash();
      pt_pv = account.position_value();
      pt_equity = pt_cash + pt_pv;
      if (!keep) return;
      peak = std::max(peak, pt_equity);
      // At the peak (every bar while flat at a high) the division's result
      // is known: +0 / peak is +0 for any peak > 0 (and peak - equity is +0,
      // never -0, when peak > 0), so most points skip the divide.
      const double below = peak - pt_equity;
      pt_dd = peak > 0 ? (below == 0 ? 0.0 : below / peak) : 0.0;
    }
    bool after_bar(const model::Bar& bar) override {
      if (i == n && close_at_end && account.position(instrument).qty != 0) {
        run.flatten(model::OrderPurpose::EndOfData, "end of data");
        exchange.settle(instrument, bar, run.bar_index());
      }
      const std::uint64_t version = account.version();
      if (version != point_version) new_point(version);
      if (keep) eq_ts[done] = bar.ts_ns;  // one row per bar: `done` < the reserved n - first
      ++done;
      if (listener) listener->on_equity(bar.ts_ns, pt_cash, pt_pv, pt_equity);
      if (progress_every && --progress_in == 0) {
        progress_in = progress_every;
        config.progress(done, n - first);
      }
      return true;  // a faulted strategy stops the run by itself; the outcome so far is reported
    }
    // after_bar() then next() for the common bar: one that is not the last
    // (i < readable <= n: no end-of-data close, the next bar already
    // released) of data without quote columns: the same steps without the
    // tests for them.
    //
    // Its most common case (the account unchanged: flat with nothing
    // filled, a curve kept, no listener or progress calls) is a leaf: the
    // time and the next row; anything else goes on in next_bar(), a tail call,
    // so this path saves no registers.
    bool after_bar_then_next(model::Bar& bar) override {
      if (!plain || i >= readable || account.version() != point_version) [[unlikely]] return next_bar(bar);
      eq_ts[done] = bar.ts_ns;
      ++done;
      load_row(bar);
      ++i;
      return true;
    }
    [[gnu::noinline]] bool next_bar(model::Bar& bar) {
      if (quotes || i >= readable) return after_bar(bar) && next(bar);
      const std::uint64_t version = account.version();
      if (version != point_version) new_point(version);
      if (keep) eq_ts[done] = bar.ts_ns;
      ++done;
      if (listener) listener->on_equity(bar.ts_ns, pt_cash, pt_pv, pt_equity);
      if (progress_every && --progress_in == 0) {
        progress_in = progress_every;
        config.progress(done, n - first);
      }
      load_row(bar);
      ++i;
      return true;
    }
  };
  Feed feed(data.columns(), first, n, config, run, exchange, account, instrument.id, eq, keep);
  // The indicators may read the bars the feed has released ahead of the run.
  run.set_indicator_ahead(data.columns(), first, &feed.readable);
  // ... and a session recorder may refer to them by index instead of copying them.
  if (config.observer) observers.on_bar_source(run, data, first);

  const std::int64_t t0 = monotonic_ns();
  if (early_ready && run.start()) {
    if (config.batch) {
      run.run(feed);
    } else {
      model::Bar bar;
      while (feed.next(bar)) {
        const bool alive = run.on_bar(instrument.id, bar);
        feed.after_bar(bar);
        if (!alive) break;
      }
    }
  }
  feed.finish();
  done = feed.done;
  out.elapsed_s = static_cast<double>(monotonic_ns() - t0) / 1e9;
  if (config.progress) config.progress(done, n - first);

  out.bars = done;
  out.trades.assign(account.trades().begin(), account.trades().end());
  out.fills = account.fills();
  out.final_cash = account.cash();
  out.final_equity = account.equity();
  out.commission_paid = account.commission_paid();
  out.transition_count = static_cast<std::size_t>(run.stats().transitions);
  out.transitions = run.transitions();
  out.stats = run.stats();
  out.fault = run.fault();
  out.params = run.host().params();
  if (risk_engine) out.stormguard_state = std::string(risk::to_string(risk_engine->account_state()));
  return out;
}

}  // namespace te::backtest
