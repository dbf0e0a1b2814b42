#pragma once
// Injectable simulation models (hftbacktest style): how orders fill against a
// bar and what trading costs.
#include <cstdint>
#include <string_view>

#include "engine/core/result.hpp"

namespace te::exec {

enum class FillModel : std::uint8_t {
  NextOpen,  // market orders fill at the next bar's open (default; backtrader's behaviour)
  Close,     // market orders fill at the close of the bar on which they were sent
};
std::string_view to_string(FillModel m) noexcept;
Result<FillModel> parse_fill_model(std::string_view text);

// Commission as a fraction of traded value (0.001 = 0.1 %).
struct CommissionModel {
  double rate = 0;
  double commission(double qty, double price) const noexcept { return qty * price * rate; }
};

}  // namespace te::exec
