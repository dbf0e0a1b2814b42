// The kill switch's operator triggers while a run is going: a control file
// (present at the start, or appearing later) and SIGUSR1; in a backtest, a
// control file engages the switch, flattens and every later order is refused
// with the kill_switch reason. Waits are for a background thread to notice;
// they never assert how long that took.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/config/config.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/risk/kill_switch_control.hpp"
#include "engine/risk/risk_codes.hpp"
#include "engine/risk/risk_engine.hpp"
#include "tests/support/temp_files.hpp"

using namespace te;

namespace {

struct Sink final : risk::RiskEventSink {
  std::vector<risk::KillSwitchEvent> kills;
  void on_stormguard(const risk::StormGuardChange&) override {}
  void on_kill_switch(const risk::KillSwitchEvent& e) override { kills.push_back(e); }
};

// Feeds bars (one per 10 ms of waiting) until the engine engages the switch or ~20 s pass.
bool engaged_within_bars(risk::RiskEngine& engine, Sink& sink, std::int64_t& ts) {
  for (int i = 0; i < 2000; ++i) {
    engine.on_bar(0, 0, 100, ++ts, &sink);
    if (engine.kill_switch_engaged()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

model::Order buy(double qty) {
  model::Order o;
  o.side = model::Side::Buy;
  o.qty = qty;
  return o;
}

}  // namespace

TEST_CASE("kill switch control file: present at the start, engaged at the first bar", "[unit][risk]") {
  test::TempDir dir;
  const std::string path = dir.file("KILL");
  test::write_file(path, "");
  portfolio::Portfolio account(100000);
  risk::RiskEngine engine({}, account);
  Sink sink;
  risk::KillSwitchTriggers t;
  t.file = path;
  risk::KillSwitchControl control(engine, t);
  CHECK_FALSE(engine.kill_switch_engaged());  // engaged at the next event, with that event's time
  engine.on_bar(0, 0, 100, 5 * kNsPerDay, &sink);
  REQUIRE(engine.kill_switch_engaged());
  REQUIRE(sink.kills.size() == 1);
  CHECK(sink.kills[0].reason == "control file present");
  CHECK(sink.kills[0].ts_ns == 5 * kNsPerDay);
  model::Instrument ins;
  auto d = engine.check(buy(1), ins, 100, 0, 5 * kNsPerDay + 1, &sink);
  CHECK_FALSE(d.approved);
  CHECK(d.code == risk::codes::kKillSwitch);
}

TEST_CASE("kill switch control file: appearing while running engages the switch", "[unit][risk]") {
  test::TempDir dir;
  const std::string path = dir.file("KILL");
  portfolio::Portfolio account(100000);
  risk::RiskEngine engine({}, account);
  Sink sink;
  risk::KillSwitchTriggers t;
  t.file = path;
  t.poll = std::chrono::milliseconds(5);
  risk::KillSwitchControl control(engine, t);
  std::int64_t ts = 0;
  for (int i = 0; i < 20; ++i) engine.on_bar(0, 0, 100, ++ts, &sink);
  CHECK_FALSE(engine.kill_switch_engaged());
  test::write_file(path, "");
  REQUIRE(engaged_within_bars(engine, sink, ts));
  REQUIRE(sink.kills.size() == 1);
  CHECK(sink.kills[0].reason == "control file present");
  CHECK(sink.kills[0].ts_ns > 20);
}

TEST_CASE("kill switch on SIGUSR1, the previous handler is restored afterwards", "[unit][risk]") {
  portfolio::Portfolio account(100000);
  risk::RiskEngine engine({}, account);
  Sink sink;
  {
    risk::KillSwitchTriggers t;
    t.signal = true;
    t.poll = std::chrono::milliseconds(5);
    risk::KillSwitchControl control(engine, t);
    std::int64_t ts = 0;
    engine.on_bar(0, 0, 100, ++ts, &sink);
    CHECK_FALSE(engine.kill_switch_engaged());
    std::raise(SIGUSR1);
    REQUIRE(engaged_within_bars(engine, sink, ts));
    REQUIRE(sink.kills.size() == 1);
    CHECK(sink.kills[0].reason == "SIGUSR1 received");
  }
  // The default disposition is back (SIG_DFL before the control, SIG_DFL now).
  auto previous = std::signal(SIGUSR1, SIG_DFL);
  CHECK(previous == SIG_DFL);
}

TEST_CASE("a backtest with a kill switch control file flattens and refuses every order", "[unit][risk][exec]") {
  test::TempDir dir;
  const std::string path = dir.file("KILL");
  test::write_file(path, "");
  script::StrategySource s;
  s.path = "strategies/test.lua";
  s.code = R"(
params = {}
function detect_opportunity(bar, ctx, ind) return true end
function filter_commitment(bar, ctx, ind) return enter_long { qty = 10 } end
function manage_position(bar, ctx, ind) end
)";
  s.sha256 = sha256_hex(s.code);
  model::BarSeriesBuilder b;
  for (int i = 1; i <= 6; ++i) {
    model::Bar bar;
    bar.ts_ns = i * kNsPerDay;
    bar.open = bar.close = 100;
    bar.high = 101;
    bar.low = 99;
    bar.volume = 1000;
    b.push(bar);
  }
  const auto data = std::move(b).build("TEST", 0);
  backtest::BacktestConfig cfg;
  cfg.risk = risk::RiskConfig{};
  cfg.risk->kill_switch_file = path;
  auto r = backtest::run_backtest(cfg, data, s);
  REQUIRE(r.ok());
  CHECK(r->kill_switch);
  CHECK(r->trades.empty());
  CHECK(r->risk_rejections.at("kill_switch") == 6);  // every bar's entry
}

TEST_CASE("[risk] kill_switch_file is read from the config", "[unit][risk][config]") {
  auto cfg = config::parse_config("[risk]\nkill_switch_file = \"/run/te/KILL\"\n", "t.toml");
  REQUIRE(cfg.ok());
  CHECK(cfg->risk.kill_switch_file == "/run/te/KILL");
  auto bad = config::parse_config("[risk]\nkill_switch_file = 3\n", "t.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("risk.kill_switch_file"));
}

TEST_CASE("one SIGUSR1 engages every listening engine (one per live runner)", "[unit][risk]") {
  portfolio::Portfolio a1(100000), a2(100000);
  risk::RiskEngine e1({}, a1), e2({}, a2);
  Sink s1, s2;
  risk::KillSwitchTriggers t;
  t.signal = true;
  t.poll = std::chrono::milliseconds(5);
  {
    auto c1 = std::make_unique<risk::KillSwitchControl>(e1, t);
    {
      risk::KillSwitchControl c2(e2, t);
      std::raise(SIGUSR1);
      std::int64_t ts1 = 0, ts2 = 0;
      REQUIRE(engaged_within_bars(e1, s1, ts1));
      REQUIRE(engaged_within_bars(e2, s2, ts2));
      c1.reset();  // the first control goes; the handler stays for the second
    }
  }
  CHECK(std::signal(SIGUSR1, SIG_DFL) == SIG_DFL);  // the last one restored it
}
