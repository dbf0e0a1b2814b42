// compare's per-trade matching: round trips are matched within one runner and
// instrument, never across runners whose trades overlap in time.
#include <catch2/catch.hpp>

#include "engine/app/compare_report.hpp"

using namespace te;

namespace {

portfolio::Trade trade(model::RunnerId runner, model::InstrumentId instrument, std::int64_t entry, std::int64_t exit) {
  portfolio::Trade t;
  t.runner = runner;
  t.instrument = instrument;
  t.entry_ts_ns = entry;
  t.exit_ts_ns = exit;
  t.entry_price = 10;
  t.exit_price = 11;
  t.quantity = 1;
  t.pnl_gross = 1;
  return t;
}

}  // namespace

TEST_CASE("compare matches round trips within their runner only", "[unit][replay]") {
  // Runner 1's 0-10 is only in A; runner 2's 5-15 is in both. Matched by time
  // and direction alone, A's runner-1 trade took B's runner-2 one as "changed"
  // and A's runner-2 trade was left "only in A".
  const std::vector<portfolio::Trade> a{trade(1, 1, 0, 10), trade(2, 2, 5, 15)};
  const std::vector<portfolio::Trade> b{trade(2, 2, 5, 15)};
  const app::TradeComparison c = app::compare_trades(a, b);
  CHECK(c.same == 1);
  CHECK(c.changed == 0);
  CHECK(c.only_a == 1);
  CHECK(c.only_b == 0);
  REQUIRE(c.rows.size() == 2);
  CHECK(c.rows[0].kind == app::TradeMatch::Kind::OnlyA);
  CHECK(c.rows[0].a->runner == 1);
  CHECK(c.rows[1].kind == app::TradeMatch::Kind::Same);
  CHECK(c.rows[1].b->runner == 2);

  // Two runners with interleaved overlapping trades, compared with themselves:
  // every trade the same, rows in entry-time order.
  const std::vector<portfolio::Trade> both{trade(1, 1, 0, 10), trade(2, 2, 5, 15), trade(1, 1, 12, 20),
                                           trade(2, 2, 16, 30)};
  const app::TradeComparison self = app::compare_trades(both, both);
  CHECK(self.same == 4);
  CHECK(self.only_a + self.only_b + self.changed == 0);
  REQUIRE(self.rows.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(self.rows[i].a->entry_ts_ns == both[i].entry_ts_ns);
}
