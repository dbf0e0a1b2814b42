#include "engine/portfolio/portfolio.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/compile.h>
#include <fmt/core.h>
#include <fmt/format.h>

#include "engine/core/assert.hpp"
#include "engine/core/fmt_short.hpp"

namespace te::portfolio {
Portfolio::Portfolio(double initial_cash, MarginPolicy margin)
    : initial_cash_(initial_cash), cash_(initial_cash), margin_(margin) {
  TE_ASSERT(std::isfinite(initial_cash) && initial_cash >= 0, "initial cash must be finite and >= 0, was %g",
            initial_cash);
  TE_ASSERT(margin.leverage >= 1 && std::isfinite(margin.leverage), "leverage must be >= 1, was %g", margin.leverage);
  TE_ASSERT(margin.short_margin >= 0 && std::isfinite(margin.short_margin), "short margin must be >= 0, was %g",
            margin.short_margin);
}

double Portfolio::margin_used() const noexcept { return long_value() / margin_.leverage + short_value() * margin_.short_margin; }

std::size_t Portfolio::open_positions() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = first_; i < positions_.size(); ++i) n += positions_[i].qty != 0;
  return n;
}

Position& Portfolio::pos(model::InstrumentId instrument) {
  if (instrument >= positions_.size()) {
    positions_.resize(instrument + 1);
    position_count_ = positions_.size();
    open_trade_.resize(instrument + 1, -1);
  }
  if (instrument < first_) first_ = instrument;
  return positions_[instrument];
}

double Portfolio::long_value() const noexcept {
  double v = 0;
  for (std::size_t i = first_; i < positions_.size(); ++i)
    if (positions_[i].qty > 0) v += positions_[i].market_value();
  return v;
}

double Portfolio::short_value() const noexcept {
  double v = 0;
  for (std::size_t i = first_; i < positions_.size(); ++i)
    if (positions_[i].qty < 0) v -= positions_[i].market_value();
  return v;
}

std::optional<FundsRefusal> Portfolio::check_fill(model::InstrumentId instrument, model::Side side, double qty,
                                                  double price, double commission) const {
  const double q = position(instrument).qty;
  const double f = model::sign(side) * qty;
  const bool increases = q == 0 || q * f > 0 || std::fabs(f) > std::fabs(q);
  if (!increases) return std::nullopt;
  // Equity after the fill must cover the margin of every position:
  //   cash' + L' - S' >= L' / leverage + short_margin * S'
  // written as cash' >= L' (1/leverage - 1) + (1 + short_margin) S' so that the
  // unlevered long-only case is exactly cash' >= 0.
  const double cash_after = cash_ - f * price - commission;
  double long_after = 0, short_after = 0;
  for (std::size_t i = first_; i < positions_.size(); ++i) {
    if (i == instrument) continue;
    const double v = positions_[i].market_value();
    if (v > 0) long_after += v;
    else short_after -= v;
  }
  const double q_after = q + f;
  if (q_after > 0) long_after += q_after * price;
  if (q_after < 0) short_after += -q_after * price;
  const double long_term = margin_.leverage == 1.0 ? 0.0 : long_after * (1.0 / margin_.leverage - 1.0);
  const double needed = long_term + (1.0 + margin_.short_margin) * short_after;
  if (cash_after >= needed) return std::nullopt;
  // The numbers only: the text is built when someone reads it (model::Rejection::text).
  FundsRefusal r;
  r.facts.side = side;
  r.facts.v[0] = qty;
  r.facts.v[1] = price;
  if (short_after == 0 && margin_.leverage == 1.0) {
    r.code = "insufficient_cash";
    r.facts.kind = model::RefusalFacts::Kind::InsufficientCash;
    r.facts.v[2] = qty * price + commission;
    r.facts.v[3] = cash_;
    return r;
  }
  r.code = "insufficient_margin";
  r.facts.kind = model::RefusalFacts::Kind::InsufficientMargin;
  r.facts.v[2] = cash_after + long_after - short_after;
  r.facts.v[3] = long_after / margin_.leverage + margin_.short_margin * short_after;
  r.facts.v[4] = long_after;
  r.facts.v[5] = short_after;
  return r;
}

bool Portfolio::apply(const model::Fill& fill, std::int64_t bar_index) {
  TE_ASSERT(fill.qty > 0 && std::isfinite(fill.qty), "fill quantity must be positive, was %g", fill.qty);
  TE_ASSERT(std::isfinite(fill.price) && fill.price > 0, "fill price must be positive, was %g", fill.price);
  Position& p = pos(fill.instrument);
  const double f = model::sign(fill.side) * fill.qty;
  cash_ -= f * fill.price + fill.commission;
  commission_ += fill.commission;
  ++fills_;
  ++version_;
  ++book_version_;

  auto open_new = [&](double signed_qty, double commission) {
    Trade t;
    t.id = static_cast<std::int64_t>(trades_.size()) + 1;
    t.instrument = fill.instrument;
    t.runner = fill.runner;
    t.strategy = fill.strategy;
    t.is_long = signed_qty > 0;
    t.entry_ts_ns = fill.ts_ns;
    t.entry_bar = bar_index;
    t.entry_price = fill.price;
    t.entry_qty = std::fabs(signed_qty);
    t.quantity = std::fabs(signed_qty);
    t.entry_commission = commission;
    open_trade_[fill.instrument] = static_cast<std::int64_t>(trades_.size());
    trades_.push_back(std::move(t));
    p.qty = signed_qty;
    p.avg_price = fill.price;
    p.last_price = fill.price;
  };

  if (p.qty == 0) {
    open_new(f, fill.commission);
    return false;
  }
  Trade& t = trades_[static_cast<std::size_t>(open_trade_[fill.instrument])];
  if (p.qty * f > 0) {  // adding to the position
    const double aq = std::fabs(p.qty), af = std::fabs(f);
    p.avg_price = (aq * p.avg_price + af * fill.price) / (aq + af);
    p.qty += f;
    t.entry_price = (t.entry_price * t.entry_qty + af * fill.price) / (t.entry_qty + af);
    t.entry_qty += af;
    t.quantity = std::max(t.quantity, std::fabs(p.qty));
    t.entry_commission += fill.commission;
    return false;
  }
  // Reducing, closing or reversing.
  const double k = std::min(std::fabs(f), std::fabs(p.qty));
  const double close_commission = fill.commission * (k / std::fabs(f));
  const double pnl = k * (fill.price - p.avg_price) * (p.qty > 0 ? 1.0 : -1.0);
  realized_ += pnl;
  t.pnl_gross += pnl;
  t.exit_price = (t.exit_price * t.exit_qty + k * fill.price) / (t.exit_qty + k);
  t.exit_qty += k;
  t.exit_commission += close_commission;
  p.qty += (f > 0 ? k : -k);
  if (std::fabs(p.qty) < 1e-12 * std::max(1.0, t.quantity)) p.qty = 0;
  if (p.qty != 0) return false;
  t.exit_ts_ns = fill.ts_ns;
  t.exit_bar = bar_index;
  t.exit_purpose = fill.purpose;
  ++closed_;
  open_trade_[fill.instrument] = -1;
  p.avg_price = 0;
  p.last_price = fill.price;
  const double rest = std::fabs(f) - k;
  if (rest > 0) open_new(f > 0 ? rest : -rest, fill.commission - close_commission);
  return true;
}

void Portfolio::mark_new(model::InstrumentId instrument, double price) {
  pos(instrument).last_price = price;  // flat: nothing else to update
  ++version_;
  ++book_version_;
}

void Portfolio::mark_open(Position& p, model::InstrumentId instrument, double bar_low, double bar_high) {
  ++version_;
  Trade& t = trades_[static_cast<std::size_t>(open_trade_[instrument])];
  const double a = p.qty * (bar_low - p.avg_price);
  const double b = p.qty * (bar_high - p.avg_price);
  t.mae = std::min({t.mae, a, b});
  t.mfe = std::max({t.mfe, a, b});
}

}  // namespace te::portfolio
