// runner_state records written from their parts (state_parts.hpp) must be the
// bytes of the same state written as a value tree: the full record as
// encode_event() writes it, the delta record as encode_state_delta_if_patch()
// does (or the same refusal), and a journal of parts the journal of the
// equivalent events, in both storage modes.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/state_parts.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;

namespace {

// Numbers that stress the comparisons: -0.0 against 0.0, NaNs, integers.
double odd_double(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return std::numeric_limits<double>::quiet_NaN();
    case 3: return std::bit_cast<double>(0x7ff8000000000123ULL);  // another NaN payload
    case 4: return 1000.0;
    default: return static_cast<double>(rng() % 2000) / 16.0 - 60.0;
  }
}

Value small_ctx(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return Value();
    case 1: return Value::map({{"state", Value("Watch")}});
    case 2: return Value::map({{"state", Value("InTrade")}, {"entries", Value(static_cast<std::int64_t>(rng() % 3))}});
    default: return Value::map({{"state", Value("CloseWatch")}, {"setup", Value::map({{"reason", Value("x")}})}});
  }
}

Value orders_list(std::mt19937_64& rng) {
  Value::Array a;
  const auto n = rng() % 3;
  for (std::uint64_t i = 0; i < n; ++i)
    a.push_back(Value::map({{"id", Value(static_cast<std::int64_t>(rng() % 4))}, {"qty", Value(odd_double(rng))}}));
  return Value(std::move(a));
}

// The next state: each part changes with some probability (so deltas are
// patches, some change nothing, some change every key).
StateParts next_state(std::mt19937_64& rng, const StateParts& prev) {
  StateParts p = prev;
  const bool all = rng() % 10 == 0;
  auto maybe = [&](int pct) { return all || static_cast<int>(rng() % 100) < pct; };
  p.phase = rng() % 2 == 0 ? StatePhase::Before : StatePhase::After;
  p.state = static_cast<std::uint8_t>(rng() % 4);
  if (maybe(30)) p.cash = odd_double(rng);
  if (maybe(20)) p.commission_paid = odd_double(rng);
  if (maybe(40)) p.equity = odd_double(rng);
  if (maybe(40)) p.position_value = odd_double(rng);
  if (maybe(20)) p.realized_pnl = odd_double(rng);
  if (maybe(10)) p.trades = static_cast<std::int64_t>(rng() % 5);
  if (maybe(80)) p.bar_index += 1 + static_cast<std::int64_t>(rng() % 3);
  if (maybe(50)) p.bars_in_state = static_cast<std::int64_t>(rng() % 4);
  if (maybe(30)) p.avg_price = odd_double(rng);
  if (maybe(30)) p.qty = odd_double(rng);
  if (maybe(40)) p.unrealized_pnl = odd_double(rng);
  if (maybe(20)) p.in_trade = !p.in_trade;
  if (maybe(30)) p.bars_held = static_cast<std::int64_t>(rng() % 4);
  if (maybe(20)) p.entry_ts_ns = static_cast<std::int64_t>(rng() % 3) * 60'000'000'000LL;
  if (maybe(30)) p.trade_pnl = odd_double(rng);
  if (maybe(25)) {
    // A new pointer, sometimes to an equal value, sometimes none at all.
    const auto k = rng() % 4;
    if (k == 0) p.ctx.reset();
    else if (k == 1 && prev.ctx) p.ctx = std::make_shared<const Value>(*prev.ctx);
    else p.ctx = std::make_shared<const Value>(small_ctx(rng));
  }
  if (maybe(25)) {
    const auto k = rng() % 3;
    if (k == 0) p.orders.reset();
    else p.orders = std::make_shared<const Value>(orders_list(rng));
  }
  return p;
}

Event as_event(std::uint64_t seq, std::int64_t ts, model::RunnerId runner, const StateParts& p,
               const Value& indicators) {
  Event e;
  e.sequence = seq;
  e.ts_event_ns = ts;
  e.runner = runner;
  auto& st = e.body.emplace<RunnerState>();
  st.phase = p.phase;
  st.state = p.state;
  st.context = state_parts_context(p);
  st.indicators = indicators;
  return e;
}

Value indicators_for(std::mt19937_64& rng) {
  if (rng() % 2 == 0) return Value();
  return Value::map({{"sma(10)", Value(odd_double(rng))}, {"sma(30)", rng() % 3 == 0 ? Value() : Value(1.5)}});
}

// A batch whose states go out in parts (as RecorderBatch's do).
class PartsBatch final : public DeferredEvents {
 public:
  struct Item {
    std::int64_t ts;
    model::RunnerId runner;
    StateParts parts;
    Value indicators;
  };
  explicit PartsBatch(std::vector<Item> items) : items_(std::move(items)) {}
  std::size_t size() const noexcept override { return items_.size(); }
  void emit(DeferredConsumer& out) override {
    for (Item& i : items_) out.runner_state(i.ts, i.runner, i.parts, i.indicators);
  }
  void release() noexcept override {}

 private:
  std::vector<Item> items_;
};

}  // namespace

TEST_CASE("runner_state records from parts are the records of their value trees", "[unit][journal]") {
  std::mt19937_64 rng(20261206);
  StateParts prev;
  prev.ctx = std::make_shared<const Value>(small_ctx(rng));
  Value prev_ind;
  StatePartsBase cache;  // full records' ctx/orders bytes
  StatePartsBase base;   // the delta base
  int deltas = 0, refusals = 0, unchanged = 0;
  for (std::uint64_t seq = 1; seq <= 3000; ++seq) {
    const StateParts p = next_state(rng, prev);
    const Value ind = rng() % 4 == 0 ? indicators_for(rng) : prev_ind;
    const std::int64_t ts = static_cast<std::int64_t>(seq) * 1000 - 7;
    const Event e = as_event(seq, ts, 3, p, ind);

    std::string from_parts;
    encode_state_parts(seq, ts, 3, p, ind, cache, from_parts);
    REQUIRE(from_parts == encode_event(e));

    if (base.valid) {
      std::string d_parts, d_tree;
      const bool ok_parts =
          encode_state_parts_delta_if_patch(seq, ts, 3, p, ind, base, seq - 1, seq / 2, d_parts);
      const bool ok_tree =
          encode_state_delta_if_patch(e, state_parts_context(base.parts), base.indicators, seq - 1, seq / 2, d_tree);
      REQUIRE(ok_parts == ok_tree);
      REQUIRE(d_parts == d_tree);
      if (!ok_parts) ++refusals;
      else if (d_parts.size() < 40) ++unchanged, ++deltas;
      else ++deltas;
    }
    base.parts = p;
    base.indicators = ind;
    base.valid = true;
    prev = p;
    prev_ind = ind;
  }
  // The sequence exercised every outcome.
  CHECK(deltas > 1000);
  CHECK(refusals > 10);
  CHECK(unchanged > 0);
}

TEST_CASE("a journal of states in parts is the journal of the same states as events", "[unit][journal]") {
  TempDir dir;
  std::mt19937_64 rng(77);
  std::vector<PartsBatch::Item> items;
  std::vector<Event> events;
  StateParts prev[2];
  for (int i = 0; i < 600; ++i) {
    const model::RunnerId r = static_cast<model::RunnerId>(rng() % 2);
    prev[r] = next_state(rng, prev[r]);
    const Value ind = indicators_for(rng);
    const std::int64_t ts = 1'700'000'000'000'000'000LL + i * 60'000'000'000LL;
    items.push_back({ts, r, prev[r], ind});
    events.push_back(as_event(0, ts, r, prev[r], ind));
  }
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    for (bool indicators : {true, false}) {
      WriterOptions o = WriterOptions::deterministic(mode);
      o.snapshot_interval = 7;
      o.include_indicators = indicators;
      o.block_size = 4096;
      const std::string direct = dir.file("direct");
      const std::string parts = dir.file("parts");
      std::remove(direct.c_str());
      std::remove(parts.c_str());
      write_journal(direct, events, o);
      o.threading = WriterThreading::Background;
      auto w = JournalWriter::create(parts, o);
      REQUIRE(w.ok());
      for (std::size_t i = 0; i < items.size(); i += 50) {
        std::vector<PartsBatch::Item> chunk(items.begin() + static_cast<std::ptrdiff_t>(i),
                                            items.begin() + static_cast<std::ptrdiff_t>(std::min(i + 50, items.size())));
        REQUIRE((*w)->append_deferred(std::make_shared<PartsBatch>(std::move(chunk))).ok());
      }
      REQUIRE((*w)->close().ok());
      CHECK(read_file(parts) == read_file(direct));
      CHECK((*w)->stats().state_full + (*w)->stats().state_delta == items.size());
      if (mode == StorageMode::Delta) CHECK((*w)->stats().state_delta > 0);
    }
  }
}
