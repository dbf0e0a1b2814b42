#include "journal_fixtures.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

namespace te::journal::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "te-journal-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  REQUIRE(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

// Built with append: GCC 12 warns (-Wrestrict, a false positive) on "lit" + std::string&&.
std::string name(const char* prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

constexpr std::int64_t kStart = 1'700'000'000'000'000'000;  // 2023-11-14
constexpr std::int64_t kMinute = 60'000'000'000;

Value context_for(double cash, double qty, double entry, std::int64_t bars_seen, const std::vector<double>& history,
                  bool in_setup, const std::string& signal) {
  Value::Array hist;
  for (double h : history) hist.emplace_back(h);
  Value ctx = Value::map({
      {"cash", cash},
      {"position", Value::map({{"qty", qty}, {"entry_price", entry}, {"side", qty > 0 ? "long" : "flat"}})},
      {"bars_seen", bars_seen},
      {"history", Value(std::move(hist))},
      {"last_signal", signal},
      {"params", Value::map({{"fast", 10}, {"slow", 30}, {"stake", 1000.0}})},
      {"notes", Value::array({"sma cross", true, Value()})},
  });
  if (in_setup) ctx.set("setup", Value::map({{"level", entry + 1.5}, {"armed_at", bars_seen}}));
  return ctx;
}

}  // namespace

std::vector<Event> make_session(const SessionSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> step(-0.5, 0.5);
  std::uniform_int_distribution<int> dice(0, 99);
  std::vector<Event> out;
  auto push = [&out](std::int64_t ts, model::RunnerId runner, auto body) {
    Event e = make_event(ts, runner, std::move(body));
    e.sequence = out.size() + 1;
    out.push_back(std::move(e));
  };

  SessionStart start;
  start.session_id = "20231114T221320Z-deadbeef";
  start.mode = "backtest";
  start.engine_version = "0.1.0";
  start.seed = spec.seed;
  start.config_sha256 = std::string(64, 'c');
  push(kStart, kNoRunner, start);

  struct RunnerSim {
    double price = 100, cash = 10000, qty = 0, entry = 0;
    std::vector<double> history;
    bool in_setup = false;
    std::uint8_t state = 0;
    model::OrderId next_order = 1;
  };
  std::vector<RunnerSim> sims(spec.runners);
  for (std::uint32_t r = 0; r < spec.runners; ++r) sims[r].price = 100 + 10 * r;

  for (std::size_t i = 0; i < spec.bars; ++i) {
    const std::int64_t ts = kStart + static_cast<std::int64_t>(i) * kMinute;
    for (std::uint32_t r = 0; r < spec.runners; ++r) {
      RunnerSim& s = sims[r];
      MarketData md;
      md.instrument = 1000 + r;
      md.symbol = r == 0 ? "BTCUSDT" : "ETHUSDT";
      md.timeframe = "1m";
      md.bar.ts_ns = ts;
      md.bar.open = s.price;
      s.price += step(rng);
      md.bar.close = s.price;
      md.bar.high = std::max(md.bar.open, md.bar.close) + 0.25;
      md.bar.low = std::min(md.bar.open, md.bar.close) - 0.25;
      md.bar.volume = 1000 + dice(rng);
      if (i % 3 == 0) {
        md.bar.bid = s.price - 0.01;
        md.bar.ask = s.price + 0.01;
      }
      push(ts, r, md);

      const std::string signal = dice(rng) < 50 ? "none" : "watch";
      auto state_event = [&](StatePhase phase) {
        RunnerState st;
        st.phase = phase;
        st.state = s.state;
        st.context = context_for(s.cash, s.qty, s.entry, static_cast<std::int64_t>(i), s.history, s.in_setup, signal);
        if (spec.indicators) {
          st.indicators = Value::map({{"sma(10)", s.price - 0.1}, {"sma(30)", s.price + 0.2}, {"rsi(14)", 50.0 + step(rng)}});
        }
        push(ts, r, st);
      };
      state_event(StatePhase::Before);

      s.history.push_back(s.price);
      if (s.history.size() > 5) s.history.erase(s.history.begin());
      const int roll = dice(rng);
      if (s.state == 0 && roll < 8) {
        s.in_setup = true;
        push(ts, r, Transition{0, 1, "setup_detected", "close crossed above sma(30)", ts});
        s.state = 1;
      } else if (s.state == 1 && roll < 30) {
        StrategyAction a;
        a.strategy = 1;
        a.kind = "enter_long";
        a.params = Value::map({{"qty", 1.5}, {"stop", s.price - 2}});
        a.reason = "momentum confirmed";
        push(ts, r, a);
        model::Order o;
        o.id = s.next_order++ + 1000ull * r;
        o.instrument = 1000 + r;
        o.runner = r;
        o.strategy = 1;
        o.qty = 1.5;
        o.submitted_ns = ts;
        o.submitted_bar = static_cast<std::int64_t>(i);
        o.tag = "entry";
        push(ts, r, OrderUpdate{o, "", ""});
        push(ts, r, RiskDecision{o.id, 1, true, "", ""});
        o.status = model::OrderStatus::Filled;
        o.filled_qty = 1.5;
        // Fills carry the fill time, which may precede the bar time of the
        // surrounding events: ts_event_ns is not monotonic in a journal.
        push(ts - kMinute / 2, r, OrderUpdate{o, "", ""});
        model::Fill f;
        f.order = o.id;
        f.instrument = o.instrument;
        f.runner = r;
        f.strategy = 1;
        f.qty = 1.5;
        f.price = s.price;
        f.commission = s.price * 1.5 * 0.001;
        f.ts_ns = ts - kMinute / 2;
        f.bar_index = static_cast<std::int64_t>(i);
        push(ts - kMinute / 2, r, FillEvent{f});
        s.qty = 1.5;
        s.entry = s.price;
        s.cash -= s.price * 1.5;
        s.in_setup = false;
        push(ts, r, Transition{1, 2, "entry_filled", "", ts});
        s.state = 2;
      } else if (s.state == 2 && roll < 5) {
        s.cash += s.price * s.qty;
        s.qty = 0;
        push(ts, r, Transition{2, 0, "exit", "stop hit", ts});
        s.state = 0;
      }
      state_event(StatePhase::After);
      if (spec.indicators && i % 10 == 0) {
        push(ts, r, IndicatorValues{Value::map({{"atr(14)", 1.25 + step(rng)}, {"ema(20)", s.price}})});
      }
    }
    if (i == spec.bars / 2) push(ts, kNoRunner, Note{"engine", "halfway", Value::map({{"bars", i}})});
  }
  push(kStart + static_cast<std::int64_t>(spec.bars) * kMinute, kNoRunner,
       SessionEnd{"end_of_data", Value::map({{"final_equity", sims[0].cash}})});
  return out;
}

std::vector<Event> one_of_each() {
  std::vector<Event> out;
  auto push = [&out](std::int64_t ts, model::RunnerId runner, auto body) {
    Event e = make_event(ts, runner, std::move(body));
    e.sequence = out.size() + 1;
    out.push_back(std::move(e));
  };
  push(1, kNoRunner,
       SessionStart{"s-1", "backtest", "0.1.0", 0xfedcba9876543210ull, std::string(64, 'a'),
                    Value::map({{"argv", Value::array({"backtest", "--record"})}})});
  MarketData md;
  md.instrument = 42;
  md.symbol = "NVDA";
  md.timeframe = "1d";
  md.bar = model::Bar{};
  md.bar.ts_ns = -86'400'000'000'000;  // before the epoch
  md.bar.open = 0.1;
  md.bar.high = 1e308;
  md.bar.low = -0.0;
  md.bar.close = std::numeric_limits<double>::denorm_min();
  md.bar.volume = std::numeric_limits<double>::infinity();
  md.bar.bid = std::bit_cast<double>(0x7ff8000000000123ull);  // a NaN with a payload
  md.bar.ask = 3.5;
  push(2, 0, md);
  RunnerState st;
  st.phase = StatePhase::Before;
  st.state = 2;
  st.context = Value::map({{"a", 1}, {"b", Value::array({1.5, "x", Value(), false})}, {"n", -7}, {"big", INT64_MIN}});
  st.indicators = Value::map({{"sma(20)", 101.25}});
  push(3, 0, st);
  push(4, 0, Transition{0, 1, "setup_detected", "breakout above 20-bar high", 4});
  push(5, 0, StrategyAction{3, "enter_long", Value::map({{"qty", 2.0}}), "breakout"});
  model::Order o;
  o.id = 77;
  o.instrument = 42;
  o.runner = 0;
  o.strategy = 3;
  o.side = model::Side::Sell;
  o.type = model::OrderType::StopLimit;
  o.tif = model::TimeInForce::GoodForBars;
  o.purpose = model::OrderPurpose::StopLoss;
  o.status = model::OrderStatus::Rejected;
  o.qty = 2;
  o.limit_price = 99.5;
  o.stop_price = 100;
  o.reduce_only = true;
  o.submitted_ns = 5;
  o.submitted_bar = 12;
  o.tag = "protective stop";
  push(6, 0, OrderUpdate{o, "insufficient_position", "sell 2 with a position of 1"});
  model::Fill f;
  f.order = 77;
  f.instrument = 42;
  f.runner = 0;
  f.strategy = 3;
  f.side = model::Side::Sell;
  f.purpose = model::OrderPurpose::TakeProfit;
  f.qty = 1;
  f.price = 101.75;
  f.commission = 0.101750;
  f.ts_ns = 7;
  f.bar_index = 13;
  push(7, 0, FillEvent{f});
  push(8, 0, RiskDecision{78, 3, false, "max_notional", "notional 12000 exceeds 10000"});
  push(9, kNoRunner, StormGuardChange{0, 1, "pnl -0.6% below warm threshold", Value::map({{"pnl_pct", -0.6}})});
  push(10, 0,
       StrategyError{3, StrategyErrorKind::Timeout, "manage_position", "callback exceeded 5 ms",
                     "stack traceback:\n\t[string \"x\"]:3: in function", "strategies/x.lua", 3, true});
  push(11, 0, Reload{3, "strategies/x.lua", std::string(64, '1'), std::string(64, '2'), false, "syntax error"});
  push(12, 0, IndicatorValues{Value::map({{"rsi(14)", 55.5}, {"macd", Value::array({0.1, 0.2, -0.1})}})});
  push(13, kNoRunner, Note{"operator", "force storm", Value()});
  push(14, kNoRunner, SessionEnd{"signal", Value()});
  RunnerState after = st;
  after.phase = StatePhase::After;
  after.context.set("a", 2);
  push(15, 0, after);
  return out;
}

WriterStats write_journal(const std::string& path, const std::vector<Event>& events, WriterOptions options) {
  auto w = JournalWriter::create(path, std::move(options));
  REQUIRE(w.ok());
  for (const Event& e : events) {
    auto seq = (*w)->append(e);
    REQUIRE(seq.ok());
  }
  Status s = (*w)->close();
  REQUIRE(s.ok());
  return (*w)->stats();
}

std::vector<Event> read_all(const std::string& path, Reporter& reporter, ReaderOptions options) {
  auto r = JournalReader::open(path, reporter, options);
  if (!r.ok()) FAIL(r.error().message);
  std::vector<Event> out;
  Event e;
  while (true) {
    auto ok = (*r)->next(e);
    REQUIRE(ok.ok());
    if (!*ok) break;
    out.push_back(e);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

Value random_value(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 3 ? 4 : 6);
  switch (kind(rng)) {
    case 0: return Value();
    case 1: return Value(rng() % 2 == 0);
    case 2: return Value(static_cast<std::int64_t>(rng() % 100) - 50);
    case 3: return Value(static_cast<double>(rng() % 1000) / 8.0);
    case 4: return Value(name("s", rng() % 5));
    case 5: {
      Value::Array a;
      const auto n = rng() % 6;
      for (std::uint64_t i = 0; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return Value(std::move(a));
    }
    default: {
      Value m = Value::empty_map();
      const auto n = rng() % 6;
      for (std::uint64_t i = 0; i < n; ++i) m.set(name("k", rng() % 8), random_value(rng, depth + 1));
      return m;
    }
  }
}

// A small random edit, so diffs are patches rather than replacements.
Value mutate_value(std::mt19937_64& rng, Value v, int depth) {
  if (v.is_map() && v.size() > 0 && rng() % 4 != 0) {
    const auto& entries = v.as_map();
    const std::string key = entries[rng() % entries.size()].first;
    switch (rng() % 3) {
      case 0: v.erase(key); break;
      case 1: v.set(key, mutate_value(rng, *v.find(key), depth + 1)); break;
      default: v.set(name("new", rng() % 3), random_value(rng, depth + 1));
    }
    return v;
  }
  if (v.is_array() && rng() % 4 != 0) {
    auto& a = v.as_array();
    switch (rng() % 3) {
      case 0: a.push_back(random_value(rng, depth + 1)); break;
      case 1:
        if (!a.empty()) a.pop_back();
        break;
      default:
        if (!a.empty()) {
          const auto i = rng() % a.size();
          a[i] = mutate_value(rng, a[i], depth + 1);
        }
    }
    return v;
  }
  return random_value(rng, depth);
}

std::vector<Event> alternating_bars(std::size_t count) {
  std::vector<Event> events;
  std::int64_t ts = 1'700'000'000'000'000'000;
  for (std::size_t i = 0; i < count; ++i) {
    const auto r = static_cast<model::RunnerId>(i % 2);
    if (r == 0) ts += 60'000'000'000;
    MarketData md;
    md.instrument = r + 1;
    md.symbol = "SYM" + std::to_string(r);
    md.timeframe = "1m";
    md.bar.ts_ns = ts;
    md.bar.open = md.bar.high = md.bar.low = md.bar.close = 100 + static_cast<double>(i % 17) / 100;
    md.bar.volume = 1000;
    Event e = make_event(ts, r, md);
    e.sequence = events.size() + 1;
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace te::journal::testing
