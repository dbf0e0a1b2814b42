#include "engine/model/bar.hpp"

namespace te::model {

const char* bar_problem(const Bar& b) noexcept {
  if (!std::isfinite(b.open) || !std::isfinite(b.high) || !std::isfinite(b.low) || !std::isfinite(b.close))
    return "prices must be finite numbers";
  if (!std::isfinite(b.volume) || b.volume < 0) return "volume must be a non-negative number";
  if (b.high < b.low) return "high is below low";
  if (b.open < b.low || b.open > b.high) return "open is outside [low, high]";
  if (b.close < b.low || b.close > b.high) return "close is outside [low, high]";
  if (!(b.low > 0)) return "prices must be above 0";
  if (b.has_quote() && !(b.bid > 0 && b.ask > 0 && b.bid <= b.ask))
    return "bid and ask must be above 0 with bid <= ask";
  return nullptr;
}

}  // namespace te::model
