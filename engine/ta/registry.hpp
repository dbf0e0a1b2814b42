#pragma once
// The const table describing every native indicator: parameters with defaults and
// ranges, outputs, warm-up, input source, and the factory. It drives spec parsing,
// `indicators --list`, the IndicatorSet and the Lua `ind.*` functions.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "engine/ta/indicator.hpp"
#include "engine/ta/source.hpp"

namespace te::ta {

inline constexpr int kMaxParams = 4;
inline constexpr int kMaxOutputs = 3;

struct ParamInfo {
  std::string_view name;
  double default_value;
  double min;  // inclusive bounds
  double max;
  bool integer;
  bool optional;  // left out of keys and column names while at its default
  std::string_view summary;
};

struct IndicatorInfo {
  std::string_view name;
  std::string_view summary;
  std::span<const ParamInfo> params;
  std::span<const std::string_view> outputs;
  bool takes_source;
  Source default_source;
  std::string_view warmup;  // the lookback in words, e.g. "period - 1"
  // Bars consumed before the first valid output, for validated parameters.
  int (*lookback)(const double* params) noexcept;
  // Cross-parameter rule; returns "" when the parameters are consistent.
  std::string_view (*check)(const double* params) noexcept;
  // Builds the indicator for validated parameters. Throws only std::bad_alloc.
  std::unique_ptr<Indicator> (*make)(const IndicatorInfo& info, const double* params, Source source);
};

std::span<const IndicatorInfo> indicator_registry() noexcept;
const IndicatorInfo* find_indicator(std::string_view name) noexcept;
// "sma, ema, wma, ..." in registry order, for error messages.
std::string indicator_names();
// A parameter value as written in keys and messages: integers without exponent
// ("100000"), other values in shortest round-trip form ("2.5").
std::string format_param(double v);
// "macd(fast=12, slow=26, signal=9[, source=close])".
std::string indicator_usage(const IndicatorInfo& info);

}  // namespace te::ta
