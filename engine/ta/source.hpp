#pragma once
// The input series an indicator reads from a bar ("ema(20,high)").
#include <cstdint>
#include <optional>
#include <string_view>

#include "engine/model/bar.hpp"

namespace te::ta {

enum class Source : std::uint8_t { open, high, low, close, volume, typical, median };

inline constexpr Source kAllSources[] = {Source::open,   Source::high,    Source::low,   Source::close,
                                         Source::volume, Source::typical, Source::median};

// typical = (high + low + close) / 3, median = (high + low) / 2, summed left to
// right as TA-Lib's TYPPRICE and MEDPRICE do.
inline double source_value(const model::Bar& b, Source s) noexcept {
  switch (s) {
    case Source::open: return b.open;
    case Source::high: return b.high;
    case Source::low: return b.low;
    case Source::close: return b.close;
    case Source::volume: return b.volume;
    case Source::typical: return (b.high + b.low + b.close) / 3.0;
    case Source::median: return (b.high + b.low) / 2.0;
  }
  return b.close;
}

std::string_view source_name(Source s) noexcept;
std::optional<Source> parse_source(std::string_view name) noexcept;

}  // namespace te::ta
