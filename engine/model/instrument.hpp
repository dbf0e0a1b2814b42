#pragma once
#include <string>

#include "engine/model/ids.hpp"

namespace te::model {

// Trading rules of one instrument. Zero means "no constraint".
struct Instrument {
  InstrumentId id = 0;
  std::string symbol;     // display only
  double tick_size = 0;   // price increment
  double lot_size = 0;    // quantity increment
  double min_qty = 0;
  double min_notional = 0;
};

}  // namespace te::model
