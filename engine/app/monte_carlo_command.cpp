// `monte-carlo DIR`: Monte Carlo resampling of a finished backtest's trades and
// bar returns (engine/backtest/monte_carlo.hpp), from its output files.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "engine/app/cli_checks.hpp"
#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/backtest/monte_carlo.hpp"
#include "engine/backtest/stats.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/value_json.hpp"

namespace te::app {
namespace {

struct McArgs {
  std::string dir, out;
  std::uint64_t runs = 1000, seed = 1, block = 0;
  unsigned threads = 0;
  bool quiet = false;
};

std::vector<std::string_view> split(std::string_view l) {
  std::vector<std::string_view> f;
  while (true) {
    const auto c = l.find(',');
    f.push_back(l.substr(0, c));
    if (c == std::string_view::npos) break;
    l = l.substr(c + 1);
  }
  return f;
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  out << text;
  out.close();
  if (!out) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  return {};
}

int run_mc(const McArgs& a) {
  std::ifstream rj(a.dir + "/report.json", std::ios::binary);
  if (!rj) return print_error(a.dir + "/report.json: cannot be read (is it a backtest output directory?)"), 1;
  std::ostringstream ss;
  ss << rj.rdbuf();
  auto report = parse_json(ss.str());
  if (!report) return print_error(a.dir + "/report.json: " + report.error().message), 1;
  const Value* ic = report->find("initial_cash");
  const Value* mdd = report->find("max_drawdown");
  const Value* fe = report->find("final_equity");
  if (!ic || !ic->is_number() || !fe || !fe->is_number())
    return print_error(a.dir + "/report.json: initial_cash and final_equity are required"), 1;
  const double initial = ic->as_double();

  // Closed trades' pnl_net (column 12), in file order.
  std::vector<double> pnl;
  {
    std::ifstream in(a.dir + "/trades.csv", std::ios::binary);
    if (!in) return print_error(a.dir + "/trades.csv: cannot be read"), 1;
    std::string line;
    std::getline(in, line);
    if (line.rfind("trade,symbol,side,entry_time,entry_price,exit_time,exit_price,quantity,", 0) != 0)
      return print_error(a.dir + "/trades.csv:1: not a trades.csv header"), 1;
    std::size_t n = 1;
    while (std::getline(in, line)) {
      ++n;
      const auto f = split(line);
      double v = 0;
      if (f.size() < 12) return print_error(fmt::format("{}/trades.csv:{}: expected at least 12 columns", a.dir, n)), 1;
      if (f[5].empty()) continue;  // still open
      if (!parse_double(f[11], v)) return print_error(fmt::format("{}/trades.csv:{}: bad pnl_net", a.dir, n)), 1;
      pnl.push_back(v);
    }
  }
  std::vector<double> equity;
  {
    std::ifstream in(a.dir + "/equity.csv", std::ios::binary);
    if (!in) return print_error(a.dir + "/equity.csv: cannot be read"), 1;
    std::string line;
    std::getline(in, line);
    std::size_t n = 1;
    while (std::getline(in, line)) {
      ++n;
      const auto f = split(line);
      double v = 0;
      if (f.size() < 4 || !parse_double(f[3], v)) return print_error(fmt::format("{}/equity.csv:{}: bad row", a.dir, n)), 1;
      equity.push_back(v);
    }
  }
  backtest::MonteCarloConfig cfg;
  cfg.runs = a.runs;
  cfg.seed = a.seed;
  cfg.block = a.block;
  cfg.threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  if (cfg.runs == 0) return print_error("--runs must be > 0"), 1;
  const auto r = backtest::run_monte_carlo(backtest::trade_returns_of(pnl, initial), backtest::bar_returns_of(equity, initial),
                                           initial, fe->as_double(), mdd && mdd->is_number() ? mdd->as_double() : 0.0, cfg);
  const std::string out = a.out.empty() ? a.dir : a.out;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return print_error("--out " + out + ": cannot create the directory: " + ec.message()), 1;
  if (auto st = write_text(out + "/monte_carlo.json", backtest::monte_carlo_json(r)); !st) return print_error(st.error().message), 1;
  if (auto st = write_text(out + "/monte_carlo.html", backtest::monte_carlo_html(r, a.dir)); !st)
    return print_error(st.error().message), 1;
  if (!a.quiet) {
    std::printf("Monte Carlo  %s  (%zu simulations per method, seed %llu)\n", a.dir.c_str(), cfg.runs,
                static_cast<unsigned long long>(cfg.seed));
    std::printf("  %-34s %8s %14s %14s %14s %10s %10s\n", "method", "P(loss)", "equity p5", "equity p50", "equity p95",
                "maxDD p50", "maxDD p95");
    for (const auto& m : r.methods)
      std::printf("  %-34s %7.1f%% %14.2f %14.2f %14.2f %9.2f%% %9.2f%%\n", m.title.c_str(), m.prob_loss * 100,
                  backtest::percentile_sorted(m.final_equity, 5), backtest::percentile_sorted(m.final_equity, 50),
                  backtest::percentile_sorted(m.final_equity, 95), backtest::percentile_sorted(m.max_drawdown, 50) * 100,
                  backtest::percentile_sorted(m.max_drawdown, 95) * 100);
    std::printf("  written to %s/monte_carlo.json and monte_carlo.html\n", out.c_str());
  }
  return 0;
}

}  // namespace

void register_monte_carlo(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<McArgs>();
  auto* cmd = app.add_subcommand("monte-carlo", "Monte Carlo resampling of a backtest's trades and returns");
  cmd->footer(
      "Reads DIR/report.json, trades.csv and equity.csv; shuffles the trade order, bootstraps the trades and\n"
      "block-bootstraps the bar returns; writes percentiles of final equity and max drawdown to\n"
      "monte_carlo.json and monte_carlo.html. The same --seed gives the same numbers.\n\n"
      "Example:\n"
      "  trading-engine monte-carlo out/sma --runs 2000 --seed 7");
  cmd->add_option("dir", a->dir, "Backtest output directory")->required();
  cmd->add_option("--runs", a->runs, "Simulations per method")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed")->check(unsigned_whole_number())->capture_default_str();
  cmd->add_option("--block", a->block, "Block length of the bar bootstrap (0: sqrt(bars))")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Worker threads (default: all cores)");
  cmd->add_option("--out", a->out, "Directory for the outputs (default: DIR)");
  cmd->add_flag("-q,--quiet", a->quiet, "Print nothing on success");
  cmd->callback([a, &ctx] { ctx.exit_code = run_mc(*a); });
}

}  // namespace te::app
