// `trading-engine validate`: checks strategies (and a `run` config) without
// trading. Prints a summary table per strategy on stdout and one
// "file:line: message" line per problem on stderr; exit 0 when valid.
#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <set>

#include <fmt/core.h>

#include "engine/app/cli_checks.hpp"
#include "engine/app/command.hpp"
#include "engine/app/config_checks.hpp"
#include "engine/app/options.hpp"
#include "engine/app/progress.hpp"
#include "engine/app/sandbox_options.hpp"
#include "engine/app/strategy_validation.hpp"
#include "engine/config/config.hpp"
#include "engine/core/labels.hpp"

namespace te::app {
namespace {

struct ValidateArgs {
  std::string positional, strategy, config, indicators_dir;
  std::vector<std::string> params;
  std::size_t bars = 5000;
  std::size_t lookahead_cuts = 4;
  std::uint64_t seed = 42;
  bool strict = false;
  bool quiet = false;
  const CLI::App* cmd = nullptr;
};

std::string table(const std::vector<CheckRow>& rows) {
  std::size_t w0 = 5, w1 = 6;
  for (const auto& r : rows) {
    w0 = std::max(w0, r.check.size());
    w1 = std::max(w1, r.result.size());
  }
  std::string out = fmt::format("  {:<{}}  {:<{}}  {}\n", "check", w0, "result", w1, "detail");
  for (const auto& r : rows) out += fmt::format("  {:<{}}  {:<{}}  {}\n", r.check, w0, r.result, w1, r.detail);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Validates one strategy; prints its table and problems. Returns true when valid.
bool validate_one(const ValidateOptions& o, bool strict, bool quiet) {
  ProgressBar progress("validate", o.series + 1 + o.lookahead_cuts, "runs");
  ValidateOptions opts = o;
  opts.progress = [&progress](std::size_t done, std::size_t) { progress.update(done); };
  const ValidationReport rep = validate_strategy(opts);
  progress.finish();

  for (const auto& p : rep.problems) {
    const std::string text = p.warning ? (p.line > 0 ? fmt::format("{}:{}: warning: {}", p.file, p.line, p.message)
                                                     : fmt::format("{}: warning: {}", p.file, p.message))
                                       : p.text();
    // Problems and rows quote the strategy (params keys, values, messages): escaped for the terminal.
    std::fprintf(stderr, "%s\n", terminal_text(text).c_str());
    if (!p.detail.empty()) {
      std::string d = terminal_text(p.detail);
      std::size_t pos = 0;
      while (pos < d.size()) {
        std::size_t end = d.find('\n', pos);
        if (end == std::string::npos) end = d.size();
        std::fprintf(stderr, "    %s\n", d.substr(pos, end - pos).c_str());
        pos = end + 1;
      }
    }
  }
  std::fflush(stderr);
  const bool ok = rep.ok(strict);
  if (!quiet || !ok) {
    std::string out = fmt::format("validate {}{}\n", rep.path,
                                  rep.sha256.empty() ? "" : " (sha256 " + rep.sha256.substr(0, 12) + ")");
    out += table(rep.rows);
    if (!rep.indicators.empty()) out += "  indicators used: " + joined(rep.indicators) + "\n";
    if (!rep.calls.empty()) {
      std::vector<std::string> calls;
      for (const auto& [name, n] : rep.calls) calls.push_back(fmt::format("{} {}", name, n));
      out += "  callback calls in the dry run: " + joined(calls) + "\n";
    }
    const std::size_t e = rep.errors(), w = rep.warnings();
    out += fmt::format("{}: {} ({} error{}, {} warning{})\n", rep.path, ok ? "valid" : "NOT valid", e,
                       e == 1 ? "" : "s", w, w == 1 ? "" : "s");
    std::fputs(terminal_text(out).c_str(), stdout);
    std::fflush(stdout);
  }
  return ok;
}

int run_validate(const ValidateArgs& a) {
  if (!a.positional.empty() && !a.strategy.empty() && a.positional != a.strategy)
    return print_error("give the strategy once: either as an argument or with --strategy"), 2;
  const std::string strategy = a.strategy.empty() ? a.positional : a.strategy;
  if (strategy.empty() && a.config.empty())
    return print_error("nothing to validate: give a strategy file (validate strategies/x.lua) or --config F.toml"), 2;
  auto params = parse_params(a.params);
  if (!params) return print_error(params.error().message), 2;
  if (a.bars < 100 || a.bars > 10'000'000)
    return print_error(fmt::format("--bars must be between 100 and 10000000, was {}", a.bars)), 2;
  auto indicator_files = script::find_indicator_files(a.indicators_dir);
  if (!indicator_files) return print_error(indicator_files.error().message), 1;

  ValidateOptions base;
  base.bars = a.bars;
  base.lookahead_cuts = a.lookahead_cuts;
  base.seed = a.seed;
  base.indicator_files = std::move(*indicator_files);

  bool ok = true;
  // (path, overrides) pairs to validate, in config order, each once.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> todo;
  if (!a.config.empty()) {
    auto cfg = config::load_config(a.config);
    if (!cfg) {
      // Every problem of the file, one "file:line: key: message" line each.
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      std::fprintf(stderr, "%s: NOT valid (the config has errors; its strategies were not checked)\n", a.config.c_str());
      return 1;
    }
    const auto refs = check_config_references(*cfg);
    for (const auto& line : refs) std::fprintf(stderr, "%s\n", line.c_str());
    if (!refs.empty()) ok = false;
    base.limits = sandbox_limits(cfg->sandbox, script::RunMode::Backtest);
    if (a.cmd == nullptr || a.cmd->count("--seed") == 0) base.seed = cfg->engine.seed;
    if (strategy.empty()) {
      std::set<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> seen;
      for (const auto& r : cfg->runners) {
        // A missing file was just reported by the config checks; once is enough.
        std::error_code ec;
        if (r.strategy.empty() || !std::filesystem::is_regular_file(r.strategy, ec)) continue;
        std::vector<std::pair<std::string, std::string>> overrides(r.params.begin(), r.params.end());
        if (seen.insert({r.strategy, overrides}).second) todo.emplace_back(r.strategy, std::move(overrides));
      }
    }
    if (!a.quiet)
      std::printf("config %s: %s (%zu runner%s, sandbox: callback_timeout_ms %g, memory_limit_mb %g)\n",
                  a.config.c_str(), refs.empty() ? "ok" : "problems", cfg->runners.size(),
                  cfg->runners.size() == 1 ? "" : "s", base.limits.callback_timeout_ms,
                  static_cast<double>(base.limits.memory_limit_bytes) / static_cast<double>(script::kMiB));
  }
  if (!strategy.empty()) todo.emplace_back(strategy, *params);

  for (const auto& [path, overrides] : todo) {
    ValidateOptions o = base;
    o.path = path;
    o.overrides = overrides;
    if (!validate_one(o, a.strict, a.quiet)) ok = false;
  }
  return ok ? 0 : 1;
}

}  // namespace

void register_validate(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand("validate", "Check a strategy (or a run config) without trading");
  cmd->footer(
      "Checks, in order: the file compiles (Lua text only); a static scan of its bytecode for undeclared and\n"
      "forbidden globals (every function, run or not); it loads in the sandbox with the required callbacks\n"
      "and a well-formed params table (--param overrides must match names and types); a dry run with the\n"
      "real runner, order flow and budgets over three generated series of --bars hourly bars (drift,\n"
      "up-trend, volatile down-trend); a hot reload in the middle of the first series (ctx must be plain\n"
      "data, on_reload must succeed); and a lookahead probe (decisions on bars truncated at t must equal the\n"
      "decisions at t on the full series).\n"
      "Prints a summary table on stdout and one `file:line: message` line per problem on stderr.\n"
      "Exit status: 0 valid; 1 problems found (warnings only count with --strict); 2 bad usage.\n"
      "With --config: every problem of the TOML file with its key path, files it refers to, then each\n"
      "strategy it uses with that runner's params and the [sandbox] budgets (with a strategy file given as\n"
      "well, only that one, with --param and the config's [sandbox] and seed).\n\n"
      "Examples:\n"
      "  trading-engine validate strategies/sma_cross.lua --param fast=5\n"
      "  trading-engine validate --config my_run.toml");
  cmd->add_option("file", args->positional, "Strategy file (Lua); same as --strategy");
  cmd->add_option("--strategy", args->strategy, "Strategy file (Lua)");
  cmd->add_option("--param", args->params, "Override a strategy parameter: name=value (repeatable)");
  cmd->add_option("--config", args->config, "TOML run config to check (and whose [sandbox] budgets apply)");
  cmd->add_option("--bars", args->bars, "Bars per generated series in the dry run")->capture_default_str();
  cmd->add_option("--lookahead-cuts", args->lookahead_cuts, "Truncation points of the lookahead probe (0 skips it)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the generated data and of math.random")
      ->check(unsigned_whole_number())
      ->capture_default_str();
  cmd->add_option("--indicators-dir", args->indicators_dir,
                  "Folder of indicators written in Lua (default: ./indicators if present, else the built-in ones)");
  cmd->add_flag("--strict", args->strict, "Warnings count as problems (exit 1)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only problems (and the table of a strategy that fails)");
  args->cmd = cmd;
  cmd->callback([args, &ctx] { ctx.exit_code = run_validate(*args); });
}

}  // namespace te::app
