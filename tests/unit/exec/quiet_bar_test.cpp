// The exchange's quiet-bar shortcut (bars that cannot act on any working
// order only ratchet the trailing stops) must change nothing: a seeded trader
// with entries of every kind, brackets of fixed or trailing stops and targets,
// amendments and cancels runs over thousands of random bars with the shortcut
// on and off, under every fill model, alone or beside a second instrument on
// the same exchange; every event must be identical.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/random_bars.hpp"
#include "tests/unit/exec/exec_test_support.hpp"

using namespace te;
using model::OrderType;
using model::Side;

namespace {

struct Trader final : exec::ExecutionListener, exec::FillGate {
  exec::SimulatedExchange* ex = nullptr;
  std::mt19937_64 rng;
  std::vector<std::string> log;  // every event, as text
  double position = 0;
  model::OrderId entry = 0, stop = 0, target = 0;
  std::int64_t bar_index = 0;
  double last_close = 100;
  model::InstrumentId instrument = 0;

  explicit Trader(std::uint64_t seed) : rng(seed) {}
  double unit() { return std::uniform_real_distribution<double>(0, 1)(rng); }

  void note(const char* what, const model::Order& o, std::string_view extra) {
    std::ostringstream s;
    s.precision(17);
    s << what << " id=" << o.id << " status=" << model::to_string(o.status) << " filled=" << o.filled_qty
      << " stop=" << o.stop_price << " limit=" << o.limit_price << " qty=" << o.qty << " " << extra;
    log.push_back(s.str());
  }
  void on_order_update(const model::Order& o, std::string_view code) override { note("update", o, code); }
  void on_fill(const model::Fill& f, const model::Order& o) override {
    std::ostringstream s;
    s.precision(17);
    s << "price=" << f.price << " qty=" << f.qty << " bar=" << f.bar_index << " liq=" << model::to_string(f.liquidity);
    note("fill", o, s.str());
    position += model::sign(f.side) * f.qty;
    if (o.purpose == model::OrderPurpose::Entry && model::is_terminal(o.status)) protect(f.bar_index);
  }
  void on_rejected(const model::Rejection& r, const model::Order& o) override { note("rejected", o, r.code); }
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId, Side, double, double, double) const override {
    return std::nullopt;
  }
  double position_qty(model::InstrumentId) const override { return position; }

  // The exit bracket of a new position: a fixed or trailing stop, maybe a target.
  void protect(std::int64_t at) {
    const bool long_pos = position > 0;
    const Side side = long_pos ? Side::Sell : Side::Buy;
    model::Order s = test::order(side, OrderType::Stop, std::fabs(position), at);
    s.instrument = instrument;
    s.reduce_only = true;
    s.oco_group = entry;
    s.purpose = model::OrderPurpose::StopLoss;
    if (unit() < 0.5) {
      s.type = OrderType::TrailingStop;
      if (unit() < 0.5) s.trail_pct = 0.005 + 0.03 * unit();
      else s.trail_amount = 0.5 + 3 * unit();
    } else {
      s.stop_price = last_close * (long_pos ? 0.97 - 0.03 * unit() : 1.03 + 0.03 * unit());
    }
    stop = ex->submit(s);
    if (unit() < 0.7) {
      model::Order t = test::order(side, OrderType::Limit, std::fabs(position), at, 0,
                                   last_close * (long_pos ? 1.02 + 0.05 * unit() : 0.98 - 0.05 * unit()));
      t.reduce_only = true;
      t.instrument = instrument;
      t.oco_group = entry;
      t.purpose = model::OrderPurpose::TakeProfit;
      target = ex->submit(t);
    }
  }

  // What a strategy does on a bar, between its open and close phases.
  void decide(const model::Bar& bar) {
    last_close = bar.close;
    if (position == 0 && !(entry && ex->find(entry))) {
      if (unit() < 0.15) {
        const Side side = unit() < 0.6 ? Side::Buy : Side::Sell;
        const double r = unit();
        model::Order o = test::order(side, OrderType::Market, 10 + std::floor(unit() * 90), bar_index);
        o.instrument = instrument;
        if (r < 0.3) {
          o.type = OrderType::Limit;
          o.limit_price = bar.close * (side == Side::Buy ? 0.995 : 1.005);
        } else if (r < 0.6) {
          o.type = OrderType::Stop;
          o.stop_price = bar.close * (side == Side::Buy ? 1.005 : 0.995);
        }
        entry = ex->submit(o);
      }
      return;
    }
    if (position != 0 && stop && ex->find(stop)) {
      const double r = unit();
      if (r < 0.03) {
        exec::Amendment a;
        const model::Order* o = ex->find(stop);
        if (o->type == OrderType::TrailingStop) a.trail_amount = 0.5 + 2 * unit();
        else a.stop_price = o->stop_price * (position > 0 ? 1.002 : 0.998);
        ex->amend(stop, a);
      } else if (r < 0.04) {
        if (target) ex->cancel(target);
      }
    }
  }
};

// Routes the exchange's events to the trader of the order's instrument.
struct Mux final : exec::ExecutionListener, exec::FillGate {
  Trader* traders[2] = {nullptr, nullptr};
  void on_order_update(const model::Order& o, std::string_view c) override { traders[o.instrument]->on_order_update(o, c); }
  void on_fill(const model::Fill& f, const model::Order& o) override { traders[o.instrument]->on_fill(f, o); }
  void on_rejected(const model::Rejection& r, const model::Order& o) override { traders[o.instrument]->on_rejected(r, o); }
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId, Side, double, double, double) const override {
    return std::nullopt;
  }
  double position_qty(model::InstrumentId i) const override { return traders[i]->position; }
};

// One or two instruments on one exchange (their orders share its order book
// and are compacted together); the events of both traders, in order.
std::vector<std::string> run(exec::FillModel model, bool shortcut, std::uint64_t seed, std::int64_t latency,
                             int instruments = 1) {
  exec::SimulatedExchangeConfig cfg;
  cfg.fill = model;
  cfg.quiet_bar_shortcut = shortcut;
  cfg.latency_bars = latency;
  Trader a(seed), b(seed + 100);
  b.instrument = 1;
  Mux mux;
  mux.traders[0] = &a;
  mux.traders[1] = &b;
  exec::SimulatedExchange ex(cfg, mux, mux);
  a.ex = b.ex = &ex;
  const auto bars_a = test::random_bars(4000, seed);
  const auto bars_b = test::random_bars(4000, seed + 100);
  for (std::size_t i = 0; i < bars_a.size(); ++i) {
    for (int k = 0; k < instruments; ++k) {
      Trader& t = k == 0 ? a : b;
      const model::Bar& bar = k == 0 ? bars_a[i] : bars_b[i];
      t.bar_index = static_cast<std::int64_t>(i);
      ex.on_bar_open(t.instrument, bar, t.bar_index);
      t.decide(bar);
      ex.on_bar_close(t.instrument, bar, t.bar_index);
    }
  }
  std::vector<std::string> log = a.log;
  log.insert(log.end(), b.log.begin(), b.log.end());
  return log;
}

}  // namespace

TEST_CASE("the quiet-bar shortcut changes no fill, trigger or state under any fill model", "[unit][exec]") {
  for (auto model : {exec::FillModel::NextOpen, exec::FillModel::Close, exec::FillModel::Ohlc, exec::FillModel::BidAsk})
    for (std::uint64_t seed : {1u, 2u, 3u})
      for (std::int64_t latency : {0, 1})
        for (int instruments : {1, 2}) {
          INFO(exec::to_string(model) << " seed " << seed << " latency " << latency << " instruments " << instruments);
          const auto full = run(model, false, seed, latency, instruments);
          const auto quick = run(model, true, seed, latency, instruments);
          REQUIRE(full.size() > 100);  // the trader really trades
          for (std::size_t i = 0; i < std::min(full.size(), quick.size()); ++i) {
            if (quick[i] != full[i]) {
              INFO("first difference at event " << i);
              CHECK(quick[i] == full[i]);
              break;
            }
          }
          CHECK(quick.size() == full.size());
        }
}
