#pragma once
// Indicator specifications: what a strategy or the `indicators` command asks for,
// validated against the registry, with a canonical key that identifies it.
//
// Text form:  name[(arg, ...)][@timeframe]
//   arg       a number (positional parameter), a source word (open, high, low,
//             close, volume, typical, median), or name=value for a parameter,
//             source=... or tf=...
//   examples  "sma(20)", "ema(20,high)", "macd(12,26,9)", "obv()", "obv",
//             "bbands(20, devup=2.5)", "rsi(14)@1w", "sma(10,tf=1M)"
// Keys and column names: name, then the parameters (optional ones only when not
// at their default), then the source when not the default, then the timeframe,
// joined with '_': "sma_20", "ema_20_high", "rsi_14_1w", "vwap";
// multi-output indicators append the output: "macd_12_26_9_signal".
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/ta/indicator.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/timeframe.hpp"

namespace te::ta {

struct IndicatorSpec {
  std::string name;            // registry name
  std::vector<double> params;  // every parameter of the indicator, defaults filled in
  Source source = Source::close;
  Timeframe timeframe;         // empty: computed on the base bars

  friend bool operator==(const IndicatorSpec&, const IndicatorSpec&) = default;
};

// Validates and completes a spec from parts (the Lua `ind.*` path). `params` may
// be shorter than the indicator's list; missing ones take their defaults.
// Errors: invalid_argument naming the valid indicators or the expected parameters.
Result<IndicatorSpec> make_spec(std::string_view name, std::span<const double> params,
                                std::optional<Source> source = std::nullopt, Timeframe timeframe = {});

// Parses one spec in the text form above.
// Errors: invalid_argument, e.g. `indicator "smaa(20)": unknown indicator "smaa";
// valid names: sma, ema, ...` or `indicator "sma(2.5)": period must be an integer,
// was 2.5; usage: sma(period=20[, source=close])`.
Result<IndicatorSpec> parse_spec(std::string_view text);

// The lower-cased indicator name of a spec text ("HMA(10)@1w" -> "hma"), to
// route a spec to the registry or to indicators defined elsewhere.
std::string spec_name(std::string_view text);

// parse_spec against `info` instead of the registry: indicators written in Lua,
// described by the caller (info.make unused). Same syntax, checks and messages.
Result<IndicatorSpec> parse_spec_as(std::string_view text, const IndicatorInfo& info);

// Parses a comma-separated list ("sma(20),rsi(14),macd(12,26,9)"); commas inside
// parentheses belong to the spec. Errors: the first bad spec, as parse_spec.
Result<std::vector<IndicatorSpec>> parse_spec_list(std::string_view text);
// The same split without parsing: the items, trimmed.
Result<std::vector<std::string>> split_spec_list(std::string_view text);

const IndicatorInfo& spec_info(const IndicatorSpec& spec);  // aborts on an unvalidated name
std::string spec_key(const IndicatorSpec& spec);
// Keys and columns of a spec made by parse_spec_as(text, info).
std::string spec_key(const IndicatorSpec& spec, const IndicatorInfo& info);
std::vector<std::string> output_columns(const IndicatorSpec& spec, const IndicatorInfo& info);
std::string spec_to_string(const IndicatorSpec& spec);  // "macd(12,26,9)", "ema(20,high)@1w"
std::vector<std::string> output_columns(const IndicatorSpec& spec);
int spec_lookback(const IndicatorSpec& spec);  // in bars of the spec's own timeframe

// Builds the indicator for a validated spec (throws only std::bad_alloc).
std::unique_ptr<Indicator> make_indicator(const IndicatorSpec& spec);

}  // namespace te::ta
