// The rejection reasons the runner and the account give (the exchange's
// instrument-rule reasons are in simulated_exchange_test and models_test):
// each one reaches the strategy's on_order_rejected with its source and is
// counted in the backtest's rejections.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "tests/support/flat_series.hpp"

using namespace te;

namespace {

backtest::BacktestResult run(const std::string& code, std::size_t bars, backtest::BacktestConfig cfg = {}) {
  script::StrategySource s;
  s.path = "strategies/test.lua";
  s.code = "params = {}\n"
           "function on_order_rejected(o, ctx) log(o.code, o.source, o.side, o.message) end\n" +
           code;
  s.sha256 = sha256_hex(s.code);
  auto r = backtest::run_backtest(cfg, test::flat_series(bars), s);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  if (r->fault) FAIL(r->fault->message);
  return std::move(r).value();
}

bool logged(const backtest::BacktestResult& r, const std::string& text) {
  for (const auto& l : r.strategy_log)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("an entry against the open position is refused with opposite_position", "[unit][exec][order_flow]") {
  backtest::BacktestConfig cfg;
  cfg.pyramiding = 3;  // adding is allowed, reversing by an entry is not
  auto r = run(R"(
function detect_opportunity(bar, ctx, ind) if not ctx.done then return true end end
function filter_commitment(bar, ctx, ind) ctx.done = true; return enter_long { qty = 10 } end
function manage_position(bar, ctx, ind)
  if ctx.position.qty > 0 and not ctx.tried then ctx.tried = true; return enter_short { qty = 5 } end
end
)",
               6, cfg);
  REQUIRE(r.trades.size() == 1);
  CHECK(r.trades[0].quantity == 10);
  CHECK(r.trades[0].open());
  CHECK(r.rejections.at("opposite_position") == 1);
  CHECK(logged(r, "opposite_position\trunner\tsell"));
}

TEST_CASE("a partial exit while flat is refused with no_position", "[unit][exec][order_flow]") {
  // The limit entry at 90 never fills: InTrade without a position.
  auto r = run(R"(
function detect_opportunity(bar, ctx, ind) if not ctx.done then return true end end
function filter_commitment(bar, ctx, ind) ctx.done = true; return enter_long { qty = 10, limit = 90 } end
function manage_position(bar, ctx, ind)
  if not ctx.tried then ctx.tried = true; return exit_position { qty = 5 } end
end
)",
               5);
  CHECK(r.trades.empty());
  CHECK(r.rejections.at("no_position") == 1);
  CHECK(logged(r, "no_position\trunner"));
}

TEST_CASE("the account refuses fills it cannot pay for: insufficient_cash, insufficient_margin", "[unit][exec][order_flow]") {
  const std::string once = R"(
function detect_opportunity(bar, ctx, ind) if not ctx.done then return true end end
function filter_commitment(bar, ctx, ind) ctx.done = true; return ENTRY end
function manage_position(bar, ctx, ind) end
)";
  auto with = [&](const std::string& entry) {
    std::string code = once;
    code.replace(code.find("ENTRY"), 5, entry);
    return code;
  };
  SECTION("a long worth more than the cash") {
    auto r = run(with("enter_long { qty = 1001 }"), 4);  // 100100 > 100000
    CHECK(r.trades.empty());
    CHECK(r.rejections.at("insufficient_cash") == 1);
    CHECK(logged(r, "insufficient_cash\texchange\tbuy"));
    CHECK(r.final_equity == 100000);
  }
  SECTION("a short whose margin the equity cannot cover") {
    backtest::BacktestConfig cfg;
    cfg.margin.short_margin = 1.5;  // 700 x 100 x 1.5 = 105000 > 100000
    auto r = run(with("enter_short { qty = 700 }"), 4, cfg);
    CHECK(r.trades.empty());
    CHECK(r.rejections.at("insufficient_margin") == 1);
    CHECK(logged(r, "insufficient_margin\texchange\tsell"));
    auto ok = run(with("enter_short { qty = 600 }"), 4, cfg);  // 90000 fits
    REQUIRE(ok.trades.size() == 1);
    CHECK_FALSE(ok.trades[0].is_long);
  }
  SECTION("leverage lets the same long through") {
    backtest::BacktestConfig cfg;
    cfg.margin.leverage = 2;
    auto r = run(with("enter_long { qty = 1500 }"), 4, cfg);
    REQUIRE(r.trades.size() == 1);
    CHECK(r.trades[0].quantity == 1500);
    CHECK(r.rejections.empty());
  }
}

TEST_CASE("refusals of different codes in a row each keep their code", "[unit][exec][order_flow]") {
  // The runner copies a refusal's code into its reused rejection only when the
  // code's (static) text changes: codes that alternate must still come out
  // each as it was, to the strategy and in the report's counts.
  backtest::BacktestConfig cfg;
  cfg.allow_short = false;
  cfg.lot_size = 10;
  auto r = run(R"(
local n = 0
function detect_opportunity(bar, ctx, ind) return true end
function filter_commitment(bar, ctx, ind)
  n = n + 1
  if n % 3 == 2 then return enter_long { qty = 4 } end  -- rounds to no lot: invalid_quantity
  return enter_short { qty = 10 }                         -- short_not_allowed
end
function manage_position(bar, ctx, ind) end
)",
               7, cfg);
  CHECK(r.trades.empty());
  CHECK(r.rejections.at("short_not_allowed") == 5);
  CHECK(r.rejections.at("invalid_quantity") == 2);
  std::vector<std::string> codes;
  for (const auto& l : r.strategy_log) codes.push_back(l.substr(0, l.find('\t')));
  CHECK(codes == std::vector<std::string>{"short_not_allowed", "invalid_quantity", "short_not_allowed",
                                          "short_not_allowed", "invalid_quantity", "short_not_allowed",
                                          "short_not_allowed"});
}

TEST_CASE("a risk-sized entry with its stop at the price is refused with the sizing's text", "[unit][exec][order_flow]") {
  auto r = run(R"(
function detect_opportunity(bar, ctx, ind) if not ctx.done then return true end end
function filter_commitment(bar, ctx, ind) ctx.done = true; return enter_long { risk = 0.01, stop = bar.close } end
function manage_position(bar, ctx, ind) end
)",
               4);
  CHECK(r.trades.empty());
  CHECK(r.rejections.at("invalid_quantity") == 1);
  CHECK(logged(r, "invalid_quantity\trunner\tbuy\trisk sizing needs a stop away from the price 100, stop was 100"));
}
