// RecorderBatch: a backtest's bars recorded as indices into their series
// (consecutive ones sharing an item) give the same events, in the same places,
// as the same bars copied one by one.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/journal/event_codec.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/runner/recorder_batch.hpp"

using namespace te;

namespace {

std::string bits(double v) {
  std::uint64_t u = 0;
  std::memcpy(&u, &v, sizeof u);
  return std::to_string(u);
}

// Every event as text: market data field by field (bit patterns, so NaN
// quotes compare), anything else as its journal record.
class Capture final : public journal::DeferredConsumer {
 public:
  std::vector<std::string> out;
  void event(journal::Event& e) override { out.push_back(journal::encode_event(e)); }
  void market_data(std::int64_t ts, model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                   std::string_view timeframe, const model::Bar& b) override {
    std::string s = "md";
    for (std::int64_t v : {ts, static_cast<std::int64_t>(runner), static_cast<std::int64_t>(instrument), b.ts_ns}) {
      s += ' ';
      s += std::to_string(v);
    }
    s.append(" ").append(symbol).append(" ").append(timeframe);
    for (double v : {b.open, b.high, b.low, b.close, b.volume, b.bid, b.ask, b.bid_size, b.ask_size}) {
      s += ' ';
      s += bits(v);
    }
    out.push_back(std::move(s));
  }
};

model::BarSeries series(std::size_t n, bool quotes) {
  model::BarSeriesBuilder b;
  for (std::size_t i = 0; i < n; ++i) {
    model::Bar bar;
    bar.ts_ns = 1'000'000'000LL * 60 * static_cast<std::int64_t>(i + 1);
    bar.open = 100 + 0.25 * static_cast<double>(i % 97);
    bar.high = bar.open + 1.5;
    bar.low = bar.open - 1.25;
    bar.close = bar.open + 0.5;
    bar.volume = static_cast<double>(1000 + i);
    if (quotes) {
      bar.bid = bar.close - 0.01;
      bar.ask = bar.close + 0.01;
    }
    b.push(bar);
  }
  return std::move(b).build("SIM", 3);
}

std::shared_ptr<const runner::RecorderIdentity> identity() {
  auto id = std::make_shared<runner::RecorderIdentity>();
  id->runner = 2;
  id->instrument = 3;
  id->symbol = "SIM";
  id->timeframe = "1m";
  return id;
}

runner::StateRecord state(std::int64_t ts, double cash) {
  runner::StateRecord r;
  r.ts_ns = ts;
  r.phase = journal::StatePhase::Before;
  r.snap.cash = cash;
  r.snap.equity = cash;
  return r;
}

// The same script of bars, states and notes into two batches: one copies the
// bars, the other refers to them in `s`.
void fill(runner::RecorderBatch& b, const model::BarSeries& s, bool by_index, const std::vector<std::size_t>& bars) {
  std::size_t k = 0;
  for (std::size_t i : bars) {
    const std::size_t at = by_index ? b.add_series_bar(static_cast<std::uint32_t>(i)) : b.add_bar(s.at(i));
    if (k % 11 == 5 || k % 7 == 3)
      b.add_event(journal::make_event(s.at(i).ts_ns, 2, journal::Note{"test", std::to_string(k), Value()}));
    // Placed right after the bar, before what followed it (a Before state).
    if (k % 7 == 3) b.add_state(state(s.at(i).ts_ns, static_cast<double>(k)), at + 1);
    if (k % 13 == 6) b.add_state(state(s.at(i).ts_ns, -static_cast<double>(k)));  // at the end
    ++k;
  }
}

}  // namespace

TEST_CASE("bars recorded by their index in the series give the events of copied bars", "[unit][runner][journal]") {
  for (bool quotes : {false, true}) {
    const model::BarSeries s = series(70'100, quotes);
    std::vector<std::size_t> bars;
    for (std::size_t i = 5; i < 300; ++i) bars.push_back(i);
    for (std::size_t i = 1000; i < 1010; ++i) bars.push_back(i);  // a gap: a new item
    bars.push_back(1009 + 2);
    for (std::size_t i = 0; i < 68'000; ++i) bars.push_back(2000 + i);  // past one item's 65,535 bars
    INFO("quotes " << quotes);
    runner::RecorderBatch copied(identity(), 64), indexed(identity(), 64);
    indexed.set_series(std::make_shared<const model::BarSeries>(s));
    fill(copied, s, false, bars);
    fill(indexed, s, true, bars);
    CHECK(indexed.size() == copied.size());
    Capture a, b;
    copied.emit(a);
    indexed.emit(b);
    REQUIRE(a.out.size() == copied.size());
    REQUIRE(b.out.size() == a.out.size());
    for (std::size_t i = 0; i < a.out.size(); ++i) {
      INFO("event " << i);
      REQUIRE(b.out[i] == a.out[i]);
    }
    // Cleared for reuse: empty, and filled again the same.
    indexed.release();
    indexed.clear();
    CHECK(indexed.empty());
    CHECK(indexed.size() == 0);
    fill(indexed, s, true, bars);
    Capture c;
    indexed.emit(c);
    CHECK(c.out == a.out);
  }
}

namespace {

// A loop export of {a = x} (layout of engine/script/context_codec.hpp).
std::shared_ptr<const script::LoopExport> export_of(double x) {
  std::vector<std::uint8_t> b = {5, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 3};
  std::uint8_t d[8];
  std::memcpy(d, &x, 8);
  b.insert(b.end(), d, d + 8);
  return std::make_shared<const script::LoopExport>(script::LoopExport{std::move(b), script::next_loop_export_serial()});
}

}  // namespace

TEST_CASE("a batch decodes each recorded ctx export, known again by its serial number", "[unit][runner][journal]") {
  // Exports alternating and coming back (the writer keeps the last two
  // decoded): every state must carry its own ctx, as when given as a value.
  const auto a = export_of(1), b = export_of(2), c = export_of(3);
  CHECK(a->serial != 0);
  CHECK(a->serial != b->serial);
  CHECK(b->serial != c->serial);
  runner::RecorderBatch by_bytes(identity(), 64), by_value(identity(), 64);
  double x = 0;
  for (const auto& e : {a, b, a, c, a, a, b, c, c, b}) {
    x += 1;
    runner::StateRecord r = state(static_cast<std::int64_t>(x), x);
    runner::StateRecord v = r;
    r.ctx_bytes = e.get();
    by_bytes.hold_export(e);
    r.ctx_serial = e->serial;
    auto decoded = script::decode_loop_export(e->bytes.data(), e->bytes.size());
    REQUIRE(decoded);
    v.ctx = std::make_shared<const Value>(std::move(*decoded));
    by_bytes.add_state(std::move(r));
    by_value.add_state(std::move(v));
  }
  Capture got, want;
  by_bytes.emit(got);
  by_value.emit(want);
  REQUIRE(want.out.size() == 10);
  CHECK(got.out == want.out);
}

namespace {

model::Order order(model::OrderId id, std::string tag, double qty) {
  model::Order o;
  o.id = id;
  o.tag = std::move(tag);
  o.qty = qty;
  o.limit_price = 100.5 + static_cast<double>(id);
  return o;
}

runner::StateRecord state_with(std::int64_t ts, std::uint64_t serial, std::uint32_t offset, std::uint32_t count) {
  runner::StateRecord r = state(ts, static_cast<double>(ts));
  r.orders_serial = serial;
  r.orders_offset = offset;
  r.orders_count = count;
  return r;
}

}  // namespace

TEST_CASE("states record their working orders from copies in the batch, across the batch's reuse",
          "[unit][runner][journal]") {
  // The recorder copies each list once per batch (JournalRecorder::orders_into)
  // and the states that see it share the copy; the sources change afterwards.
  runner::OrderList one = {order(1, "entry", 10)};
  runner::OrderList two = {order(1, "entry", 10), order(2, "a protective stop tag longer than a short string", 10)};
  auto script = [](runner::RecorderBatch& b, const runner::OrderList& x, const runner::OrderList& y, bool share) {
    const std::uint32_t ox = b.add_order_list(x);
    b.add_state(state_with(1, 7, ox, static_cast<std::uint32_t>(x.size())));
    const std::uint32_t oy = b.add_order_list(y);
    b.add_state(state_with(2, 8, oy, static_cast<std::uint32_t>(y.size())));
    // The first list again: shared, or (the reference) copied once more.
    const std::uint32_t again = share ? ox : b.add_order_list(x);
    b.add_state(state_with(3, 7, again, static_cast<std::uint32_t>(x.size())));
    b.add_state(state_with(4, 0, 0, 0));  // none
  };
  runner::RecorderBatch shared(identity(), 64), copied(identity(), 64);
  script(shared, one, two, true);
  script(copied, one, two, false);
  one[0].qty = 99;  // the batch holds copies
  two[1].tag = "changed";
  Capture got, want;
  shared.emit(got);
  copied.emit(want);
  REQUIRE(want.out.size() == 4);
  CHECK(got.out == want.out);
  CHECK(got.out[0] != got.out[1]);  // the lists differ, and so do their states' records

  // Reused: cleared (a new generation), refilled with other orders in the same slots.
  const std::uint64_t g = shared.generation();
  shared.release();
  shared.clear();
  CHECK(shared.generation() != g);
  runner::OrderList three = {order(5, "x", 3), order(6, "another tag longer than fifteen bytes", 4),
                             order(7, "", 5)};
  runner::RecorderBatch fresh(identity(), 64);
  script(shared, three, one, true);
  script(fresh, three, one, true);
  Capture again, reference;
  shared.emit(again);
  fresh.emit(reference);
  CHECK(again.out == reference.out);
  CHECK(again.out != got.out);
}

TEST_CASE("a refusal recorded as it came becomes the risk_decision event, its text built at emit",
          "[unit][runner][journal]") {
  // JournalRecorder::on_rejected copies the rejection (with its facts) into a
  // reused record; emit() builds the event the recorder used to build.
  model::Rejection cash;
  cash.strategy = 4;
  cash.code = "insufficient_cash";
  model::RefusalFacts f;
  f.kind = model::RefusalFacts::Kind::InsufficientCash;
  f.v[0] = 1000;
  f.v[1] = 12.5;
  f.v[2] = 12512.5;
  f.v[3] = 9000;
  cash.set_reason("", f);
  model::Rejection plain;
  plain.strategy = 4;
  plain.code = "invalid_quantity";
  plain.set_text("sized quantity is below one lot");
  auto expected = [](const model::Rejection& r, std::int64_t ts) {
    model::Rejection copy = r;
    journal::RiskDecision d;
    d.order = 0;
    d.strategy = copy.strategy;
    d.approved = false;
    d.reason_code = copy.code;
    d.message = std::string(copy.text());
    auto e = journal::make_event(ts, 2, std::move(d));
    return journal::encode_event(e);
  };
  runner::RecorderBatch b(identity(), 64);
  for (int round = 0; round < 2; ++round) {  // the second time in the records of the first
    const model::Rejection& first = round == 0 ? cash : plain;
    const model::Rejection& second = round == 0 ? plain : cash;
    runner::RefusalRecord& r1 = b.add_refusal();
    r1.ts_ns = 10;
    r1.rejection = first;
    runner::RefusalRecord& r2 = b.add_refusal();
    r2.ts_ns = 20;
    r2.rejection = second;
    Capture got;
    b.emit(got);
    REQUIRE(got.out.size() == 2);
    CHECK(got.out[0] == expected(first, 10));
    CHECK(got.out[1] == expected(second, 20));
    b.release();
    b.clear();
  }
  CHECK(expected(cash, 1).find("cash is 9000") != std::string::npos);
}

namespace {

// The runs of series bars a batch hands out (one market_data_columns call per item).
class Runs final : public journal::DeferredConsumer {
 public:
  std::vector<std::string> out;
  void event(journal::Event& e) override { out.push_back(journal::encode_event(e)); }
  void market_data(std::int64_t, model::RunnerId, model::InstrumentId, std::string_view, std::string_view,
                   const model::Bar& b) override {
    out.push_back("bar " + std::to_string(b.ts_ns));
  }
  void market_data_columns(model::RunnerId, model::InstrumentId, std::string_view, std::string_view,
                           const model::BarSeries::Columns&, std::size_t from, std::size_t count) override {
    out.push_back("run " + std::to_string(from) + " " + std::to_string(count));
  }
};

}  // namespace

TEST_CASE("a run of series bars added at once makes the items of its bars added one by one",
          "[unit][runner][journal]") {
  // JournalRecorder writes a run of quiet bars in one add_series_run call;
  // the batch must hold the same items (runs of at most 65,535 bars, a run
  // continuing the last item when it follows it) as add_series_bar per bar.
  const model::BarSeries s = series(140'000, false);
  // (first bar, bars) of each run, with notes between some of them.
  const std::vector<std::pair<std::uint32_t, std::size_t>> runs = {
      {0, 1}, {1, 5}, {6, 1}, {10, 3}, {13, 65'530}, {65'543, 10}, {65'553, 1}, {70'000, 65'535},
      {135'535, 1}, {135'536, 4'000}};
  runner::RecorderBatch one(identity(), 64), at_once(identity(), 64);
  const auto shared = std::make_shared<const model::BarSeries>(s);
  one.set_series(shared);
  at_once.set_series(shared);
  std::size_t k = 0;
  for (const auto& [first, n] : runs) {
    std::size_t at_one = 0;
    for (std::size_t i = 0; i < n; ++i) at_one = one.add_series_bar(static_cast<std::uint32_t>(first + i));
    const std::size_t at = at_once.add_series_run(first, n);
    CHECK(at == at_one);
    CHECK(at_once.size() == one.size());
    if (++k % 3 == 0) {
      for (auto* b : {&one, &at_once})
        b->add_event(journal::make_event(s.at(first).ts_ns, 2, journal::Note{"test", std::to_string(k), Value()}));
    }
  }
  Runs a, b;
  one.emit(a);
  at_once.emit(b);
  CHECK(a.out.size() > 6);  // (runs that follow each other share items)
  CHECK(b.out == a.out);
}

namespace {

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Each strategy_action record as the journal writer encodes it from emit()'s
// parameter list (its sequence: the record's place in the batch).
class ActionBytes final : public journal::DeferredConsumer {
 public:
  std::vector<std::string> out;
  void event(journal::Event&) override { out.push_back("event"); }
  void market_data(std::int64_t, model::RunnerId, model::InstrumentId, std::string_view, std::string_view,
                   const model::Bar&) override {
    out.push_back("bar");
  }
  void transition(std::int64_t, model::RunnerId, std::uint8_t, std::uint8_t, std::string_view, std::string_view,
                  std::int64_t) override {
    out.push_back("transition");
  }
  void strategy_action(std::int64_t ts, model::RunnerId runner, model::StrategyId strategy, std::string_view kind,
                       const journal::ActionParam* params, std::size_t n, std::string_view reason) override {
    std::string s;
    journal::encode_strategy_action(out.size(), ts, runner, strategy, kind, params, n, reason, s);
    out.push_back(std::move(s));
  }
  void order_update(std::int64_t, model::RunnerId, const model::Order&, std::string_view, std::string_view) override {
    out.push_back("order");
  }
};

}  // namespace

TEST_CASE("a strategy_action record written from its parameter list is the event's record", "[unit][runner][journal]") {
  // The writer encodes an action from action_param_list(); the event of the
  // same action (action_params(): a map, sorted by Value) must give the same
  // bytes: key order, nil for no parameters, strings for order type and tif.
  // RecorderBatch::emit() fills one parameter list for all of a batch's
  // actions: an action with every field given (twelve parameters, two of
  // them strings) comes before actions of every kind with fewer, so a count
  // too large, or a slot of the last action's not rewritten (a string where
  // a number now is), shows in the next action's record.
  std::uint64_t state = 88172645463325252ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto number = [&next]() -> double {
    switch (next() % 6) {
      case 0:
      case 1: return std::nan("");
      case 2: return -0.0;
      case 3: return 1e300;
      default: return static_cast<double>(static_cast<std::int64_t>(next() % 2'000'001) - 1'000'000) / 64.0;
    }
  };
  auto fields = [](te_action& a) {
    return std::array<double*, 12>{&a.qty,  &a.fraction, &a.risk,      &a.limit,   &a.stop_trigger, &a.stop,
                                   &a.target, &a.trail,  &a.trail_pct, &a.tif_bars, &a.breakeven,   &a.max_bars};
  };
  runner::RecorderBatch b(identity(), 64);
  std::size_t full = 0;  // actions that gave all twelve parameters
  for (int use = 0; use < 40; ++use) {
    std::vector<std::string> want;
    for (int i = 0; i < 150; ++i) {
      te_action a{};
      if (i % 10 == 0) {  // every field given: the list's twelve entries all written
        a.kind = use % 2 == 0 ? script::kActEnterLong : script::kActEnterShort;
        a.order_type = static_cast<std::int32_t>(next() % 4);
        a.tif = 1 + static_cast<std::int32_t>(next() % 4);
        for (double* f : fields(a)) *f = static_cast<double>(next() % 1000) / 8.0 + 1;
      } else {
        a.kind = static_cast<std::int32_t>((i + use) % 9);  // every kind, and one past them
        a.order_type = static_cast<std::int32_t>(next() % 6) - 1;
        a.tif = static_cast<std::int32_t>(next() % 7) - 1;
        for (double* f : fields(a)) *f = number();
      }
      const std::string reason(next() % 40, 'r');
      journal::Event e;
      e.sequence = want.size();
      e.ts_event_ns = static_cast<std::int64_t>(next());
      e.runner = identity()->runner;
      auto& sa = e.body.emplace<journal::StrategyAction>();
      sa.strategy = static_cast<model::StrategyId>(next());
      sa.kind = std::string(runner::action_name(a.kind));
      sa.params = runner::action_params(a.kind, a);
      sa.reason = reason;
      if (sa.params.is_map() && sa.params.as_map().size() == runner::kMaxActionParams) ++full;
      want.push_back(journal::encode_event(e));

      // The same action in the batch, and alone through a list of its own.
      runner::ActionRecord& r = b.add_action();
      r.ts_ns = e.ts_event_ns;
      r.strategy = sa.strategy;
      r.kind = a.kind;
      r.reason = b.add_text(reason);
      r.action = a;
      journal::ActionParam list[runner::kMaxActionParams];
      const std::size_t n = runner::action_param_list(a.kind, a, list);
      std::string direct;
      journal::encode_strategy_action(e.sequence, e.ts_event_ns, e.runner, sa.strategy, sa.kind, list, n, reason,
                                      direct);
      INFO("use " << use << ", action " << i);
      REQUIRE(direct == want.back());
    }
    ActionBytes got;
    b.emit(got);
    REQUIRE(got.out.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      INFO("use " << use << ", action " << i << " of the batch");
      REQUIRE(hex(got.out[i]) == hex(want[i]));
    }
    b.release();
    b.clear();
  }
  CHECK(full >= 40 * 15);  // (and random ones that gave all twelve)
}

namespace {

// The strings a batch hands out with its transitions, actions and order updates.
class Texts final : public journal::DeferredConsumer {
 public:
  std::vector<std::string> out;
  void event(journal::Event&) override { out.push_back("event"); }
  void market_data(std::int64_t, model::RunnerId, model::InstrumentId, std::string_view, std::string_view,
                   const model::Bar&) override {
    out.push_back("bar");
  }
  void transition(std::int64_t, model::RunnerId, std::uint8_t, std::uint8_t, std::string_view trigger,
                  std::string_view reason, std::int64_t) override {
    out.push_back("transition " + std::string(trigger) + "|" + std::string(reason));
  }
  void strategy_action(std::int64_t, model::RunnerId, model::StrategyId, std::string_view kind,
                       const journal::ActionParam*, std::size_t, std::string_view reason) override {
    out.push_back("action " + std::string(kind) + "|" + std::string(reason));
  }
  void order_update(std::int64_t, model::RunnerId, const model::Order& order, std::string_view reason_code,
                    std::string_view message) override {
    out.push_back("order " + order.tag + "|" + std::string(reason_code) + "|" + std::string(message));
  }
};

}  // namespace

TEST_CASE("records' strings kept in the batch's text come out as they went in, across the batch's reuse",
          "[unit][runner][journal]") {
  // Reasons, codes and messages are places in one text per batch (TextRef):
  // short and long (past the small-string size), empty, with NUL bytes, and a
  // batch cleared and filled again must not hand out the last use's text.
  runner::RecorderBatch b(identity(), 64);
  for (int use = 0; use < 3; ++use) {
    const std::string tag = "u" + std::to_string(use);
    const std::string long_reason = "fast SMA crossed above slow SMA, use " + std::to_string(use);
    const std::string with_nul = std::string("a\0b", 3) + tag;
    std::vector<std::string> want;
    for (int i = 0; i < 40; ++i) {  // past the text's first reservation (4 KiB) by the third use
      runner::TransitionRecord& t = b.add_transition();
      t.trigger = runner::RunnerEvent::SetupFound;
      const std::string reason = i % 3 == 0 ? "" : i % 3 == 1 ? tag : long_reason + std::string(40 * use, 'x');
      t.reason = b.add_text(reason);
      want.push_back("transition setup_found|" + reason);
      runner::ActionRecord& a = b.add_action();
      a.kind = script::kActExit;
      a.reason = b.add_text(i % 2 == 0 ? long_reason : with_nul);
      want.push_back("action exit|" + (i % 2 == 0 ? long_reason : with_nul));
      runner::OrderRecord& o = b.add_order();
      o.order.tag = long_reason;
      o.reason_code = b.add_text(i % 2 == 0 ? "filled" : "");
      o.message = i % 4 == 1 ? b.add_text(with_nul + long_reason) : runner::TextRef{};
      want.push_back("order " + long_reason + "|" + (i % 2 == 0 ? "filled" : "") + "|" +
                     (i % 4 == 1 ? with_nul + long_reason : ""));
    }
    Texts got;
    b.emit(got);
    CHECK(got.out == want);
    b.release();
    b.clear();
  }
}

TEST_CASE("a batch's text keeps every length of string byte for byte", "[unit][runner][journal]") {
  // add_text copies up to 32 bytes as two overlapping moves of 4, 8 or 16
  // bytes (each length's own case), longer ones with memcpy; the texts sit
  // one after the other, across the buffer's growth.
  runner::RecorderBatch b(identity(), 64);
  for (int use = 0; use < 2; ++use) {
    std::vector<std::string> want;
    std::vector<runner::TextRef> refs;
    for (int round = 0; round < 3; ++round) {
      for (std::size_t n = 0; n <= 70; ++n) {
        std::string s(n, '\0');
        for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + n + round + use) % 26);
        refs.push_back(b.add_text(s));
        want.push_back(std::move(s));
      }
    }
    REQUIRE(refs.size() == want.size());
    std::uint32_t at = 0;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      CHECK(refs[i].at == at);  // one after the other
      CHECK(b.text(refs[i]) == want[i]);
      at += refs[i].size;
    }
    CHECK(at > 4096);  // past the first reservation
    b.release();
    b.clear();
  }
}

TEST_CASE("copy_untagged copies every field of an order but its tag", "[unit][runner][journal]") {
  // The recorder's working-order lists skip the tag (no state records it);
  // every other field must come across (a field added to model::Order and
  // left out of copy_untagged fails its static_assert, or this).
  model::Order from;
  from.id = 11;
  from.instrument = 12;
  from.runner = 13;
  from.strategy = 14;
  from.side = model::Side::Sell;
  from.type = model::OrderType::StopLimit;
  from.tif = model::TimeInForce::GoodForBars;
  from.purpose = model::OrderPurpose::StopLoss;
  from.status = model::OrderStatus::PartiallyFilled;
  from.qty = 1.5;
  from.filled_qty = 0.5;
  from.limit_price = 101.25;
  from.stop_price = 99.75;
  from.reduce_only = true;
  from.tif_bars = 7;
  from.submitted_ns = 123456789;
  from.submitted_bar = 42;
  from.active_from_bar = 43;
  from.tag = "a tag longer than the small-string size";
  from.trail_amount = 0.25;
  from.trail_pct = 0.125;
  from.avg_fill_price = 100.5;
  from.oco_group = 99;
  model::Order to;
  to.tag = "kept";
  runner::copy_untagged(to, from);
  model::Order want = from;
  want.tag = "kept";
  CHECK(to.id == want.id);
  CHECK(to.instrument == want.instrument);
  CHECK(to.runner == want.runner);
  CHECK(to.strategy == want.strategy);
  CHECK(to.side == want.side);
  CHECK(to.type == want.type);
  CHECK(to.tif == want.tif);
  CHECK(to.purpose == want.purpose);
  CHECK(to.status == want.status);
  CHECK(bits(to.qty) == bits(want.qty));
  CHECK(bits(to.filled_qty) == bits(want.filled_qty));
  CHECK(bits(to.limit_price) == bits(want.limit_price));
  CHECK(bits(to.stop_price) == bits(want.stop_price));
  CHECK(to.reduce_only == want.reduce_only);
  CHECK(to.tif_bars == want.tif_bars);
  CHECK(to.submitted_ns == want.submitted_ns);
  CHECK(to.submitted_bar == want.submitted_bar);
  CHECK(to.active_from_bar == want.active_from_bar);
  CHECK(to.tag == "kept");
  CHECK(bits(to.trail_amount) == bits(want.trail_amount));
  CHECK(bits(to.trail_pct) == bits(want.trail_pct));
  CHECK(bits(to.avg_fill_price) == bits(want.avg_fill_price));
  CHECK(to.oco_group == want.oco_group);
}

TEST_CASE("a Before state derived from the last state record is that state with its bar counters moved on",
          "[unit][runner][journal]") {
  // JournalRecorder::derive_before: a bar's Before state that equals the
  // batch's last state record but for its bar counters becomes the place
  // reserve_slot() kept after the bar's run of series bars; emit() writes
  // the record's state `ahead` bars on, at the bar's time. The reference
  // records the same state whole in that place.
  const model::BarSeries s = series(12, false);
  auto base = [&s]() {
    runner::StateRecord r = state_with(s.at(2).ts_ns, 4, 0, 1);
    r.phase = journal::StatePhase::After;
    r.snap.state = 3;
    r.snap.bar_index = 2;
    r.snap.bars_in_state = 1;
    r.snap.qty = 10;
    r.snap.avg_price = 99.25;
    r.snap.unrealized = -0.0;  // (kept to the bit)
    r.snap.in_trade = true;
    r.snap.entry_bar = 1;
    r.snap.entry_ts_ns = s.at(1).ts_ns;
    r.snap.trade_pnl = 1.5;
    r.snap.trades = 2;
    return r;
  };
  auto script = [&](runner::RecorderBatch& b, bool derived) {
    const runner::OrderList orders = {order(1, "entry", 10)};
    const std::uint32_t o = b.add_order_list(orders);
    b.add_series_run(0, 3);
    runner::StateRecord r = base();
    r.orders_offset = o;
    b.add_state(r);
    const std::size_t bar = b.add_series_run(3, 4);  // bars 3..6: bar 6 is active
    const std::size_t kept = b.reserve_slot();
    CHECK(kept == bar + 1);
    b.add_event(journal::make_event(s.at(6).ts_ns, 2, journal::Note{"test", "on bar 6", Value()}));
    if (derived) {
      CHECK(b.add_before_from_last(kept, 4));
    } else {
      runner::StateRecord before = r;
      before.phase = journal::StatePhase::Before;
      before.ts_ns = s.at(6).ts_ns;
      before.snap.bar_index = 6;
      before.snap.bars_in_state = 5;
      b.add_state(before, kept);
    }
    runner::StateRecord after = base();
    after.orders_offset = o;
    after.snap.bar_index = 6;
    after.snap.cash = -5;
    b.add_state(after);
    b.add_series_run(7, 2);
  };
  runner::RecorderBatch derived(identity(), 64), whole(identity(), 64);
  derived.set_series(std::make_shared<const model::BarSeries>(s));
  whole.set_series(std::make_shared<const model::BarSeries>(s));
  script(derived, true);
  script(whole, false);
  CHECK(derived.size() == whole.size());
  Capture got, want;
  derived.emit(got);
  whole.emit(want);
  REQUIRE(want.out.size() == 13);  // 9 bars, 3 states, a note
  CHECK(got.out == want.out);

  // Only into a place kept right after a run of series bars, with a state to derive from.
  runner::RecorderBatch b(identity(), 64);
  b.set_series(std::make_shared<const model::BarSeries>(s));
  const std::size_t first = b.add_series_run(0, 2);
  const std::size_t kept = b.reserve_slot();
  CHECK_FALSE(b.add_before_from_last(kept, 1));  // no state record yet
  b.add_state(base());
  CHECK_FALSE(b.add_before_from_last(first, 1));  // bars, not a kept place
  CHECK_FALSE(b.add_before_from_last(b.size() + 5, 1));  // past the items
  CHECK(b.add_before_from_last(kept, 0));
  CHECK_FALSE(b.add_before_from_last(kept, 0));  // taken
  CHECK(b.last_state() != nullptr);
}

TEST_CASE("states whose working orders are replayed from the batch's order records give the lists copied",
          "[unit][runner][journal]") {
  // JournalRecorder records a state's orders as kReplayedOrders: emit()
  // replays the batch's first list through its order records
  // (apply_working_order) and hands the state the list at its place. The
  // reference copies each list into the batch (add_order_list). Orders
  // inserted before, between and after others, replaced, and leaving from
  // the front, the middle and the end; a batch reused with another first list.
  auto with = [](model::OrderId id, model::OrderStatus status, double filled) {
    model::Order o = order(id, "tag " + std::to_string(id), 10 * static_cast<double>(id));
    o.status = status;
    o.filled_qty = filled;
    return o;
  };
  using S = model::OrderStatus;
  const std::vector<model::Order> events = {
      with(5, S::Submitted, 0), with(2, S::Submitted, 0), with(9, S::Submitted, 0), with(7, S::Submitted, 0),
      with(5, S::PartiallyFilled, 3), with(2, S::Filled, 20), with(9, S::Cancelled, 0), with(3, S::Submitted, 0),
      with(7, S::Filled, 70), with(5, S::Filled, 50), with(3, S::Rejected, 0), with(4, S::Submitted, 0)};
  for (int first_list : {0, 1}) {
    INFO("first list " << first_list);
    runner::OrderList initial;
    if (first_list == 1) initial = {with(1, S::Submitted, 0), with(8, S::Submitted, 0)};
    runner::RecorderBatch replayed(identity(), 64);
    for (int use = 0; use < 2; ++use) {  // (the second time reused)
      replayed.release();
      replayed.clear();
      replayed.set_initial_orders(initial.data(), initial.size());
      runner::OrderList working = initial;
      std::size_t count = working.size();
      runner::RecorderBatch fresh(identity(), 64);
      auto state_here = [&](std::uint64_t serial) {
        runner::StateRecord r = state_with(static_cast<std::int64_t>(serial), serial, runner::kReplayedOrders, 0);
        replayed.add_state(r);
        const std::uint32_t at = fresh.add_order_list(working.data(), count);
        fresh.add_state(state_with(static_cast<std::int64_t>(serial), serial, at, static_cast<std::uint32_t>(count)));
      };
      state_here(1);
      std::uint64_t serial = 1;
      for (const model::Order& o : events) {
        for (runner::RecorderBatch* b : {&replayed, &fresh}) {
          runner::OrderRecord& r = b->add_order();
          r.ts_ns = 100;
          r.order = o;
          r.reason_code = b->add_text("code");
          r.message = runner::TextRef{};
          r.refusal = 0;
        }
        runner::apply_working_order(working, count, o);
        state_here(++serial);
      }
      Capture got, want;
      replayed.emit(got);
      fresh.emit(want);
      REQUIRE(want.out.size() == 2 * events.size() + 1);
      CHECK(got.out == want.out);
    }
  }
}
