// Two runners on two instruments of one SimulatedExchange and one account,
// on real data: one runs its bars through the batch loop (SymbolRunner::run)
// while the other, fed bar by bar (on_bar) between them, keeps resting limit
// entries and brackets working. The batch runner's quiet step opens and
// closes bars at the venue it looked up for its own instrument once per run
// (quiet_venue_): at another instrument's venue it would run the other
// runner's orders against its own bars, or leave its own venue's prices
// stale (what a market entry sent on a quiet bar is checked against).
// Everything must be what the same bars give one call per bar, and every fill
// what its order and its own instrument's bar imply.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/data/load_bars.hpp"
#include "engine/exec/simulated_exchange.hpp"
#include "engine/portfolio/portfolio.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/script/strategy_host.hpp"

using namespace te;

namespace {

const model::BarSeries& daily(const std::string& file) {
  static std::map<std::string, model::BarSeries> loaded;
  auto it = loaded.find(file);
  if (it == loaded.end()) {
    data::LoadOptions lo;
    lo.cache.read = lo.cache.write = false;
    auto b = data::load_bars(std::string(TE_SHARED_DIR) + "/data/" + file, lo);
    REQUIRE(b);
    it = loaded.emplace(file, std::move(*b)).first;
  }
  return it->second;
}

// A setup every `every` bars; every other one a limit entry below the close,
// good for 8 bars, with a stop, a target and a time limit, given up 12 bars
// after it was sent if it never filled; the others a market entry of the
// instruments' minimum notional (1,000) at the bar's open, which the venue
// checks against its last price: the open its bar's start recorded there,
// or, at a venue the quiet step did not open, an older price that may refuse
// it. Between trades the runner is quiet (nothing working).
const char* kRestingLimits = R"(
params = { every = 9, below = 0.985, floor = 0.93, above = 1.05, hold = 15, notional = 1000 }
function detect_opportunity(bar, ctx)
  ctx.n = (ctx.n or 0) + 1
  if ctx.n % params.every == 0 then
    ctx.sent = false
    return true
  end
end
function filter_commitment(bar, ctx)
  if ctx.sent then
    if ctx.bars_in_state >= 12 then return abandon end
    return
  end
  ctx.sent = true
  ctx.k = (ctx.k or 0) + 1
  if ctx.k % 2 == 0 then
    -- At market, the minimum notional's worth at this bar's open: the
    -- venue's reference price for it (refused against any other price).
    return enter_long { qty = math.ceil(params.notional / bar.open), target = bar.close * params.above,
                        max_bars = params.hold }
  end
  return enter_long { qty = math.ceil(1.5 * params.notional / bar.close), limit = bar.close * params.below,
                      stop = bar.close * params.floor, target = bar.close * params.above, max_bars = params.hold,
                      bars = 8 }
end
function manage_position(bar, ctx) end
)";

std::string bits(double v) {
  std::uint64_t u = 0;
  std::memcpy(&u, &v, sizeof u);
  return std::to_string(u);
}

// The router, with every fill written down (and checked against its order).
struct Fills final : exec::ExecutionListener {
  runner::Router& router;
  std::vector<std::string> log;
  std::vector<std::pair<model::Fill, model::Order>> all;
  explicit Fills(runner::Router& r) : router(r) {}
  void on_order_update(const model::Order& o, std::string_view code) override { router.on_order_update(o, code); }
  void on_fill(const model::Fill& f, const model::Order& o) override {
    log.push_back("fill instrument=" + std::to_string(f.instrument) + " runner=" + std::to_string(f.runner) +
                  " order=" + std::to_string(f.order) + " side=" + std::string(model::to_string(f.side)) +
                  " purpose=" + std::string(model::to_string(f.purpose)) + " qty=" + bits(f.qty) +
                  " price=" + bits(f.price) + " commission=" + bits(f.commission) +
                  " ts=" + std::to_string(f.ts_ns) + " bar=" + std::to_string(f.bar_index));
    all.emplace_back(f, o);
    router.on_fill(f, o);
  }
  void on_rejected(const model::Rejection& r, const model::Order& o) override {
    log.push_back("rejected instrument=" + std::to_string(o.instrument) + " order=" + std::to_string(o.id) +
                  " purpose=" + std::string(model::to_string(o.purpose)) + " code=" + r.code +
                  " ts=" + std::to_string(r.ts_ns));
    ++rejected;
    router.on_rejected(r, o);
  }
  std::size_t rejected = 0;
};

struct Leg {
  const model::BarSeries* bars;
  model::InstrumentId id;
  std::string every;
};

struct Outcome {
  std::vector<std::string> fills;  // and rejections, in order
  std::size_t rejected = 0;
  std::vector<std::string> points;  // cash and equity after each bar of either runner
  std::vector<portfolio::Trade> trades;
  std::vector<std::pair<model::Fill, model::Order>> raw;
  std::int64_t callbacks[2] = {0, 0};
  std::int64_t quiet_bars = 0;        // the batch runner's
  std::int64_t quiet_beside_work = 0;  // ... of them, bars where the other runner had orders working
};

// `batch`'s bars through its batch loop (or one on_bar() per bar), `other`'s
// fed one on_bar() per bar before the batch runner's bar of the same time.
Outcome run_pair(const Leg& batch, const Leg& other, bool use_batch) {
  portfolio::Portfolio account(1'000'000);
  runner::Router router(account);
  Fills fills(router);
  exec::SimulatedExchange exchange({}, router, fills);
  std::unique_ptr<runner::SymbolRunner> runners[2];
  const Leg* sides[2] = {&batch, &other};
  for (int k = 0; k < 2; ++k) {
    model::Instrument inst;
    inst.id = sides[k]->id;
    inst.symbol = sides[k]->bars->symbol();
    inst.min_notional = 1000;
    exchange.set_instrument(inst);
    runner::RunnerConfig rc;
    rc.id = static_cast<model::RunnerId>(k);
    script::HostOptions ho;
    ho.symbol = inst.symbol;
    ho.param_overrides = {{"every", sides[k]->every}};
    auto src = script::make_strategy_source("strategies/resting_limits.lua", kRestingLimits);
    REQUIRE(src);
    auto r = runner::SymbolRunner::create(rc, inst, *src, ho, std::make_unique<runner::GrowingHistory>(), exchange,
                                          account, nullptr);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    runners[k] = std::move(*r);
    router.add(*runners[k]);
    REQUIRE(runners[k]->start());
  }
  runner::SymbolRunner& x = *runners[0];
  runner::SymbolRunner& y = *runners[1];
  Outcome out;

  struct Feed final : runner::SymbolRunner::BarFeed {
    const model::BarSeries& xb;
    const model::BarSeries& yb;
    model::InstrumentId yid;
    runner::SymbolRunner& x;
    runner::SymbolRunner& y;
    exec::SimulatedExchange& exchange;
    portfolio::Portfolio& account;
    Outcome& out;
    std::size_t i = 0, j = 0;
    std::int64_t quiet_seen = 0;
    Feed(const model::BarSeries& xb_, const model::BarSeries& yb_, model::InstrumentId yid_, runner::SymbolRunner& x_,
         runner::SymbolRunner& y_, exec::SimulatedExchange& ex_, portfolio::Portfolio& acc_, Outcome& out_)
        : xb(xb_), yb(yb_), yid(yid_), x(x_), y(y_), exchange(ex_), account(acc_), out(out_) {}
    void point() { out.points.push_back(bits(account.cash()) + " " + bits(account.equity())); }
    // The other runner's bars up to `ts`, one call each (it ends at its last bar's on_bar()).
    void other_until(std::int64_t ts) {
      while (j < yb.size() && yb.at(j).ts_ns <= ts) {
        REQUIRE(y.on_bar(yid, yb.at(j++)));
        point();
      }
    }
    bool next(model::Bar& bar) override {
      if (i >= xb.size()) return false;
      bar = xb.at(i++);
      other_until(bar.ts_ns);
      return true;
    }
    bool after_bar(const model::Bar&) override {
      point();
      // A quiet step of this bar while the other instrument had orders working
      // (they change only in the other runner's on_bar, before this bar).
      if (x.stats().quiet_bars != quiet_seen && exchange.working_orders(yid) > 0) ++out.quiet_beside_work;
      quiet_seen = x.stats().quiet_bars;
      return true;
    }
    bool after_bar_then_next(model::Bar& bar) override { return after_bar(bar) && next(bar); }
  } feed(*batch.bars, *other.bars, other.id, x, y, exchange, account, out);

  if (use_batch) {
    x.run(feed);
  } else {
    model::Bar bar;
    while (feed.next(bar)) {
      REQUIRE(x.on_bar(batch.id, bar));
      feed.after_bar(bar);
    }
  }
  feed.other_until(INT64_MAX);

  out.fills = fills.log;
  out.rejected = fills.rejected;
  out.raw = fills.all;
  out.trades.assign(account.trades().begin(), account.trades().end());
  out.callbacks[0] = x.stats().callbacks;
  out.callbacks[1] = y.stats().callbacks;
  out.quiet_bars = x.stats().quiet_bars;
  return out;
}

}  // namespace

TEST_CASE("a quiet batch step opens and closes bars at its own instrument's venue beside another runner's orders",
          "[unit][runner]") {
  const model::BarSeries& nvda = daily("nvda-1999-2014.txt");
  const model::BarSeries& orcl = daily("orcl-1995-2014.txt");
  // (ids != 0, either runner in the batch loop; and one beside instrument 0,
  // the venue a quiet step that took the first venue would use)
  const int pair = GENERATE(0, 1, 2);
  const Leg legs[3][2] = {
      {Leg{&nvda, 1, "9"}, Leg{&orcl, 2, "13"}},
      {Leg{&orcl, 2, "13"}, Leg{&nvda, 1, "9"}},
      {Leg{&nvda, 3, "11"}, Leg{&orcl, 0, "7"}},
  };
  const Leg& batch = legs[pair][0];
  const Leg& other = legs[pair][1];
  INFO("batch runner on instrument " << batch.id << ", the other on " << other.id);
  const Outcome batched = run_pair(batch, other, true);
  const Outcome per_call = run_pair(batch, other, false);

  // The case this guards happened, many times.
  CHECK(per_call.quiet_bars == 0);
  CHECK(batched.quiet_bars > 500);
  CHECK(batched.quiet_beside_work > 100);

  // Every entry is sized to at least the minimum notional at its reference
  // price: none refused.
  CHECK(batched.rejected == 0);
  CHECK(per_call.rejected == 0);
  CHECK(batched.fills.size() > 200);
  CHECK(batched.fills.size() == per_call.fills.size());
  for (std::size_t k = 0; k < std::min(batched.fills.size(), per_call.fills.size()); ++k) {
    if (batched.fills[k] != per_call.fills[k]) {
      FAIL_CHECK("fill " << k << " differs:\n" << batched.fills[k] << "\n" << per_call.fills[k]);
      break;
    }
  }
  REQUIRE(batched.points.size() == per_call.points.size());
  CHECK(batched.points.size() == nvda.size() + orcl.size());
  for (std::size_t k = 0; k < batched.points.size(); ++k) {
    if (batched.points[k] != per_call.points[k]) {
      FAIL_CHECK("cash/equity differ after step " << k);
      break;
    }
  }
  CHECK(batched.callbacks[0] == per_call.callbacks[0]);
  CHECK(batched.callbacks[1] == per_call.callbacks[1]);
  REQUIRE(batched.trades.size() == per_call.trades.size());
  for (std::size_t k = 0; k < batched.trades.size(); ++k) {
    INFO("trade " << k);
    const portfolio::Trade& a = batched.trades[k];
    const portfolio::Trade& b = per_call.trades[k];
    CHECK(a.instrument == b.instrument);
    CHECK(a.entry_ts_ns == b.entry_ts_ns);
    CHECK(a.exit_ts_ns == b.exit_ts_ns);
    CHECK(a.entry_price == b.entry_price);
    CHECK(a.exit_price == b.exit_price);
    CHECK(a.pnl_gross == b.pnl_gross);
    CHECK(std::memcmp(&a.mae, &b.mae, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.mfe, &b.mfe, sizeof(double)) == 0);
  }

  // What the orders imply: each fill at a price its own instrument's bar of
  // that time traded, after the order was sent; a limit entry at or below its
  // limit, both runners' orders filled.
  std::map<model::InstrumentId, std::map<std::int64_t, model::Bar>> bars_of;
  for (const Leg* s : {&batch, &other}) {
    for (std::size_t k = 0; k < s->bars->size(); ++k) bars_of[s->id][s->bars->at(k).ts_ns] = s->bars->at(k);
  }
  std::size_t per_instrument[2] = {0, 0};
  std::size_t market_entries = 0;
  for (const auto& [f, o] : batched.raw) {
    INFO("fill of order " << f.order << " on instrument " << f.instrument << " at " << f.ts_ns);
    REQUIRE(o.instrument == f.instrument);
    REQUIRE((f.instrument == batch.id || f.instrument == other.id));
    ++per_instrument[f.instrument == batch.id ? 0 : 1];
    CHECK(f.runner == (f.instrument == batch.id ? 0u : 1u));
    CHECK(o.submitted_ns <= f.ts_ns);  // (a bracket sent at its entry's fill may fill later in that bar)
    const auto bar = bars_of[f.instrument].find(f.ts_ns);
    REQUIRE(bar != bars_of[f.instrument].end());
    CHECK(f.price >= bar->second.low);
    CHECK(f.price <= bar->second.high);
    if (f.purpose == model::OrderPurpose::Entry) {
      CHECK(o.submitted_ns < f.ts_ns);  // (rests at least until the next bar)
      if (o.type == model::OrderType::Limit) {
        CHECK(f.price <= o.limit_price);
      } else {
        REQUIRE(o.type == model::OrderType::Market);
        ++market_entries;
        CHECK(f.price == bar->second.open);  // (the bar after it was sent)
        // (accepted: its size at the open of the bar that sent it, the reference)
        const auto sent = bars_of[f.instrument].find(o.submitted_ns);
        REQUIRE(sent != bars_of[f.instrument].end());
        CHECK(o.qty * sent->second.open >= 1000);
      }
    }
  }
  CHECK(market_entries > 50);
  CHECK(per_instrument[0] > 50);
  CHECK(per_instrument[1] > 50);
}
