// Which observers the runner's per-bar hooks reach (RunnerObserver::bar_hooks,
// ObserverFanout): only those that want them, each once per bar, in batch and
// per-bar runs alike; the other hooks reach every observer, but for
// on_transition, on_action and on_fill, which reach those whose event_hooks()
// name them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/runner/observer_fanout.hpp"

using namespace te;

namespace {

// Counts the hooks it hears; wants per-bar hooks unless told otherwise.
struct Counter final : runner::RunnerObserver {
  explicit Counter(bool wants_bars = true) : per_bar(wants_bars) {}
  bool per_bar;
  std::int64_t bars = 0, bar_ends = 0, actions = 0, transitions = 0, fills = 0;
  std::uint8_t hooks = kHookTransition | kHookAction | kHookFill;  // what event_hooks() answers
  std::uint8_t event_hooks() const noexcept override { return hooks; }
  void on_fill(const runner::SymbolRunner&, const model::Fill&) override { ++fills; }
  std::int64_t last_bar = -1;
  bool in_order = true;  // on_bar and on_bar_end alternate, one bar after another
  RunnerObserver* bar_hooks() noexcept override { return per_bar ? this : nullptr; }
  bool bar_end_runs_lua() const noexcept override { return false; }
  void on_bar(const runner::SymbolRunner& r, const model::Bar&) override {
    if (bars != bar_ends || r.bar_index() != last_bar + 1) in_order = false;
    ++bars;
    last_bar = r.bar_index();
  }
  void on_bar_end(runner::SymbolRunner& r, const model::Bar&) override {
    if (bar_ends + 1 != bars || r.bar_index() != last_bar) in_order = false;
    ++bar_ends;
  }
  void on_action(const runner::SymbolRunner&, script::Callback, int, const te_action&, std::string_view) override {
    ++actions;
  }
  void on_transition(const runner::SymbolRunner&, const runner::Transition&) override { ++transitions; }
};

model::BarSeries bars(std::size_t n) {
  model::BarSeriesBuilder b;
  double price = 100;
  for (std::size_t i = 0; i < n; ++i) {
    model::Bar bar;
    bar.ts_ns = (static_cast<std::int64_t>(i) + 1) * kNsPerMin;
    bar.open = price;
    price += (i / 7) % 2 == 0 ? 0.5 : -0.5;
    bar.close = price;
    bar.high = std::max(bar.open, bar.close) + 0.25;
    bar.low = std::min(bar.open, bar.close) - 0.25;
    bar.volume = 1000;
    b.push(bar);
  }
  return std::move(b).build("TEST", 0);
}

script::StrategySource strategy() {
  script::StrategySource s;
  s.path = "strategies/hooks.lua";
  s.code = R"(
params = {}
function detect_opportunity(bar, ctx) if bar.close > bar.open then return { reason = "up" } end end
function filter_commitment(bar, ctx) return enter_long { qty = 1 } end
function manage_position(bar, ctx) if ctx.position.bars_held >= 3 then return exit_position("time") end end
)";
  s.sha256 = sha256_hex(s.code);
  return s;
}

}  // namespace

TEST_CASE("a fan-out hands the runner only the observers that want per-bar hooks", "[unit][runner]") {
  Counter a, b, none(false);
  {
    runner::ObserverFanout f{&none, nullptr, &a};
    CHECK(f.bar_hooks() == &a);  // the one that wants them, past the fan-out
  }
  {
    runner::ObserverFanout f{&none};
    CHECK(f.bar_hooks() == nullptr);
  }
  {
    runner::ObserverFanout f{&a, &none, &b};
    CHECK(f.bar_hooks() == &f);  // several: the fan-out forwards to those two
  }
  {
    runner::ObserverFanout inner{&none, &b};
    runner::ObserverFanout outer{&none, &inner};
    CHECK(outer.bar_hooks() == &b);  // nested: still the one observer
  }
}

TEST_CASE("per-bar hooks reach each observer that wants them once per bar, other hooks reach all",
          "[unit][runner][batch]") {
  const auto data = bars(300);
  for (const bool batch : {true, false}) {
    for (const int wanting : {0, 1, 2}) {
      INFO("batch " << batch << ", observers wanting per-bar hooks " << wanting);
      Counter a(wanting >= 1), b(wanting >= 2), quiet(false);
      runner::ObserverFanout fan{&a, &quiet, &b};
      backtest::BacktestConfig cfg;
      cfg.initial_cash = 100000;
      cfg.batch = batch;
      cfg.observer = &fan;
      auto r = backtest::run_backtest(cfg, data, strategy());
      REQUIRE(r.ok());
      REQUIRE_FALSE(r->fault);
      REQUIRE(r->trades.size() > 5);
      const std::int64_t n = r->stats.bars;
      CHECK(n == 300);
      for (const Counter* c : {&a, &b, &quiet}) {
        CHECK(c->bars == (c->per_bar ? n : 0));
        CHECK(c->bar_ends == (c->per_bar ? n : 0));
        CHECK(c->in_order);
        CHECK(c->actions > 5);  // every observer hears the rest
        CHECK(c->transitions == r->stats.transitions);
      }
      // Observers with no per-bar hooks keep the run in one host entry.
      if (batch) CHECK(r->stats.host_entries == 1);
    }
  }
}

TEST_CASE("on_transition, on_action and on_fill reach only the observers whose event_hooks name them",
          "[unit][runner][batch]") {
  const auto data = bars(300);
  for (const bool batch : {true, false}) {
    INFO("batch " << batch);
    Counter all(false), transitions(false), none(false);
    transitions.hooks = runner::RunnerObserver::kHookTransition;
    none.hooks = 0;
    runner::ObserverFanout fan{&all, &transitions, &none};
    CHECK(fan.event_hooks() == (runner::RunnerObserver::kHookTransition | runner::RunnerObserver::kHookAction |
                                runner::RunnerObserver::kHookFill));
    backtest::BacktestConfig cfg;
    cfg.initial_cash = 100000;
    cfg.batch = batch;
    cfg.observer = &fan;
    auto r = backtest::run_backtest(cfg, data, strategy());
    REQUIRE(r.ok());
    REQUIRE(r->trades.size() > 5);
    CHECK(all.transitions == r->stats.transitions);
    CHECK(all.actions > 5);
    CHECK(all.fills == static_cast<std::int64_t>(r->fills));
    CHECK(all.fills > 5);
    CHECK(transitions.transitions == r->stats.transitions);
    CHECK(transitions.actions == 0);
    CHECK(transitions.fills == 0);
    CHECK(none.transitions + none.actions + none.fills == 0);
    runner::ObserverFanout quiet{&none};
    CHECK(quiet.event_hooks() == 0);
  }
}

namespace {

// Writes the order hooks it hears into a log shared with other observers.
struct OrderLog final : runner::RunnerObserver {
  OrderLog(std::string n, std::vector<std::string>& l) : name(std::move(n)), log(&l) {}
  std::string name;
  std::vector<std::string>* log;
  void on_order_event(const runner::SymbolRunner&, const model::Order& o, std::string_view code,
                      const model::Fill* fill, const model::Rejection* rej) override {
    log->push_back(name + " order " + std::to_string(o.id) + " " + std::string(model::to_string(o.status)) + " " +
                   std::string(code) + (fill != nullptr ? " fill" : "") + (rej != nullptr ? " rejection" : ""));
  }
  void on_rejected(const runner::SymbolRunner&, const model::Rejection& r) override {
    log->push_back(name + " rejected " + std::to_string(r.order) + " " + std::string(r.code));
  }
};

}  // namespace

TEST_CASE("the order hooks reach two observers directly in the order a fan-out's loop calls them",
          "[unit][runner][batch]") {
  // A fan-out of two observers hands the runner both (observers_into): it
  // calls each itself. With a third the runner calls the fan-out, whose loop
  // gives the reference order.
  const auto data = bars(300);
  for (const bool batch : {true, false}) {
    for (const double cash : {100000.0, 50.0}) {  // (50: every entry refused)
      INFO("batch " << batch << ", cash " << cash);
      std::vector<std::string> logs[2];
      for (int three = 0; three < 2; ++three) {
        OrderLog a("a", logs[three]), b("b", logs[three]);
        std::vector<std::string> other;
        OrderLog c("c", other);
        runner::ObserverFanout two{&a, &b};
        runner::ObserverFanout all{&a, &b, &c};
        runner::RunnerObserver* out[2] = {nullptr, nullptr};
        CHECK(two.observers_into(out, 2) == 2);
        CHECK(all.observers_into(out, 2) == 1);
        backtest::BacktestConfig cfg;
        cfg.initial_cash = cash;
        cfg.batch = batch;
        cfg.observer = three ? static_cast<runner::RunnerObserver*>(&all) : &two;
        auto r = backtest::run_backtest(cfg, data, strategy());
        REQUIRE(r.ok());
        REQUIRE_FALSE(r->fault);
      }
      CHECK(logs[0].size() > 10);
      if (cash < 1000)
        CHECK(std::count_if(logs[0].begin(), logs[0].end(),
                            [](const std::string& l) { return l.find(" rejected ") != std::string::npos; }) > 10);
      CHECK(logs[0] == logs[1]);
    }
  }
}
