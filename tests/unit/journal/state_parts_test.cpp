// runner_state records written from their parts (state_parts.hpp) must be the
// bytes of the same state written as a value tree: the full record as
// encode_event() writes it, the delta record as encode_state_delta_if_patch()
// does (or the same refusal), and a journal of parts the journal of the
// equivalent events, in both storage modes.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>

#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/positional_state.hpp"
#include "engine/journal/state_parts.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Numbers that stress the comparisons: -0.0 against 0.0, NaNs, integers.
double odd_double(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return std::numeric_limits<double>::quiet_NaN();
    case 3: return std::bit_cast<double>(0x7ff8000000000123ULL);  // another NaN payload
    case 4: return 1000.0;
    case 5: {
      // Whole numbers at and past the positional record's integer form (|v| < 2^53), infinities.
      const double edges[] = {9007199254740991.0, -9007199254740991.0, 9007199254740992.0, -9007199254740992.0,
                              1e300, -1.0, std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity(), 0.5, 4294967296.0};
      return edges[rng() % std::size(edges)];
    }
    default: return static_cast<double>(rng() % 2000) / 16.0 - 60.0;
  }
}

// A working order as the recorder records it (RecorderBatch's order_value),
// with every enum name; now and then one a positional record cannot take.
Value standard_order(std::mt19937_64& rng) {
  static constexpr const char* kPurposes[] = {"entry",    "signal",  "stop",        "target",   "trailing",
                                              "timeout",  "kill_switch", "end_of_data", "risk_halt"};
  static constexpr const char* kStatuses[] = {"submitted", "accepted", "partially_filled", "filled",
                                              "cancelled", "rejected", "expired"};
  static constexpr const char* kTypes[] = {"market", "limit", "stop", "stop_limit", "trailing_stop"};
  Value::Map m;
  m.emplace_back("filled_qty", Value(odd_double(rng)));
  m.emplace_back("id", Value(static_cast<std::int64_t>(rng() % 300)));
  m.emplace_back("limit_price", Value(odd_double(rng)));
  m.emplace_back("purpose", Value(kPurposes[rng() % std::size(kPurposes)]));
  m.emplace_back("qty", Value(odd_double(rng)));
  m.emplace_back("side", Value(rng() % 2 == 0 ? "buy" : "sell"));
  m.emplace_back("status", Value(kStatuses[rng() % std::size(kStatuses)]));
  m.emplace_back("stop_price", Value(odd_double(rng)));
  m.emplace_back("type", Value(kTypes[rng() % std::size(kTypes)]));
  switch (rng() % 40) {
    case 0: m[5].second = Value("hold"); break;                             // an enum name no code has
    case 1: m[1].second = Value(-5); break;                                 // a negative id (an int: fine)
    case 2: m[4].second = Value(static_cast<std::int64_t>(100)); break;     // an int where a double was
    case 3: m.emplace_back("tag", Value("x")); break;                       // a key more
    default: break;
  }
  return Value(std::move(m));
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
  const bool standard = rng() % 3 != 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    a.push_back(standard ? standard_order(rng)
                         : Value::map({{"id", Value(static_cast<std::int64_t>(rng() % 4))}, {"qty", Value(odd_double(rng))}}));
  }
  if (rng() % 50 == 0) return Value("not a list");
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

// `items` as one deferred batch through a writer with options `o`, into a new file at `path`.
void write_parts(const std::string& path, const std::vector<PartsBatch::Item>& items, const WriterOptions& o) {
  std::remove(path.c_str());
  auto w = JournalWriter::create(path, o);
  REQUIRE(w.ok());
  REQUIRE((*w)->append_deferred(std::make_shared<PartsBatch>(items)).ok());
  REQUIRE((*w)->close().ok());
}

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

// Format 4: the positional record of a state decodes to the event its map
// record decodes to (full: the context tree; delta: the same delta document),
// and refuses a delta exactly when the map form does.
TEST_CASE("positional runner_state records decode to the events of the map records", "[unit][journal]") {
  std::mt19937_64 rng(4040);
  StateParts prev;
  prev.ctx = std::make_shared<const Value>(small_ctx(rng));
  Value prev_ind;
  StatePartsBase map_cache, pos_cache, base;
  std::size_t map_bytes = 0, pos_bytes = 0;
  int deltas = 0, tuples = 0, as_value = 0;
  Event from_map, from_pos, delta_pos;
  for (std::uint64_t seq = 1; seq <= 4000; ++seq) {
    const StateParts p = next_state(rng, prev);
    const Value ind = rng() % 4 == 0 ? indicators_for(rng) : prev_ind;
    const std::int64_t ts = static_cast<std::int64_t>(seq) * 1000 - 7;

    std::string m, q;
    encode_state_parts(seq, ts, 3, p, ind, map_cache, m);
    encode_state_positional(seq, ts, 3, p, ind, pos_cache, q);
    (pos_cache.pos_orders_as_value ? as_value : tuples) += 1;
    decode_event(m, from_map);
    decode_event(q, from_pos);  // (into the previous state's tree: decoding in place)
    INFO("sequence " << seq << " positional " << q.size() << " bytes, map " << m.size());
    REQUIRE(from_pos.get<UnknownEvent>() == nullptr);
    REQUIRE(identical(from_pos, from_map));
    REQUIRE(identical(decode_event(q), from_map));  // and into a fresh event
    map_bytes += m.size();
    pos_bytes += q.size();

    if (base.valid) {
      std::string dm, dq;
      const bool ok_map = encode_state_parts_delta_if_patch(seq, ts, 3, p, ind, base, seq - 1, seq / 2, dm);
      const bool ok_pos = encode_state_positional_delta_if_patch(seq, ts, 3, p, ind, base, seq - 1, seq / 2, dq);
      REQUIRE(ok_map == ok_pos);
      if (ok_map) {
        ++deltas;
        decode_event(dm, from_map);
        decode_event(dq, from_pos);
        REQUIRE(from_pos.get<UnknownEvent>() == nullptr);
        REQUIRE(identical(from_pos, from_map));
        decode_event(dq, delta_pos);  // into the tree of the delta before (the reader's way)
        REQUIRE(identical(delta_pos, from_map));
        REQUIRE(dq.size() <= dm.size());
      }
    }
    base.parts = p;
    base.indicators = ind;
    base.valid = true;
    prev = p;
    prev_ind = ind;
  }
  CHECK(deltas > 1000);
  CHECK(tuples > 1000);
  CHECK(as_value > 100);
  CHECK(pos_bytes * 10 < map_bytes * 6);  // the keys were about half of a state record
}

TEST_CASE("a positional delta's ctx leaf from the base's memo is the leaf computed anew", "[unit][journal]") {
  // A ctx that goes back and forth between a few shared values (the memo's
  // hits), equal values under new pointers, and none at all; every delta
  // written with the long-lived base equals the one written with a copy of it
  // whose memo is empty.
  std::mt19937_64 rng(2323);
  std::vector<std::shared_ptr<const Value>> pool;
  for (int i = 0; i < 5; ++i) pool.push_back(std::make_shared<const Value>(small_ctx(rng)));
  pool.push_back(std::make_shared<const Value>(Value::map({})));
  pool.push_back(std::make_shared<const Value>(Value::map({{"setup", Value::map({{"reason", Value("golden")}})}})));
  StateParts prev;
  StatePartsBase base;
  int deltas = 0, ctx_changed = 0;
  for (std::uint64_t seq = 1; seq <= 3000; ++seq) {
    StateParts p = next_state(rng, prev);
    const auto k = rng() % 10;
    if (k < 6) {
      p.ctx = pool[5 + rng() % 2];  // sma_cross's two values, back and forth
    } else if (k < 8) {
      p.ctx = pool[rng() % pool.size()];
    } else if (k == 8 && p.ctx) {
      p.ctx = std::make_shared<const Value>(*p.ctx);  // equal, another pointer
    } else {
      p.ctx.reset();
    }
    const std::int64_t ts = static_cast<std::int64_t>(seq) * 1000;
    if (base.valid) {
      StatePartsBase fresh = base;
      fresh.ctx_diffs[0] = {};
      fresh.ctx_diffs[1] = {};
      std::string with_memo, without;
      const bool a = encode_state_positional_delta_if_patch(seq, ts, 3, p, Value(), base, seq - 1, 1, with_memo);
      const bool b = encode_state_positional_delta_if_patch(seq, ts, 3, p, Value(), fresh, seq - 1, 1, without);
      INFO("sequence " << seq);
      REQUIRE(a == b);
      REQUIRE(hex(with_memo) == hex(without));
      if (a) ++deltas;
      if (prev.ctx != p.ctx) ++ctx_changed;
    }
    keep_positional_base(base, p);
    base.valid = true;
    prev = p;
  }
  CHECK(deltas > 1000);
  CHECK(ctx_changed > 1000);
}

TEST_CASE("the ctx memo keeps small contexts only: a big pair is diffed directly and not held", "[unit][journal]") {
  // A recorded ctx may be up to max_ctx_bytes; memoised, a pair (and its
  // diff) would stay alive in every runner's base until two more changes.
  std::mt19937_64 rng(77);
  StateParts prev = next_state(rng, StateParts{});
  prev.ctx = std::make_shared<const Value>(Value::map({{"blob", Value(std::string(100000, 'a'))}}));
  StatePartsBase base;
  keep_positional_base(base, prev);
  base.valid = true;
  StateParts p = next_state(rng, prev);
  p.ctx = std::make_shared<const Value>(Value::map({{"blob", Value(std::string(100000, 'b'))}}));
  {
    StatePartsBase fresh = base;
    std::string with_memo, without;
    const bool a = encode_state_positional_delta_if_patch(2, 2000, 3, p, Value(), base, 1, 1, with_memo);
    fresh.ctx_diffs[0] = {};
    fresh.ctx_diffs[1] = {};
    const bool b = encode_state_positional_delta_if_patch(2, 2000, 3, p, Value(), fresh, 1, 1, without);
    REQUIRE(a == b);
    REQUIRE(hex(with_memo) == hex(without));
  }
  for (const auto& d : base.ctx_diffs) {
    CHECK(d.from != prev.ctx);
    CHECK(d.to != p.ctx);
    CHECK(d.bytes.size() < 1000);
  }
  CHECK(prev.ctx.use_count() <= 2);  // prev and base.parts: nothing else holds it
  // A small pair is memoised (the test above relies on it).
  keep_positional_base(base, p);
  StateParts q = next_state(rng, p);
  q.ctx = std::make_shared<const Value>(Value::map({}));
  StateParts r = next_state(rng, q);
  r.ctx = std::make_shared<const Value>(Value::map({{"setup", Value::map({{"reason", Value("golden")}})}}));
  keep_positional_base(base, q);
  std::string out;
  (void)encode_state_positional_delta_if_patch(4, 4000, 3, r, Value(), base, 3, 1, out);
  CHECK(((base.ctx_diffs[0].from == q.ctx && base.ctx_diffs[0].to == r.ctx) ||
         (base.ctx_diffs[1].from == q.ctx && base.ctx_diffs[1].to == r.ctx)));
}

TEST_CASE("a positional runner_state record cut short or damaged never decodes as a state", "[unit][journal]") {
  std::mt19937_64 rng(99);
  StateParts p;
  p.in_trade = true;
  p.cash = 1e6, p.qty = 1000, p.avg_price = 100.25, p.bars_held = 3, p.entry_ts_ns = 60, p.trade_pnl = -2.5;
  p.ctx = std::make_shared<const Value>(small_ctx(rng));
  Value::Array orders{standard_order(rng), standard_order(rng)};
  p.orders = std::make_shared<const Value>(Value(std::move(orders)));
  StatePartsBase cache, base;
  std::string full;
  encode_state_positional(9, 10, 0, p, Value(), cache, full);
  base.parts = p;
  base.valid = true;
  StateParts q = p;
  q.cash = 5, q.bar_index = 4, q.in_trade = false;
  std::string delta;
  REQUIRE(encode_state_positional_delta_if_patch(10, 11, 0, q, Value(), base, 9, 9, delta));
  // Format 6's order tuples in a delta's orders document: an order added
  // ([3, tuple]) and a whole list replaced ([4, [tuple, ...]]).
  StateParts added = p;
  Value::Array three{p.orders->as_array()[0], p.orders->as_array()[1], standard_order(rng)};
  added.orders = std::make_shared<const Value>(Value(std::move(three)));
  StateParts replaced = p;
  Value::Array other{standard_order(rng), standard_order(rng)};
  replaced.orders = std::make_shared<const Value>(Value(std::move(other)));
  std::string with_add, with_list;
  REQUIRE(encode_state_positional_delta_if_patch(10, 11, 0, added, Value(), base, 9, 9, with_add));
  REQUIRE(encode_state_positional_delta_if_patch(10, 11, 0, replaced, Value(), base, 9, 9, with_list));
  REQUIRE(with_add.find("\x92\x03\x99") != std::string::npos);
  REQUIRE(with_list.find("\x92\x04\x92\x99") != std::string::npos);
  Event e;
  for (const std::string& r : {full, delta, with_add, with_list}) {
    decode_event(r, e);
    REQUIRE(e.get<RunnerState>() != nullptr);
    for (std::size_t n = 0; n < r.size(); ++n) {
      decode_event(r.substr(0, n), e);
      INFO("cut at " << n << " of " << r.size());
      CHECK(e.get<UnknownEvent>() != nullptr);
    }
  }
  // An encoding past 3 is refused.
  std::string bad = full;
  bad[bad.find('\x02', 3)] = '\x04';
  decode_event(bad, e);
  CHECK(e.get<UnknownEvent>() != nullptr);
}

TEST_CASE("format 4 journals read back the events format 3 journals of the same states do", "[unit][journal]") {
  TempDir dir;
  std::mt19937_64 rng(404);
  std::vector<PartsBatch::Item> items;
  StateParts prev[2];
  for (int i = 0; i < 800; ++i) {
    const model::RunnerId r = static_cast<model::RunnerId>(rng() % 2);
    prev[r] = next_state(rng, prev[r]);
    const std::int64_t ts = 1'700'000'000'000'000'000LL + i * 60'000'000'000LL;
    items.push_back({ts, r, prev[r], indicators_for(rng)});
  }
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    for (bool indicators : {true, false}) {
      std::string files[2];
      for (bool positional : {false, true}) {
        WriterOptions o = WriterOptions::deterministic(mode);
        o.snapshot_interval = 7;
        o.include_indicators = indicators;
        o.block_size = 4096;
        o.positional_states = positional;
        files[positional] = dir.file(positional ? "v4" : "v3");
        write_parts(files[positional], items, o);
      }
      INFO("mode " << to_string(mode) << " indicators " << indicators);
      CHECK(read_file(files[1]).size() < read_file(files[0]).size());
      for (bool reconstruct : {true, false}) {
        NullReporter rep;
        ReaderOptions ro;
        ro.reconstruct_state = reconstruct;
        const auto v3 = read_all(files[0], rep, ro);
        const auto v4 = read_all(files[1], rep, ro);
        REQUIRE(v3.size() == items.size());
        REQUIRE(v4.size() == v3.size());
        for (std::size_t i = 0; i < v3.size(); ++i) {
          INFO("event " << i << " reconstruct " << reconstruct);
          REQUIRE(identical(v4[i], v3[i]));
          if (!reconstruct) continue;
          // And the states written, not only the same in both forms: two
          // runners' deltas interleave, each against its own runner's last
          // state (the writer keeps a runner's track by pointer).
          REQUIRE(v4[i].runner == items[i].runner);
          const auto* st = std::get_if<RunnerState>(&v4[i].body);
          REQUIRE(st != nullptr);
          REQUIRE(st->context == state_parts_context(items[i].parts));
        }
      }
      NullReporter rep;
      auto r3 = JournalReader::open(files[0], rep, {});
      auto r4 = JournalReader::open(files[1], rep, {});
      REQUIRE(r3.ok());
      REQUIRE(r4.ok());
      CHECK((*r3)->header().major == 3);
      CHECK((*r4)->header().major == kFormatMajor);
    }
  }
}

TEST_CASE("positional states written in place in the block read back as format 3's, whatever their size",
          "[unit][journal]") {
  // The writer encodes a positional state where its block keeps it, from 127
  // bytes of room grown as needed, and a state longer than the records it
  // writes in place (4,096 bytes) through its scratch record: indicator
  // values of 0 to 9,000 bytes make states of every such size, read back
  // against format 3's (whose map records go through the scratch record).
  TempDir dir;
  std::mt19937_64 rng(4096);
  std::vector<PartsBatch::Item> items;
  StateParts prev[2];
  const std::size_t sizes[] = {0, 0, 10, 60, 100, 140, 300, 1'000, 4'000, 4'100, 9'000};
  for (int i = 0; i < 300; ++i) {
    const model::RunnerId r = static_cast<model::RunnerId>(rng() % 2);
    prev[r] = next_state(rng, prev[r]);
    const std::int64_t ts = 1'700'000'000'000'000'000LL + i * 60'000'000'000LL;
    const std::size_t n = sizes[rng() % std::size(sizes)];
    Value ind = n == 0 ? Value() : Value::map({{"note", Value(std::string(n, static_cast<char>('a' + i % 26)))}});
    items.push_back({ts, r, prev[r], std::move(ind)});
  }
  for (StorageMode mode : {StorageMode::Full, StorageMode::Delta}) {
    std::string files[2];
    for (bool positional : {false, true}) {
      WriterOptions o = WriterOptions::deterministic(mode);
      o.snapshot_interval = 5;
      o.block_size = 8192;
      o.positional_states = positional;
      files[positional] = dir.file(positional ? "v4" : "v3");
      write_parts(files[positional], items, o);
    }
    INFO("mode " << to_string(mode));
    NullReporter rep;
    ReaderOptions ro;
    const auto v3 = read_all(files[0], rep, ro);
    const auto v4 = read_all(files[1], rep, ro);
    REQUIRE(v3.size() == items.size());
    REQUIRE(v4.size() == v3.size());
    for (std::size_t i = 0; i < v3.size(); ++i) {
      INFO("event " << i);
      REQUIRE(identical(v4[i], v3[i]));
    }
  }
}

// Keep in sync with "Positional runner_state (format 4)" in docs/journal-format.md.
TEST_CASE("the positional runner_state example in docs/journal-format.md is what the writer writes",
          "[unit][journal]") {
  StateParts p;
  p.phase = StatePhase::After;
  p.state = 2;
  p.cash = 899750.0;
  p.commission_paid = 100.25;
  p.equity = 1000000.5;
  p.position_value = 100250.5;
  p.realized_pnl = 0;
  p.trades = 0;
  p.bar_index = 42;
  p.bars_in_state = 1;
  p.avg_price = 100.25;
  p.qty = 1000;
  p.unrealized_pnl = 0.5;
  p.in_trade = true;
  p.bars_held = 1;
  p.entry_ts_ns = 1'700'000'000'000'000'000;
  p.trade_pnl = 0.5;
  p.ctx = std::make_shared<const Value>(Value::map({{"n", Value(static_cast<std::int64_t>(1))}}));
  Value::Map order;
  order.emplace_back("filled_qty", Value(0.0));
  order.emplace_back("id", Value(static_cast<std::int64_t>(2)));
  order.emplace_back("limit_price", Value(0.0));
  order.emplace_back("purpose", Value("stop"));
  order.emplace_back("qty", Value(1000.0));
  order.emplace_back("side", Value("sell"));
  order.emplace_back("status", Value("accepted"));
  order.emplace_back("stop_price", Value(98.5));
  order.emplace_back("type", Value("stop"));
  p.orders = std::make_shared<const Value>(Value(Value::Array{Value(std::move(order))}));
  StatePartsBase cache;
  std::string full;
  encode_state_positional(300, 1'700'000'060'000'000'000, 0, p, Value(), cache, full);
  CHECK(hex(full) ==
        "dc 00 19 04 cd 01 2c cf 17 97 9d 0c 2e 71 58 00 00 01 02 02 00 "
        "ce 00 0d ba a6 cb 40 59 10 00 00 00 00 00 cb 41 2e 84 81 00 00 00 00 cb 40 f8 79 a8 00 00 00 00 00 00 "
        "2a 01 81 a1 6e 01 91 99 00 02 00 02 cd 03 e8 01 01 cb 40 58 a0 00 00 00 00 00 02 "
        "cb 40 59 10 00 00 00 00 00 01 cf 17 97 9c fe 36 2a 00 00 cd 03 e8 cb 3f e0 00 00 00 00 00 00 "
        "cb 3f e0 00 00 00 00 00 00 c0");
  std::string map_form;
  StatePartsBase map_cache;
  encode_state_parts(300, 1'700'000'060'000'000'000, 0, p, Value(), map_cache, map_form);
  CHECK(identical(decode_event(full), decode_event(map_form)));
  INFO("map form " << map_form.size() << " bytes");
  CHECK(full.size() == 123);
  CHECK(map_form.size() == 425);

  // The next state: one bar later, the mark moved.
  StatePartsBase base;
  base.parts = p;
  base.valid = true;
  StateParts q = p;
  q.phase = StatePhase::Before;
  q.bar_index = 43;
  q.bars_in_state = 2;
  q.bars_held = 2;
  q.equity = 1000001.0;
  q.position_value = 100251.0;
  q.unrealized_pnl = 1.0;
  q.trade_pnl = 1.0;
  std::string delta;
  REQUIRE(encode_state_positional_delta_if_patch(301, 1'700'000'120'000'000'000, 0, q, Value(), base, 300, 250,
                                                 delta));
  CHECK(hex(delta) ==
        "dc 00 12 04 cd 01 2d cf 17 97 9d 1a 26 b8 b0 00 00 00 02 03 cd c8 cc "
        "ce 00 0f 42 41 ce 00 01 87 9b 2b 02 02 01 01 c0 cd 01 2c cc fa");
  CHECK(delta.size() == 44);
  std::string map_delta;
  REQUIRE(encode_state_parts_delta_if_patch(301, 1'700'000'120'000'000'000, 0, q, Value(), base, 300, 250,
                                            map_delta));
  CHECK(identical(decode_event(delta), decode_event(map_delta)));

  // Format 6: the first state again, against one without the order: the
  // orders patch writes the order it adds as its tuple, [3, tuple], where
  // format 5 wrote [0, {nine keys}]; both read as the same event.
  StatePartsBase none;
  none.parts = p;
  none.parts.orders = std::make_shared<const Value>(Value(Value::Array{}));
  none.valid = true;
  std::string gained, gained5;
  REQUIRE(encode_state_positional_delta_if_patch(300, 1'700'000'060'000'000'000, 0, p, Value(), none, 299, 250,
                                                 gained));
  REQUIRE(encode_state_positional_delta_if_patch(300, 1'700'000'060'000'000'000, 0, p, Value(), none, 299, 250,
                                                 gained5, false));
  CHECK(hex(gained) ==
        "9c 04 cd 01 2c cf 17 97 9d 0c 2e 71 58 00 00 01 02 03 cd 02 00 "
        "93 02 01 91 92 00 92 03 99 00 02 00 02 cd 03 e8 01 01 cb 40 58 a0 00 00 00 00 00 02 "
        "c0 cd 01 2b cc fa");
  CHECK(gained.size() == 55);
  CHECK(gained5.size() == 55 + 108);
  CHECK(identical(decode_event(gained), decode_event(gained5)));

  // The stop moved to 99 (its only order changed: the delta replaces the
  // whole list), [4, [tuple]] where format 5 wrote [0, [{nine keys}]].
  Value::Map moved = p.orders->as_array()[0].as_map();
  moved[7].second = Value(99.0);
  StateParts r = p;
  r.orders = std::make_shared<const Value>(Value(Value::Array{Value(std::move(moved), Value::sorted_keys)}));
  std::string list, list5;
  REQUIRE(encode_state_positional_delta_if_patch(301, 1'700'000'120'000'000'000, 0, r, Value(), base, 300, 250,
                                                 list));
  REQUIRE(encode_state_positional_delta_if_patch(301, 1'700'000'120'000'000'000, 0, r, Value(), base, 300, 250,
                                                 list5, false));
  CHECK(hex(list) ==
        "9c 04 cd 01 2d cf 17 97 9d 1a 26 b8 b0 00 00 01 02 03 cd 02 00 "
        "92 04 91 99 00 02 00 02 cd 03 e8 01 01 63 02 c0 cd 01 2c cc fa");
  CHECK(list.size() == 42);
  CHECK(list5.size() == 42 + 116);
  CHECK(identical(decode_event(list), decode_event(list5)));
}

TEST_CASE("format 4 and format 3 journals of every event type read back the same events", "[unit][journal]") {
  TempDir dir;
  std::vector<Event> events = one_of_each();
  for (int i = 0; i < 3; ++i) {
    const auto more = one_of_each();
    events.insert(events.end(), more.begin(), more.end());
  }
  // one_of_each()'s runner_state is not of the recorder's shape (map form in
  // both formats): states of that shape too, so format 4 writes encodings 2 and 3.
  std::mt19937_64 rng(4);
  StateParts prev;
  for (int i = 0; i < 40; ++i) {
    prev = next_state(rng, prev);
    events.push_back(as_event(0, 1'700'000'000'000'000'000LL + i * 60'000'000'000LL, 1, prev, indicators_for(rng)));
  }
  std::string files[2];
  for (bool positional : {false, true}) {
    WriterOptions o = WriterOptions::deterministic(StorageMode::Delta);
    o.positional_states = positional;
    o.compress = false;  // (the sizes below compare the records)
    files[positional] = dir.file(positional ? "v4" : "v3");
    write_journal(files[positional], events, o);
  }
  NullReporter rep;
  const auto v3 = read_all(files[0], rep);
  const auto v4 = read_all(files[1], rep);
  // The positional records make the journal smaller (they were written).
  CHECK(std::filesystem::file_size(files[1]) < std::filesystem::file_size(files[0]));
  REQUIRE(v3.size() == events.size());
  REQUIRE(v4.size() == v3.size());
  for (std::size_t i = 0; i < v3.size(); ++i) {
    INFO("event " << i << " " << to_string(v3[i].type()));
    CHECK(identical(v4[i], v3[i]));
  }
}

namespace {

// A working order as a producer holds it, every enum value reached, and now
// and then one out of range (not a tuple: the value path).
model::Order raw_order(std::mt19937_64& rng) {
  model::Order o;
  o.id = rng() % 8 == 0 ? (std::uint64_t{1} << 40) + rng() % 9 : rng() % 300;
  if (rng() % 64 == 0) o.id = ~std::uint64_t{0} - rng() % 3;  // negative as the value's int64
  o.qty = odd_double(rng);
  o.filled_qty = odd_double(rng);
  o.limit_price = odd_double(rng);
  o.stop_price = odd_double(rng);
  o.purpose = static_cast<model::OrderPurpose>(rng() % 9);
  o.side = static_cast<model::Side>(rng() % 2);
  o.status = static_cast<model::OrderStatus>(rng() % 7);
  o.type = static_cast<model::OrderType>(rng() % 5);
  switch (rng() % 60) {
    case 0: o.purpose = static_cast<model::OrderPurpose>(9); break;
    case 1: o.side = static_cast<model::Side>(2); break;
    case 2: o.status = static_cast<model::OrderStatus>(7); break;
    case 3: o.type = static_cast<model::OrderType>(5); break;
    default: break;
  }
  return o;
}

}  // namespace

TEST_CASE("states with a producer's raw orders are written as the states with their values", "[unit][journal]") {
  // RecorderBatch hands its orders over raw (StateParts::raw_orders): the
  // positional record writes their tuples straight from them, the map form
  // and deltas their value (order_value()); every record must be the record
  // of the same state with the orders' value, and the fallback for an order
  // that is no tuple the same.
  std::mt19937_64 rng(20261207);
  OrdersMemo memo;
  std::vector<model::Order> list;
  std::uint64_t serial = 0;
  StateParts prev_tree;
  prev_tree.ctx = std::make_shared<const Value>(small_ctx(rng));
  Value prev_ind;
  StatePartsBase raw_cache, tree_cache, raw_pos_cache, tree_pos_cache, base;
  StatePartsBase kept;  // a positional writer's base (keep_positional_base)
  int tuples = 0, as_value = 0, deltas = 0, kept_deltas = 0, tuple_replaced = 0;
  for (std::uint64_t seq = 1; seq <= 4000; ++seq) {
    StateParts tree = next_state(rng, prev_tree);
    if (rng() % 4 == 0) {  // a new list (sometimes none)
      list.clear();
      // Mostly short; sometimes past put_kept_orders_diff's 8 local change
      // masks and msgpack's fixarray (16 elements).
      const auto n = rng() % 5 == 0 ? 0 : rng() % 6 == 0 ? 7 + rng() % 14 : 1 + rng() % 3;
      for (std::uint64_t i = 0; i < n; ++i) list.push_back(raw_order(rng));
      serial = list.empty() ? 0 : serial + 1 + rng() % 2;
    } else if (!list.empty() && rng() % 3 == 0) {  // an order's fields edited (patches, not replacements)
      model::Order& o = list[rng() % list.size()];
      const model::Order fresh = raw_order(rng);
      for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) {
        switch (rng() % 9) {
          case 0: o.filled_qty = fresh.filled_qty; break;
          case 1: o.id = fresh.id; break;
          case 2: o.limit_price = fresh.limit_price; break;
          case 3: o.purpose = fresh.purpose; break;
          case 4: o.qty = fresh.qty; break;
          case 5: o.side = fresh.side; break;
          case 6: o.status = fresh.status; break;
          case 7: o.stop_price = fresh.stop_price; break;
          default: o.type = fresh.type; break;
        }
      }
      if (rng() % 4 == 0) list.push_back(raw_order(rng));  // and one more
      if (rng() % 5 == 0 && list.size() > 1) list.pop_back();  // or one fewer
      serial += 1;
    }
    Value::Array values;
    for (const model::Order& o : list) values.push_back(order_value(o));
    // The tree form gets a new pointer only when the list changed (as the memo does).
    if (seq == 1 || !prev_tree.orders || !(*prev_tree.orders == Value(values)) || rng() % 3 == 0)
      tree.orders = std::make_shared<const Value>(Value(std::move(values)));
    else
      tree.orders = prev_tree.orders;
    StateParts raw = tree;
    raw.orders.reset();
    raw.raw_orders = true;
    raw.order_list = list.data();
    raw.order_count = static_cast<std::uint32_t>(list.size());
    raw.orders_serial = serial;
    raw.orders_memo = &memo;
    const Value ind = rng() % 4 == 0 ? indicators_for(rng) : prev_ind;
    const std::int64_t ts = static_cast<std::int64_t>(seq) * 1000 - 7;
    INFO("sequence " << seq);

    std::string a, b;
    encode_state_positional(seq, ts, 3, raw, ind, raw_pos_cache, a);
    encode_state_positional(seq, ts, 3, tree, ind, tree_pos_cache, b);
    REQUIRE(hex(a) == hex(b));
    (tree_pos_cache.pos_orders_as_value ? as_value : tuples) += 1;
    a.clear(), b.clear();
    encode_state_parts(seq, ts, 3, raw, ind, raw_cache, a);
    encode_state_parts(seq, ts, 3, tree, ind, tree_cache, b);
    REQUIRE(hex(a) == hex(b));
    REQUIRE(state_parts_context(raw) == state_parts_context(tree));
    if (base.valid) {
      std::string da, db, qa, qb;
      const bool ok_a = encode_state_parts_delta_if_patch(seq, ts, 3, raw, ind, base, seq - 1, seq / 2, da);
      const bool ok_b = encode_state_parts_delta_if_patch(seq, ts, 3, tree, ind, base, seq - 1, seq / 2, db);
      REQUIRE(ok_a == ok_b);
      REQUIRE(hex(da) == hex(db));
      const bool pos_a = encode_state_positional_delta_if_patch(seq, ts, 3, raw, ind, base, seq - 1, seq / 2, qa);
      const bool pos_b = encode_state_positional_delta_if_patch(seq, ts, 3, tree, ind, base, seq - 1, seq / 2, qb);
      REQUIRE(pos_a == pos_b);
      REQUIRE(hex(qa) == hex(qb));
      deltas += ok_a;
      // Against the base a positional writer keeps (raw orders as their
      // fields, compared and diffed without their value): the same records.
      std::string ka, kb;
      const bool kept_a = encode_state_positional_delta_if_patch(seq, ts, 3, raw, ind, kept, seq - 1, seq / 2, ka);
      const bool kept_b = encode_state_positional_delta_if_patch(seq, ts, 3, tree, ind, kept, seq - 1, seq / 2, kb);
      REQUIRE(kept_a == pos_a);
      REQUIRE(kept_b == pos_a);
      REQUIRE(hex(ka) == hex(qa));
      REQUIRE(hex(kb) == hex(qa));
      kept_deltas += kept.orders_kept && kept_a;
      // Format 5's records (order_tuples off: an order replaced whole as its
      // map) the same on every path, and each format 6 record reads as the
      // format 5 record of the same state.
      std::string q5a, q5b, k5a, k5b;
      REQUIRE(encode_state_positional_delta_if_patch(seq, ts, 3, raw, ind, base, seq - 1, seq / 2, q5a, false) == pos_a);
      REQUIRE(encode_state_positional_delta_if_patch(seq, ts, 3, tree, ind, base, seq - 1, seq / 2, q5b, false) == pos_a);
      REQUIRE(encode_state_positional_delta_if_patch(seq, ts, 3, raw, ind, kept, seq - 1, seq / 2, k5a, false) == pos_a);
      REQUIRE(encode_state_positional_delta_if_patch(seq, ts, 3, tree, ind, kept, seq - 1, seq / 2, k5b, false) == pos_a);
      REQUIRE(hex(q5b) == hex(q5a));
      REQUIRE(hex(k5a) == hex(q5a));
      REQUIRE(hex(k5b) == hex(q5a));
      if (pos_a) {
        const Event e6 = decode_event(qa);
        const Event e5 = decode_event(q5a);
        REQUIRE(e6.get<UnknownEvent>() == nullptr);
        REQUIRE(identical(e6, e5));
        REQUIRE(qa.size() <= q5a.size());
        tuple_replaced += qa != q5a;
      }
    }
    // The writer's base holds its orders as a value (own_orders), whichever
    // form came; a positional writer's as their fields when they came raw.
    const bool pick_raw = rng() % 2 == 0;
    base.parts = pick_raw ? raw : tree;
    own_orders(base.parts);
    REQUIRE_FALSE(base.parts.raw_orders);
    keep_positional_base(kept, pick_raw ? raw : tree);
    REQUIRE_FALSE(kept.parts.raw_orders);
    kept.indicators = ind;
    kept.valid = true;
    base.indicators = ind;
    base.valid = true;
    prev_tree = tree;
    prev_ind = ind;
  }
  CHECK(tuples > 1000);
  CHECK(as_value > 100);
  CHECK(deltas > 1000);
  CHECK(kept_deltas > 500);
  CHECK(tuple_replaced > 200);
}
