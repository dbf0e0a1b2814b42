#include "engine/ta/registry.hpp"

#include <cmath>
#include <string>
#include <type_traits>

#include "engine/core/assert.hpp"
#include "engine/core/numbers.hpp"
#include "engine/ta/microstructure.hpp"
#include "engine/ta/moving_average.hpp"
#include "engine/ta/oscillators.hpp"
#include "engine/ta/trend.hpp"
#include "engine/ta/volatility.hpp"
#include "engine/ta/volume.hpp"

namespace te::ta {

int Indicator::output_count() const noexcept { return static_cast<int>(info_->outputs.size()); }

void Indicator::update_columns(const model::BarSeries::Columns& c, std::size_t from, std::size_t n, double* out,
                               std::size_t stride) noexcept {
  double v[kMaxOutputs];
  const int k = output_count();
  for (std::size_t i = 0; i < n; ++i) {
    update(c.at(from + i), v);
    for (int j = 0; j < k; ++j) out[static_cast<std::size_t>(j) * stride + i] = v[j];
  }
}

void Indicator::update_keep(const model::Bar& bar, double* out, double* ring, std::size_t stride) noexcept {
  update(bar, out);
  const int k = output_count();
  for (int j = 0; j < k; ++j) ring[static_cast<std::size_t>(j) * stride] = out[j];
}

namespace {

constexpr double kMaxPeriod = 100000;

int ip(const double* p, int i) noexcept { return static_cast<int>(p[i]); }

template <class K, class Feed, class... Args>
std::unique_ptr<Indicator> build(const IndicatorInfo& info, const double* p, Feed feed, Args... args) {
  static_assert(K::kOutputs <= kMaxOutputs);
  // KernelIndicator::update_columns lays its outputs out by K::kOutputs.
  TE_ASSERT(info.outputs.size() == static_cast<std::size_t>(K::kOutputs), "indicator %s: %zu outputs, kernel writes %d",
            std::string(info.name).c_str(), info.outputs.size(), K::kOutputs);
  // The close (nearly every indicator's source) is read without the switch
  // over sources on every bar: the same value, fewer instructions per update.
  if constexpr (std::is_same_v<Feed, FeedSource>)
    if (feed.source == Source::close)
      return std::make_unique<KernelIndicator<K, FeedClose>>(info, info.lookback(p), K(args...), FeedClose{});
  return std::make_unique<KernelIndicator<K, Feed>>(info, info.lookback(p), K(args...), feed);
}

std::string_view no_check(const double*) noexcept { return {}; }

// --- parameter tables -------------------------------------------------------
constexpr ParamInfo kPeriod20[] = {{"period", 20, 2, kMaxPeriod, true, false, "bars in the window"}};
constexpr ParamInfo kPeriod14[] = {{"period", 14, 2, kMaxPeriod, true, false, "bars in the window"}};
constexpr ParamInfo kAtrPeriod[] = {{"period", 14, 1, kMaxPeriod, true, false, "smoothing period"}};
constexpr ParamInfo kPeriod10[] = {{"period", 10, 1, kMaxPeriod, true, false, "bars back"}};
constexpr ParamInfo kWindow20[] = {{"period", 20, 1, kMaxPeriod, true, false, "bars in the window"}};
constexpr ParamInfo kCciPeriod[] = {{"period", 20, 2, 1000, true, false, "bars in the window (O(period) per bar)"}};
constexpr ParamInfo kMacd[] = {{"fast", 12, 2, kMaxPeriod, true, false, "fast EMA period"},
                               {"slow", 26, 2, kMaxPeriod, true, false, "slow EMA period (> fast)"},
                               {"signal", 9, 1, kMaxPeriod, true, false, "signal EMA period"}};
constexpr ParamInfo kBbands[] = {{"period", 20, 2, kMaxPeriod, true, false, "bars in the window"},
                                 {"devup", 2, 0, 100, false, false, "standard deviations above"},
                                 {"devdn", 2, 0, 100, false, false, "standard deviations below"}};
constexpr ParamInfo kStoch[] = {{"fastk", 14, 1, kMaxPeriod, true, false, "bars for the raw %K range"},
                                {"slowk", 3, 1, kMaxPeriod, true, false, "SMA period of slow %K"},
                                {"slowd", 3, 1, kMaxPeriod, true, false, "SMA period of slow %D"}};
constexpr ParamInfo kStochRsi[] = {{"period", 14, 2, kMaxPeriod, true, false, "RSI period"},
                                   {"fastk", 5, 1, kMaxPeriod, true, false, "bars for the %K range of RSI"},
                                   {"fastd", 3, 1, kMaxPeriod, true, false, "SMA period of fast %D"}};
constexpr ParamInfo kStdDev[] = {{"period", 20, 2, kMaxPeriod, true, false, "bars in the window"},
                                 {"nbdev", 1, 0, 100, false, true, "multiplier"}};
constexpr ParamInfo kRvol[] = {{"period", 20, 2, kMaxPeriod, true, false, "log returns in the window"},
                               {"annualization", 1, 1, 1e7, false, true, "periods per year (1 = per bar)"}};
constexpr ParamInfo kVwap[] = {{"period", 0, 0, kMaxPeriod, true, true, "rolling window in bars (0 = cumulative)"},
                               {"reset", 0, 0, 3, true, true, "restart each UTC 1=day 2=week 3=month (0 = never)"}};

// --- output tables ----------------------------------------------------------
#define TE_SINGLE_OUTPUT(ident, text) constexpr std::string_view ident[] = {text}
TE_SINGLE_OUTPUT(kOutSma, "sma");
TE_SINGLE_OUTPUT(kOutEma, "ema");
TE_SINGLE_OUTPUT(kOutWma, "wma");
TE_SINGLE_OUTPUT(kOutDema, "dema");
TE_SINGLE_OUTPUT(kOutTema, "tema");
TE_SINGLE_OUTPUT(kOutRsi, "rsi");
TE_SINGLE_OUTPUT(kOutAtr, "atr");
TE_SINGLE_OUTPUT(kOutTrange, "trange");
TE_SINGLE_OUTPUT(kOutWillr, "willr");
TE_SINGLE_OUTPUT(kOutCci, "cci");
TE_SINGLE_OUTPUT(kOutAdx, "adx");
TE_SINGLE_OUTPUT(kOutPlusDi, "plus_di");
TE_SINGLE_OUTPUT(kOutMinusDi, "minus_di");
TE_SINGLE_OUTPUT(kOutObv, "obv");
TE_SINGLE_OUTPUT(kOutVwap, "vwap");
TE_SINGLE_OUTPUT(kOutRoc, "roc");
TE_SINGLE_OUTPUT(kOutMom, "mom");
TE_SINGLE_OUTPUT(kOutHighest, "highest");
TE_SINGLE_OUTPUT(kOutLowest, "lowest");
TE_SINGLE_OUTPUT(kOutStdDev, "stddev");
TE_SINGLE_OUTPUT(kOutZScore, "zscore");
TE_SINGLE_OUTPUT(kOutRvol, "rvol");
TE_SINGLE_OUTPUT(kOutSlope, "linreg_slope");
TE_SINGLE_OUTPUT(kOutMid, "mid");
TE_SINGLE_OUTPUT(kOutSpread, "spread");
TE_SINGLE_OUTPUT(kOutSpreadBps, "spread_bps");
TE_SINGLE_OUTPUT(kOutImbalance, "imbalance");
#undef TE_SINGLE_OUTPUT
constexpr std::string_view kOutMacd[] = {"macd", "signal", "hist"};
constexpr std::string_view kOutBands[] = {"upper", "middle", "lower"};
constexpr std::string_view kOutStoch[] = {"slowk", "slowd"};
constexpr std::string_view kOutStochRsi[] = {"fastk", "fastd"};

Timeframe vwap_reset(double code) noexcept {
  switch (static_cast<int>(code)) {
    case 1: return Timeframe{Timeframe::Unit::day, 1};
    case 2: return Timeframe{Timeframe::Unit::week, 1};
    case 3: return Timeframe{Timeframe::Unit::month, 1};
    default: return {};
  }
}

using S = Source;

const IndicatorInfo kRegistry[] = {
    {"sma", "simple moving average; exact window sum (equals fsum(window)/period)", kPeriod20, kOutSma, true, S::close,
     "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Sma>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"ema", "exponential moving average, seeded with the SMA of the first period values", kPeriod20, kOutEma, true,
     S::close, "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Ema>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"wma", "linearly weighted moving average (weights 1..period)", kPeriod20, kOutWma, true, S::close, "period - 1",
     [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Wma>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"dema", "double EMA: 2*EMA - EMA(EMA)", kPeriod20, kOutDema, true, S::close, "2 * (period - 1)",
     [](const double* p) noexcept { return 2 * (ip(p, 0) - 1); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Dema>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"tema", "triple EMA: 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))", kPeriod20, kOutTema, true, S::close, "3 * (period - 1)",
     [](const double* p) noexcept { return 3 * (ip(p, 0) - 1); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Tema>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"rsi", "relative strength index, Wilder smoothing", kPeriod14, kOutRsi, true, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Rsi>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"macd", "moving average convergence/divergence with TA-Lib's aligned EMA seeding", kMacd, kOutMacd, true,
     S::close, "(slow - 1) + (signal - 1)", [](const double* p) noexcept { return ip(p, 1) - 1 + ip(p, 2) - 1; },
     [](const double* p) noexcept -> std::string_view {
       return p[0] < p[1] ? std::string_view{} : std::string_view{"fast must be below slow"};
     },
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<Macd>(i, p, FeedSource{s}, ip(p, 0), ip(p, 1), ip(p, 2));
     }},
    {"bbands", "Bollinger Bands: SMA +/- k population standard deviations", kBbands, kOutBands, true, S::close,
     "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<Bbands>(i, p, FeedSource{s}, ip(p, 0), p[1], p[2]);
     }},
    {"atr", "average true range, Wilder smoothing", kAtrPeriod, kOutAtr, false, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Atr>(i, p, FeedBar{}, ip(p, 0)); }},
    {"trange", "true range: max(high - low, |high - prev close|, |low - prev close|)", {}, kOutTrange, false,
     S::close, "1", [](const double*) noexcept { return 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<TrueRange>(i, p, FeedBar{}); }},
    {"stoch", "slow stochastic oscillator (%K and %D smoothed with SMAs)", kStoch, kOutStoch, false, S::close,
     "(fastk - 1) + (slowk - 1) + (slowd - 1)",
     [](const double* p) noexcept { return ip(p, 0) - 1 + ip(p, 1) - 1 + ip(p, 2) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) {
       return build<Stoch>(i, p, FeedBar{}, ip(p, 0), ip(p, 1), ip(p, 2));
     }},
    {"stochrsi", "stochastic RSI: fast stochastic of RSI", kStochRsi, kOutStochRsi, true, S::close,
     "period + (fastk - 1) + (fastd - 1)", [](const double* p) noexcept { return ip(p, 0) + ip(p, 1) - 1 + ip(p, 2) - 1; },
     no_check,
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<StochRsi>(i, p, FeedSource{s}, ip(p, 0), ip(p, 1), ip(p, 2));
     }},
    {"willr", "Williams %R", kPeriod14, kOutWillr, false, S::close, "period - 1",
     [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Willr>(i, p, FeedBar{}, ip(p, 0)); }},
    {"cci", "commodity channel index on the typical price", kCciPeriod, kOutCci, false, S::typical, "period - 1",
     [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Cci>(i, p, FeedBar{}, ip(p, 0)); }},
    {"adx", "average directional index", kPeriod14, kOutAdx, false, S::close, "2 * period - 1",
     [](const double* p) noexcept { return 2 * ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Adx>(i, p, FeedBar{}, ip(p, 0)); }},
    {"plus_di", "plus directional indicator (+DI)", kPeriod14, kOutPlusDi, false, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<PlusDi>(i, p, FeedBar{}, ip(p, 0)); }},
    {"minus_di", "minus directional indicator (-DI)", kPeriod14, kOutMinusDi, false, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<MinusDi>(i, p, FeedBar{}, ip(p, 0)); }},
    {"obv", "on-balance volume, starting at the first bar's volume", {}, kOutObv, true, S::close, "0",
     [](const double*) noexcept { return 0; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Obv>(i, p, FeedSourceVolume{s}); }},
    {"vwap", "volume-weighted average typical price: cumulative, rolling or reset per UTC day/week/month", kVwap,
     kOutVwap, false, S::typical, "0 cumulative, period - 1 rolling",
     [](const double* p) noexcept { return ip(p, 0) > 0 ? ip(p, 0) - 1 : 0; },
     [](const double* p) noexcept -> std::string_view {
       return p[0] > 0 && p[1] > 0 ? std::string_view{"period and reset cannot both be set"} : std::string_view{};
     },
     [](const IndicatorInfo& i, const double* p, Source) {
       return build<Vwap>(i, p, FeedBar{}, ip(p, 0), vwap_reset(p[1]));
     }},
    {"roc", "rate of change in percent: (x / x[period ago] - 1) * 100", kPeriod10, kOutRoc, true, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Roc>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"mom", "momentum: x - x[period ago]", kPeriod10, kOutMom, true, S::close, "period",
     [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Mom>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"highest", "rolling highest value", kWindow20, kOutHighest, true, S::high, "period - 1",
     [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Highest>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"lowest", "rolling lowest value", kWindow20, kOutLowest, true, S::low, "period - 1",
     [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<Lowest>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"donchian", "Donchian channel: highest high, midpoint, lowest low", kWindow20, kOutBands, false, S::close,
     "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Donchian>(i, p, FeedBar{}, ip(p, 0)); }},
    {"stddev", "rolling population standard deviation times nbdev", kStdDev, kOutStdDev, true, S::close,
     "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<StdDev>(i, p, FeedSource{s}, ip(p, 0), p[1]);
     }},
    {"zscore", "(x - rolling mean) / rolling population standard deviation", kPeriod20, kOutZScore, true, S::close,
     "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) { return build<ZScore>(i, p, FeedSource{s}, ip(p, 0)); }},
    {"rvol", "realised volatility: sample stddev of log returns * sqrt(annualization)", kRvol, kOutRvol, true,
     S::close, "period", [](const double* p) noexcept { return ip(p, 0); }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<RealizedVol>(i, p, FeedSource{s}, ip(p, 0), p[1]);
     }},
    {"linreg_slope", "slope per bar of the least-squares line through the window", kPeriod14, kOutSlope, true,
     S::close, "period - 1", [](const double* p) noexcept { return ip(p, 0) - 1; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source s) {
       return build<LinRegSlope>(i, p, FeedSource{s}, ip(p, 0));
     }},
    {"mid", "quote midpoint (bid + ask) / 2; NaN without quotes", {}, kOutMid, false, S::close, "0",
     [](const double*) noexcept { return 0; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Mid>(i, p, FeedBar{}); }},
    {"spread", "quoted spread ask - bid; NaN without quotes", {}, kOutSpread, false, S::close, "0",
     [](const double*) noexcept { return 0; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Spread>(i, p, FeedBar{}); }},
    {"spread_bps", "quoted spread in basis points of the mid; NaN without quotes", {}, kOutSpreadBps, false, S::close,
     "0", [](const double*) noexcept { return 0; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<SpreadBps>(i, p, FeedBar{}); }},
    {"imbalance", "book imbalance (bid_size - ask_size) / (bid_size + ask_size); NaN without sizes", {},
     kOutImbalance, false, S::close, "0", [](const double*) noexcept { return 0; }, no_check,
     [](const IndicatorInfo& i, const double* p, Source) { return build<Imbalance>(i, p, FeedBar{}); }},
};

}  // namespace

std::span<const IndicatorInfo> indicator_registry() noexcept { return kRegistry; }

const IndicatorInfo* find_indicator(std::string_view name) noexcept {
  for (const IndicatorInfo& info : kRegistry)
    if (info.name == name) return &info;
  return nullptr;
}

std::string indicator_names() {
  std::string out;
  for (const IndicatorInfo& info : kRegistry) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

std::string format_param(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return format_double(v);
}

std::string indicator_usage(const IndicatorInfo& info) {
  std::string out(info.name);
  out += '(';
  bool first = true;
  for (const ParamInfo& p : info.params) {
    if (!first) out += ", ";
    first = false;
    out += p.name;
    out += '=';
    out += format_param(p.default_value);
  }
  if (info.takes_source) {
    out += first ? "[source=" : "[, source=";
    out += source_name(info.default_source);
    out += ']';
  }
  out += ')';
  return out;
}

}  // namespace te::ta
