#include "engine/backtest/walk_forward.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/core.h>

#include "engine/backtest/monte_carlo.hpp"
#include "engine/backtest/optimizer_report.hpp"
#include "engine/backtest/report_html.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::backtest {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Length {
  bool bars = true;
  std::int64_t count = 0;   // bars, or months, or ns
  bool months = false;
};

Result<Length> parse_length(const std::string& text, const char* what) {
  Length l;
  if (text.empty()) return make_error(Errc::invalid_argument, std::string(what) + " is missing");
  const char unit = text.back();
  std::int64_t n = 0;
  if (std::isdigit(static_cast<unsigned char>(unit))) {
    if (!parse_int64(text, n) || n < 1)
      return make_error(Errc::invalid_argument, std::string(what) + " " + text + ": expected a bar count >= 1 or a duration like 2y, 6m, 8w, 30d, 12h");
    l.count = n;
    return l;
  }
  if (!parse_int64(text.substr(0, text.size() - 1), n) || n < 1)
    return make_error(Errc::invalid_argument, std::string(what) + " " + text + ": expected a bar count >= 1 or a duration like 2y, 6m, 8w, 30d, 12h");
  l.bars = false;
  switch (unit) {
    case 'y': l.months = true; l.count = 12 * n; break;
    case 'm': l.months = true; l.count = n; break;
    case 'w': l.count = 7 * n * kNsPerDay; break;
    case 'd': l.count = n * kNsPerDay; break;
    case 'h': l.count = n * kNsPerHour; break;
    default:
      return make_error(Errc::invalid_argument, std::string(what) + " " + text + ": unknown unit (y, m, w, d, h)");
  }
  return l;
}

std::int64_t add_length(std::int64_t ts, const Length& l, std::int64_t times) {
  if (!l.months) return ts + l.count * times;
  const std::int64_t day = floor_days(ts);
  const std::int64_t tod = ts - day * kNsPerDay;
  const CivilDate d = civil_from_days(day);
  std::int64_t m = static_cast<std::int64_t>(d.month) - 1 + l.count * times;
  const std::int64_t y = d.year + (m >= 0 ? m / 12 : -((-m + 11) / 12));
  m = ((m % 12) + 12) % 12;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned dim = kDays[m];
  if (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) dim = 29;
  return days_from_civil(y, static_cast<unsigned>(m + 1), std::min(d.day, dim)) * kNsPerDay + tod;
}

std::size_t index_at(const model::BarSeries& data, std::int64_t ts) {
  const auto t = data.ts_ns();
  return static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), ts) - t.begin());
}

Status write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  return {};
}

void num(std::string& s, double v) {
  if (std::isfinite(v)) append_double(s, v);
}

}  // namespace

Result<std::vector<WalkForwardWindow>> walk_forward_windows(const model::BarSeries& data, const std::string& train,
                                                            const std::string& test, bool anchored) {
  auto tr = parse_length(train, "--train");
  if (!tr) return std::move(tr).error();
  auto te_ = parse_length(test, "--test");
  if (!te_) return std::move(te_).error();
  if (tr->bars != te_->bars)
    return make_error(Errc::invalid_argument, "--train and --test must both be bar counts or both durations");
  std::vector<WalkForwardWindow> out;
  const std::size_t n = data.size();
  if (n == 0) return make_error(Errc::invalid_argument, "walk-forward: no bars");
  for (std::int64_t k = 0;; ++k) {
    WalkForwardWindow w;
    if (tr->bars) {
      const auto step = static_cast<std::size_t>(te_->count), len = static_cast<std::size_t>(tr->count);
      w.train_begin = anchored ? 0 : static_cast<std::size_t>(k) * step;
      w.train_end = anchored ? len + static_cast<std::size_t>(k) * step : w.train_begin + len;
      w.test_begin = w.train_end;
      w.test_end = std::min(n, w.test_begin + step);
    } else {
      const std::int64_t t0 = data.ts_ns()[0];
      const std::int64_t train_start = anchored ? t0 : add_length(t0, *te_, k);
      const std::int64_t train_end = add_length(train_start, *tr, 1);
      const std::int64_t test_start = anchored ? add_length(add_length(t0, *tr, 1), *te_, k) : train_end;
      w.train_begin = index_at(data, train_start);
      w.train_end = index_at(data, test_start);
      w.test_begin = w.train_end;
      w.test_end = index_at(data, add_length(test_start, *te_, 1));
    }
    if (w.test_begin >= n) break;
    if (w.train_end > w.train_begin + 1 && w.test_end > w.test_begin) out.push_back(w);
    if (k > 100000) break;
  }
  if (out.empty())
    return make_error(Errc::invalid_argument,
                      fmt::format("walk-forward: --train {} --test {} leaves no complete window in {} bars", train, test, n));
  return out;
}

Result<WalkForwardResult> run_walk_forward(const WalkForwardJob& job) {
  auto windows = walk_forward_windows(*job.data, job.train, job.test, job.anchored);
  if (!windows) return std::move(windows).error();
  WalkForwardResult out;
  out.objective = std::string(to_string(job.objective));
  for (const auto& a : job.plan.space.axes) out.param_names.push_back(a.name);
  const model::BarSeries& data = *job.data;
  const auto ts = data.ts_ns();
  auto history_start = [&](std::size_t begin) {
    return job.warmup_bars && begin > job.warmup_bars ? begin - job.warmup_bars : 0;
  };

  // Stitched out-of-sample run.
  std::size_t oos_bars = 0;
  for (const auto& w : *windows) oos_bars += w.test_end - w.test_begin;
  BacktestResult st;
  st.symbol = data.symbol();
  st.initial_cash = job.base.initial_cash;
  st.date_only = data.date_only();
  st.equity.ts_ns.reserve(oos_bars);
  st.equity.cash.reserve(oos_bars);
  st.equity.position_value.reserve(oos_bars);
  st.equity.equity.reserve(oos_bars);
  st.equity.drawdown.reserve(oos_bars);
  double level = job.base.initial_cash, peak = job.base.initial_cash;
  std::int64_t bar_offset = 0, trade_id = 0;

  const unsigned width = windows->size() >= 100 ? 3 : 2;
  double is_ann_sum = 0, wfe_sum = 0;
  std::size_t is_ann_n = 0, wfe_n = 0;
  for (std::size_t k = 0; k < windows->size(); ++k) {
    const WalkForwardWindow& w = (*windows)[k];
    WalkForwardWindowResult wr;
    wr.w = w;
    wr.train_start_ns = ts[w.train_begin];
    wr.train_end_ns = ts[w.train_end - 1];
    wr.test_start_ns = ts[w.test_begin];
    wr.test_end_ns = ts[w.test_end - 1];
    const std::string wdir = fmt::format("{}/windows/{:0{}}", job.dir, k + 1, width);
    std::error_code ec;
    std::filesystem::create_directories(wdir, ec);
    if (ec) return make_error(Errc::io, "create " + wdir + ": " + ec.message());

    // 1. Search the train window.
    const std::size_t h0 = history_start(w.train_begin);
    const model::BarSeries train = data.slice(h0, w.train_end);
    SearchJob sj;
    sj.plan = job.plan;
    sj.objective = job.objective;
    sj.min_trades = job.min_trades;
    sj.blocks = job.blocks;
    sj.base = job.base;
    sj.data = &train;
    sj.warmup_bars = w.train_begin - h0;
    sj.strategy = job.strategy;
    sj.threads = job.threads;
    sj.results_path = wdir + "/train_results.csv";
    sj.stop = job.stop;
    if (job.progress)
      sj.progress = [&, k](std::uint64_t done, std::uint64_t total, const ComboResult*) { job.progress(k, windows->size(), done, total); };
    auto sr = run_search(sj);
    if (!sr) return make_error(sr.error().code, fmt::format("window {}: {}", k + 1, sr.error().message));
    if (!sr->complete) {
      out.windows_done = k;
      for (std::size_t r = k; r < windows->size(); ++r) out.windows.push_back({});
      return out;
    }
    SummaryOptions so;
    so.top = 1;
    so.pbo_max_combinations = 0;
    auto summary = summarize_search(job.plan, job.objective, sj.results_path, so);
    if (!summary) return std::move(summary).error();
    wr.best = summary->best;

    // 2. Run the choice out of sample on the test window.
    const std::size_t h1 = history_start(w.test_begin);
    const model::BarSeries test = data.slice(h1, w.test_end);
    BacktestConfig cfg = job.base;
    cfg.warmup_bars = w.test_begin - h1;
    cfg.keep_transitions = false;
    if (wr.best)
      for (std::size_t a = 0; a < wr.best->values.size(); ++a) {
        const std::string& name = job.plan.space.axes[a].name;
        std::erase_if(cfg.params, [&](const auto& p) { return p.first == name; });
        cfg.params.emplace_back(name, wr.best->values[a]);
      }
    BacktestResult oos;
    if (wr.best) {
      auto r = run_backtest(cfg, test, *job.strategy);
      if (!r) return make_error(r.error().code, fmt::format("window {}: {}", k + 1, r.error().message));
      oos = std::move(*r);
    } else {  // nothing valid to trade: the window stays in cash
      oos.symbol = data.symbol();
      oos.initial_cash = oos.final_cash = oos.final_equity = job.base.initial_cash;
      oos.date_only = data.date_only();
      const std::size_t nb = w.test_end - w.test_begin;
      oos.equity.ts_ns.reserve(nb);
      oos.equity.cash.reserve(nb);
      oos.equity.position_value.reserve(nb);
      oos.equity.equity.reserve(nb);
      oos.equity.drawdown.reserve(nb);
      for (std::size_t i = w.test_begin; i < w.test_end; ++i) {
        oos.equity.ts_ns.push_back(ts[i]);
        oos.equity.cash.push_back(job.base.initial_cash);
        oos.equity.position_value.push_back(0);
        oos.equity.equity.push_back(job.base.initial_cash);
        oos.equity.drawdown.push_back(0);
      }
      oos.bars = nb;
    }
    wr.oos = compute_metrics(oos);
    wr.oos_objective = objective_value(wr.oos, job.objective);
    const double is_ann = wr.best ? wr.best->metrics.annualized_return : kNaN;
    wr.efficiency = std::isfinite(is_ann) && is_ann > 0 ? wr.oos.annualized_return / is_ann : kNaN;
    if (std::isfinite(is_ann)) {
      is_ann_sum += is_ann;
      ++is_ann_n;
    }
    if (std::isfinite(wr.efficiency)) {
      wfe_sum += wr.efficiency;
      ++wfe_n;
    }
    ReportStamp stamp = job.stamp;
    stamp.params = oos.params;
    const model::BarSeries test_bars = data.slice(w.test_begin, w.test_end);
    ReportOptions ro;
    ro.bars = &test_bars;
    TE_TRY(write_report(wdir, oos, wr.oos, stamp, ro));

    // 3. Stitch: this window continues from the previous window's final equity.
    const double scale = oos.initial_cash > 0 ? level / oos.initial_cash : 1.0;
    for (std::size_t i = 0; i < oos.equity.equity.size(); ++i) {
      const double e = oos.equity.equity[i] * scale;
      peak = std::max(peak, e);
      st.equity.ts_ns.push_back(oos.equity.ts_ns[i]);
      st.equity.cash.push_back(oos.equity.cash[i] * scale);
      st.equity.position_value.push_back(oos.equity.position_value[i] * scale);
      st.equity.equity.push_back(e);
      st.equity.drawdown.push_back(peak > 0 ? (peak - e) / peak : 0);
    }
    for (portfolio::Trade t : oos.trades) {
      t.id = ++trade_id;
      t.entry_bar += bar_offset;
      if (!t.open()) t.exit_bar += bar_offset;
      t.quantity *= scale;
      t.entry_qty *= scale;
      t.exit_qty *= scale;
      t.entry_commission *= scale;
      t.exit_commission *= scale;
      t.pnl_gross *= scale;
      t.mae *= scale;
      t.mfe *= scale;
      st.trades.push_back(t);
    }
    st.fills += oos.fills;
    st.commission_paid += oos.commission_paid * scale;
    bar_offset += static_cast<std::int64_t>(oos.equity.equity.size());
    level = oos.final_equity * scale;
    out.windows.push_back(std::move(wr));
    out.windows_done = k + 1;
  }
  st.bars = st.equity.equity.size();
  st.final_equity = level;
  st.final_cash = st.equity.cash.size() ? st.equity.cash[st.equity.cash.size() - 1] : level;
  out.oos = compute_metrics(st);
  out.complete = true;
  const double is_mean = is_ann_n ? is_ann_sum / static_cast<double>(is_ann_n) : kNaN;
  out.efficiency = std::isfinite(is_mean) && is_mean > 0 ? out.oos.annualized_return / is_mean : kNaN;
  out.mean_window_efficiency = wfe_n ? wfe_sum / static_cast<double>(wfe_n) : kNaN;

  // The stitched out-of-sample report.
  const WalkForwardWindow& first = windows->front();
  const WalkForwardWindow& last = windows->back();
  const model::BarSeries oos_bars_series = data.slice(first.test_begin, last.test_end);
  ReportStamp stamp = job.stamp;
  ReportOptions ro;
  ro.bars = oos_bars_series.size() == st.bars ? &oos_bars_series : nullptr;
  TE_TRY(write_report(job.dir + "/oos", st, out.oos, stamp, ro));
  if (job.monte_carlo_runs > 0) {
    std::vector<double> pnl;
    for (const auto& t : st.trades)
      if (!t.open()) pnl.push_back(t.pnl_net());
    MonteCarloConfig mc;
    mc.runs = job.monte_carlo_runs;
    mc.seed = job.seed;
    mc.threads = job.threads;
    const auto r = run_monte_carlo(trade_returns_of(pnl, st.initial_cash), bar_returns_of(st.equity.equity, st.initial_cash),
                                   st.initial_cash, st.final_equity, out.oos.max_drawdown, mc);
    TE_TRY(write_text(job.dir + "/oos/monte_carlo.json", monte_carlo_json(r)));
    TE_TRY(write_text(job.dir + "/oos/monte_carlo.html", monte_carlo_html(r, "stitched out-of-sample run")));
  }

  // walk_forward.csv
  std::string csv = "window,train_start,train_end,test_start,test_end,train_bars,test_bars";
  for (const auto& p : out.param_names) csv += "," + p;
  csv += ",is_objective,is_total_return,is_annualized_return,is_trades,oos_objective,oos_total_return,"
         "oos_annualized_return,oos_sharpe,oos_max_drawdown,oos_trades,efficiency\n";
  const bool d = data.date_only();
  for (std::size_t k = 0; k < out.windows.size(); ++k) {
    const auto& wr = out.windows[k];
    csv += std::to_string(k + 1) + "," + format_iso8601(wr.train_start_ns, d) + "," + format_iso8601(wr.train_end_ns, d) +
           "," + format_iso8601(wr.test_start_ns, d) + "," + format_iso8601(wr.test_end_ns, d) + "," +
           std::to_string(wr.w.train_end - wr.w.train_begin) + "," + std::to_string(wr.w.test_end - wr.w.test_begin);
    for (std::size_t a = 0; a < out.param_names.size(); ++a) csv += "," + (wr.best ? wr.best->values[a] : std::string());
    for (const double v : {wr.best ? wr.best->objective : kNaN, wr.best ? wr.best->metrics.total_return : kNaN,
                           wr.best ? wr.best->metrics.annualized_return : kNaN,
                           wr.best ? static_cast<double>(wr.best->metrics.trades) : kNaN, wr.oos_objective,
                           wr.oos.total_return, wr.oos.annualized_return, wr.oos.sharpe, wr.oos.max_drawdown,
                           static_cast<double>(wr.oos.trades), wr.efficiency}) {
      csv += ',';
      num(csv, v);
    }
    csv += '\n';
  }
  TE_TRY(write_text(job.dir + "/walk_forward.csv", csv));

  // walk_forward.json
  JsonWriter j;
  j.begin_object();
  j.field("objective", out.objective);
  j.field("train", job.train);
  j.field("test", job.test);
  j.field("anchored", job.anchored);
  j.field("windows_count", static_cast<std::uint64_t>(out.windows.size()));
  j.key("oos").begin_object();
  j.field("total_return", out.oos.total_return);
  j.field("annualized_return", out.oos.annualized_return);
  j.field("sharpe", out.oos.sharpe);
  j.field("sortino", out.oos.sortino);
  j.field("calmar", out.oos.calmar);
  j.field("max_drawdown", out.oos.max_drawdown);
  j.field("trades", out.oos.trades);
  j.field("final_equity", out.oos.final_equity);
  j.end_object();
  j.field("efficiency", out.efficiency);
  j.field("mean_window_efficiency", out.mean_window_efficiency);
  j.key("windows").begin_array();
  for (std::size_t k = 0; k < out.windows.size(); ++k) {
    const auto& wr = out.windows[k];
    j.begin_object();
    j.field("window", static_cast<std::uint64_t>(k + 1));
    j.field("train_start", format_iso8601(wr.train_start_ns, d));
    j.field("train_end", format_iso8601(wr.train_end_ns, d));
    j.field("test_start", format_iso8601(wr.test_start_ns, d));
    j.field("test_end", format_iso8601(wr.test_end_ns, d));
    j.key("params");
    if (wr.best) {
      j.begin_object();
      for (std::size_t a = 0; a < out.param_names.size(); ++a) j.field(out.param_names[a], wr.best->values[a]);
      j.end_object();
    } else {
      j.null();
    }
    j.field("is_objective", wr.best ? wr.best->objective : kNaN);
    j.field("is_annualized_return", wr.best ? wr.best->metrics.annualized_return : kNaN);
    j.field("oos_objective", wr.oos_objective);
    j.field("oos_total_return", wr.oos.total_return);
    j.field("oos_annualized_return", wr.oos.annualized_return);
    j.field("oos_trades", wr.oos.trades);
    j.field("efficiency", wr.efficiency);
    j.field("report", fmt::format("windows/{:0{}}/report.html", k + 1, width));
    j.end_object();
  }
  j.end_array();
  j.end_object();
  TE_TRY(write_text(job.dir + "/walk_forward.json", j.str()));

  // report.html
  JsonWriter h(0);
  h.begin_object();
  h.field("kind", "walk_forward");
  h.field("date_only", d);
  h.field("initial_cash", job.base.initial_cash);
  h.key("summary").begin_array();
  auto pair = [&h](const std::string& k, const std::string& v) {
    h.begin_array();
    h.value(k);
    h.value(v);
    h.end_array();
  };
  auto pct = [](double v) { return std::isfinite(v) ? fmt::format("{:.2f} %", v * 100) : std::string("n/a"); };
  auto sig = [](double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("n/a"); };
  pair("Windows", fmt::format("{} ({}, train {}, test {})", out.windows.size(), job.anchored ? "anchored" : "rolling", job.train, job.test));
  pair("Objective", out.objective);
  pair("OOS total return", pct(out.oos.total_return));
  pair("OOS annualized return", pct(out.oos.annualized_return));
  pair("OOS Sharpe", sig(out.oos.sharpe));
  pair("OOS max drawdown", pct(out.oos.max_drawdown));
  pair("OOS trades", std::to_string(out.oos.trades));
  pair("Walk-forward efficiency", sig(out.efficiency));
  pair("Mean window efficiency", sig(out.mean_window_efficiency));
  pair("Stitched OOS report", "oos/report.html");
  h.end_array();
  h.key("oos");
  write_curve_json(h, st.equity.ts_ns, st.equity.equity, 2000);
  h.key("window_starts").begin_array();
  for (const auto& wr : out.windows) h.value(static_cast<double>(wr.test_start_ns / kNsPerMs));
  h.end_array();
  h.key("window_columns").begin_array();
  for (const char* c : {"window", "test start", "test end"}) h.value(c);
  for (const auto& p : out.param_names) h.value(p);
  for (const char* c : {"IS objective", "OOS objective", "OOS return", "OOS trades", "efficiency"}) h.value(c);
  h.end_array();
  h.key("window_formats").begin_array();
  for (const char* f : {"int", "text", "text"}) h.value(f);
  for (std::size_t a = 0; a < out.param_names.size(); ++a) h.value("text");
  for (const char* f : {"num", "num", "pct", "int", "num"}) h.value(f);
  h.end_array();
  h.key("windows").begin_array();
  for (std::size_t k = 0; k < out.windows.size(); ++k) {
    const auto& wr = out.windows[k];
    h.begin_array();
    h.value(static_cast<std::int64_t>(k + 1));
    h.value(format_iso8601(wr.test_start_ns, d));
    h.value(format_iso8601(wr.test_end_ns, d));
    for (std::size_t a = 0; a < out.param_names.size(); ++a) {
      if (wr.best) h.value(wr.best->values[a]);
      else h.null();
    }
    h.value(wr.best ? wr.best->objective : kNaN);
    h.value(wr.oos_objective);
    h.value(wr.oos.total_return);
    h.value(static_cast<std::uint64_t>(wr.oos.trades));
    h.value(wr.efficiency);
    h.end_array();
  }
  h.end_array();
  h.key("is_objective").begin_array();
  for (const auto& wr : out.windows) h.value(wr.best ? wr.best->objective : kNaN);
  h.end_array();
  h.key("oos_objective").begin_array();
  for (const auto& wr : out.windows) h.value(wr.oos_objective);
  h.end_array();
  h.end_object();
  TE_TRY(write_html_page(job.dir + "/report.html", "Walk-forward: " + data.symbol(),
                         job.stamp.strategy_path + " on " + job.stamp.data_path, h.str()));
  return out;
}

std::string walk_forward_summary(const WalkForwardResult& r) {
  std::string s = fmt::format("Walk-forward  {} windows, objective {}\n", r.windows.size(), r.objective);
  s += fmt::format("  {:>3} {:>12} {:>12}", "win", "test start", "test end");
  for (const auto& p : r.param_names) s += fmt::format(" {:>9}", p);
  s += fmt::format(" {:>10} {:>10} {:>10} {:>7} {:>8}\n", "IS obj", "OOS obj", "OOS ret", "trades", "WFE");
  auto f = [](double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("n/a"); };
  for (std::size_t k = 0; k < r.windows.size(); ++k) {
    const auto& w = r.windows[k];
    s += fmt::format("  {:>3} {:>12} {:>12}", k + 1, format_iso8601(w.test_start_ns, true), format_iso8601(w.test_end_ns, true));
    for (std::size_t a = 0; a < r.param_names.size(); ++a) s += fmt::format(" {:>9}", w.best ? w.best->values[a] : "-");
    s += fmt::format(" {:>10} {:>10} {:>9.2f}% {:>7} {:>8}\n", f(w.best ? w.best->objective : kNaN), f(w.oos_objective),
                     w.oos.total_return * 100, w.oos.trades, f(w.efficiency));
  }
  s += fmt::format("  stitched OOS: total return {:.2f} %, annualized {:.2f} %, Sharpe {}, max drawdown {:.2f} %, {} trades\n",
                   r.oos.total_return * 100, r.oos.annualized_return * 100, f(r.oos.sharpe), r.oos.max_drawdown * 100,
                   r.oos.trades);
  s += fmt::format("  walk-forward efficiency {} (mean per window {})\n", f(r.efficiency), f(r.mean_window_efficiency));
  return s;
}

}  // namespace te::backtest
