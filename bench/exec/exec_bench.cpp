// Per-bar cost of the simulated exchange (on_bar_open + on_bar_close of one
// instrument), the budget of issue 6: an open bracket with a trailing stop
// must cost <= 20 ns per bar.
//   build/bench/exec/te_bench_exec --benchmark_counters_tabular=true
// Counters: ns_per_bar (the figure the budget is about) and bars_per_s.
// Cases: no working orders (the fast path); a bracket of a fixed stop and a
// target; a bracket of a trailing stop and a target (the budgeted case), under
// next_open and ohlc. The orders are placed far enough away that they never
// fill, so every bar does the full matching work and nothing else.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/exec/simulated_exchange.hpp"

using namespace te;

namespace {

constexpr std::size_t kBlock = 4096;  // bars per benchmark iteration

const std::vector<model::Bar>& bars() {
  static const std::vector<model::Bar> b = [] {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> ret(0.0, 0.01);
    std::vector<model::Bar> v;
    double close = 100;
    for (std::size_t i = 0; i < kBlock; ++i) {
      model::Bar x;
      x.ts_ns = static_cast<std::int64_t>(i) * 60'000'000'000LL;
      x.open = close;
      // mean-reverting walk around 100 so the orders placed below never fill
      close = std::clamp(close * std::exp(ret(rng)) + (100 - close) * 0.01, 80.0, 125.0);
      x.close = close;
      x.high = std::max(x.open, x.close) * 1.002;
      x.low = std::min(x.open, x.close) * 0.998;
      x.volume = 1000;
      v.push_back(x);
    }
    return v;
  }();
  return b;
}

struct Sink final : exec::ExecutionListener, exec::FillGate {
  std::size_t events = 0;
  void on_order_update(const model::Order&, std::string_view) override { ++events; }
  void on_fill(const model::Fill&, const model::Order&) override { ++events; }
  void on_rejected(const model::Rejection&, const model::Order&) override { ++events; }
  std::optional<exec::FillRefusal> check_fill(model::InstrumentId, model::Side, double, double, double) const override {
    return std::nullopt;
  }
  double position_qty(model::InstrumentId) const override { return 100; }
};

enum class Orders { None, Bracket, TrailingBracket };

void run(benchmark::State& state, exec::FillModel model, Orders orders) {
  Sink sink;
  exec::SimulatedExchangeConfig cfg;
  cfg.fill = model;
  exec::SimulatedExchange ex(cfg, sink, sink);
  const auto& b = bars();
  ex.on_bar_close(0, b[0], 0);
  if (orders != Orders::None) {
    model::Order stop;
    stop.side = model::Side::Sell;
    stop.qty = 100;
    stop.reduce_only = true;
    stop.oco_group = 1;
    stop.purpose = model::OrderPurpose::StopLoss;
    if (orders == Orders::TrailingBracket) {
      stop.type = model::OrderType::TrailingStop;
      stop.trail_pct = 0.4;  // trails every new high, never reached by these bars
    } else {
      stop.type = model::OrderType::Stop;
      stop.stop_price = 50;
    }
    model::Order target = stop;
    target.type = model::OrderType::Limit;
    target.limit_price = 1000;
    target.purpose = model::OrderPurpose::TakeProfit;
    ex.submit(stop);
    ex.submit(target);
  }
  std::int64_t index = 1;
  for (auto _ : state) {
    for (const auto& bar : b) {
      ex.on_bar_open(0, bar, index);
      ex.on_bar_close(0, bar, index);
      ++index;
    }
  }
  if (ex.working_orders() != (orders == Orders::None ? 0u : 2u)) state.SkipWithError("an order filled");
  benchmark::DoNotOptimize(sink.events);
  const double bars_done = static_cast<double>(kBlock) * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(bars_done));
  // Counters for bench/run.sh (docs/performance.md): the per-bar cost in ns
  // (a rate of bars/1e9 per second, inverted) and its reciprocal. Budget: <= 20 ns.
  state.counters["ns_per_bar"] = benchmark::Counter(bars_done / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bars_per_s"] = benchmark::Counter(bars_done, benchmark::Counter::kIsRate);
}

void BM_NoOrders(benchmark::State& s) { run(s, exec::FillModel::NextOpen, Orders::None); }
void BM_Bracket(benchmark::State& s) { run(s, exec::FillModel::NextOpen, Orders::Bracket); }
void BM_TrailingBracket(benchmark::State& s) { run(s, exec::FillModel::NextOpen, Orders::TrailingBracket); }
void BM_TrailingBracketOhlc(benchmark::State& s) { run(s, exec::FillModel::Ohlc, Orders::TrailingBracket); }

}  // namespace

BENCHMARK(BM_NoOrders);
BENCHMARK(BM_Bracket);
BENCHMARK(BM_TrailingBracket);
BENCHMARK(BM_TrailingBracketOhlc);
BENCHMARK_MAIN();
