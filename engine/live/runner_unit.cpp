#include "engine/live/runner_unit.hpp"

#include <algorithm>
#include <cmath>

#include "engine/backtest/result_recorder.hpp"
#include "engine/core/clock.hpp"

namespace te::live {
namespace {
constexpr std::size_t kMaxLogLines = 10000;

// One line of a strategy's creation error, told where the config says it: the
// sandbox names a bad param as on the command line ("--param fast=abc: ..."),
// which becomes "cfg.toml:7: runners[0].params.fast = abc: ... (runner a)".
std::string config_line(const RunnerSpec& spec, const std::string& who, std::string_view line) {
  for (const auto& [name, at] : spec.param_at) {
    const std::string flag = "--param " + name;
    if (line.substr(0, flag.size()) != flag || line.size() == flag.size()) continue;
    std::string_view rest = line.substr(flag.size());
    if (rest[0] == '=') {  // "=abc: expected ..." -> " = abc: expected ..."
      rest.remove_prefix(1);
      return at + " = " + std::string(rest) + " (runner " + spec.name + ")";
    }
    if (rest[0] == ':') return at + std::string(rest) + " (runner " + spec.name + ")";
  }
  return who + ": " + std::string(line);
}
}  // namespace

SeriesCheck check_series(const model::BarSeries& series) noexcept {
  const std::size_t n = series.size();
  const std::int64_t* ts = series.columns().ts_ns;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && ts[i] <= ts[i - 1]) return {i, true};
    if (model::bar_problem(series.at(i)) != nullptr) return {i, false};
  }
  return {n, false};
}

std::string_view to_string(UnitState s) noexcept {
  switch (s) {
    case UnitState::Starting: return "starting";
    case UnitState::Running: return "running";
    case UnitState::Finished: return "finished";
    case UnitState::Halted: return "halted";
    case UnitState::Stopped: return "stopped";
  }
  return "?";
}

RunnerUnit::RunnerUnit(const RunnerSpec& spec, model::RunnerId id)
    : spec_(spec),
      account_(spec.trading.initial_cash, spec.trading.margin),
      router_(account_),
      exchange_(spec.trading.exchange, router_, router_) {
  instrument_.id = id;  // one instrument per unit; the id keeps journal events of runners apart
  instrument_.symbol = spec.symbol;
  instrument_.lot_size = spec.trading.lot_size;
  instrument_.tick_size = spec.trading.tick_size;
  instrument_.min_qty = spec.trading.min_qty;
  instrument_.min_notional = spec.trading.min_notional;
  exchange_.set_instrument(instrument_);
  out_.symbol = spec.symbol;
  out_.initial_cash = spec.trading.initial_cash;
  peak_ = spec.trading.initial_cash;
  status_.name = spec.name;
  status_.symbol = spec.symbol;
  status_.source = spec.source.kind;
  status_.paper = spec.paper;
  status_.initial_cash = spec.trading.initial_cash;
  pub_equity_.store(spec.trading.initial_cash, std::memory_order_relaxed);
  if (spec.source.kind == SourceKind::Historical && spec.source.bars) {
    status_.total_bars = spec.source.bars->size();
    // Its length is known: the curve grows without reallocations (and their
    // copies and fresh pages).
    if (spec.trading.keep_equity_curve) {
      const std::size_t n = spec.source.bars->size();
      curve_.ts_ns.reserve(n);
      curve_.cash.reserve(n);
      curve_.position_value.reserve(n);
      curve_.equity.reserve(n);
      curve_.drawdown.reserve(n);
    }
    out_.date_only = spec.source.bars->date_only();
  } else if (spec.source.kind == SourceKind::Simulated) {
    status_.total_bars = static_cast<std::size_t>(spec.source.max_bars);
  }
}

RunnerUnit::~RunnerUnit() = default;

Result<std::unique_ptr<RunnerUnit>> RunnerUnit::create(const RunnerSpec& spec, model::RunnerId id,
                                                       script::VmPool& pool, runner::RunnerObserver* journal,
                                                       const SeriesCheck* checked) {
  std::unique_ptr<RunnerUnit> u(new RunnerUnit(spec, id));
  // An immediate replay of a series without duplicates: the batch loop over
  // the shared series, whose bars are the runner's history as run_backtest's
  // are (a view, no copy of each bar per runner).
  std::unique_ptr<runner::BarHistory> history;
  if (spec.source.kind == SourceKind::Historical && !spec.source.simulate_realtime && spec.source.bars) {
    const SeriesCheck c = checked ? *checked : check_series(*spec.source.bars);
    if (!c.out_of_order) {
      u->replay_ = true;
      u->replay_clean_ = c.clean;
      history = std::make_unique<runner::SeriesHistory>(*spec.source.bars);
    }
  }
  if (!history) history = std::make_unique<runner::GrowingHistory>();
  const backtest::BacktestConfig& t = spec.trading;
  if (t.risk) {
    u->risk_ = std::make_unique<risk::RiskEngine>(*t.risk, u->account_);
    risk::KillSwitchTriggers triggers;
    triggers.file = t.risk->kill_switch_file;
    triggers.signal = t.risk->kill_switch_signal;
    if (triggers.any()) u->kill_control_ = std::make_unique<risk::KillSwitchControl>(*u->risk_, triggers);
    // Engaged by configuration from the start: no KillSwitchEvent will say so.
    if (u->risk_->kill_switch_engaged()) u->out_.kill_switch = true;
  }
  // The same recorder as run_backtest's, so reports match; the strategy log is
  // capped (a live run may last for months).
  u->collector_ = std::make_unique<backtest::ResultRecorder>(u->out_, t.keep_activity, kMaxLogLines);
  u->fanout_ = std::make_unique<runner::ObserverFanout>(
      std::initializer_list<runner::RunnerObserver*>{u->collector_.get(), journal});

  runner::RunnerConfig rc;
  rc.id = id;
  rc.strategy_id = id;
  rc.closewatch_timeout_bars = t.closewatch_timeout_bars;
  rc.keep_transitions = false;  // months of live bars: keep the count (the journal has them all)
  rc.allow_short = t.allow_short;
  rc.pyramiding = t.pyramiding;
  rc.max_consecutive_errors = t.max_consecutive_errors;
  rc.flatten_on_fault = t.flatten_on_fault;
  script::HostOptions ho;
  ho.limits = t.limits;
  ho.pool = &pool;
  ho.symbol = spec.symbol;
  ho.seed = t.seed;
  ho.param_overrides = t.params;
  ho.indicator_files = t.indicator_files;
  auto created = runner::SymbolRunner::create(rc, u->instrument_, spec.strategy, ho,
                                              std::move(history), u->exchange_,
                                              u->account_, u->fanout_.get());
  if (!created) {
    // Each line of the problem (e.g. one per bad param) names the runner and where the config defines it.
    const std::string who = spec.key_path.empty() ? "runner " + spec.name
                                                  : spec.key_path + " (runner " + spec.name + ")";
    std::string text;
    const std::string& m = created.error().message;
    for (std::size_t at = 0; at <= m.size();) {
      const std::size_t nl = std::min(m.find('\n', at), m.size());
      if (!text.empty()) text += '\n';
      text += config_line(spec, who, std::string_view(m).substr(at, nl - at));
      at = nl + 1;
    }
    return make_error(created.error().code, text);
  }
  u->runner_ = std::move(*created);
  u->router_.add(*u->runner_);
  u->runner_->set_risk(u->risk_.get());
  u->pub_state_ = u->runner_->state();
  u->status_.runner_state = std::string(runner::to_string(u->pub_state_));
  return u;
}

void RunnerUnit::set_state(UnitState s, std::string reason) {
  state_ = s;
  std::lock_guard lock(status_mutex_);
  status_.state = s;
  if (!reason.empty()) status_.halt_reason = std::move(reason);
}

bool RunnerUnit::start() {
  started_ns_ = monotonic_ns();
  if (!runner_->start()) {
    const auto& f = runner_->fault();
    publish();  // (before the final state, as in halt())
    set_state(UnitState::Halted, "strategy fault in on_start: " + (f ? f->message : std::string("unknown error")));
    return false;
  }
  set_state(UnitState::Running);
  return true;
}

bool RunnerUnit::on_bar(model::Bar bar, bool last) {
  if (state_ != UnitState::Running) return false;
  if (have_bar_ && bar.ts_ns <= last_ts_) {
    std::lock_guard lock(status_mutex_);
    ++status_.duplicates;
    return true;
  }
  if (const char* problem = model::bar_problem(bar)) {
    halt("data error: bar at " + std::to_string(bar.ts_ns) + " ns: " + problem);
    return false;
  }
  if (std::isnan(bar.bid) && !std::isnan(bid_)) {
    bar.bid = bid_;
    bar.ask = ask_;
    bar.bid_size = bid_size_;
    bar.ask_size = ask_size_;
  }
  // From here to the equity point: run_backtest's loop body, call for call.
  const bool alive = runner_->on_bar(instrument_.id, bar);
  if (spec_.trading.close_at_end && last && account_.position(instrument_.id).qty != 0) {
    runner_->flatten(model::OrderPurpose::EndOfData, "end of data");
    exchange_.settle(instrument_.id, bar, runner_->bar_index());
  }
  equity_point(bar.ts_ns);
  have_bar_ = true;
  last_ts_ = bar.ts_ns;
  last_bar_ = bar;
  publish();
  if (!alive) {
    const auto& f = runner_->fault();
    set_state(UnitState::Halted, "strategy fault: " + (f ? f->message : std::string("unknown error")));
  }
  return alive;
}

// The bar's equity point (run_backtest's, the same arithmetic).
inline void RunnerUnit::equity_point(std::int64_t ts_ns) {
  const double cash = account_.cash();
  const double pv = account_.position_value();
  const double equity = cash + pv;
  peak_ = std::max(peak_, equity);
  ++out_.bars;
  if (spec_.trading.keep_equity_curve) {
    auto& eq = curve_;
    eq.ts_ns.push_back(ts_ns);
    eq.cash.push_back(cash);
    eq.position_value.push_back(pv);
    eq.equity.push_back(equity);
    eq.drawdown.push_back(peak_ > 0 ? (peak_ - equity) / peak_ : 0.0);
  }
}

// Bars [i, end) of the series for SymbolRunner::run; after each, what on_bar()
// does after the runner's bar: the end-of-data close on the series' last bar
// and the equity point. Called from inside the batch loop (no Lua). The
// duplicate and bar_problem checks of on_bar() are not needed: the bars are
// before the series' first problem (SeriesCheck). Historical runners get no
// quotes between bars (on_quote is the live feed's), so none is carried.
class RunnerUnit::ReplayFeed final : public runner::SymbolRunner::BarFeed {
 public:
  ReplayFeed(RunnerUnit& u, const model::BarSeries& s, std::size_t i, std::size_t end)
      : u_(u), c_(s.columns()), i_(i), end_(end), n_(s.size()),
        quotes_(c_.bid || c_.ask || c_.bid_size || c_.ask_size), close_at_end_(u.spec_.trading.close_at_end) {}

  bool next(model::Bar& bar) override {
    if (i_ >= end_) return false;
    bar.ts_ns = c_.ts_ns[i_];
    bar.open = c_.open[i_];
    bar.high = c_.high[i_];
    bar.low = c_.low[i_];
    bar.close = c_.close[i_];
    bar.volume = c_.volume[i_];
    if (quotes_) {  // (as BarSeries::at: a missing column leaves kNoValue)
      bar.bid = c_.bid ? c_.bid[i_] : model::kNoValue;
      bar.ask = c_.ask ? c_.ask[i_] : model::kNoValue;
      bar.bid_size = c_.bid_size ? c_.bid_size[i_] : model::kNoValue;
      bar.ask_size = c_.ask_size ? c_.ask_size[i_] : model::kNoValue;
    }
    ++i_;
    return true;
  }
  bool after_bar(const model::Bar& bar) override {
    if (close_at_end_ && i_ == n_ && u_.account_.position(u_.instrument_.id).qty != 0) {
      u_.runner_->flatten(model::OrderPurpose::EndOfData, "end of data");
      u_.exchange_.settle(u_.instrument_.id, bar, u_.runner_->bar_index());
    }
    u_.equity_point(bar.ts_ns);
    ++done_;
    return true;  // a faulted runner stops the loop by itself
  }
  bool after_bar_then_next(model::Bar& bar) override { return after_bar(bar) && next(bar); }
  std::size_t taken() const noexcept { return i_; }
  std::size_t done() const noexcept { return done_; }

 private:
  RunnerUnit& u_;
  const model::BarSeries::Columns& c_;
  std::size_t i_, end_, n_;
  std::size_t done_ = 0;  // bars fully processed
  bool quotes_, close_at_end_;
};

bool RunnerUnit::replay(std::size_t& next, std::size_t max_bars) {
  if (state_ != UnitState::Running) return false;
  const model::BarSeries& series = *spec_.source.bars;
  const std::size_t n = series.size();
  const std::size_t end = std::min({n, replay_clean_, next + std::min(max_bars, n)});
  if (next < end) {
    const std::size_t first = next;
    ReplayFeed feed(*this, series, next, end);
    runner_->run(feed);
    next = feed.taken();
    if (feed.done() > 0) {
      // What on_bar() keeps per bar, once per call: the last bar's.
      last_bar_ = series.at(first + feed.done() - 1);
      last_ts_ = last_bar_.ts_ns;
      have_bar_ = true;
    }
    if (runner_->state() == runner::RunnerState::Faulted) {
      const auto& f = runner_->fault();
      set_state(UnitState::Halted, "strategy fault: " + (f ? f->message : std::string("unknown error")));
      publish();
      return false;
    }
  }
  // The series' first inconsistent bar: on_bar() halts the unit on it.
  if (next == replay_clean_ && next < n) {
    const std::size_t i = next++;
    on_bar(series.at(i), i + 1 == n);
    return accepting();
  }
  publish();
  return true;
}

void RunnerUnit::on_quote(double bid, double bid_size, double ask, double ask_size) noexcept {
  bid_ = bid;
  bid_size_ = bid_size;
  ask_ = ask;
  ask_size_ = ask_size;
}

void RunnerUnit::set_feed_lag(std::int64_t lag_ns) noexcept {
  std::lock_guard lock(status_mutex_);
  status_.feed_lag_ns = lag_ns;
}

void RunnerUnit::halt(std::string reason) {
  if (is_final(state_)) return;
  publish();  // the figures before the final state: a reader seeing it under the lock sees them
  set_state(UnitState::Halted, std::move(reason));
}

void RunnerUnit::end(UnitState final_state) {
  if (is_final(state_)) return;
  if (final_state == UnitState::Stopped && have_bar_ && spec_.trading.close_at_end &&
      account_.position(instrument_.id).qty != 0 && runner_->state() != runner::RunnerState::Faulted) {
    runner_->flatten(model::OrderPurpose::EndOfData, "engine stopped");
    exchange_.settle(instrument_.id, last_bar_, runner_->bar_index());
  }
  publish();  // (as in halt())
  set_state(final_state);
}

// Called after every bar: the lock (and the state's name) only when the state
// machine moved.
void RunnerUnit::publish() {
  pub_position_.store(account_.position(instrument_.id).qty, std::memory_order_relaxed);
  pub_equity_.store(account_.equity(), std::memory_order_relaxed);
  pub_bars_.store(static_cast<std::int64_t>(out_.bars), std::memory_order_relaxed);
  pub_last_bar_ns_.store(have_bar_ ? last_ts_ : 0, std::memory_order_relaxed);
  const runner::RunnerState now = runner_->state();
  if (now == pub_state_) return;
  pub_state_ = now;
  std::lock_guard lock(status_mutex_);
  status_.runner_state = std::string(runner::to_string(now));
}

UnitStatus RunnerUnit::status() const {
  UnitStatus s;
  {
    std::lock_guard lock(status_mutex_);
    s = status_;
  }
  s.position = pub_position_.load(std::memory_order_relaxed);
  s.equity = pub_equity_.load(std::memory_order_relaxed);
  s.bars = pub_bars_.load(std::memory_order_relaxed);
  s.last_bar_ns = pub_last_bar_ns_.load(std::memory_order_relaxed);
  return s;
}

backtest::BacktestResult RunnerUnit::take_result() {
  backtest::BacktestResult r = std::move(out_);
  out_ = backtest::BacktestResult{};
  collector_->result_taken();
  const std::size_t n = curve_.ts_ns.size();
  r.equity.ts_ns.reserve(n);
  r.equity.cash.reserve(n);
  r.equity.position_value.reserve(n);
  r.equity.equity.reserve(n);
  r.equity.drawdown.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    r.equity.ts_ns.push_back(curve_.ts_ns[i]);
    r.equity.cash.push_back(curve_.cash[i]);
    r.equity.position_value.push_back(curve_.position_value[i]);
    r.equity.equity.push_back(curve_.equity[i]);
    r.equity.drawdown.push_back(curve_.drawdown[i]);
  }
  curve_ = Curve{};
  r.trades.assign(account_.trades().begin(), account_.trades().end());
  r.fills = account_.fills();
  r.final_cash = account_.cash();
  r.final_equity = account_.equity();
  r.commission_paid = account_.commission_paid();
  r.transition_count = static_cast<std::size_t>(runner_->stats().transitions);
  r.stats = runner_->stats();
  r.fault = runner_->fault();
  r.params = runner_->host().params();
  if (risk_) r.stormguard_state = std::string(risk::to_string(risk_->account_state()));
  r.elapsed_s = started_ns_ ? static_cast<double>(monotonic_ns() - started_ns_) / 1e9 : 0;
  return r;
}

}  // namespace te::live
