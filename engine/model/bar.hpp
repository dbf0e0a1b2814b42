#pragma once
// One OHLCV bar. Prices are doubles used exactly as given by the data (no
// rounding); quotes and sizes are NaN when the data does not carry them.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "engine/core/result.hpp"
#include "engine/model/ids.hpp"

namespace te::model {

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct Bar {
  std::int64_t ts_ns = 0;  // bar open time (its label); the bar is known once closed
  double open = 0, high = 0, low = 0, close = 0, volume = 0;
  double bid = kNoValue, ask = kNoValue;
  double bid_size = kNoValue, ask_size = kNoValue;

  bool has_quote() const noexcept { return !std::isnan(bid) && !std::isnan(ask); }
};
static_assert(std::is_trivially_copyable_v<Bar> && std::is_standard_layout_v<Bar>);

// What is wrong with a bar, or nullptr when it is consistent: finite prices,
// 0 < low <= open, close <= high, volume >= 0, and a quote (when present)
// with 0 < bid <= ask.
const char* bar_problem(const Bar& b) noexcept;

}  // namespace te::model
