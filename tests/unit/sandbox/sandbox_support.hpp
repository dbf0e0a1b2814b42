#pragma once
// A small multi-runner world for sandbox and reload tests: several runners (one
// instrument each) sharing one account, router, simulated exchange and VM
// pool, fed bars in lockstep. Also observers that record what the runners
// report.
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/vm_pool.hpp"
#include "tests/support/random_bars.hpp"

namespace te::test {

inline script::StrategySource lua_source(const std::string& code, const std::string& path = "strategies/probe.lua") {
  script::StrategySource s;
  s.path = path;
  s.code = code;
  s.sha256 = sha256_hex(code);
  return s;
}

// Callbacks that do nothing, to append after an attack placed at top level.
inline const char* kIdleCallbacks =
    "\nfunction detect_opportunity(bar, ctx, ind) end\n"
    "function filter_commitment(bar, ctx, ind) end\n"
    "function manage_position(bar, ctx, ind) end\n";

// An honest SMA crossover, trading often on random bars.
inline const char* kHonestStrategy = R"LUA(
params = { fast = 3, slow = 8, qty = 10 }
function detect_opportunity(bar, ctx, ind)
  if ind.crossover("sma(3)", "sma(8)") == 1 then return { reason = "cross up" } end
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = params.qty } end
function manage_position(bar, ctx, ind)
  if ind.crossover("sma(3)", "sma(8)") == -1 then return exit_position("cross down") end
end
)LUA";

inline std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Recorded {
  std::vector<script::StrategyError> faults;
  std::vector<std::pair<script::StrategyError, int>> errors;
  struct Reload {
    std::string old_sha, new_sha, message;
    bool ok;
  };
  std::vector<Reload> reloads;
  std::vector<std::string> logs;
};

class RecordingObserver final : public runner::RunnerObserver {
 public:
  Recorded& of(model::RunnerId id) {
    if (id >= by_runner.size()) by_runner.resize(id + 1);
    return by_runner[id];
  }
  void on_fault(const runner::SymbolRunner& r, const script::StrategyError& e) override {
    of(r.config().id).faults.push_back(e);
  }
  void on_strategy_error(const runner::SymbolRunner& r, const script::StrategyError& e, int n) override {
    of(r.config().id).errors.emplace_back(e, n);
  }
  void on_reload(runner::SymbolRunner& r, const runner::ReloadInfo& info) override {
    of(r.config().id).reloads.push_back({info.old_sha256, info.new_sha256, info.message, info.ok});
  }
  void on_strategy_log(const runner::SymbolRunner& r, int, std::string_view message) override {
    of(r.config().id).logs.emplace_back(message);
  }
  std::vector<Recorded> by_runner;
};

class World {
 public:
  explicit World(script::VmLimits limits = script::make_limits(script::RunMode::Backtest))
      : limits_(limits), pool_(limits) {}

  // Errors: the strategy's load error.
  Result<runner::SymbolRunner*> add(const std::string& code, runner::RunnerConfig rc = {},
                                    const std::string& path = "strategies/probe.lua") {
    model::Instrument inst;
    inst.id = static_cast<model::InstrumentId>(runners_.size());
    inst.symbol = "SYM" + std::to_string(inst.id);
    rc.id = static_cast<model::RunnerId>(runners_.size());
    script::HostOptions ho;
    ho.symbol = inst.symbol;
    ho.seed = 7;
    ho.limits = limits_;
    ho.pool = &pool_;
    auto r = runner::SymbolRunner::create(rc, inst, lua_source(code, path), ho,
                                          std::make_unique<runner::GrowingHistory>(), exchange_, account_, &observer);
    if (!r) return std::move(r).error();
    router_.add(**r);
    runners_.push_back(std::move(*r));
    auto* p = runners_.back().get();
    if (auto st = p->start(); !st) return std::move(st).error();
    return p;
  }

  // Feeds bar i of every runner's series (same shape, distinct seeds).
  void feed(std::size_t n, std::uint64_t seed = 11) {
    for (std::size_t k = series_.size(); k < runners_.size(); ++k) series_.push_back(random_bars(4000, seed + k));
    for (std::size_t i = 0; i < n; ++i, ++next_) {
      for (std::size_t k = 0; k < runners_.size(); ++k)
        runners_[k]->on_bar(static_cast<model::InstrumentId>(k), series_[k][next_ % series_[k].size()]);
    }
  }

  runner::SymbolRunner& runner(std::size_t k) { return *runners_[k]; }
  portfolio::Portfolio& account() { return account_; }
  script::VmPool& pool() { return pool_; }
  RecordingObserver observer;

 private:
  script::VmLimits limits_;
  portfolio::Portfolio account_{1'000'000};
  runner::Router router_{account_};
  exec::SimulatedExchange exchange_{{}, router_, router_};
  script::VmPool pool_;
  std::vector<std::unique_ptr<runner::SymbolRunner>> runners_;
  std::vector<std::vector<model::Bar>> series_;
  std::size_t next_ = 0;
};

}  // namespace te::test
