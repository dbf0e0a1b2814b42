#include "engine/data/bar_generator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/numbers.hpp"
#include "engine/data/column_store.hpp"
#include "engine/data/csv_writer.hpp"
#include "engine/data/portable_math.hpp"

// Model per bar (all in log prices, sigma = one bar's standard deviation):
//   regime:  with probability 1/mean_regime_bars switch, to the other regimes with
//            the fixed probabilities in kSwitchTo (a Markov chain);
//   open  = previous close + gap_fraction * sigma * N(0,1);
//   close = open + (mu - sigma_annual^2 / 2) * dt + sigma * N(0,1)   (GBM step);
//   high, low = exact samples of the maximum and minimum of a Brownian bridge
//            from open to close with variance sigma^2, so high >= max(open, close)
//            and low <= min(open, close) hold by construction;
//   prices are rounded to whole ticks (monotone, so the ordering survives);
//   volume = base * regime multiplier * (0.5 + 0.5 |return shock|) * lognormal noise.

namespace te::data {
namespace {

// Volatility multipliers. The switch table below has the stationary distribution
// (5/18, 8/18, 5/18), under which E[m^2] = 2.25: dividing by 1.5 makes
// `volatility` the long-run average.
constexpr double kRegimeVol[] = {0.5, 1.0, 2.5};
constexpr double kVolNorm = 1.5;
// Where a switch goes: row = current regime, columns = probability of calm, normal, turbulent.
constexpr double kSwitchTo[3][3] = {{0.0, 0.8, 0.2}, {0.5, 0.0, 0.5}, {0.2, 0.8, 0.0}};
constexpr int kMaxDecimals = 8;

std::uint64_t derive_seed(std::uint64_t seed, int stream) {
  SplitMix64 sm(seed);
  std::uint64_t s = sm.next();
  for (int i = 0; i < stream; ++i) s = sm.next();
  return s;
}

}  // namespace

const char* regime_name(Regime r) noexcept {
  switch (r) {
    case Regime::calm: return "calm";
    case Regime::normal: return "normal";
    case Regime::turbulent: return "turbulent";
  }
  return "unknown";
}

Status validate(const GeneratorOptions& o) {
  std::string problems;
  auto bad = [&problems](const std::string& what) { problems += (problems.empty() ? "" : "; ") + what; };
  if (o.interval_ns <= 0) bad("interval must be positive, was " + std::to_string(o.interval_ns) + " ns");
  if (!(o.start_price > 0) || !std::isfinite(o.start_price))
    bad("start price must be a positive number, was " + format_double(o.start_price));
  if (!std::isfinite(o.drift) || std::abs(o.drift) > 10) bad("drift must be within [-10, 10], was " + format_double(o.drift));
  if (!(o.volatility >= 0) || o.volatility > 10)
    bad("volatility must be within [0, 10], was " + format_double(o.volatility));
  if (o.price_decimals < 0 || o.price_decimals > kMaxDecimals)
    bad("price decimals must be within [0, " + std::to_string(kMaxDecimals) + "], was " +
        std::to_string(o.price_decimals));
  if (!(o.mean_regime_bars >= 1) || !std::isfinite(o.mean_regime_bars))
    bad("mean regime length must be at least 1 bar, was " + format_double(o.mean_regime_bars));
  if (!(o.gap_fraction >= 0) || o.gap_fraction > 10)
    bad("gap fraction must be within [0, 10], was " + format_double(o.gap_fraction));
  if (!(o.base_volume > 0) || !std::isfinite(o.base_volume))
    bad("base volume must be a positive number, was " + format_double(o.base_volume));
  if (!(o.spread_bps >= 0) || o.spread_bps > 10000)
    bad("spread must be within [0, 10000] basis points, was " + format_double(o.spread_bps));
  if (o.start_price > 0 && o.price_decimals >= 0 && o.price_decimals <= kMaxDecimals &&
      o.start_price * std::pow(10.0, o.price_decimals) > 1e12)
    bad("start price " + format_double(o.start_price) + " has too many ticks at " + std::to_string(o.price_decimals) +
        " decimals (at most 1e12)");
  if (!problems.empty()) return make_error(Errc::invalid_argument, "generator: " + problems);
  return {};
}

Result<BarGenerator> BarGenerator::create(const GeneratorOptions& options) {
  TE_TRY(validate(options));
  return BarGenerator(options);
}

BarGenerator::BarGenerator(const GeneratorOptions& o)
    : opt_(o), rng_(derive_seed(o.seed, 0)), quote_rng_(derive_seed(o.seed, 1)) {
  scale_ = 1;
  for (int i = 0; i < o.price_decimals; ++i) scale_ *= 10;  // exact: 10^8 < 2^53
  bar_years_ = static_cast<double>(o.interval_ns) / kNsPerYear;
  log_close_ = portable_log(o.start_price);
  next_ts_ = o.start_ns;
}

double BarGenerator::to_price(double log_price) const noexcept {
  // k / 10^d is the double nearest the decimal k * 10^-d, so it prints short.
  const double ticks = std::max(1.0, std::round(portable_exp(log_price) * scale_));
  return ticks / scale_;
}

void BarGenerator::maybe_switch_regime() noexcept {
  if (rng_.uniform() >= 1.0 / opt_.mean_regime_bars) return;
  const double u = rng_.uniform();
  const auto from = static_cast<std::size_t>(regime_);
  double acc = 0;
  for (std::size_t to = 0; to < 3; ++to) {
    acc += kSwitchTo[from][to];
    if (u < acc) {
      regime_ = static_cast<Regime>(to);
      return;
    }
  }
}

model::Bar BarGenerator::next() {
  TE_ASSERT(next_ts_ <= std::numeric_limits<std::int64_t>::max() - opt_.interval_ns,
            "generator ran past the int64 nanosecond range (year 2262)");
  if (count_ != 0) maybe_switch_regime();
  const double mult = kRegimeVol[static_cast<std::size_t>(regime_)];
  const double sigma_annual = opt_.volatility * mult / kVolNorm;
  const double sigma = sigma_annual * std::sqrt(bar_years_);

  const double log_open = log_close_ + opt_.gap_fraction * sigma * normal_.next(rng_);
  const double shock = normal_.next(rng_);
  const double log_close = log_open + (opt_.drift - 0.5 * sigma_annual * sigma_annual) * bar_years_ + sigma * shock;
  const double move = log_close - log_open;
  const double var = sigma * sigma;
  const double up = std::sqrt(move * move - 2.0 * var * portable_log(rng_.uniform_pos()));
  const double down = std::sqrt(move * move - 2.0 * var * portable_log(rng_.uniform_pos()));
  const double log_high = 0.5 * (log_open + log_close + up);
  const double log_low = 0.5 * (log_open + log_close - down);
  const double noise = portable_exp(0.25 * normal_.next(rng_));

  model::Bar b;
  b.ts_ns = next_ts_;
  b.open = to_price(log_open);
  b.close = to_price(log_close);
  // The bridge extremes are >= / <= the endpoints and rounding is monotone, but
  // portable_exp is only accurate to about an ulp (not proven monotone): pin.
  b.high = std::max({to_price(log_high), b.open, b.close});
  b.low = std::min({to_price(log_low), b.open, b.close});
  b.volume = std::max(1.0, std::round(opt_.base_volume * mult * (0.5 + 0.5 * std::abs(shock)) * noise));

  if (opt_.quotes) {
    const double half_ticks = std::max(1.0, std::round(b.close * opt_.spread_bps * 1e-4 * mult * 0.5 * scale_));
    const double close_ticks = std::round(b.close * scale_);
    b.bid = std::max(1.0, close_ticks - half_ticks) / scale_;
    b.ask = (std::max(1.0, close_ticks - half_ticks) + 2 * half_ticks) / scale_;
    const double depth = std::max(1.0, opt_.base_volume * 0.1);
    b.bid_size = std::max(1.0, std::round(depth * portable_exp(0.5 * quote_normal_.next(quote_rng_))));
    b.ask_size = std::max(1.0, std::round(depth * portable_exp(0.5 * quote_normal_.next(quote_rng_))));
  }

  log_close_ = log_close;
  next_ts_ += opt_.interval_ns;
  ++count_;
  return b;
}

namespace {

Status check_count(const GeneratorOptions& o, std::size_t count) {
  TE_TRY(validate(o));
  if (count == 0) return make_error(Errc::invalid_argument, "generator: the number of bars must be positive");
  // The last bar must be a time the CSV loader reads back: ISO dates up to
  // year 2261 (field_scan.hpp); 2262 ends the nanosecond range in April.
  // Exact integer arithmetic: doubles round near 2^63. In 128 bits, since a
  // span from before 1970 may exceed int64 where the last time does not
  // (200,000 days from 1700 end in 2247: the span is 547 years, 1.7e19 ns).
  constexpr std::int64_t kFirstNsOf2262 = 9'214'646'400'000'000'000;
  const bool overflow = count - 1 > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  __extension__ typedef __int128 I128;
  const I128 last = static_cast<I128>(o.start_ns) + static_cast<I128>(count - 1) * static_cast<I128>(o.interval_ns);
  if (overflow || last >= kFirstNsOf2262)
    return make_error(Errc::invalid_argument, "generator: " + std::to_string(count) +
                                                  " bars at this interval run past the end of year 2261, the last "
                                                  "year data files may hold");
  return {};
}

}  // namespace

Result<model::BarSeries> generate_bars(const GeneratorOptions& options, std::size_t count, std::string symbol,
                                       model::InstrumentId id) {
  TE_TRY(check_count(options, count));
  auto created = BarGenerator::create(options);
  if (!created) return std::move(created).error();
  BarGenerator& gen = *created;
  auto store = std::make_shared<ColumnStore>();
  store->allocate(count, options.quotes, options.quotes);
  for (std::size_t i = 0; i < count; ++i) {
    const model::Bar b = gen.next();
    store->ts[i] = b.ts_ns;
    store->open[i] = b.open;
    store->high[i] = b.high;
    store->low[i] = b.low;
    store->close[i] = b.close;
    store->volume[i] = b.volume;
    if (options.quotes) {
      store->bid[i] = b.bid;
      store->ask[i] = b.ask;
      store->bid_size[i] = b.bid_size;
      store->ask_size[i] = b.ask_size;
    }
  }
  store->size = count;
  return ColumnStore::freeze(std::move(store), std::move(symbol), id);
}

Status generate_csv(const GeneratorOptions& options, std::size_t count, const std::string& path) {
  TE_TRY(check_count(options, count));
  auto created = BarGenerator::create(options);
  if (!created) return std::move(created).error();
  BarGenerator& gen = *created;
  CsvColumns cols;
  cols.quotes = cols.quote_sizes = options.quotes;
  cols.date_only = options.start_ns % kNsPerDay == 0 && options.interval_ns % kNsPerDay == 0;
  auto w = CsvBarWriter::create(path, cols);
  if (!w) return std::move(w).error();
  for (std::size_t i = 0; i < count; ++i) TE_TRY(w->write(gen.next()));
  return w->close();
}

}  // namespace te::data
