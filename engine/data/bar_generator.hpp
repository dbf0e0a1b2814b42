#pragma once
// Synthetic bars: a seeded geometric random walk whose volatility switches
// between three regimes (docs/data.md, "Generator"). Output depends only on the
// options: every random number and every exp/log is computed by project code,
// so a seed gives byte-identical files on every platform and library version.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/result.hpp"
#include "engine/core/time.hpp"
#include "engine/data/random.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

enum class Regime : std::uint8_t { calm, normal, turbulent };
const char* regime_name(Regime r) noexcept;

struct GeneratorOptions {
  std::uint64_t seed = 1;
  std::int64_t start_ns = days_from_civil(2020, 1, 1) * kNsPerDay;  // first bar's open time
  std::int64_t interval_ns = kNsPerMin;
  double start_price = 100.0;
  double drift = 0.05;             // annualised expected return (of the price, not its log)
  double volatility = 0.20;        // long-run annualised volatility over all regimes
  int price_decimals = 2;          // prices are whole ticks of 10^-decimals, at least one tick
  double mean_regime_bars = 250;   // expected bars between regime switches
  double gap_fraction = 0.1;       // open-vs-previous-close gap, as a fraction of one bar's sigma
  double base_volume = 1000;       // typical volume of a bar in the normal regime
  bool quotes = false;             // also produce bid/ask and sizes at the bar's close
  double spread_bps = 2.0;         // quoted spread in basis points of price (normal regime)
};

// Years per bar use 365.25-day years of continuous trading (24/7 markets):
// a 1-minute bar is 1/525960 year.
inline constexpr double kNsPerYear = 365.25 * static_cast<double>(kNsPerDay);

// Every violated constraint in one message. Errors: Errc::invalid_argument.
Status validate(const GeneratorOptions& options);

// Produces one bar after another; the live `simulated` data source drives it
// incrementally. Not thread-safe.
class BarGenerator {
 public:
  // Errors: Errc::invalid_argument, as validate().
  static Result<BarGenerator> create(const GeneratorOptions& options);

  // The next bar. Aborts (invariant) if its time would pass year 2262.
  model::Bar next();

  Regime regime() const noexcept { return regime_; }
  std::int64_t next_ts_ns() const noexcept { return next_ts_; }
  std::uint64_t bars_generated() const noexcept { return count_; }
  const GeneratorOptions& options() const noexcept { return opt_; }

 private:
  explicit BarGenerator(const GeneratorOptions& options);
  double to_price(double log_price) const noexcept;
  void maybe_switch_regime() noexcept;

  GeneratorOptions opt_;
  Xoshiro256 rng_;        // regimes and prices
  Xoshiro256 quote_rng_;  // quotes only, so --quotes does not change the prices
  NormalSampler normal_, quote_normal_;
  Regime regime_ = Regime::normal;
  double scale_ = 100;        // 10^price_decimals
  double bar_years_ = 0;      // interval in years
  double log_close_ = 0;      // unrounded log of the last close
  std::int64_t next_ts_ = 0;
  std::uint64_t count_ = 0;
};

// `count` bars as a series (built on BarGenerator::next).
// Errors: Errc::invalid_argument (options, count 0, or times past year 2262).
Result<model::BarSeries> generate_bars(const GeneratorOptions& options, std::size_t count,
                                       std::string symbol = "SIM", model::InstrumentId id = 0);

// Streams `count` bars to a generic-format CSV without holding them in memory.
// Date-only timestamps when the bars start at midnight and the interval is whole days.
// Errors: as generate_bars, and Errc::io naming the path.
Status generate_csv(const GeneratorOptions& options, std::size_t count, const std::string& path);

}  // namespace te::data
