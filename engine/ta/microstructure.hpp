#pragma once
// Quote features for data that carries bid/ask (and sizes): mid, spread, spread in
// basis points, book imbalance. NaN whenever the bar lacks the needed fields.
// Stateless: warm-up 0.
#include <cmath>

#include "engine/model/bar.hpp"
#include "engine/ta/talib_rules.hpp"

namespace te::ta {

enum class QuoteFeature : unsigned char { mid, spread, spread_bps, imbalance };

template <QuoteFeature kFeature>
class Quote {
 public:
  static constexpr int kOutputs = 1;
  void update(const model::Bar& b) noexcept { v_ = compute(b); }
  bool ready() const noexcept { return !std::isnan(v_); }
  double value() const noexcept { return v_; }
  void write(double* out) const noexcept { out[0] = v_; }
  void reset() noexcept { v_ = kNaN; }

  static double compute(const model::Bar& b) noexcept {
    switch (kFeature) {
      case QuoteFeature::mid: return (b.bid + b.ask) / 2.0;
      case QuoteFeature::spread: return b.ask - b.bid;
      case QuoteFeature::spread_bps: {
        const double mid = (b.bid + b.ask) / 2.0;
        return mid > 0.0 ? (b.ask - b.bid) / mid * 10000.0 : kNaN;
      }
      case QuoteFeature::imbalance: {
        const double total = b.bid_size + b.ask_size;
        return total > 0.0 ? (b.bid_size - b.ask_size) / total : kNaN;
      }
    }
    return kNaN;
  }

 private:
  double v_ = kNaN;
};

using Mid = Quote<QuoteFeature::mid>;
using Spread = Quote<QuoteFeature::spread>;
using SpreadBps = Quote<QuoteFeature::spread_bps>;
using Imbalance = Quote<QuoteFeature::imbalance>;

}  // namespace te::ta
