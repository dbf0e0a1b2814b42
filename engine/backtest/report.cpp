#include "engine/backtest/report.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <time.h>

#include <fmt/core.h>

#include "engine/backtest/equity_rows.hpp"
#include "engine/backtest/output_file.hpp"
#include "engine/backtest/report_html.hpp"
#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/huge_vector.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::backtest {
namespace {

void num(std::string& out, double v) {
  if (std::isfinite(v)) append_double(out, v);
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f} %", v * 100) : "n/a"; }
std::string fixed(double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a"; }

}  // namespace

namespace {

// Execution and risk settings that differ from the defaults (so the hash of a
// default run does not change when a new knob is added).
std::string execution_settings(const BacktestConfig& c) {
  std::string s;
  const exec::SimulatedExchangeConfig defaults;
  auto add = [&s](std::string_view k, const std::string& v) { s += std::string(k) + "=" + v + "\n"; };
  if (c.exchange.commission.kind != exec::CommissionModel::Kind::Percent || c.exchange.commission.minimum > 0)
    add("commission_model", exec::to_string(c.exchange.commission));
  if (c.exchange.slippage.kind != exec::SlippageModel::Kind::None) add("slippage", exec::to_string(c.exchange.slippage));
  if (c.exchange.max_volume_fraction != defaults.max_volume_fraction)
    add("max_volume_fraction", format_double(c.exchange.max_volume_fraction));
  if (c.exchange.latency_bars != 0) add("latency_bars", std::to_string(c.exchange.latency_bars));
  if (c.tick_size != 0) add("tick_size", format_double(c.tick_size));
  if (c.min_qty != 0) add("min_qty", format_double(c.min_qty));
  if (c.min_notional != 0) add("min_notional", format_double(c.min_notional));
  if (c.margin.short_margin != 1.0) add("short_margin", format_double(c.margin.short_margin));
  if (c.margin.leverage != 1.0) add("leverage", format_double(c.margin.leverage));
  if (!c.allow_short) add("allow_short", "false");
  if (c.pyramiding != 1) add("pyramiding", std::to_string(c.pyramiding));
  if (c.close_at_end) add("close_at_end", "true");
  if (c.risk) {
    const risk::RiskConfig& r = *c.risk;
    add("risk.kill_switch", r.kill_switch ? "true" : "false");
    add("risk.kill_switch_at_ns", std::to_string(r.kill_switch_at_ns));
    const auto& a = r.account;
    add("risk.account", fmt::format("{},{},{},{},{},{}", a.max_open_positions, format_double(a.price_band),
                                    format_double(a.max_daily_loss), format_double(a.max_drawdown), a.max_orders,
                                    format_double(a.order_window_s)));
    auto guard = [](const risk::StormGuardConfig& g) {
      return fmt::format("{},{},{},{},{},{},{},{},{}", g.enabled, format_double(g.warm), format_double(g.storm),
                         format_double(g.halt), static_cast<int>(g.basis), format_double(g.warm_size_scale),
                         g.halt_flatten, g.cooldown_bars, g.halt_cooldown_bars);
    };
    add("risk.account.stormguard", guard(a.stormguard));
    auto limits = [&](const risk::StrategyLimits& l) {
      return fmt::format("{},{},{},{},{},{},{},{},{},{}", format_double(l.capital), format_double(l.max_position_qty),
                         format_double(l.max_position_notional), format_double(l.max_position_fraction),
                         format_double(l.max_risk_per_trade), format_double(l.max_daily_loss),
                         format_double(l.max_drawdown), l.max_orders, format_double(l.order_window_s),
                         guard(l.stormguard));
    };
    add("risk.strategy", limits(r.strategy));
    for (const auto& [id, l] : r.strategies) add("risk.strategy." + std::to_string(id), limits(l));
  }
  return s;
}

}  // namespace

std::string canonical_config(const BacktestConfig& config, const std::vector<script::ParamInfo>& params,
                             const std::string& symbol, std::int64_t start_ns, std::int64_t end_ns) {
  std::string s;
  s += "symbol=" + symbol + "\n";
  s += "start_ns=" + std::to_string(start_ns) + "\n";
  s += "end_ns=" + std::to_string(end_ns) + "\n";
  s += "cash=" + format_double(config.initial_cash) + "\n";
  s += "commission=" + format_double(config.exchange.commission.rate) + "\n";
  s += "fill=" + std::string(exec::to_string(config.exchange.fill)) + "\n";
  s += "lot_size=" + format_double(config.lot_size) + "\n";
  s += "closewatch_timeout_bars=" + std::to_string(config.closewatch_timeout_bars) + "\n";
  s += execution_settings(config);
  s += "seed=" + std::to_string(config.seed) + "\n";
  for (const auto& p : params) s += "param." + p.name + "=" + p.type + ":" + p.value + "\n";
  for (const auto& f : config.indicator_files) s += "indicator." + f.path + "=" + f.sha256 + "\n";
  return s;
}

namespace {

void report_json(JsonWriter& j, const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                 const std::vector<MonthReturn>& months) {
  j.begin_object();
  j.field("bars", m.bars);
  j.field("trades", m.trades);
  j.field("open_trades", m.open_trades);
  j.field("fills", m.fills);
  j.field("initial_cash", m.initial_cash);
  j.field("final_equity", m.final_equity);
  j.field("final_cash", r.final_cash);
  j.field("total_return", m.total_return);
  j.field("annualized_return", m.annualized_return);
  j.field("sharpe", m.sharpe);
  j.field("sortino", m.sortino);
  j.field("volatility", m.volatility);
  j.field("net_profit", m.net_profit);
  j.field("max_drawdown", m.max_drawdown);
  j.field("max_drawdown_money", m.max_drawdown_money);
  j.field("max_drawdown_duration", static_cast<std::int64_t>(m.max_drawdown_duration));
  j.field("max_drawdown_duration_days", m.max_drawdown_duration_days);
  j.field("calmar", m.calmar);
  j.field("recovery_factor", m.recovery_factor);
  j.field("sharpe_per_bar", m.sharpe_per_bar);
  j.field("skewness", m.skewness);
  j.field("kurtosis", m.kurtosis);
  j.field("probabilistic_sharpe", m.psr);
  j.field("win_rate", m.win_rate);
  j.field("profit_factor", m.profit_factor);
  j.field("avg_win", m.avg_win);
  j.field("avg_loss", m.avg_loss);
  j.field("avg_trade", m.avg_trade);
  j.field("expectancy", m.expectancy);
  j.field("expectancy_ratio", m.expectancy_ratio);
  j.field("best_trade", m.best_trade);
  j.field("worst_trade", m.worst_trade);
  j.field("best_trade_return", m.best_trade_return);
  j.field("worst_trade_return", m.worst_trade_return);
  j.field("avg_trade_return", m.avg_trade_return);
  j.field("max_consecutive_wins", m.max_consecutive_wins);
  j.field("max_consecutive_losses", m.max_consecutive_losses);
  j.field("avg_bars_held", m.avg_bars_held);
  j.field("avg_holding_days", m.avg_holding_days);
  j.field("exposure", m.exposure);
  j.field("commission_paid", m.commission_paid);
  j.field("years", m.years);
  j.field("periods_per_year", m.periods_per_year);
  j.key("rejections").begin_object();
  std::size_t total_rejections = 0;
  for (const auto& [code, n] : r.rejections) {
    j.field(code, n);
    total_rejections += n;
  }
  j.end_object();
  j.field("rejections_total", total_rejections);
  j.key("risk_rejections").begin_object();
  std::size_t total_risk = 0;
  for (const auto& [code, n] : r.risk_rejections) {
    j.field(code, n);
    total_risk += n;
  }
  j.end_object();
  j.field("risk_rejections_total", total_risk);
  j.field("stormguard_changes", r.stormguard_changes);
  if (!r.stormguard_state.empty()) j.field("stormguard_state", r.stormguard_state);
  j.field("kill_switch", r.kill_switch);
  j.key("by_symbol").begin_array();
  for (const SymbolBreakdown& b : symbol_breakdown(r.trades, {r.symbol})) {
    j.begin_object();
    j.field("symbol", b.symbol);
    j.field("trades", b.trades);
    j.field("open_trades", b.open_trades);
    j.field("net_pnl", b.net_pnl);
    j.field("commission", b.commission);
    j.field("win_rate", b.win_rate);
    j.field("profit_factor", b.profit_factor);
    j.field("avg_trade", b.avg_trade);
    j.field("best_trade", b.best_trade);
    j.field("worst_trade", b.worst_trade);
    j.field("avg_bars_held", b.avg_bars_held);
    j.end_object();
  }
  j.end_array();
  j.key("monthly_returns").begin_array();
  for (const MonthReturn& mr : months) {
    j.begin_object();
    j.field("month", fmt::format("{:04}-{:02}", mr.year, mr.month));
    j.field("return", mr.ret);
    j.end_object();
  }
  j.end_array();
  j.field("transitions", r.transition_count);
  j.field("symbol", r.symbol);
  if (!r.equity.ts_ns.empty()) {
    j.field("start", format_iso8601(r.equity.ts_ns.front(), r.date_only));
    j.field("end", format_iso8601(r.equity.ts_ns.back(), r.date_only));
  } else {
    j.key("start").null();
    j.key("end").null();
  }
  j.field("strategy", st.strategy_path);
  j.field("data", st.data_path);
  j.key("params").begin_object();
  for (const auto& p : st.params) {
    j.key(p.name);
    double v = 0;
    if (p.type == "number" && parse_double(p.value, v))
      j.value(v);
    else if (p.type == "boolean")
      j.value(p.value == "true");
    else
      j.value(p.value);
  }
  j.end_object();
  j.field("fill_model", st.fill_model);
  j.field("commission", st.commission);
  j.field("status", r.fault ? "faulted" : "completed");
  if (r.fault) {
    j.key("error").begin_object();
    j.field("callback", r.fault->callback);
    j.field("message", r.fault->message);
    j.field("traceback", r.fault->traceback);
    j.end_object();
  }
  j.field("elapsed_s", st.elapsed_s);
  j.field("run_elapsed_s", r.elapsed_s);
  j.field("bars_per_second", st.elapsed_s > 0 ? static_cast<double>(m.bars) / st.elapsed_s : 0.0);
  j.field("engine_version", st.engine_version);
  j.field("strategy_sha256", st.strategy_sha256);
  j.field("data_sha256", st.data_sha256);
  j.field("config_sha256", st.config_sha256);
  j.field("seed", st.seed);
  // Last: it can be long (every order with its steps).
  j.key("activity");
  write_activity_json(j, r.activity, r.date_only);
  j.end_object();
}

}  // namespace

std::string report_json(const BacktestResult& r, const Metrics& m, const ReportStamp& st) {
  JsonWriter j;
  report_json(j, r, m, st, monthly_returns(r));
  return j.str();
}

std::string trades_csv(const BacktestResult& r) {
  std::string out =
      "trade,symbol,side,entry_time,entry_price,exit_time,exit_price,quantity,entry_commission,exit_commission,"
      "pnl_gross,pnl_net,bars_held,exit_reason,mae,mfe\n";
  const std::int64_t last_bar = static_cast<std::int64_t>(r.bars) - 1;
  for (const auto& t : r.trades) {
    out += std::to_string(t.id);
    out += ',';
    out += r.symbol;
    out += t.is_long ? ",long," : ",short,";
    append_iso8601(out, t.entry_ts_ns, r.date_only);
    out += ',';
    num(out, t.entry_price);
    out += ',';
    if (!t.open()) {
      append_iso8601(out, t.exit_ts_ns, r.date_only);
      out += ',';
      num(out, t.exit_price);
    } else {
      out += ',';
    }
    out += ',';
    num(out, t.quantity);
    out += ',';
    num(out, t.entry_commission);
    out += ',';
    if (!t.open()) num(out, t.exit_commission);
    out += ',';
    num(out, t.pnl_gross);
    out += ',';
    num(out, t.pnl_net());
    out += ',';
    out += std::to_string((t.open() ? last_bar : t.exit_bar) - t.entry_bar);
    out += ',';
    out += t.exit_reason();
    out += ',';
    num(out, t.mae);
    out += ',';
    num(out, t.mfe);
    out += '\n';
  }
  return out;
}

namespace {

using detail::kEquityHeader;
using detail::kMaxEquityRow;

// Formats equity.csv rows for bars [begin, end) into memory that `room(n)`
// hands out (at least n writable bytes, continuing where the last row ended)
// and `commit(end)` takes back: no per-field allocation, no intermediate string.
template <class Room, class Commit>
void format_equity_rows(const BacktestResult& r, std::size_t begin, std::size_t end, Room room, Commit commit) {
  const EquityCurve& e = r.equity;
  TE_ASSERT(e.cash.size() == e.ts_ns.size() && e.position_value.size() == e.ts_ns.size(),
            "equity.csv from a curve without its cash and position_value columns");
  detail::EquityRowFormatter rows(r.date_only);
  constexpr std::size_t kBlock = 1024;  // rows per room() request
  for (std::size_t i = begin; i < end;) {
    const std::size_t stop = std::min(end, i + kBlock);
    char* p = room((stop - i) * kMaxEquityRow);
    for (; i < stop; ++i) p = rows.row(p, e.ts_ns[i], e.cash[i], e.position_value[i], e.equity[i], e.drawdown[i]);
    commit(p);
  }
}

// Rows [begin, end) into a huge-page buffer (no 4 KiB page faults, which
// dominate on VMs), for the half of equity.csv formatted on the second core.
HugeVector<char> equity_rows(const BacktestResult& r, std::size_t begin, std::size_t end) {
  HugeVector<char> out((end - begin) * kMaxEquityRow + 1);
  char* const start = out.writable();
  char* at = start;
  format_equity_rows(
      r, begin, end, [&at](std::size_t) { return at; }, [&at](char* p) { at = p; });
  out.set_size(static_cast<std::size_t>(at - start));
  return out;
}

// Rows [begin, end) straight into the file's buffer.
void stream_equity_rows(const BacktestResult& r, std::size_t begin, std::size_t end, OutputFile& f) {
  format_equity_rows(
      r, begin, end, [&f](std::size_t n) { return f.room(n); }, [&f](const char* p) { f.commit(p); });
}

Status write_report_json(const std::string& path, const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                         const std::vector<MonthReturn>& months, bool write_over) {
  auto file = write_over ? OutputFile::create_over(path) : OutputFile::create(path);
  if (!file) return std::move(file).error();
  JsonWriter j;
  j.set_sink([&f = *file](std::string_view part) { f.append(part); });
  report_json(j, r, m, st, months);
  j.flush();
  return file->close();
}

// Measures one file's job on the thread that runs it (measurement only).
class JobTimer {
 public:
  explicit JobTimer(ReportFileTimes::Time* out) : out_(out) {
    if (out_) {
      wall_ = monotonic_ns();
      cpu_ = thread_cpu_ns();
    }
  }
  ~JobTimer() {
    if (!out_) return;
    out_->wall_ms = static_cast<double>(monotonic_ns() - wall_) / 1e6;
    out_->cpu_ms = static_cast<double>(thread_cpu_ns() - cpu_) / 1e6;
  }
  JobTimer(const JobTimer&) = delete;
  JobTimer& operator=(const JobTimer&) = delete;

 private:
  static std::int64_t thread_cpu_ns() noexcept {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  }
  ReportFileTimes::Time* out_;
  std::int64_t wall_ = 0, cpu_ = 0;
};

Status write_text(const std::string& path, std::string_view text, bool write_over) {
  auto file = write_over ? OutputFile::create_over(path) : OutputFile::create(path);
  if (!file) return std::move(file).error();
  file->append(text);
  return file->close();
}

}  // namespace

std::string equity_csv(const BacktestResult& r) {
  const HugeVector<char> rows = equity_rows(r, 0, r.equity.ts_ns.size());
  return std::string(kEquityHeader) + std::string(rows.data(), rows.size());
}

Status write_report(const std::string& dir, const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                    const ReportOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "create output directory " + dir + ": " + ec.message());
  // Both pages list the calendar months: one pass over the curve for the two.
  std::vector<MonthReturn> own_months;
  if (!options.monthly) own_months = monthly_returns(r);
  const std::vector<MonthReturn>& months = options.monthly ? *options.monthly : own_months;
  // The HTML report is independent of the other files: build and write it on
  // its own thread so it overlaps with them.
  ReportFileTimes* times = options.times;
  auto slot = [times](ReportFileTimes::Time ReportFileTimes::*member) { return times ? &(times->*member) : nullptr; };
  Status s_html;
  std::thread html_worker;
  if (options.html)
    html_worker = std::thread([&] {
      JobTimer t(slot(&ReportFileTimes::html));
      s_html = write_backtest_html(dir + "/report.html", r, m, st, options.bars, &months, options.write_over);
    });
  // The equity curve has a row per bar: format its second half on the second
  // core while this thread writes the other files and streams the first half.
  const std::size_t n = options.equity_csv ? r.equity.ts_ns.size() : 0;
  const std::size_t mid = n / 2;
  HugeVector<char> second_half;
  std::thread worker;
  if (options.equity_csv)
    worker = std::thread([&] {
      JobTimer t(slot(&ReportFileTimes::equity_second_half));
      second_half = equity_rows(r, mid, n);
    });
  Status s1, s2, s3;
  {
    JobTimer t(slot(&ReportFileTimes::json));
    s1 = write_report_json(dir + "/report.json", r, m, st, months, options.write_over);
  }
  {
    JobTimer t(slot(&ReportFileTimes::trades));
    s2 = write_text(dir + "/trades.csv", trades_csv(r), options.write_over);
  }
  if (options.equity_csv) {
    JobTimer t(slot(&ReportFileTimes::equity));  // including the wait for the second half
    if (auto eq = OutputFile::create(dir + "/equity.csv"); eq) {
      eq->append(kEquityHeader);
      stream_equity_rows(r, 0, mid, *eq);
      worker.join();
      eq->append(std::string_view(second_half.data(), second_half.size()));
      s3 = eq->close();
    } else {
      worker.join();
      s3 = std::move(eq).error();
    }
  }
  if (options.while_html) options.while_html();
  if (html_worker.joinable()) html_worker.join();
  if (!s1) return s1;
  if (!s2) return s2;
  if (!s3) return s3;
  return s_html;
}

std::string format_summary(const BacktestResult& r, const Metrics& m, const ReportStamp& st) {
  std::string s;
  auto row = [&s](std::string_view k, const std::string& v) { s += fmt::format("  {:<24}{:>20}\n", k, v); };
  s += fmt::format("Backtest  {}  on  {} ({})\n", st.strategy_path, r.symbol, st.data_path);
  if (!r.equity.ts_ns.empty())
    s += fmt::format("Period    {} .. {}  ({} bars)\n", format_iso8601(r.equity.ts_ns.front(), r.date_only),
                     format_iso8601(r.equity.ts_ns.back(), r.date_only), m.bars);
  s += "  -----------------------------------------------\n";
  row("Initial cash", fixed(m.initial_cash, 2));
  row("Final equity", fixed(m.final_equity, 2));
  row("Total return", pct(m.total_return));
  row("Annualized return", pct(m.annualized_return));
  row("Sharpe", fixed(m.sharpe, 3));
  row("Sortino", fixed(m.sortino, 3));
  row("Calmar", fixed(m.calmar, 3));
  row("Probabilistic Sharpe", pct(m.psr));
  row("Max drawdown", pct(m.max_drawdown));
  row("Max DD duration (bars)", std::to_string(m.max_drawdown_duration));
  row("Trades (closed/open)", fmt::format("{} / {}", m.trades, m.open_trades));
  row("Win rate", pct(m.win_rate));
  row("Profit factor", fixed(m.profit_factor, 3));
  row("Avg win / avg loss", fmt::format("{} / {}", fixed(m.avg_win, 2), fixed(m.avg_loss, 2)));
  row("Expectancy / trade", fixed(m.expectancy, 2));
  row("Best / worst trade", fmt::format("{} / {}", fixed(m.best_trade, 2), fixed(m.worst_trade, 2)));
  row("Commission paid", fixed(m.commission_paid, 2));
  row("Exposure", pct(m.exposure));
  std::size_t rej = 0;
  for (const auto& [code, n] : r.rejections) rej += n;
  if (rej) row("Rejected orders", std::to_string(rej));
  std::size_t risk_rej = 0;
  for (const auto& [code, n] : r.risk_rejections) risk_rej += n;
  if (risk_rej) row("Risk rejections", std::to_string(risk_rej));
  if (r.stormguard_changes) row("StormGuard changes", fmt::format("{} (now {})", r.stormguard_changes, r.stormguard_state));
  if (r.kill_switch) row("Kill switch", "engaged");
  s += "  -----------------------------------------------\n";
  // Both rates: on a short file process start and report writing dominate the
  // whole command, and the loop's own rate is what scales with the data.
  const auto rate = [&](double secs) { return secs > 0 ? static_cast<double>(m.bars) / secs / 1e6 : 0.0; };
  s += fmt::format("  {} bars in {:.3f} s, {:.2f}M bars/s end to end; strategy loop {:.3f} s, {:.2f}M bars/s\n",
                   m.bars, st.elapsed_s, rate(st.elapsed_s), r.elapsed_s, rate(r.elapsed_s));
  return s;
}

}  // namespace te::backtest
