#pragma once
#include <cstdint>

namespace te::model {

// Instruments are identified by integer ids; symbols are display-only.
using InstrumentId = std::uint32_t;
using OrderId = std::uint64_t;
using RunnerId = std::uint32_t;
using StrategyId = std::uint32_t;

inline constexpr InstrumentId kNoInstrument = 0xffffffffu;

}  // namespace te::model
