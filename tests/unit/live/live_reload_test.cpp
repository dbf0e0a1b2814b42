// Hot reload under `run`: the live engine watches every runner's strategy
// file; saving it swaps the new version in at each runner's next bar boundary
// (no bar lost or handled twice), and a broken version is refused with
// file:line while the old one keeps running. The runners are paced historical
// replays; the test slows them down around each save (set_speed) so the save
// always lands mid-run, and waits on conditions, never on durations.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "engine/core/sha256.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/runner/session_recorder.hpp"
#include "tests/support/temp_files.hpp"
#include "tests/unit/live/live_test_util.hpp"

using namespace te;
using namespace te::live;
using namespace te::live::test;

namespace {

// Every bar is handled in Watch (the strategy never enters), and says which
// version handled it.
std::string version(int v) {
  return "params = { tag = " + std::to_string(v) +
         " }\n"
         "function detect_opportunity(bar, ctx, ind)\n"
         "  ctx.handled = (ctx.handled or 0) + 1\n"
         "  log(string.format('V%d %.0f %d', params.tag, bar.time, ctx.handled))\n"
         "end\n"
         "function filter_commitment(bar, ctx, ind) end\n"
         "function manage_position(bar, ctx, ind) end\n";
}

// Saves like an editor does: write a temporary file, rename it over the old one.
void save(const std::string& path, const std::string& code) {
  te::test::write_file(path + ".tmp", code);
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

struct Handled {
  int version = 0;
  long long time_ms = 0;
  long long count = 0;  // ctx.handled: carried over across the reload
};

std::vector<Handled> handled(const backtest::BacktestResult& r) {
  std::vector<Handled> out;
  for (const auto& line : r.strategy_log) {
    const auto at = line.find('V');
    if (at == std::string::npos) continue;
    Handled h;
    if (std::sscanf(line.c_str() + at, "V%d %lld %lld", &h.version, &h.time_ms, &h.count) == 3) out.push_back(h);
  }
  return out;
}

}  // namespace

TEST_CASE("run reloads a saved strategy in every runner using it, at a bar boundary, keeping the old one on errors",
          "[reload][live]") {
  te::test::TempDir dir;
  const std::string path = dir.file("shared.lua");
  te::test::write_file(path, version(1));
  auto v1 = script::read_strategy(path);
  REQUIRE(v1.ok());

  data::GeneratorOptions g;
  g.seed = 11;
  g.interval_ns = 60'000'000'000;
  const std::size_t n = 1200;
  auto series = data::generate_bars(g, n, "RLD");
  REQUIRE(series.ok());
  auto bars = std::make_shared<const model::BarSeries>(std::move(*series));

  const double slow = 60.0 * 20;     // 20 one-minute bars per second: a save lands mid-run
  const double fast = 60.0 * 20000;  // then hurry on
  std::vector<RunnerSpec> specs;
  for (const char* name : {"a", "b"}) {
    RunnerSpec r;
    r.name = name;
    r.symbol = "RLD";
    r.strategy = *v1;
    r.trading = trading({});
    r.source.kind = SourceKind::Historical;
    r.source.bars = bars;
    r.source.simulate_realtime = true;
    r.source.speed = slow;
    specs.push_back(std::move(r));
  }
  std::mutex log_mutex;
  std::vector<std::string> engine_log;
  // Recording on: each reload is journaled with the new code's SHA-256 and a
  // content-addressed copy of the source.
  runner::SessionRecorderOptions so;
  so.base_dir = dir.file("sessions");
  so.session_id = "reload-test";
  journal::SessionMeta meta;
  meta.mode = "run";
  meta.engine_version = "test";
  for (const auto& sp : specs) meta.strategies.push_back({sp.name, path, "", {"RLD"}, Value()});
  const std::string_view code1 = v1->code;
  auto session = runner::SessionRecorder::create(so, meta, {code1, code1});
  INFO((session ? "" : session.error().message));
  REQUIRE(session.ok());
  EngineOptions eo;
  eo.threads = 2;
  eo.session = session->get();
  eo.log = [&](LogLevel, std::string_view text) {
    std::lock_guard lock(log_mutex);
    engine_log.emplace_back(text);
  };
  auto logged = [&](const std::string& needle) {
    std::lock_guard lock(log_mutex);
    std::size_t k = 0;
    for (const auto& l : engine_log) k += l.find(needle) != std::string::npos;
    return k;
  };
  auto eng = LiveEngine::create(eo, specs);
  REQUIRE(eng.ok());
  LiveEngine& e = **eng;
  REQUIRE(e.start().ok());
  auto bars_done = [&](std::int64_t k) {
    for (const auto& s : e.status())
      if (s.bars < k) return false;
    return true;
  };

  // v2: saved after some bars; both runners swap at their next bar.
  REQUIRE(eventually([&] { return bars_done(10); }));
  save(path, version(2));
  REQUIRE(eventually([&] { return logged("runner a: reloaded") == 1 && logged("runner b: reloaded") == 1; }));
  for (const char* r : {"a", "b"}) REQUIRE(e.set_speed(r, fast));

  // v3 is broken (line 3): refused by both, v2 keeps running.
  REQUIRE(eventually([&] { return bars_done(400); }));
  for (const char* r : {"a", "b"}) REQUIRE(e.set_speed(r, slow));
  save(path, "params = { tag = 3 }\nfunction detect_opportunity(bar, ctx, ind)\n  if then\nend\n");
  REQUIRE(eventually([&] { return logged("refused") == 2; }));
  CHECK(logged("shared.lua:3:") == 2);  // file:line of the problem
  for (const char* r : {"a", "b"}) REQUIRE(e.set_speed(r, fast));

  REQUIRE(eventually([&] { return e.finished(); }));
  const auto stats = e.reload_stats();
  CHECK(stats.dispatched >= 4);  // two saves, two runners each
  auto out = e.shutdown();
  REQUIRE(out.size() == 2);
  for (const auto& o : out) {
    INFO("runner " << o.name);
    CHECK(o.state == UnitState::Finished);
    CHECK(o.result.bars == static_cast<std::int64_t>(n));
    const auto h = handled(o.result);
    // Every bar handled exactly once, in order, by v1 up to a point and by v2 after it.
    REQUIRE(h.size() == n);
    std::size_t first_v2 = n;
    for (std::size_t i = 0; i < n; ++i) {
      INFO("bar " << i);
      REQUIRE(h[i].time_ms == bars->at(i).ts_ns / 1'000'000);
      REQUIRE(h[i].count == static_cast<long long>(i + 1));  // ctx carried over
      if (h[i].version == 2 && first_v2 == n) first_v2 = i;
      REQUIRE(h[i].version == (i < first_v2 ? 1 : 2));
    }
    CHECK(first_v2 >= 10);
    CHECK(first_v2 < 400);
  }
  REQUIRE((*session)->finish("end_of_data", Value(), Value()).ok());
  const std::string v2_sha = sha256_hex(version(2));
  CHECK(std::filesystem::exists((*session)->dir().source_path(v2_sha)));  // stored by the reload event only
}

TEST_CASE("an unchanged file (save without edits, SIGHUP-style reload_all) reloads nothing", "[reload][live]") {
  te::test::TempDir dir;
  const std::string path = dir.file("s.lua");
  te::test::write_file(path, version(1));
  auto v1 = script::read_strategy(path);
  REQUIRE(v1.ok());
  data::GeneratorOptions g;
  g.seed = 3;
  g.interval_ns = 60'000'000'000;
  const std::size_t n = 300;
  auto series = data::generate_bars(g, n, "SAME");
  REQUIRE(series.ok());
  RunnerSpec r;
  r.name = "same";
  r.symbol = "SAME";
  r.strategy = *v1;
  r.trading = trading({});
  r.source.kind = SourceKind::Historical;
  r.source.bars = std::make_shared<const model::BarSeries>(std::move(*series));
  r.source.simulate_realtime = true;
  r.source.speed = 60.0 * 20;
  EngineOptions eo;
  eo.threads = 1;
  auto eng = LiveEngine::create(eo, {r});
  REQUIRE(eng.ok());
  LiveEngine& e = **eng;
  REQUIRE(e.start().ok());
  REQUIRE(eventually([&] { return e.status()[0].bars >= 5; }));
  save(path, version(1));  // same bytes
  e.reload_all();
  e.flush_reloads();
  REQUIRE(eventually([&] { return e.reload_stats().unchanged >= 1; }));
  CHECK(e.reload_stats().dispatched == 0);
  REQUIRE(e.set_speed("same", 60.0 * 20000));
  REQUIRE(eventually([&] { return e.finished(); }));
  auto out = e.shutdown();
  const auto h = handled(out[0].result);
  REQUIRE(h.size() == n);
  for (const auto& x : h) CHECK(x.version == 1);
  CHECK(out[0].result.stats.reloads == 0);
}

namespace {

// A custom indicator: v1 passes the close through, v2 sums the last three
// closes (state that must be re-warmed from the bars already seen).
const char* kProbeV1 = R"LUA(return {
  name = "probe", summary = "close", params = {},
  new = function(p, source) return { update = function(self, x, bar) return x end } end,
}
)LUA";
const char* kProbeV2 = R"LUA(return {
  name = "probe", summary = "sum of the last 3", params = {},
  new = function(p, source)
    local a, b, n = 0, 0, 0
    return { update = function(self, x, bar)
      n = n + 1
      local s = a + b + x
      a, b = b, x
      if n < 3 then return nil end
      return s
    end }
  end,
}
)LUA";

const char* kProbeStrategy = R"LUA(
function detect_opportunity(bar, ctx, ind)
  log(string.format('I %.0f %.17g', bar.time, ind.probe() or -1))
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
)LUA";

}  // namespace

TEST_CASE("saving a Lua indicator file reloads it at the next bar, re-warmed, a broken one keeps the old",
          "[reload][live]") {
  te::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "indicators");
  const std::string ind_path = (dir.path() / "indicators" / "probe.lua").string();
  te::test::write_file(ind_path, kProbeV1);
  const std::string strat_path = dir.file("probe_user.lua");
  te::test::write_file(strat_path, kProbeStrategy);
  auto indicator_files = script::read_indicator_dir((dir.path() / "indicators").string());
  REQUIRE(indicator_files.ok());
  REQUIRE(indicator_files->size() == 1);
  REQUIRE((*indicator_files)[0].path == ind_path);
  auto strat = script::read_strategy(strat_path);
  REQUIRE(strat.ok());

  data::GeneratorOptions g;
  g.seed = 21;
  g.interval_ns = 60'000'000'000;
  const std::size_t n = 600;
  auto series = data::generate_bars(g, n, "IND");
  REQUIRE(series.ok());
  auto bars = std::make_shared<const model::BarSeries>(std::move(*series));
  RunnerSpec r;
  r.name = "ind";
  r.symbol = "IND";
  r.strategy = *strat;
  r.trading = trading({});
  r.trading.indicator_files = *indicator_files;
  r.source.kind = SourceKind::Historical;
  r.source.bars = bars;
  r.source.simulate_realtime = true;
  r.source.speed = 60.0 * 20;
  std::mutex log_mutex;
  std::vector<std::string> engine_log;
  EngineOptions eo;
  eo.threads = 1;
  eo.log = [&](LogLevel, std::string_view text) {
    std::lock_guard lock(log_mutex);
    engine_log.emplace_back(text);
  };
  auto logged = [&](const std::string& needle) {
    std::lock_guard lock(log_mutex);
    std::size_t k = 0;
    for (const auto& l : engine_log) k += l.find(needle) != std::string::npos;
    return k;
  };
  auto eng = LiveEngine::create(eo, {r});
  INFO((eng ? "" : eng.error().message));
  REQUIRE(eng.ok());
  LiveEngine& e = **eng;
  REQUIRE(e.start().ok());
  REQUIRE(eventually([&] { return e.status()[0].bars >= 10; }));
  save(ind_path, kProbeV2);
  REQUIRE(eventually([&] { return logged("runner ind: reloaded") == 1; }));
  REQUIRE(e.set_speed("ind", 60.0 * 20000));
  REQUIRE(eventually([&] { return e.status()[0].bars >= 200; }));
  REQUIRE(e.set_speed("ind", 60.0 * 20));
  save(ind_path, "return {\n  name = 'probe',\n  new = function(p, s) return { update = function(self, x) return x +"
                 " end } end,\n}\n");
  REQUIRE(eventually([&] { return logged("refused") == 1; }));
  CHECK(logged("probe.lua:3:") == 1);
  REQUIRE(e.set_speed("ind", 60.0 * 20000));
  REQUIRE(eventually([&] { return e.finished(); }));
  auto out = e.shutdown();
  REQUIRE(out[0].state == UnitState::Finished);

  std::vector<double> values;
  for (const auto& line : out[0].result.strategy_log) {
    const auto at = line.find("I ");
    long long t = 0;
    double v = 0;
    if (at != std::string::npos && std::sscanf(line.c_str() + at, "I %lld %lf", &t, &v) == 2) {
      REQUIRE(t == bars->at(values.size()).ts_ns / 1'000'000);
      values.push_back(v);
    }
  }
  REQUIRE(values.size() == n);
  // v1 (the close) up to the swap, then v2 over the whole history, as if it
  // had run from the first bar; the broken v3 changed nothing.
  std::size_t first_v2 = n;
  for (std::size_t i = 0; i < n; ++i) {
    INFO("bar " << i);
    const double close = bars->at(i).close;
    if (first_v2 == n && i >= 2 && values[i] != close) first_v2 = i;
    if (i < first_v2) {
      REQUIRE(values[i] == close);
    } else {
      const double sum3 = bars->at(i - 2).close + bars->at(i - 1).close + close;
      REQUIRE(values[i] == Approx(sum3).epsilon(1e-12));
    }
  }
  CHECK(first_v2 >= 10);
  CHECK(first_v2 < 200);
}

TEST_CASE("SIGHUP makes run re-read every strategy file", "[reload][live]") {
  // In a child process: SIGHUP must be blocked in every thread before it is
  // sent (as `run` does first thing), which only a fresh process can promise.
  te::test::TempDir dir;
  const std::string path = dir.file("hup.lua");
  te::test::write_file(path, version(1));
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, nullptr);
    int code = 0;
    {
      auto v1 = script::read_strategy(path);
      data::GeneratorOptions g;
      g.seed = 8;
      g.interval_ns = 60'000'000'000;
      const std::size_t n = 200;
      auto series = data::generate_bars(g, n, "HUP");
      if (!v1 || !series) ::_exit(10);
      RunnerSpec r;
      r.name = "hup";
      r.symbol = "HUP";
      r.strategy = *v1;
      r.trading = trading({});
      r.source.kind = SourceKind::Historical;
      r.source.bars = std::make_shared<const model::BarSeries>(std::move(*series));
      r.source.simulate_realtime = true;
      r.source.speed = 60.0 * 20;
      std::atomic<int> reloaded{0};
      EngineOptions eo;
      eo.threads = 1;
      eo.reload_on_sighup = true;
      eo.reload_watch_files = false;  // only the signal can pick the new version up
      eo.log = [&](LogLevel, std::string_view text) {
        if (text.find("runner hup: reloaded") != std::string_view::npos) ++reloaded;
      };
      auto eng = LiveEngine::create(eo, {r});
      if (!eng || !(*eng)->start()) ::_exit(11);
      LiveEngine& e = **eng;
      auto wait = [](const std::function<bool()>& done) {
        for (int i = 0; i < 12000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return done();
      };
      if (!wait([&] { return e.status()[0].bars >= 5; })) ::_exit(12);
      te::test::write_file(path, version(2));
      ::kill(::getpid(), SIGHUP);
      if (!wait([&] { return reloaded.load() == 1; })) code = 13;
      if (e.reload_stats().signals != 1) code = code ? code : 14;
      (void)e.set_speed("hup", 60.0 * 20000);
      if (!wait([&] { return e.finished(); })) ::_exit(15);
      auto out = e.shutdown();
      const auto h = handled(out[0].result);
      if (code == 0 && (h.size() != n || h.back().version != 2 || h.front().version != 1)) code = 16;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
