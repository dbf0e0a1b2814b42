// The batch loop (SymbolRunner::run: the per-bar loop inside the strategy's VM,
// docs/performance.md "The per-bar loop") against the one-call-per-callback
// path (SymbolRunner::on_bar, what live trading uses):
//  - identical results for every example strategy on real data (trades,
//    equity curve, fills, transitions, callback counts);
//  - it really batches: host->Lua entries stay within a few per fill, not one
//    per bar (the regression guard: a change that silently drops every bar
//    back to the host doubles the cost per bar without failing anything else);
//  - strategy errors keep file:line and the run goes on; CPU deadlines and the
//    memory budget still stop a strategy inside the loop.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/time.hpp"
#include "engine/runner/symbol_runner.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/journal/journal_compare.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/reporter.hpp"
#include "engine/runner/journal_recorder.hpp"
#include "engine/runner/session_recorder.hpp"

namespace {

using namespace te;

const model::BarSeries& nvda() {
  static const model::BarSeries bars = [] {
    data::LoadOptions lo;
    lo.cache.read = lo.cache.write = false;
    auto b = data::load_bars(std::string(TE_SHARED_DIR) + "/data/nvda-1999-2014.txt", lo);
    REQUIRE(b);
    return std::move(*b);
  }();
  return bars;
}

const std::vector<script::StrategySource>& indicator_files() {
  static const std::vector<script::StrategySource> files = [] {
    auto f = script::find_indicator_files(std::string(TE_SOURCE_DIR) + "/indicators");
    REQUIRE(f);
    return std::move(*f);
  }();
  return files;
}

backtest::BacktestConfig base_config() {
  backtest::BacktestConfig cfg;
  cfg.exchange.commission.rate = 0.001;
  cfg.indicator_files = indicator_files();
  return cfg;
}

backtest::BacktestResult run(const backtest::BacktestConfig& cfg, const model::BarSeries& bars,
                             const script::StrategySource& src) {
  auto r = backtest::run_backtest(cfg, bars, src);
  REQUIRE(r);
  return std::move(*r);
}

void check_same(const backtest::BacktestResult& a, const backtest::BacktestResult& b) {
  REQUIRE(a.bars == b.bars);
  REQUIRE(a.trades.size() == b.trades.size());
  for (std::size_t i = 0; i < a.trades.size(); ++i) {
    INFO("trade " << i);
    CHECK(a.trades[i].entry_ts_ns == b.trades[i].entry_ts_ns);
    CHECK(a.trades[i].exit_ts_ns == b.trades[i].exit_ts_ns);
    CHECK(a.trades[i].entry_price == b.trades[i].entry_price);
    CHECK(a.trades[i].exit_price == b.trades[i].exit_price);
    CHECK(a.trades[i].pnl_gross == b.trades[i].pnl_gross);
    CHECK(std::memcmp(&a.trades[i].mae, &b.trades[i].mae, sizeof(double)) == 0);
    CHECK(std::memcmp(&a.trades[i].mfe, &b.trades[i].mfe, sizeof(double)) == 0);
  }
  CHECK(a.fills == b.fills);
  CHECK(a.final_cash == b.final_cash);
  CHECK(a.final_equity == b.final_equity);
  CHECK(a.commission_paid == b.commission_paid);
  CHECK(a.transition_count == b.transition_count);
  CHECK(a.rejections == b.rejections);
  CHECK(a.strategy_log == b.strategy_log);
  CHECK(a.stats.callbacks == b.stats.callbacks);
  for (int k = 0; k < 3; ++k) CHECK(a.stats.callback_calls[k] == b.stats.callback_calls[k]);
  CHECK(a.stats.strategy_errors == b.stats.strategy_errors);
  REQUIRE(a.equity.equity.size() == b.equity.equity.size());
  for (std::size_t i = 0; i < a.equity.equity.size(); ++i) {
    if (a.equity.equity[i] != b.equity.equity[i] || a.equity.cash[i] != b.equity.cash[i]) {
      FAIL("equity differs at bar " << i << ": " << a.equity.equity[i] << " vs " << b.equity.equity[i]);
    }
  }
  CHECK(a.fault.has_value() == b.fault.has_value());
  if (a.fault && b.fault) {
    CHECK(a.fault->message == b.fault->message);
    CHECK(a.fault->line == b.fault->line);
  }
}

script::StrategySource source(const std::string& code, const std::string& path = "strategies/probe.lua") {
  auto s = script::make_strategy_source(path, code);
  REQUIRE(s);
  return std::move(*s);
}

// `n` generated 1-minute bars of seed `seed`.
model::BarSeries generated_bars(std::uint64_t seed, std::size_t n) {
  data::GeneratorOptions go;
  go.seed = seed;
  auto bars = data::generate_bars(go, n, "SIM");
  REQUIRE(bars);
  return std::move(*bars);
}

// One backtest of `src` recorded as session `id` under `dir`, with the batch
// loop or the per-call path; `o` says how. Returns the journal's path.
struct RecordedRun {
  std::string journal;
  backtest::BacktestResult result;
  std::uint64_t on_bars_skipped = 0;
};
RecordedRun recorded_run(runner::SessionRecorderOptions o, const std::string& dir, const std::string& id,
                         const script::StrategySource& src, const model::BarSeries& bars, bool batch) {
  o.base_dir = dir;
  o.session_id = id;
  journal::SessionMeta meta;
  meta.mode = "backtest";
  meta.strategies.push_back({"probe", src.path, "", {bars.symbol()}, Value()});
  auto session = runner::SessionRecorder::create(o, meta, {src.code});
  REQUIRE(session);
  auto cfg = base_config();
  cfg.batch = batch;
  cfg.initial_cash = 1'000'000;
  runner::JournalRecorder& rec = (*session)->add_runner();
  cfg.observer = &rec;
  RecordedRun out;
  out.result = run(cfg, bars, src);
  REQUIRE((*session)->finish("end_of_data", Value(), Value()));
  out.journal = (*session)->dir().journal_path();
  out.on_bars_skipped = rec.on_bars_skipped();
  return out;
}

// The two journals hold the same event stream; returns its length.
std::uint64_t check_same_journals(const std::string& a_path, const std::string& b_path) {
  journal::NullReporter rep;
  auto a = journal::JournalReader::open(a_path, rep);
  auto c = journal::JournalReader::open(b_path, rep);
  REQUIRE(a);
  REQUIRE(c);
  auto cmp = journal::compare_journals(**a, **c);
  REQUIRE(cmp);
  if (cmp->first) FAIL("streams diverge at " << cmp->first->sequence_a << ", " << cmp->first->field << ": "
                                             << cmp->first->a << " vs " << cmp->first->b);
  CHECK(cmp->identical);
  CHECK(cmp->a.events == cmp->b.events);
  return cmp->a.events;
}

}  // namespace

TEST_CASE("the batch loop gives the per-callback path's results for every example strategy",
          "[backtest][batch][jit]") {
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TE_SOURCE_DIR) + "/strategies"))
    if (e.path().extension() == ".lua") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  REQUIRE(paths.size() >= 5);
  for (const auto& path : paths) {
    INFO(path);
    auto src = script::read_strategy(path);
    REQUIRE(src);
    auto cfg = base_config();
    cfg.batch = false;
    const auto per_call = run(cfg, nvda(), *src);
    cfg.batch = true;
    const auto batched = run(cfg, nvda(), *src);
    REQUIRE_FALSE(batched.fault);
    CHECK(batched.trades.size() > 0);
    check_same(batched, per_call);
    // One host entry per callback the old way; the loop leaves the VM only to
    // deliver order notices to on_fill/on_order_rejected (a few per fill, for
    // strategies that define them).
    CHECK(per_call.stats.host_entries == per_call.stats.callbacks);
    CHECK(batched.stats.view_writes == per_call.stats.view_writes);
    CHECK(batched.stats.view_writes <= batched.stats.callbacks);
    INFO(batched.stats.host_entries << " host entries for " << batched.stats.callbacks << " callbacks, "
                                    << batched.fills << " fills");
    const bool notified = src->code.find("function on_fill") != std::string::npos ||
                          src->code.find("function on_order_rejected") != std::string::npos;
    if (notified) {
      CHECK(batched.stats.host_entries <= 4 * static_cast<std::int64_t>(batched.fills) + 2);
      CHECK(batched.stats.host_entries * 3 < batched.stats.callbacks);
    } else {
      CHECK(batched.stats.host_entries == 1);  // the whole run in one host call
    }
  }
}

// The session journal exports ctx (Lua) only at the end of bars with activity
// and at checkpoints: only those bars leave the loop (bar_end_needs_lua), and
// recording changes no result.
// ctx.state is renamed only when the runner's state changed (run_callback and
// run_entry in lua/prelude.lua keep the state whose name it holds): every
// callback still sees its own state's name, through many transitions, in the
// batch loop's compiled loops and on the per-call path, and the bars in state
// count on. A callback that sees another name raises an error, which faults
// the run.
TEST_CASE("every callback sees its state's name in ctx.state, batched and per call", "[backtest][batch][jit]") {
  const auto src = source(R"(
params = {}
local function expect(name, cb, ctx)
  if ctx.state ~= name then error(cb .. " saw ctx.state " .. tostring(ctx.state)) end
  if ctx.bars_in_state < 0 then error(cb .. " saw bars_in_state " .. ctx.bars_in_state) end
end
function detect_opportunity(bar, ctx, ind)
  expect("watch", "detect_opportunity", ctx)
  ctx.k = (ctx.k or 0) + 1
  if ctx.k % 5 == 0 or ctx.k % 7 == 0 then return { reason = "setup" } end
end
function filter_commitment(bar, ctx, ind)
  expect("close_watch", "filter_commitment", ctx)
  ctx.filters = (ctx.filters or 0) + 1
  if ctx.filters % 3 ~= 0 then return enter_long { qty = 1, reason = "go" } end
end
function manage_position(bar, ctx, ind)
  expect("in_trade", "manage_position", ctx)
  ctx.held = math.max(ctx.held or 0, ctx.bars_in_state)
  if ctx.bars_in_state >= 1 + ctx.k % 4 then return exit_position("held") end
end
)");
  const model::BarSeries bars = generated_bars(3, 4000);
  auto cfg = base_config();
  cfg.batch = false;
  const auto per_call = run(cfg, bars, src);
  cfg.batch = true;
  const auto batched = run(cfg, bars, src);
  REQUIRE_FALSE(per_call.fault);
  REQUIRE_FALSE(batched.fault);
  CHECK(batched.trades.size() > 300);
  check_same(batched, per_call);
}

TEST_CASE("a recorded backtest stays in the batch loop on bars without activity", "[backtest][batch][journal]") {
  auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua");
  REQUIRE(src);
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("te-batch-record-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  auto cfg = base_config();
  const auto plain = run(cfg, nvda(), *src);
  for (auto states : {runner::StateEvents::Activity, runner::StateEvents::EveryBar}) {
    runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
    o.base_dir = dir;
    o.session_id = std::string("batch-") + std::string(runner::to_string(states));
    o.recorder.state_events = states;
    journal::SessionMeta meta;
    meta.mode = "backtest";
    meta.strategies.push_back({"sma_cross", src->path, "", {nvda().symbol()}, Value()});
    auto session = runner::SessionRecorder::create(o, meta, {src->code});
    REQUIRE(session);
    runner::JournalRecorder& rec = (*session)->add_runner();
    cfg.observer = &rec;
    const auto recorded = run(cfg, nvda(), *src);
    REQUIRE((*session)->finish("end_of_data", Value(), Value()));
    check_same(recorded, plain);
    INFO(recorded.stats.host_entries << " host entries, " << rec.state_events() << " states recorded, "
                                     << recorded.bars << " bars");
    // The loop exports ctx itself (step code 4): sma_cross's ctx is plain
    // data, so the whole run is one host entry, every_bar included.
    CHECK(recorded.stats.host_entries == 1);
    CHECK(rec.state_events() > 0);
    // finish() replaced meta.json and removes the old one on a thread of its
    // own, joined by the destructor: nothing is left behind.
    const std::string session_path = (*session)->dir().path();
    session->reset();
    CHECK_FALSE(std::filesystem::exists(session_path + "/.meta.json.old"));
    auto final_meta = journal::SessionDir::open(dir, o.session_id);
    REQUIRE(final_meta);
    CHECK(final_meta->read_meta()->status == "completed");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("the batch loop's ctx export records what the host's walker records", "[backtest][batch][journal]") {
  // A ctx with every kind of plain data, a string past the export buffer's
  // first size (the host walks it once and grows the buffer), and now and then
  // something only the host's walker may judge (a function, mixed keys): the
  // loop hands those bars back to the host. Recorded with the batch loop and
  // with the per-call path (the host's walker on every export), the two event
  // streams must be identical.
  const auto src = source(R"(
params = { stake = 10 }
local k = 0
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  ctx.count = (ctx.count or 0) + 1
  ctx.last = { close = bar.close, up = bar.close > bar.open, down = bar.close < bar.open,
               tags = { "a", "b\0c", k % 3, { deep = { deeper = { k } } } } }
  ctx.empty = {}
  ctx.neg0 = -0.0
  ctx.nan = 0 / 0
  if k % 50 == 0 then ctx.big = string.rep("x", 20000 + k) else ctx.big = nil end
  if k % 97 == 0 then ctx.bad = function() end elseif k % 97 == 1 then ctx.bad = nil end
  if k % 89 == 0 then ctx.mixed = { 1, 2, x = 3 } else ctx.mixed = nil end
  -- More shapes, one bar each: a string key before a number (x, 2.5) or a
  -- number before the strings (3.5, true, a): refused by the loop's walk
  -- either way; an array with a hole; integer keys only in the hash part; a
  -- string then an integer key in the hash; a host view's name below the top
  -- (exported there, left out only at the top).
  local s = k % 173
  if s == 0 then ctx.shapes = { x = 3, [2.5] = 1 }
  elseif s == 1 then ctx.shapes = { a = 1, [3.5] = 1, [true] = 2 }
  elseif s == 2 then ctx.shapes = { 1, nil, 3 }
  elseif s == 3 then local h = {} h[10] = 1 h[20] = 2 ctx.shapes = h
  elseif s == 4 then local h = {} h.q = 1 h[10] = 1 ctx.shapes = h
  elseif s == 5 then ctx.shapes = { position = 1, account = { position = 2, state = "x" } }
  elseif s == 6 then ctx.shapes = nil end
  if k % 7 == 0 then return { reason = "setup " .. k } end
end
function filter_commitment(bar, ctx, ind)
  ctx.committed = (ctx.committed or 0) + 1
  return enter_long { qty = params.stake, reason = "go" }
end
function manage_position(bar, ctx, ind)
  if ctx.bars_in_state >= 5 then return exit_position("held 5 bars") end
end
)");
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("te-batch-ctx-export-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const model::BarSeries bars = generated_bars(11, 3000);
  for (auto states : {runner::StateEvents::Activity, runner::StateEvents::EveryBar}) {
    std::string journals[2];
    std::int64_t host_entries[2] = {0, 0};
    for (int batch = 0; batch < 2; ++batch) {
      runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
      o.recorder.state_events = states;
      const RecordedRun r = recorded_run(o, dir, std::string(runner::to_string(states)) + (batch ? "-batch" : "-per-call"),
                                         src, bars, batch == 1);
      CHECK(r.result.trades.size() > 20);
      journals[batch] = r.journal;
      host_entries[batch] = r.result.stats.host_entries;
    }
    INFO(runner::to_string(states) << ": host entries " << host_entries[1] << " batched, " << host_entries[0]
                                   << " per call");
    // Bars whose ctx the loop left to the host: a function (k % 97 == 0) or
    // mixed keys (k % 89 == 0) in ctx, and the first oversized string.
    CHECK(host_entries[1] > 3);
    CHECK(host_entries[1] * 20 < host_entries[0]);
    CHECK(check_same_journals(journals[0], journals[1]) > 3000);
  }
  std::filesystem::remove_all(dir);
}

namespace {

// Keeps every event and, per deferred batch the recorder hands over, its
// event count and held bytes (expanded here, on the caller's thread).
class BatchSizesSink final : public journal::EventSink {
 public:
  Result<std::uint64_t> append(journal::Event event) override {
    event.sequence = events.size() + 1;
    events.push_back(std::move(event));
    return events.back().sequence;
  }
  Result<std::uint64_t> append_deferred(std::shared_ptr<journal::DeferredEvents> batch) override {
    sizes.emplace_back(batch->size(), batch->held_bytes());
    return EventSink::append_deferred(std::move(batch));
  }
  std::vector<journal::Event> events;
  std::vector<std::pair<std::size_t, std::size_t>> sizes;
};

// A ctx that refers to one 1,000-byte string 40 times on detect_opportunity
// calls 300 to 599 (1 KB in Lua, 40,225 bytes as data) and not otherwise.
const char* kSharedStringCtx = R"(
params = { stake = 10 }
local k = 0
local s = string.rep("y", 1000)
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  ctx.k = k
  if k >= 300 and k < 600 then
    local t = {}
    for i = 1, 40 do t[i] = s end
    ctx.big = t
  else
    ctx.big = nil
  end
  if k % 7 == 0 then return { reason = "setup " .. k } end
end
function filter_commitment(bar, ctx, ind)
  return enter_long { qty = params.stake, reason = "go" }
end
function manage_position(bar, ctx, ind)
  if ctx.bars_in_state >= 5 then return exit_position("held 5 bars") end
end
)";

BatchSizesSink recorded_into_sink(runner::RecorderOptions ro, bool batch) {
  BatchSizesSink sink;
  runner::JournalRecorder rec(sink, ro);
  auto cfg = base_config();
  cfg.batch = batch;
  cfg.initial_cash = 1'000'000;
  cfg.observer = &rec;
  run(cfg, generated_bars(5, 3000), source(kSharedStringCtx));
  REQUIRE(rec.flush());
  return sink;
}

}  // namespace

TEST_CASE("a ctx over max_ctx_bytes is recorded as nil with one warning, on both paths", "[backtest][batch][journal]") {
  for (auto states : {runner::StateEvents::Activity, runner::StateEvents::EveryBar}) {
    std::vector<journal::Event> events[2];
    for (int batch = 0; batch < 2; ++batch) {
      INFO(runner::to_string(states) << (batch ? " batch loop" : " per call"));
      runner::RecorderOptions ro;
      ro.state_events = states;
      ro.max_ctx_bytes = 20'000;
      events[batch] = recorded_into_sink(ro, batch == 1).events;
      std::size_t nil = 0, before = 0, after = 0, warnings = 0;
      for (const journal::Event& e : events[batch]) {
        if (const auto* n = e.get<journal::Note>()) {
          CHECK(n->category == "warning");
          CHECK_THAT(n->text, Catch::Contains("ctx.big[") && Catch::Contains("more than 20000 bytes as data") &&
                                  Catch::Contains("[event_sourcing] max_ctx_bytes"));
          ++warnings;
        }
        const auto* st = e.get<journal::RunnerState>();
        if (!st) continue;
        const Value* ctx = st->context.find("ctx");
        REQUIRE(ctx != nullptr);
        if (ctx->is_nil()) {
          ++nil;
          continue;
        }
        CHECK(ctx->find("big") == nullptr);  // never recorded: always over the limit
        (ctx->find("k") == nullptr || ctx->find("k")->as_double() < 300 ? before : after) += 1;
      }
      CHECK(warnings == 1);  // once, though it happens on every state of 300 calls
      CHECK(nil > 40);
      CHECK(before > 40);
      CHECK(after > 40);  // recorded again once it fits
    }
    // The loop export and the host's walker draw the line at the same byte.
    REQUIRE(events[0].size() == events[1].size());
    for (std::size_t i = 0; i < events[0].size(); ++i) {
      const auto* a = events[0][i].get<journal::RunnerState>();
      const auto* b = events[1][i].get<journal::RunnerState>();
      REQUIRE((a == nullptr) == (b == nullptr));
      if (a) REQUIRE(a->context == b->context);
    }
  }
}

TEST_CASE("a recorder hands a batch over once its contexts reach batch_bytes", "[backtest][batch][journal]") {
  runner::RecorderOptions ro;
  ro.state_events = runner::StateEvents::EveryBar;
  ro.max_ctx_bytes = 100'000;  // the 40,225-byte ctx is recorded
  ro.batch_bytes = 100'000;
  // The batch loop's exports count their bytes; the per-call path's value
  // trees (the host's walker: what live trading records) their memory.
  for (bool batch : {true, false}) {
    INFO((batch ? "batch loop" : "per call"));
    const BatchSizesSink sink = recorded_into_sink(ro, batch);
    std::size_t by_bytes = 0, most = 0;
    for (const auto& [events, bytes] : sink.sizes) {
      most = std::max(most, bytes);
      if (events < ro.batch_events && bytes >= ro.batch_bytes) ++by_bytes;
    }
    INFO(sink.sizes.size() << " batches, " << by_bytes << " handed over by bytes, most bytes " << most);
    CHECK(by_bytes > 20);
    // A batch leaves at the end of the bar that reached the bound: at most a
    // bar's states more (two here, each under 45,000 bytes either way).
    CHECK(most < ro.batch_bytes + 2 * 45'000);
    std::size_t big = 0;
    for (const journal::Event& e : sink.events)
      if (const auto* st = e.get<journal::RunnerState>())
        if (const Value* ctx = st->context.find("ctx"); ctx && ctx->find("big")) ++big;
    CHECK(big > 300);
  }
}

// The quiet step skips the recorder's on_bar on bars it would only count
// (QuietBarEnd::on_bar_at); the recorder catches up when next called. A bar
// that began quietly and then records something (here an exit after a
// varying number of bars in a long or short position) records its Before state with the start-of-bar marks the
// catch-up rebuilt (an open position's previous close): recorded with the
// batch loop and with the per-call path (on_bar on every bar), the event
// streams must be identical, in both storage modes.
TEST_CASE("bars whose recorder on_bar the quiet step skipped record the same states", "[backtest][batch][journal]") {
  const auto src = source(R"(
params = {}
local k = 0
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  if k % 23 == 0 then return { reason = "setup" } end
end
function filter_commitment(bar, ctx, ind)
  if k % 2 == 0 then return enter_long { qty = 10, reason = "long" } end
  return enter_short { qty = 7, reason = "short" }
end
function manage_position(bar, ctx, ind)
  k = k + 1
  local held = ctx.bars_in_state
  if held >= 11 + k % 37 then return exit_position("held " .. held) end
end
)");
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("te-batch-skip-on-bar-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const model::BarSeries bars = generated_bars(5, 4000);
  for (auto mode : {journal::StorageMode::Full, journal::StorageMode::Delta}) {
    std::string journals[2];
    std::uint64_t skipped[2] = {0, 0};
    std::int64_t idle_exits[2] = {0, 0};
    for (int batch = 0; batch < 2; ++batch) {
      runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
      o.writer.storage_mode = mode;
      const RecordedRun r = recorded_run(
          o, dir, std::string(mode == journal::StorageMode::Full ? "full" : "delta") + (batch ? "-batch" : "-per-call"),
          src, bars, batch == 1);
      CHECK(r.result.trades.size() > 40);
      journals[batch] = r.journal;
      skipped[batch] = r.on_bars_skipped;
      idle_exits[batch] = r.result.stats.idle_exits;
    }
    // The batch loop skipped most bars' on_bar; the per-call path none. Its
    // flat stretches between trades were idle (SymbolRunner::idle_: the
    // venue's bar fields and the flat mark held back), each ended by the
    // entry or by a bar the recorder was busy on.
    CHECK(skipped[0] == 0);
    CHECK(skipped[1] > 2000);
    CHECK(idle_exits[0] == 0);
    CHECK(idle_exits[1] > 40);
    check_same_journals(journals[0], journals[1]);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("an indicator created on a quiet bar of the batch loop is recorded where the per-call path records it",
          "[backtest][batch][journal]") {
  // The quiet step tests only the recorder's `busy` at a bar's end: creating
  // an indicator clears the runner's quiet flag (RunnerIndicators::
  // clear_on_create), so that bar ends on the full path, where the recorder
  // notes the new indicators.
  const auto src = source(R"(
params = {}
local k = 0
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  if k >= 700 then local a = ind.sma(7) end
  if k >= 1500 then local b = ind.ema(9) end
  if k % 311 == 0 then return { reason = "setup" } end
end
function filter_commitment(bar, ctx, ind)
  return enter_long { qty = 10, reason = "long" }
end
function manage_position(bar, ctx, ind)
  k = k + 1
  if ctx.bars_in_state >= 17 then return exit_position("held") end
end
)");
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("te-batch-late-indicator-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const model::BarSeries bars = generated_bars(7, 3000);
  std::string journals[2];
  for (int batch = 0; batch < 2; ++batch) {
    const RecordedRun r = recorded_run(runner::SessionRecorderOptions::for_backtest(), dir,
                                       batch ? "batch" : "per-call", src, bars, batch == 1);
    CHECK(r.result.trades.size() > 3);
    if (batch) CHECK(r.on_bars_skipped > 1000);  // the quiet step ran
    journals[batch] = r.journal;
  }
  check_same_journals(journals[0], journals[1]);
  // Both notes are there, in the batch loop's journal too.
  journal::NullReporter rep;
  auto reader = journal::JournalReader::open(journals[1], rep);
  REQUIRE(reader);
  journal::Event e;
  int notes = 0;
  for (;;) {
    auto more = (*reader)->next(e);
    REQUIRE(more);
    if (!*more) break;
    if (const auto* n = std::get_if<journal::Note>(&e.body); n != nullptr && n->category == "indicators") ++notes;
  }
  CHECK(notes == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("strategy errors inside the batch loop keep file:line and the run goes on", "[backtest][batch][sandbox]") {
  const auto bars = data::generate_bars(data::GeneratorOptions{}, 400, "SIM");
  REQUIRE(bars);
  const auto src = source(R"LUA(params = {}
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n % 50 == 0 then
    local t = nil
    return t.x
  end
  if n % 7 == 0 then return { reason = "every seventh" } end
end
function filter_commitment(bar, ctx, ind) return "abandon" end
function manage_position(bar, ctx, ind) end
)LUA");
  auto cfg = base_config();
  cfg.max_consecutive_errors = 2;
  cfg.batch = false;
  const auto per_call = run(cfg, *bars, src);
  cfg.batch = true;
  const auto batched = run(cfg, *bars, src);
  check_same(batched, per_call);
  CHECK_FALSE(batched.fault);
  CHECK(batched.stats.strategy_errors >= 7);
  REQUIRE(batched.activity.strategy_errors.size() == per_call.activity.strategy_errors.size());
  for (const auto& e : batched.activity.strategy_errors) CHECK_THAT(e.message, Catch::Contains("strategies/probe.lua:7:"));

  // A fault (first error) reports the strategy's line.
  cfg.max_consecutive_errors = 1;
  const auto faulted = run(cfg, *bars, src);
  REQUIRE(faulted.fault);
  CHECK(faulted.fault->file == "strategies/probe.lua");
  CHECK(faulted.fault->line == 7);
  CHECK(faulted.fault->callback == "detect_opportunity");
  CHECK(faulted.bars == 50);

  // A bad return value is raised by the prelude's encoding, inside the loop.
  const auto bad = source(R"LUA(params = {}
function detect_opportunity(bar, ctx, ind) if bar.close > 0 then return 42 end end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA");
  const auto r = run(cfg, *bars, bad);
  REQUIRE(r.fault);
  CHECK_THAT(r.fault->message, Catch::Contains("strategies/probe.lua:2"));
  CHECK_THAT(r.fault->message, Catch::Contains("must return a setup table"));
}

TEST_CASE("CPU deadlines and the memory budget still stop a strategy inside the batch loop",
          "[backtest][batch][sandbox]") {
  const auto bars = data::generate_bars(data::GeneratorOptions{}, 400, "SIM");
  REQUIRE(bars);
  auto cfg = base_config();
  cfg.limits = script::make_limits(script::RunMode::Backtest, 100, 16);
  SECTION("a runaway loop on the 30th bar") {
    const auto src = source(R"LUA(params = {}
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n == 30 then
    local k = 0
    while true do k = k + 1 end
  end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA");
    const auto r = run(cfg, *bars, src);
    REQUIRE(r.fault);
    CHECK(r.fault->kind == script::ErrorKind::Timeout);
    CHECK_THAT(r.fault->message, Catch::Contains("exceeded its CPU deadline"));
    CHECK_THAT(r.fault->message, Catch::Contains("strategies/probe.lua:7"));
    CHECK(r.bars == 30);
  }
  SECTION("many quick callbacks never add up to a deadline") {
    // Each callback has its own budget: 400 bars of ~1 ms each exceed 100 ms in
    // total, inside one host call, without a fault.
    const auto src = source(R"LUA(params = {}
function detect_opportunity(bar, ctx, ind)
  local k = 0
  for i = 1, 300000 do k = k + i end
  if k < 0 then return true end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA");
    const auto r = run(cfg, *bars, src);
    CHECK_FALSE(r.fault);
    CHECK(r.bars == 400);
    CHECK(r.stats.host_entries == 1);
  }
  SECTION("a memory bomb on the 20th bar") {
    const auto src = source(R"LUA(params = {}
local n, keep = 0, {}
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n == 20 then
    local i = 0
    while true do i = i + 1; keep[i] = { i, i } end
  end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA");
    const auto r = run(cfg, *bars, src);
    REQUIRE(r.fault);
    CHECK(r.fault->kind == script::ErrorKind::OutOfMemory);
    CHECK_THAT(r.fault->message, Catch::Contains("memory budget of 16 MB"));
    CHECK(r.bars == 20);
  }
  SECTION("an allocation refused inside compiled code") {
    // One array resize past the budget, requested from a compiled trace: the
    // out-of-memory error is raised there (scripts/luajit-patches/0001; the
    // crash it fixes shows end to end in validate_test.cpp).
    const auto src = source(R"LUA(params = {}
function detect_opportunity(bar, ctx, ind)
  local t = {}
  for k = 1, 1e9 do t[k] = string.rep("x", 1e6) end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA");
    for (const std::size_t mb : {16, 32, 64}) {
      cfg.limits = script::make_limits(script::RunMode::Backtest, 1000, mb);
      const auto r = run(cfg, nvda(), src);
      REQUIRE(r.fault);
      CHECK(r.fault->kind == script::ErrorKind::OutOfMemory);
      CHECK_THAT(r.fault->message, Catch::Contains("memory budget of " + std::to_string(mb) + " MB"));
      CHECK(r.bars == 1);
    }
  }
}

namespace {

// Checks, whenever the strategy logs (inside a callback), that the frame's
// position and account views hold the account's current figures bit for bit,
// whether write_frame() rewrote them for this callback or kept them.
struct ViewCheck final : runner::RunnerObserver {
  std::int64_t checked = 0;
  std::vector<std::string> wrong;
  static bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
  void expect(const char* field, double have, double want, const runner::SymbolRunner& r) {
    if (same(have, want) || wrong.size() >= 5) return;
    wrong.push_back(std::string(field) + " at bar " + std::to_string(r.bar_index()) + ": " + std::to_string(have) +
                    " in the frame, " + std::to_string(want) + " in the account");
  }
  void on_strategy_log(const runner::SymbolRunner& r, int, std::string_view) override {
    ++checked;
    const te_frame& f = r.host().frame();
    const portfolio::Portfolio& a = r.portfolio();
    const portfolio::Position& p = a.position(r.instrument().id);
    const portfolio::Trade* t = a.open_trade(r.instrument().id);
    expect("pos.qty", f.pos.qty, p.qty, r);
    expect("pos.avg_price", f.pos.avg_price, p.avg_price, r);
    expect("pos.unrealized_pnl", f.pos.unrealized_pnl, p.unrealized(), r);
    expect("pos.realized_pnl", f.pos.realized_pnl, t ? t->pnl_gross : 0.0, r);
    expect("pos.entry_time_ms", f.pos.entry_time_ms, t ? static_cast<double>(t->entry_ts_ns / kNsPerMs) : 0.0, r);
    expect("pos.bars_held", f.pos.bars_held, t ? static_cast<double>(r.bar_index() - t->entry_bar) : 0.0, r);
    expect("acct.cash", f.acct.cash, a.cash(), r);
    expect("acct.position_value", f.acct.position_value, a.position_value(), r);
    expect("acct.equity", f.acct.equity, a.cash() + a.position_value(), r);
    expect("acct.commission_paid", f.acct.commission_paid, a.commission_paid(), r);
    expect("acct.realized_pnl", f.acct.realized_pnl, a.realized_pnl(), r);
    expect("acct.trades", f.acct.trades, static_cast<double>(a.closed_trades()), r);
  }
};

}  // namespace

TEST_CASE("the frame's position and account views are current on every callback, rewritten only when they moved",
          "[backtest][batch]") {
  // Flat most of the time (a short trade every ~40 bars, with a protective
  // stop and a target): most callbacks keep the views, the rest rewrite them.
  const auto src = source(R"(
params = {}
local k = 0
function detect_opportunity(bar, ctx)
  log(ctx.position.qty, ctx.account.equity)
  k = k + 1
  if k % 40 == 0 then return { reason = "tick" } end
end
function filter_commitment(bar, ctx)
  log(ctx.position.qty, ctx.account.cash)
  return enter_long { qty = 10, stop = bar.close * 0.9, target = bar.close * 1.1 }
end
function manage_position(bar, ctx)
  log(ctx.position.unrealized_pnl, ctx.account.equity)
  if ctx.position.bars_held >= 6 then return exit_position("time") end
end
)");
  for (const bool batch : {true, false}) {
    INFO("batch " << batch);
    ViewCheck check;
    auto cfg = base_config();
    cfg.batch = batch;
    cfg.observer = &check;
    const auto r = run(cfg, nvda(), src);
    REQUIRE_FALSE(r.fault);
    REQUIRE(r.trades.size() > 20);
    CHECK(check.checked == r.stats.callbacks);  // one log per callback, each one checked
    for (const auto& w : check.wrong) FAIL_CHECK(w);
    // The guard: views are rewritten for callbacks in a trade (or with orders
    // working) and once after each exit, not on the flat bars in between.
    std::int64_t in_trade = 0;
    for (const auto& t : r.trades) in_trade += (t.exit_bar ? t.exit_bar : r.stats.bars) - t.entry_bar + 2;
    INFO(r.stats.view_writes << " view writes, " << r.stats.callbacks << " callbacks, " << r.trades.size()
                             << " trades, " << in_trade << " bars in or next to trades");
    CHECK(r.stats.view_writes >= static_cast<std::int64_t>(r.trades.size()));
    CHECK(r.stats.view_writes <= in_trade + 2 * static_cast<std::int64_t>(r.trades.size()) + 2);
    CHECK(r.stats.view_writes * 3 < r.stats.callbacks);
  }
}

TEST_CASE("the frame's order fields follow the orders: an entry working for a bar, then refused or filled",
          "[backtest][batch]") {
  // Every other entry asks for far more than the account holds (refused at the
  // next open, for cash); the rest fill and exit after a few bars. The order
  // fields (pending entry, stop, target) are written apart from the account's
  // views (write_frame): a stale one here faults the strategy.
  const auto src = source(R"(
params = {}
local k, sent = 0, 0
local function same(a, b) return a == b or (a ~= nil and b ~= nil and math.abs(a - b) <= 0.011) end
function detect_opportunity(bar, ctx)
  local p = ctx.position
  if p.pending_entry ~= 0 or p.pending_exit ~= 0 or p.stop ~= nil or p.target ~= nil or p.qty ~= 0 then
    error("watch: stale order fields " .. tostring(p.pending_entry) .. " " .. tostring(p.stop))
  end
  k = k + 1
  if k % 20 == 0 then return { reason = "tick" } end
end
local stop, target
function filter_commitment(bar, ctx)
  sent = (k % 40 == 0) and 1e7 or 10
  stop, target = bar.close * 0.5, bar.close * 2
  return enter_long { qty = sent, stop = stop, target = target }
end
function manage_position(bar, ctx)
  local p = ctx.position
  if p.qty == 0 then
    if p.pending_entry ~= sent then error("in trade: pending entry " .. p.pending_entry .. ", sent " .. sent) end
  elseif p.pending_entry ~= 0 then
    error("in trade: pending entry " .. p.pending_entry .. " with a position")
  end
  if not same(p.stop, stop) or not same(p.target, target) then
    error("in trade: stop/target " .. tostring(p.stop) .. "/" .. tostring(p.target))
  end
  if p.bars_held >= 3 then return exit_position("time") end
end
)");
  for (const bool batch : {true, false}) {
    INFO("batch " << batch);
    auto cfg = base_config();
    cfg.batch = batch;
    const auto r = run(cfg, nvda(), src);
    REQUIRE_FALSE(r.fault);
    CHECK(r.stats.strategy_errors == 0);
    CHECK(r.trades.size() > 20);
    CHECK(r.stats.rejections > 20);
  }
}

TEST_CASE("a recorder filling reused batch records gives the events of fresh batches", "[backtest][batch][journal]") {
  // The recorder fills its batches' state records in place and keeps the
  // working orders in reused slots. Recorded with batches of 8 events (the
  // writer hands them back and the recorder reuses them, and their records,
  // hundreds of times: states with and without working orders, the orders at
  // a bar's start taken from the batch or copied) and with one batch for the
  // whole run (nothing reused), the event streams must be identical.
  const auto src = source(R"lua(
params = { stake = 10 }
local k = 0
function detect_opportunity(bar, ctx, ind)
  k = k + 1
  if ind.crossover("sma(5)", "sma(12)") ~= 0 or k % 3 == 0 then return { reason = "setup " .. k } end
end
function filter_commitment(bar, ctx, ind)
  if k % 4 == 0 then
    return enter_long { qty = params.stake, limit = bar.close * 0.999, bars = 3, stop = bar.close * 0.97,
                        target = bar.close * 1.02, reason = "dip " .. k }
  end
  return enter_long { qty = params.stake, stop = bar.close * 0.98, reason = "go" }
end
function manage_position(bar, ctx, ind)
  if ctx.bars_in_state >= 4 then return exit_position("held 4 bars") end
end
)lua");
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("te-batch-reuse-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  model::BarSeriesBuilder b;
  {
    data::GeneratorOptions go;
    go.seed = 5;
    auto gen = data::BarGenerator::create(go);
    REQUIRE(gen);
    for (int i = 0; i < 4000; ++i) b.push(gen->next());
  }
  const model::BarSeries bars = std::move(b).build("SIM", 0);
  for (auto states : {runner::StateEvents::Activity, runner::StateEvents::EveryBar}) {
    std::string journals[2];
    for (int small = 0; small < 2; ++small) {
      runner::SessionRecorderOptions o = runner::SessionRecorderOptions::for_backtest();
      o.base_dir = dir;
      o.session_id = std::string(runner::to_string(states)) + (small ? "-small" : "-one");
      o.recorder.state_events = states;
      o.recorder.include_indicators = true;
      o.recorder.batch_events = small ? 8 : 1'000'000;
      journal::SessionMeta meta;
      meta.mode = "backtest";
      meta.strategies.push_back({"probe", src.path, "", {bars.symbol()}, Value()});
      auto session = runner::SessionRecorder::create(o, meta, {src.code});
      REQUIRE(session);
      auto cfg = base_config();
      cfg.initial_cash = 1'000'000;
      cfg.observer = &(*session)->add_runner();
      const auto r = run(cfg, bars, src);
      REQUIRE((*session)->finish("end_of_data", Value(), Value()));
      CHECK(r.trades.size() > 100);
      journals[small] = (*session)->dir().journal_path();
    }
    journal::NullReporter rep;
    auto a = journal::JournalReader::open(journals[0], rep);
    auto c = journal::JournalReader::open(journals[1], rep);
    REQUIRE(a);
    REQUIRE(c);
    auto cmp = journal::compare_journals(**a, **c);
    REQUIRE(cmp);
    if (cmp->first) FAIL("streams diverge at " << cmp->first->sequence_a << ", " << cmp->first->field << ": "
                                               << cmp->first->a << " vs " << cmp->first->b);
    CHECK(cmp->identical);
    CHECK(cmp->a.events > 4000);
  }
  std::filesystem::remove_all(dir);
}

// A strategy that does a bit of everything at random (seeded): setups,
// abandons, market/limit/stop entries long and short with stops, targets,
// trails, max_bars and breakevens, oversized quantities, exits, adjusts,
// cancelled entries, order notices and rare errors. Written by the session-14
// review to reach every condition that must keep a bar off the quiet step.
const char* const kFuzzStrategy = R"lua(
params = { p_setup = 0.05, p_enter = 0.2, p_abandon = 0.05, p_exit = 0.03, p_adj = 0.03, p_err = 0.0001 }
local function r() return math.random() end
function detect_opportunity(bar, ctx, ind)
  if r() < params.p_err then error("e1") end
  if r() < params.p_setup then return { reason = "s" } end
end
function filter_commitment(bar, ctx, ind)
  local x = r()
  if x < params.p_abandon then return abandon end
  if x < params.p_abandon + params.p_enter then
    local t = {}
    local k = math.random(1, 6)
    if k == 1 then t.fraction = 0.3
    elseif k == 2 then t.qty = math.random(1, 500)
    elseif k == 3 then t.fraction = 0.5; t.limit = bar.close * (0.97 + 0.04 * r()); t.bars = math.random(1, 4)
    elseif k == 4 then t.fraction = 0.4; t.stop_entry = bar.high * 1.01; t.bars = 3
    elseif k == 5 then t.qty = 1e8
    else t.fraction = 0.5 end
    if r() < 0.4 then t.stop = bar.close * (0.9 + 0.05 * r()) end
    if r() < 0.3 then t.target = bar.close * (1.05 + 0.1 * r()) end
    if r() < 0.2 then t.trail = bar.close * 0.05 end
    if r() < 0.3 then t.max_bars = math.random(1, 15) end
    if r() < 0.2 then t.breakeven = bar.close * 0.02 end
    if r() < 0.5 then return enter_long(t) else return enter_short(t) end
  end
end
function manage_position(bar, ctx, ind)
  if r() < params.p_err then error("e2") end
  local x = r()
  if x < params.p_exit then return exit_position("x") end
  if x < params.p_exit + params.p_adj then
    if r() < 0.5 then return adjust { stop = bar.close * (r() < 0.5 and 0.95 or 1.05) } end
    return cancel_entry("c")
  end
end
function on_fill(fill, ctx) ctx.nf = (ctx.nf or 0) + 1 end
function on_order_rejected(o, ctx) ctx.nr = (ctx.nr or 0) + 1 end
)lua";

// The backtest's equity point is computed only when the account's version
// moved (backtest_engine.cpp, Feed::new_point) and the curve's rows are
// written in runs: every row must still be the account at the end of its
// bar. The reference is read by an observer at each bar's end (an observer
// with per-bar hooks, so those bars take the runner's full path; the feed's
// runs are the same either way), the drawdown recomputed from it.
TEST_CASE("the equity curve's rows are the account at the end of each bar, written in runs", "[backtest][batch]") {
  struct Reference final : runner::RunnerObserver {
    std::vector<std::int64_t> ts;
    std::vector<double> cash, pv;
    void on_bar_end(runner::SymbolRunner& r, const model::Bar& bar) override {
      ts.push_back(bar.ts_ns);
      cash.push_back(r.portfolio().cash());
      pv.push_back(r.portfolio().position_value());
    }
    bool bar_end_runs_lua() const noexcept override { return false; }
  };
  for (const char* name : {"sma_cross", "bracket_trend", "rsi_mean_reversion"}) {
    INFO(name);
    auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/" + name + ".lua");
    REQUIRE(src);
    Reference ref;
    auto cfg = base_config();
    cfg.observer = &ref;
    const auto r = run(cfg, nvda(), *src);
    REQUIRE_FALSE(r.fault);
    REQUIRE(r.trades.size() > 2);
    const auto& eq = r.equity;
    REQUIRE(eq.equity.size() == ref.ts.size());
    REQUIRE(eq.ts_ns.size() == ref.ts.size());
    REQUIRE(eq.cash.size() == ref.ts.size());
    REQUIRE(eq.position_value.size() == ref.ts.size());
    REQUIRE(eq.drawdown.size() == ref.ts.size());
    double peak = cfg.initial_cash;
    std::size_t moved = 0;
    for (std::size_t i = 0; i < ref.ts.size(); ++i) {
      const double equity = ref.cash[i] + ref.pv[i];
      peak = std::max(peak, equity);
      const double dd = peak > 0 ? (peak - equity) / peak : 0.0;
      if (i > 0 && (ref.cash[i] != ref.cash[i - 1] || ref.pv[i] != ref.pv[i - 1])) ++moved;
      const bool same = eq.ts_ns[i] == ref.ts[i] && std::memcmp(&eq.cash[i], &ref.cash[i], sizeof(double)) == 0 &&
                        std::memcmp(&eq.position_value[i], &ref.pv[i], sizeof(double)) == 0 &&
                        std::memcmp(&eq.equity[i], &equity, sizeof(double)) == 0 && eq.drawdown[i] == dd;
      if (!same) FAIL("equity row " << i << " differs: " << eq.equity[i] << " vs " << equity);
    }
    // Both kinds of stretches occur: rows that repeat (flat) and rows that move.
    CHECK(moved > 10);
    CHECK(moved + 100 < ref.ts.size());
  }
  // Longs and shorts, commissions, and the end-of-data close: its fill comes
  // after the last bar's end, so the last row is the account after it.
  auto src = script::make_strategy_source("fuzz.lua", kFuzzStrategy);
  REQUIRE(src);
  Reference ref;
  auto cfg = base_config();
  cfg.observer = &ref;
  cfg.close_at_end = true;
  cfg.seed = 7;
  cfg.max_consecutive_errors = 5;
  const auto r = run(cfg, nvda(), *src);
  REQUIRE(r.trades.size() > 20);
  const auto& eq = r.equity;
  REQUIRE(eq.equity.size() == ref.ts.size());
  double peak = cfg.initial_cash;
  for (std::size_t i = 0; i + 1 < ref.ts.size(); ++i) {
    const double equity = ref.cash[i] + ref.pv[i];
    peak = std::max(peak, equity);
    const double dd = peak > 0 ? (peak - equity) / peak : 0.0;
    if (std::memcmp(&eq.equity[i], &equity, sizeof(double)) != 0 || eq.drawdown[i] != dd)
      FAIL("equity row " << i << " differs: " << eq.equity[i] << " vs " << equity);
  }
  CHECK(eq.equity.back() == r.final_equity);
  CHECK(eq.cash.back() == r.final_cash);
  CHECK(eq.position_value.back() == 0.0);
}

// An equity listener and a progress callback (the CLI has both: equity.csv is
// written from the listener while the run goes on) hear every bar on the
// feed's fast path (Feed::after_bar_then_next) as on its slow one: the
// listener's points are the curve's rows, the progress calls come every
// progress_every bars and once more at the end.
TEST_CASE("the equity listener and progress callback hear every bar of the batch loop", "[backtest][batch]") {
  struct Points final : backtest::EquityListener {
    std::vector<std::int64_t> ts;
    std::vector<double> cash, pv, equity;
    void on_equity(std::int64_t t, double c, double p, double e) noexcept override {
      ts.push_back(t);
      cash.push_back(c);
      pv.push_back(p);
      equity.push_back(e);
    }
  };
  auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua");
  REQUIRE(src);
  for (bool close_at_end : {false, true}) {
    INFO("close_at_end " << close_at_end);
    Points points;
    std::vector<std::pair<std::size_t, std::size_t>> calls;
    auto cfg = base_config();
    cfg.close_at_end = close_at_end;
    cfg.equity_listener = &points;
    cfg.progress_every = 1000;
    cfg.progress = [&](std::size_t done, std::size_t total) { calls.emplace_back(done, total); };
    const auto r = run(cfg, nvda(), *src);
    REQUIRE(r.trades.size() > 2);
    const std::size_t n = nvda().size();
    REQUIRE(r.bars == n);
    const auto& eq = r.equity;
    REQUIRE(points.ts.size() == n);
    REQUIRE(eq.ts_ns.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
      const bool same = points.ts[i] == eq.ts_ns[i] && std::memcmp(&points.cash[i], &eq.cash[i], sizeof(double)) == 0 &&
                        std::memcmp(&points.pv[i], &eq.position_value[i], sizeof(double)) == 0 &&
                        std::memcmp(&points.equity[i], &eq.equity[i], sizeof(double)) == 0;
      if (!same) FAIL("listener point " << i << " differs from the curve's row");
    }
    // Every 1000 bars, then the end.
    REQUIRE(calls.size() == n / 1000 + 1);
    for (std::size_t k = 0; k + 1 < calls.size(); ++k) {
      CHECK(calls[k].first == (k + 1) * 1000);
      CHECK(calls[k].second == n);
    }
    CHECK(calls.back() == std::make_pair(n, n));
  }
}

// The quiet step against the per-callback path (which has none) under
// settings that each make some bars not quiet: a CloseWatch timeout, orders
// in flight (latency), partial fills, close_at_end, tolerated errors. A term
// missing from quiet_now() (e.g. max_bars, breakeven, the timeout) shows here.
TEST_CASE("a random strategy gives the same results with and without the quiet step", "[backtest][batch]") {
  auto src = script::make_strategy_source("fuzz.lua", kFuzzStrategy);
  REQUIRE(src);
  for (int setting = 0; setting < 4; ++setting) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      INFO("setting " << setting << ", seed " << seed);
      auto cfg = base_config();
      cfg.seed = seed;
      cfg.max_consecutive_errors = 5;
      if (setting == 1) cfg.closewatch_timeout_bars = 3;
      if (setting == 2) {
        cfg.exchange.latency_bars = 2;
        cfg.exchange.max_volume_fraction = 0.05;
      }
      if (setting == 3) {
        cfg.close_at_end = true;
        cfg.closewatch_timeout_bars = 1;
        cfg.exchange.latency_bars = 1;
      }
      cfg.batch = false;
      const auto per_call = run(cfg, nvda(), *src);
      cfg.batch = true;
      const auto batched = run(cfg, nvda(), *src);
      check_same(batched, per_call);
      CHECK(batched.trades.size() > 20);
      CHECK(batched.stats.quiet_bars > 100);
      CHECK(batched.stats.quiet_bars < batched.stats.bars);
    }
  }
}

// A refused entry leaves nothing working: the bar after it starts on the
// quiet step (SymbolRunner::quiet_begin from drive()), not on advance()'s
// full path. An account too small for one share: every third Watch bar finds
// a setup and its entry is refused by the sizing, so only the run's first bar
// starts on the full path; with the per-callback path's results.
TEST_CASE("the bar after a refused entry starts on the quiet step", "[backtest][batch]") {
  const auto src = source(R"(
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n % 3 == 0 then return { side = "long" } end
end
function filter_commitment(bar, ctx, ind) return enter_long { fraction = 0.5, reason = "r" } end
function manage_position(bar, ctx, ind) end
)");
  auto cfg = base_config();
  cfg.initial_cash = 1;
  cfg.batch = false;
  const auto per_call = run(cfg, nvda(), src);
  cfg.batch = true;
  const auto batched = run(cfg, nvda(), src);
  check_same(batched, per_call);
  REQUIRE_FALSE(batched.fault);
  CHECK(batched.trades.empty());
  CHECK(batched.stats.rejections == batched.stats.bars / 3);
  CHECK(batched.stats.rejections > 1000);
  CHECK(batched.stats.host_entries == 1);
  CHECK(batched.stats.quiet_bars == batched.stats.bars - 1);
}

// The quiet step's frame write tests only the account's version while quiet_
// holds (ViewsStamp::quiet_held: the rest of write_frame's test answered at
// the bar's end): every field of the frame's position, account and order
// views at every callback equals the per-callback path's, which has no quiet
// step, under the random strategy's entries, refusals, protection changes and
// exits. A flag that outlived a change of the trade plan or of the views shows
// here as a stale field.
TEST_CASE("the quiet step's frame views are the per-callback path's at every callback", "[backtest][batch]") {
  struct FrameLog final : runner::RunnerObserver {
    std::vector<std::array<double, 16>> rows;
    RunnerObserver* bar_hooks() noexcept override { return nullptr; }  // (per-bar hooks would end the quiet step)
    void on_strategy_log(const runner::SymbolRunner& r, int, std::string_view) override {
      const te_frame& f = r.host().frame();
      rows.push_back({f.pos.qty, f.pos.avg_price, f.pos.unrealized_pnl, f.pos.realized_pnl, f.pos.entry_time_ms,
                      f.pos.bars_held, f.pos.stop, f.pos.target, f.pos.pending_entry, f.pos.pending_exit,
                      f.acct.cash, f.acct.position_value, f.acct.equity, f.acct.commission_paid, f.acct.realized_pnl,
                      f.acct.trades});
    }
  };
  const std::string code = std::string(kFuzzStrategy) + R"lua(
local d0, f0, m0 = detect_opportunity, filter_commitment, manage_position
function detect_opportunity(bar, ctx, ind) log("d") return d0(bar, ctx, ind) end
function filter_commitment(bar, ctx, ind) log("f") return f0(bar, ctx, ind) end
function manage_position(bar, ctx, ind) log("m") return m0(bar, ctx, ind) end
)lua";
  auto src = script::make_strategy_source("fuzz_views.lua", code);
  REQUIRE(src);
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    auto cfg = base_config();
    cfg.seed = seed;
    cfg.max_consecutive_errors = 5;
    FrameLog per_call_log, batched_log;
    cfg.batch = false;
    cfg.observer = &per_call_log;
    const auto per_call = run(cfg, nvda(), *src);
    cfg.batch = true;
    cfg.observer = &batched_log;
    const auto batched = run(cfg, nvda(), *src);
    check_same(batched, per_call);
    CHECK(batched.trades.size() > 20);
    CHECK(batched.stats.quiet_bars > 100);
    REQUIRE(batched_log.rows.size() == per_call_log.rows.size());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < batched_log.rows.size() && wrong < 5; ++i) {
      if (std::memcmp(batched_log.rows[i].data(), per_call_log.rows[i].data(), sizeof(double) * 16) == 0) continue;
      ++wrong;
      FAIL_CHECK("callback " << i << ": the frame's views differ from the per-callback path's");
    }
  }
}

// The quiet step skips the close's mark while the account has not moved since
// the bar's start and the close lies in the bar's range (SymbolRunner::
// quiet_bar): trades' MAE/MFE, equity and everything else as on the
// per-callback path (which marks at every close), also on bars whose close
// lies outside their range (bad data: the mark at the close must then run).
TEST_CASE("the quiet step's skipped close mark changes no excursion", "[backtest][batch]") {
  const model::BarSeries& src_bars = nvda();
  const std::size_t n = src_bars.size();
  struct Store {
    std::vector<std::int64_t> ts;
    std::vector<double> open, high, low, close, volume;
  };
  auto store = std::make_shared<Store>();
  const auto& c = src_bars.columns();
  for (std::size_t i = 0; i < n; ++i) {
    store->ts.push_back(c.ts_ns[i]);
    store->open.push_back(c.open[i]);
    store->high.push_back(c.high[i]);
    store->low.push_back(c.low[i]);
    double close = c.close[i];
    if (i % 7 == 3) close = c.high[i] * 1.01;
    if (i % 11 == 5) close = c.low[i] * 0.99;
    store->close.push_back(close);
    store->volume.push_back(c.volume[i]);
  }
  model::BarSeries::Columns cols{};
  cols.ts_ns = store->ts.data();
  cols.open = store->open.data();
  cols.high = store->high.data();
  cols.low = store->low.data();
  cols.close = store->close.data();
  cols.volume = store->volume.data();
  const model::BarSeries odd(src_bars.symbol(), src_bars.instrument(), n, cols, store);
  for (const char* name : {"sma_cross", "rsi_mean_reversion", "fuzz"}) {
    INFO(name);
    const bool fuzz = std::string(name) == "fuzz";
    auto src = fuzz ? script::make_strategy_source("fuzz.lua", kFuzzStrategy)
                    : script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/" + name + ".lua");
    REQUIRE(src);
    for (const model::BarSeries* bars : {&src_bars, &odd}) {
      auto cfg = base_config();
      cfg.seed = 3;
      cfg.max_consecutive_errors = 5;
      cfg.batch = false;
      const auto per_call = run(cfg, *bars, *src);
      cfg.batch = true;
      const auto batched = run(cfg, *bars, *src);
      check_same(batched, per_call);
      CHECK(!batched.trades.empty());
      CHECK(batched.stats.quiet_bars > 100);
    }
  }
}

// The runner's quiet bars (SymbolRunner::quiet_bar): a strategy that is flat
// with nothing working most of the time runs most bars through them in the
// batch loop, with the results of the per-callback path (which has none).
TEST_CASE("quiet bars take the batch loop's quiet step and change no result", "[backtest][batch]") {
  for (const char* name : {"sma_cross", "rsi_mean_reversion", "bracket_trend"}) {
    INFO(name);
    auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/" + name + ".lua");
    REQUIRE(src);
    auto cfg = base_config();
    cfg.batch = false;
    const auto per_call = run(cfg, nvda(), *src);
    cfg.batch = true;
    const auto batched = run(cfg, nvda(), *src);
    check_same(batched, per_call);
    CHECK(per_call.stats.quiet_bars == 0);
    INFO(batched.stats.quiet_bars << " quiet of " << batched.stats.bars << " bars");
    CHECK(batched.stats.quiet_bars < batched.stats.bars);
    // bracket_trend holds a stop and a target while in a trade (not quiet),
    // about half its bars; the other two are flat with nothing working most of the time.
    if (std::string(name) == "bracket_trend") CHECK(batched.stats.quiet_bars * 4 > batched.stats.bars);
    else CHECK(batched.stats.quiet_bars * 4 > batched.stats.bars * 3);
  }
  // An observer with per-bar hooks keeps every bar on the full path.
  struct Hooks final : runner::RunnerObserver {
    std::int64_t bars = 0;
    void on_bar(const runner::SymbolRunner&, const model::Bar&) override { ++bars; }
    bool bar_end_runs_lua() const noexcept override { return false; }
  } hooks;
  auto src = script::read_strategy(std::string(TE_SOURCE_DIR) + "/strategies/sma_cross.lua");
  REQUIRE(src);
  auto cfg = base_config();
  cfg.observer = &hooks;
  const auto observed = run(cfg, nvda(), *src);
  CHECK(observed.stats.quiet_bars == 0);
  CHECK(hooks.bars == static_cast<std::int64_t>(observed.bars));
}
