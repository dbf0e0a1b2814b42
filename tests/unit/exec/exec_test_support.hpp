#pragma once
// Hand-built bars and a recording account for exchange tests.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/exec/simulated_exchange.hpp"

namespace te::test {

// Records everything the exchange says and keeps a position per instrument
// from the fills (so reduce-only orders see a realistic account).
struct Capture final : exec::ExecutionListener, exec::FillGate {
  std::vector<model::Fill> fills;
  std::vector<model::Rejection> rejections;
  std::vector<std::pair<model::Order, std::string>> updates;  // order, reason code
  std::map<model::InstrumentId, double> position;
  double budget = 1e18;  // largest affordable fill value
  void on_order_update(const model::Order& o, std::string_view code) override { updates.emplace_back(o, code); }
  void on_fill(const model::Fill& f, const model::Order& o) override {
    fills.push_back(f);
    updates.emplace_back(o, "fill");
    position[f.instrument] += model::sign(f.side) * f.qty;
  }
  void on_rejected(const model::Rejection& r, const model::Order&) override { rejections.push_back(r); }
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId, model::Side, double qty, double price,
                                              double c) const override {
    if (qty * price + c > budget) return exec::FillRefusal{"insufficient_cash", "too expensive", {}};
    return std::nullopt;
  }
  double position_qty(model::InstrumentId i) const override {
    auto it = position.find(i);
    return it == position.end() ? 0.0 : it->second;
  }
  // The reason code of the last update of order `id` ("" if none).
  std::string last_code(model::OrderId id) const {
    for (auto it = updates.rbegin(); it != updates.rend(); ++it)
      if (it->first.id == id) return it->second;
    return "";
  }
  model::OrderStatus last_status(model::OrderId id) const {
    for (auto it = updates.rbegin(); it != updates.rend(); ++it)
      if (it->first.id == id) return it->first.status;
    return model::OrderStatus::Submitted;
  }
  double filled(model::OrderId id) const {
    double q = 0;
    for (const auto& f : fills)
      if (f.order == id) q += f.qty;
    return q;
  }
};

inline model::Bar bar(double o, double h, double l, double c, std::int64_t ts = 0, double volume = 1000) {
  model::Bar b;
  b.ts_ns = ts;
  b.open = o;
  b.high = h;
  b.low = l;
  b.close = c;
  b.volume = volume;
  return b;
}

inline model::Bar quote_bar(double o, double h, double l, double c, double bid, double ask, std::int64_t ts = 0) {
  model::Bar b = bar(o, h, l, c, ts);
  b.bid = bid;
  b.ask = ask;
  return b;
}

inline model::Order order(model::Side side, model::OrderType type, double qty, std::int64_t bar_index,
                          double stop = 0, double limit = 0) {
  model::Order o;
  o.side = side;
  o.type = type;
  o.qty = qty;
  o.stop_price = stop;
  o.limit_price = limit;
  o.submitted_bar = bar_index;
  return o;
}

// Runs one bar through the exchange: open phase, then close phase.
inline void run_bar(exec::SimulatedExchange& ex, const model::Bar& b, std::int64_t index, model::InstrumentId i = 0) {
  ex.on_bar_open(i, b, index);
  ex.on_bar_close(i, b, index);
}

inline exec::SimulatedExchangeConfig with_fill(exec::FillModel m) {
  exec::SimulatedExchangeConfig c;
  c.fill = m;
  return c;
}

}  // namespace te::test
