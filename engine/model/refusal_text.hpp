#pragma once
// The numbers of a refusal whose text is built only when someone reads it.
// A spent account is refused on every bar it tries (sma_cross: ~15,000 fills
// refused by the cash check per 1M bars, ema_cross: ~60,000 entries that size
// to nothing); formatting each text cost ~1,700 instructions, and a plain
// backtest reads none of them until it writes its activity log.
#include <cstdint>
#include <string>

namespace te::model {

enum class Side : std::uint8_t;

struct RefusalFacts {
  enum class Kind : std::uint8_t {
    None,                // no pending text (the message holds it, if any)
    InsufficientCash,    // side, qty, price, cost (qty * price + commission), cash
    InsufficientMargin,  // side, qty, price, equity after, margin required, long, short
    BelowLot,            // lot, equity, price
    NotPositive,         // equity, price
  };
  Kind kind = Kind::None;
  Side side{};
  double v[6] = {};
};

// Appends the refusal's text to `out` (the texts the engine has always written).
void append_refusal_text(std::string& out, const RefusalFacts& f);

}  // namespace te::model
