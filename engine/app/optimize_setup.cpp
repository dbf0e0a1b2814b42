#include "engine/app/optimize_setup.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include <fmt/core.h>

#include "engine/app/execution_options.hpp"
#include "engine/app/options.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/monte_carlo.hpp"
#include "engine/backtest/optimizer_report.hpp"
#include "engine/backtest/report.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/value_json.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/load_bars.hpp"

namespace te::app {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return make_error(Errc::io, "write " + path);
  return {};
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f} %", v * 100) : "n/a"; }
std::string sig(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "n/a"; }

}  // namespace

Result<backtest::SearchPlan> make_plan(const OptimizeSettings& s) {
  backtest::SearchPlan plan;
  for (const auto& spec : s.axes) {
    auto a = backtest::parse_axis(spec);
    if (!a) return std::move(a).error();
    plan.space.axes.push_back(std::move(*a));
  }
  TE_TRY(backtest::validate_space(plan.space));
  for (const auto& c : s.constraints) {
    auto parsed = backtest::parse_constraint(c, plan.space);
    if (!parsed) return std::move(parsed).error();
    plan.space.constraints.push_back(std::move(*parsed));
  }
  const std::string search = s.method == "walk-forward" ? s.search : s.method;
  auto method = backtest::parse_search_method(search);
  if (!method) return std::move(method).error();
  plan.method = *method;
  plan.samples = s.samples;
  plan.seed = s.seed;
  plan.shard = s.shard;
  plan.shards = s.shards;
  auto total = backtest::space_size(plan);
  if (!total) return std::move(total).error();
  return plan;
}

Result<SearchInputs> load_search(OptimizeSettings& s, bool use_cache) {
  SearchInputs in;
  auto plan = make_plan(s);
  if (!plan) return std::move(plan).error();
  in.plan = std::move(*plan);
  auto objective = backtest::parse_objective(s.objective);
  if (!objective) return std::move(objective).error();
  in.objective = *objective;
  auto params = parse_params(s.fixed_params);
  if (!params) return std::move(params).error();
  for (const auto& [name, value] : *params)
    for (const auto& a : in.plan.space.axes)
      if (a.name == name) return make_error(Errc::invalid_argument, "--param " + name + " is also searched (--grid)");
  auto range = parse_time_range(s.start, s.end);
  if (!range) return std::move(range).error();
  ExecutionFlags flags;
  std::unique_ptr<CLI::App> parser;
  TE_TRY(parse_execution_args(s.execution, flags, parser));
  auto execution = resolve_execution(flags);
  if (!execution) return std::move(execution).error();
  auto indicator_files = script::find_indicator_files(s.indicators_dir);
  if (!indicator_files) return std::move(indicator_files).error();
  if (s.blocks != 0 && (s.blocks < 4 || s.blocks % 2 || s.blocks > 32))
    return make_error(Errc::invalid_argument, fmt::format("--blocks must be 0 or an even number in 4..32, was {}", s.blocks));

  auto data_hash = std::async(std::launch::async, [path = s.data] { return sha256_file_hex(path); });
  auto source = script::read_strategy(s.strategy);
  if (!source) return std::move(source).error();
  in.strategy = std::move(*source);
  data::LoadOptions lo;
  lo.symbol = s.symbol.empty() ? data::symbol_from_path(s.data) : s.symbol;
  lo.start_ns = range->start_ns;
  lo.end_ns = range->end_ns;
  lo.cache.read = lo.cache.write = use_cache;
  lo.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  auto bars = data::load_bars(s.data, lo);
  auto dh = data_hash.get();
  if (!bars) return std::move(bars).error();
  if (!dh) return std::move(dh).error();
  in.bars = std::move(*bars);
  s.strategy_sha256 = in.strategy.sha256;
  s.data_sha256 = *dh;

  in.base.params = *params;
  apply_execution(*execution, in.base);
  if (in.base.risk) {
    // Operator triggers would make a search's results depend on when someone
    // acted: a search is reproducible or it is worthless.
    if (!in.base.risk->kill_switch_file.empty())
      return make_error(Errc::invalid_argument,
                        "a kill-switch file (--kill-switch-file or [risk] kill_switch_file) is an operator control for "
                        "a running backtest; optimize cannot use it (use --kill-switch-at for a reproducible one)");
    in.base.risk->kill_switch_signal = false;
  }
  s.config_sha256 = execution->config_sha256;
  in.fill_model = std::string(exec::to_string(in.base.exchange.fill));
  in.commission = in.base.exchange.commission.rate;
  in.base.indicator_files = std::move(*indicator_files);
  s.indicator_files.clear();
  for (const auto& f : in.base.indicator_files) s.indicator_files.push_back(f.path + "=" + f.sha256);
  in.base.closewatch_timeout_bars = s.closewatch_timeout;
  in.base.seed = s.strategy_seed;
  in.base.keep_transitions = false;
  in.combinations = *backtest::space_size(in.plan);
  return in;
}

std::string manifest_json(const OptimizeSettings& s, std::uint64_t combinations) {
  JsonWriter j;
  j.begin_object();
  j.field("kind", "trading-engine optimize");
  j.field("format", 2);
  j.field("strategy", s.strategy);
  j.field("strategy_sha256", s.strategy_sha256);
  j.field("data", s.data);
  j.field("data_sha256", s.data_sha256);
  j.field("symbol", s.symbol);
  j.field("start", s.start);
  j.field("end", s.end);
  j.field("method", s.method);
  j.field("search", s.search);
  j.field("objective", s.objective);
  j.field("min_trades", s.min_trades);
  j.field("samples", s.samples);
  j.field("seed", s.seed);
  j.field("blocks", s.blocks);
  j.key("space").begin_array();
  for (const auto& a : s.axes) j.value(a);
  j.end_array();
  j.key("constraints").begin_array();
  for (const auto& c : s.constraints) j.value(c);
  j.end_array();
  j.key("params").begin_array();
  for (const auto& p : s.fixed_params) j.value(p);
  j.end_array();
  j.key("execution").begin_array();
  for (const auto& e : s.execution) j.value(e);
  j.end_array();
  j.field("config_sha256", s.config_sha256);
  j.field("indicators_dir", s.indicators_dir);
  j.key("indicator_files").begin_array();
  for (const auto& f : s.indicator_files) j.value(f);
  j.end_array();
  j.field("closewatch_timeout", s.closewatch_timeout);
  j.field("strategy_seed", s.strategy_seed);
  j.field("train", s.train);
  j.field("test", s.test);
  j.field("anchored", s.anchored);
  j.field("warmup_bars", s.warmup_bars);
  j.field("combinations", combinations);
  j.field("shard", static_cast<std::uint64_t>(s.shard));
  j.field("shards", static_cast<std::uint64_t>(s.shards));
  j.end_object();
  return j.str();
}

std::string manifest_identity(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("\"shard\":") == std::string::npos && line.find("\"shards\":") == std::string::npos) out += line + "\n";
  return out;
}

Result<OptimizeSettings> settings_from_manifest(const std::string& path) {
  auto v = parse_json(read_text(path));
  if (!v) return make_error(Errc::parse, path + ": " + v.error().message);
  const Value& m = *v;
  std::string missing;
  auto str = [&](const char* k) -> std::string {
    const Value* x = m.find(k);
    if (x && x->is_string()) return x->as_string();
    missing += std::string(missing.empty() ? "" : ", ") + k;
    return {};
  };
  auto number = [&](const char* k) -> double {
    const Value* x = m.find(k);
    if (x && x->is_number()) return x->as_double();
    missing += std::string(missing.empty() ? "" : ", ") + k;
    return 0;
  };
  auto strings = [&](const char* k) {
    std::vector<std::string> out;
    const Value* x = m.find(k);
    if (!x || !x->is_array()) {
      missing += std::string(missing.empty() ? "" : ", ") + k;
      return out;
    }
    for (const Value& e : x->as_array())
      if (e.is_string()) out.push_back(e.as_string());
    return out;
  };
  OptimizeSettings s;
  if (str("kind") != "trading-engine optimize") return make_error(Errc::parse, path + " is not an optimize manifest");
  s.strategy = str("strategy");
  s.strategy_sha256 = str("strategy_sha256");
  s.data = str("data");
  s.data_sha256 = str("data_sha256");
  s.symbol = str("symbol");
  s.start = str("start");
  s.end = str("end");
  s.method = str("method");
  s.search = str("search");
  s.objective = str("objective");
  s.min_trades = static_cast<std::uint64_t>(number("min_trades"));
  s.samples = static_cast<std::uint64_t>(number("samples"));
  s.seed = static_cast<std::uint64_t>(m.find("seed") && m.find("seed")->is_int() ? m.find("seed")->as_int() : 0);
  s.blocks = static_cast<std::uint64_t>(number("blocks"));
  s.axes = strings("space");
  s.constraints = strings("constraints");
  s.fixed_params = strings("params");
  const Value* format = m.find("format");
  if (format && format->is_number() && format->as_double() < 2) {
    // Format 1 stored these four settings only.
    s.execution = {"--cash=" + format_double(number("cash")), "--commission=" + format_double(number("commission")),
                   "--fill=" + str("fill"), "--lot-size=" + format_double(number("lot_size"))};
  } else {
    s.execution = strings("execution");
    s.config_sha256 = str("config_sha256");
    s.indicators_dir = str("indicators_dir");
    s.indicator_files = strings("indicator_files");
  }
  s.closewatch_timeout = static_cast<std::int64_t>(number("closewatch_timeout"));
  s.strategy_seed = static_cast<std::uint64_t>(number("strategy_seed"));
  s.train = str("train");
  s.test = str("test");
  const Value* anchored = m.find("anchored");
  s.anchored = anchored && anchored->is_bool() && anchored->as_bool();
  s.warmup_bars = static_cast<std::uint64_t>(number("warmup_bars"));
  s.shard = static_cast<std::uint32_t>(number("shard"));
  s.shards = static_cast<std::uint32_t>(number("shards"));
  if (!missing.empty()) return make_error(Errc::parse, path + ": missing or mistyped " + missing);
  return s;
}

Status finish_search(const std::string& dir, const OptimizeSettings& s, const SearchInputs& in, unsigned threads,
                     std::uint64_t mc_runs, bool quiet, const std::string& engine_version) {
  backtest::SummaryOptions so;
  so.json_path = dir + "/results.json";
  so.seed = s.seed;
  auto summary = backtest::summarize_search(in.plan, in.objective, dir + "/results.csv", so);
  if (!summary) return std::move(summary).error();

  // The best combination again, this time with its equity curve and trades:
  // a full backtest report in DIR/best/.
  std::optional<backtest::BacktestResult> best_run;
  std::optional<backtest::Metrics> best_metrics;
  if (summary->best) {
    backtest::BacktestConfig cfg = in.base;
    for (std::size_t k = 0; k < summary->best->values.size(); ++k)
      cfg.params.emplace_back(in.plan.space.axes[k].name, summary->best->values[k]);
    auto r = backtest::run_backtest(cfg, in.bars, in.strategy);
    if (!r) return std::move(r).error();
    best_metrics = backtest::compute_metrics(*r);
    backtest::ReportStamp stamp;
    stamp.engine_version = engine_version;
    stamp.strategy_path = s.strategy;
    stamp.strategy_sha256 = s.strategy_sha256;
    stamp.data_path = s.data;
    stamp.data_sha256 = s.data_sha256;
    stamp.seed = s.strategy_seed;
    stamp.params = r->params;
    stamp.fill_model = in.fill_model;
    stamp.commission = in.commission;
    stamp.config_sha256 = sha256_hex(backtest::canonical_config(cfg, r->params, in.bars.symbol(), 0, 0));
    backtest::ReportOptions ro;
    ro.bars = &in.bars;
    TE_TRY(backtest::write_report(dir + "/best", *r, *best_metrics, stamp, ro));
    if (mc_runs > 0) {
      std::vector<double> pnl;
      for (const auto& t : r->trades)
        if (!t.open()) pnl.push_back(t.pnl_net());
      backtest::MonteCarloConfig mc;
      mc.runs = mc_runs;
      mc.seed = s.seed;
      mc.threads = threads;
      const auto mcr = backtest::run_monte_carlo(backtest::trade_returns_of(pnl, r->initial_cash),
                                                 backtest::bar_returns_of(r->equity.equity, r->initial_cash),
                                                 r->initial_cash, r->final_equity, best_metrics->max_drawdown, mc);
      TE_TRY(write_text(dir + "/best/monte_carlo.json", backtest::monte_carlo_json(mcr)));
      TE_TRY(write_text(dir + "/best/monte_carlo.html",
                        backtest::monte_carlo_html(mcr, s.strategy + " on " + in.bars.symbol() + " (best combination)")));
    }
    best_run = std::move(*r);
  }

  backtest::SearchReportInput ri;
  ri.plan = &in.plan;
  ri.objective = in.objective;
  ri.min_trades = s.min_trades;
  ri.title = "Optimisation: " + std::filesystem::path(s.strategy).stem().string() + " on " + in.bars.symbol();
  ri.subtitle = s.strategy + " on " + s.data;
  for (const auto& a : s.axes) ri.subtitle += "   " + a;
  ri.settings = {{"Strategy", s.strategy}, {"Data", s.data}, {"Bars", std::to_string(in.bars.size())}};
  if (!s.constraints.empty()) {
    std::string c;
    for (const auto& x : s.constraints) c += (c.empty() ? "" : "; ") + x;
    ri.settings.emplace_back("Constraints", c);
  }
  if (s.method == "random") ri.settings.emplace_back("Samples / seed", fmt::format("{} / {}", s.samples, s.seed));
  if (best_run) {
    ri.best_run = &*best_run;
    ri.best_metrics = &*best_metrics;
  }
  TE_TRY(backtest::write_search_reports(dir, ri, *summary));

  if (!quiet) {
    const auto& sm = *summary;
    std::printf("Optimisation  %s on %s  (%s, objective %s, %llu combinations: %llu valid, %llu skipped, %llu failed)\n",
                s.strategy.c_str(), in.bars.symbol().c_str(), s.method.c_str(), s.objective.c_str(),
                static_cast<unsigned long long>(sm.rows), static_cast<unsigned long long>(sm.valid),
                static_cast<unsigned long long>(sm.skipped), static_cast<unsigned long long>(sm.faulted + sm.errors));
    std::string head = fmt::format("  {:>6}", "combo");
    for (const auto& a : in.plan.space.axes) head += fmt::format(" {:>10}", a.name);
    head += fmt::format(" {:>11} {:>7} {:>10} {:>9} {:>9}\n", s.objective, "trades", "return", "max dd", "PSR");
    std::fputs(head.c_str(), stdout);
    for (std::size_t i = 0; i < sm.top.size() && i < 10; ++i) {
      const auto& r = sm.top[i];
      std::string row = fmt::format("  {:>6}", r.index);
      for (const auto& v : r.values) row += fmt::format(" {:>10}", v);
      row += fmt::format(" {:>11} {:>7} {:>10} {:>9} {:>9}\n", sig(r.objective), r.metrics.trades, pct(r.metrics.total_return),
                         pct(r.metrics.max_drawdown), pct(r.metrics.psr));
      std::fputs(row.c_str(), stdout);
    }
    if (!sm.best) std::printf("  no valid combination (every one faulted, was skipped or had fewer than %llu trades)\n",
                              static_cast<unsigned long long>(s.min_trades));
    std::printf("  deflated Sharpe ratio: %s\n", backtest::dsr_verdict(sm.dsr).c_str());
    if (sm.pbo) std::printf("  probability of backtest overfitting: %s\n", backtest::pbo_verdict(*sm.pbo).c_str());
    else std::printf("  probability of backtest overfitting: %s\n", sm.pbo_note.c_str());
    std::printf("  results in %s/ (results.csv, results.json, optimization.json, report.html, best/)\n", dir.c_str());
    std::fflush(stdout);
  }
  return {};
}

}  // namespace te::app
