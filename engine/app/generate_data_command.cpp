// `trading-engine generate-data`: synthetic bars for demos, tests and benchmarks.
#include <fmt/core.h>

#include <memory>

#include "engine/app/cli_checks.hpp"
#include "engine/app/command.hpp"
#include "engine/core/time.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/interval.hpp"

namespace te::app {
namespace {

struct GenerateArgs {
  std::size_t bars = 0;
  std::uint64_t seed = 1;
  std::string out;
  std::string interval = "1m";
  std::string start = "2020-01-01";
  data::GeneratorOptions gen;
};

int run_generate(const GenerateArgs& a) {
  data::GeneratorOptions g = a.gen;
  g.seed = a.seed;
  const auto interval = data::parse_interval_ns(a.interval);
  if (!interval) {
    fmt::print(stderr, "error: --interval: expected a count and a unit (s, m, h, d or w) such as 1m, 15m, 1h, 1d, "
                       "was '{}'\n", a.interval);
    return 1;
  }
  g.interval_ns = *interval;
  const auto start = parse_iso8601_ns(a.start);
  if (!start) {
    fmt::print(stderr, "error: --start: expected an ISO-8601 date or datetime such as 2020-01-01 or "
                       "2020-01-01T09:30:00Z, was '{}'\n", a.start);
    return 1;
  }
  g.start_ns = *start;
  const Status st = data::generate_csv(g, a.bars, a.out);
  if (!st.ok()) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return 1;
  }
  const std::int64_t last = g.start_ns + static_cast<std::int64_t>(a.bars - 1) * g.interval_ns;
  const bool dates = g.start_ns % kNsPerDay == 0 && g.interval_ns % kNsPerDay == 0;
  fmt::print("wrote {}: {} bars of {} from {} to {} (seed {})\n", a.out, a.bars, data::format_interval(g.interval_ns),
             format_iso8601(g.start_ns, dates), format_iso8601(last, dates), a.seed);
  return 0;
}

}  // namespace

void register_generate_data(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand(
      "generate-data",
      "Write a synthetic OHLCV CSV (generic format): a seeded geometric random walk whose volatility switches\n"
      "between calm, normal and turbulent regimes. The same options and seed always give a byte-identical file.");
  cmd->add_option("--bars", args->bars, "Number of bars to write")->required()->check(whole_number(1, 2'000'000'000));
  cmd->add_option("--out", args->out, "Output CSV file (created or overwritten)")->required();
  cmd->add_option("--seed", args->seed, "Random seed")->check(unsigned_whole_number())->capture_default_str();
  cmd->add_option("--interval", args->interval, "Bar interval: <count><s|m|h|d|w>, e.g. 1m, 5m, 1h, 1d")
      ->capture_default_str();
  cmd->add_option("--start", args->start, "Open time of the first bar, ISO-8601 date or datetime (UTC)")
      ->capture_default_str();
  cmd->add_option("--price", args->gen.start_price, "Starting price")->capture_default_str();
  cmd->add_option("--drift", args->gen.drift, "Annualised expected return, e.g. 0.05 for 5%/year")
      ->capture_default_str();
  cmd->add_option("--volatility", args->gen.volatility, "Long-run annualised volatility, e.g. 0.2 for 20%/year")
      ->capture_default_str();
  cmd->add_option("--decimals", args->gen.price_decimals, "Price decimals: prices are whole ticks of 10^-decimals")
      ->capture_default_str();
  cmd->add_option("--regime-bars", args->gen.mean_regime_bars, "Mean number of bars between volatility regime switches")
      ->capture_default_str();
  cmd->add_option("--volume", args->gen.base_volume, "Typical volume of a bar in the normal regime")
      ->capture_default_str();
  cmd->add_flag("--quotes", args->gen.quotes, "Also write bid,ask,bid_size,ask_size columns (quotes at the close)");
  cmd->add_option("--spread-bps", args->gen.spread_bps, "Quoted spread in basis points (normal regime; with --quotes)")
      ->capture_default_str();
  cmd->footer(
      "Years are 365.25 days of continuous trading (a 1m bar is 1/525960 year). Daily intervals starting at\n"
      "midnight are written as dates. Model details: docs/data.md.\n"
      "Example: trading-engine generate-data --bars 1000000 --seed 7 --out data/sim-1m.csv");
  cmd->callback([args, &ctx] { ctx.exit_code = run_generate(*args); });
}

}  // namespace te::app
