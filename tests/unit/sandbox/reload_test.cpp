// Hot reload: what carries over (state, ctx, position, indicators), what a
// broken version does (nothing: the old one keeps running), and that no bar is
// lost or handled twice while versions are swapped under a fast feed. Also the
// reload watcher: file saves, unchanged hashes, SIGHUP.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/runner/reload_watcher.hpp"
#include "tests/support/temp_files.hpp"
#include "tests/unit/sandbox/sandbox_support.hpp"

using namespace te;

namespace {

const char* kV1 = R"LUA(
params = { qty = 5 }
function on_start(ctx) ctx.version = 1; ctx.entries = 0; ctx.seen = 0 end
function detect_opportunity(bar, ctx, ind)
  ctx.seen = ctx.seen + 1
  if ctx.seen >= 3 then return { reason = "v1 setup" } end
end
function filter_commitment(bar, ctx, ind)
  ctx.entries = ctx.entries + 1
  ctx.entry_seen = ctx.seen
  return enter_long { qty = params.qty, reason = "v1 entry" }
end
function manage_position(bar, ctx, ind)
  ctx.seen = ctx.seen + 1
  ctx.last_sma = ind.sma(5)
end
)LUA";

const char* kV2 = R"LUA(
params = { qty = 5 }
function on_reload(old, ctx)
  ctx.version = 2
  ctx.migrated_from = old.version
  log("reloaded", old.version, old.entries, old.seen, ctx.position.qty, ctx.state)
end
function detect_opportunity(bar, ctx, ind) end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind)
  ctx.seen = ctx.seen + 1
  if ctx.first_v2 == nil then
    ctx.first_v2 = true
    -- the native indicator kept its history across the swap
    log("sma", ind.at(1).sma(5) == ctx.last_sma, ctx.version, ctx.migrated_from, ctx.entries)
  end
  if ctx.seen >= ctx.entry_seen + 12 then return exit_position("v2 exit") end
end
)LUA";

}  // namespace

TEST_CASE("a reload keeps the runner state, ctx, position and indicators", "[sandbox][reload]") {
  test::World world;
  auto r = world.add(kV1);
  REQUIRE(r.ok());
  runner::SymbolRunner& run = **r;
  world.feed(8);
  REQUIRE(run.state() == runner::RunnerState::InTrade);
  const double qty = world.account().position(0).qty;
  REQUIRE(qty == 5);
  const auto orders_before = run.stats().orders;

  const runner::ReloadReport rep = run.reload(test::lua_source(kV2));
  INFO(rep.message);
  REQUIRE(rep.ok);
  CHECK(rep.changed);
  CHECK(run.state() == runner::RunnerState::InTrade);
  CHECK(world.account().position(0).qty == qty);
  CHECK(run.stats().orders == orders_before);  // nothing re-sent
  CHECK(run.stats().reloads == 1);
  const auto& logs = world.observer.of(0).logs;
  REQUIRE(logs.size() == 1);
  CHECK(logs[0] == "reloaded\t1\t1\t9\t5\tin_trade");
  REQUIRE(world.observer.of(0).reloads.size() == 1);
  CHECK(world.observer.of(0).reloads[0].ok);

  world.feed(20);
  REQUIRE(logs.size() == 2);
  CHECK(logs[1] == "sma\ttrue\t2\t1\t1");
  // v2 decided the exit; the position went flat and the runner back to Watch.
  CHECK(world.account().position(0).qty == 0);
  CHECK(run.state() == runner::RunnerState::Watch);
  CHECK_FALSE(run.fault());
  // The old VM was destroyed (never reused); the pool holds one live VM.
  CHECK(world.pool().stats().replaced == 1);
  CHECK(world.pool().stats().live == 1);

  // The same source again is a no-op.
  const auto same = run.reload(test::lua_source(kV2));
  CHECK(same.ok);
  CHECK_FALSE(same.changed);
  CHECK(run.stats().reloads == 1);
}

TEST_CASE("a broken new version leaves the old one running", "[sandbox][reload]") {
  struct Broken {
    const char* what;
    std::string code;
    const char* message;
  } cases[] = {
      {"syntax error", "params = {}\nfunction detect_opportunity(\n", "strategies/probe.lua:3:"},
      {"top-level runtime error", "params = {}\nlocal x = nil + 1\n", "strategies/probe.lua:2:"},
      {"missing callback", "params = {}\nfunction detect_opportunity() end\n", "missing callback filter_commitment"},
      {"on_reload raises",
       std::string("params = { qty = 5 }\nfunction on_reload(old, ctx)\n  error('cannot migrate')\nend\n") +
           test::kIdleCallbacks,
       "strategies/probe.lua:3: cannot migrate"},
      {"on_reload loops",
       std::string("params = { qty = 5 }\nfunction on_reload(old, ctx)\n  while true do end\nend\n") +
           test::kIdleCallbacks,
       "on_reload exceeded its CPU deadline"},
      {"on_reload returns junk",
       std::string("params = { qty = 5 }\nfunction on_reload(old, ctx) return 42 end\n") + test::kIdleCallbacks,
       "on_reload must return nothing or a table"},
      {"a param the old version did not have",
       std::string("params = { qty = 'five' }\n") + test::kIdleCallbacks, ""},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    script::VmLimits limits = script::make_limits(script::RunMode::Backtest, 200);
    limits.startup_timeout_ms = 300;
    test::World world(limits);
    auto r = world.add(kV1);
    REQUIRE(r.ok());
    runner::SymbolRunner& run = **r;
    world.feed(6);
    REQUIRE(run.state() == runner::RunnerState::InTrade);
    const auto rep = run.reload(test::lua_source(c.code));
    if (std::string(c.what) == "a param the old version did not have") {
      // Not broken: params come from the new file (overrides still apply).
      CHECK(rep.ok);
      continue;
    }
    INFO(rep.message);
    CHECK_FALSE(rep.ok);
    CHECK_THAT(rep.message, Catch::Contains(c.message));
    CHECK(run.stats().reload_failures == 1);
    REQUIRE(world.observer.of(0).reloads.size() == 1);
    CHECK_FALSE(world.observer.of(0).reloads[0].ok);
    // v1 still runs: it keeps counting in manage_position and never faults.
    world.feed(5);
    CHECK(run.state() == runner::RunnerState::InTrade);
    CHECK_FALSE(run.fault());
    CHECK(run.host().source().code == kV1);
    CHECK(world.pool().stats().live == 1);  // the refused VM is gone too
  }
}

TEST_CASE("a context that is not plain data refuses the reload", "[sandbox][reload]") {
  test::World world;
  auto r = world.add(std::string("params = {}\nfunction on_start(ctx) ctx.cb = function() end end\n") +
                     test::kIdleCallbacks);
  REQUIRE(r.ok());
  const auto rep = (*r)->reload(test::lua_source(kV1));
  CHECK_FALSE(rep.ok);
  CHECK_THAT(rep.message, Catch::Contains("ctx.cb is a function"));
}

TEST_CASE("a ctx too big as data refuses the reload and a reload keeps the recorded ctx's limit",
          "[sandbox][reload]") {
  test::World world;
  // 300 references to one 1 MB string: 1 MB in Lua, 300 MB as data (over
  // the VM's 64 MB memory budget, a reload's limit): refused with the path,
  // before anything changes.
  auto r = world.add(std::string("params = {}\nfunction on_start(ctx) local s = string.rep('y', 1000000) "
                                 "ctx.refs = {} for i = 1, 300 do ctx.refs[i] = s end end\n") +
                     test::kIdleCallbacks);
  REQUIRE(r.ok());
  const auto refused = (*r)->reload(test::lua_source(kV1));
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.message, Catch::Contains("ctx.refs[") && Catch::Contains("bytes as data"));
  auto small = world.add(kV1);
  REQUIRE(small.ok());
  (*small)->set_ctx_export_limit(5000);
  const auto rep = (*small)->reload(test::lua_source(kV2));
  INFO(rep.message);
  REQUIRE(rep.ok);
  CHECK((*small)->host().ctx_export_limit() == 5000);
}

TEST_CASE("a faulted runner is not revived by a reload", "[sandbox][reload]") {
  test::World world;
  auto r = world.add(std::string("params = {}\nfunction detect_opportunity() error('boom') end\n"
                                 "function filter_commitment() end\nfunction manage_position() end\n"));
  REQUIRE(r.ok());
  world.feed(2);
  REQUIRE((*r)->state() == runner::RunnerState::Faulted);
  const auto rep = (*r)->reload(test::lua_source(kV1));
  CHECK_FALSE(rep.ok);
  CHECK_THAT(rep.message, Catch::Contains("faulted"));
}

TEST_CASE("no bar is lost or handled twice while reloading under a fast feed", "[sandbox][reload]") {
  // Two versions that differ only in a tag; both check that every bar follows
  // the previous one and count the bars in ctx.
  auto version = [](const char* tag) {
    return std::string("-- ") + tag + R"LUA(
params = {}
function detect_opportunity(bar, ctx, ind)
  if ctx.last and bar.time ~= ctx.last + 3600000 then
    error("bar " .. bar.time .. " after " .. ctx.last)
  end
  ctx.last = bar.time
  ctx.n = (ctx.n or 0) + 1
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
function on_reload(old, ctx) if old.n then log(tostring(old.n)) end end
)LUA";
  };
  test::World world;
  auto r = world.add(version("A"));
  REQUIRE(r.ok());
  runner::SymbolRunner& run = **r;
  // The reloader thread posts request k as soon as bar k*kStep has been fed,
  // so the post races with the runner handling the following bars (the swap
  // itself must happen at a bar boundary). The feeder never sleeps: it only
  // waits, before bar k*kStep + kStep/2, until request k has been posted.
  // Posts therefore land somewhere inside a half-step window of bars, and
  // every request meets a bar boundary before the next one is posted: exactly
  // kReloads swaps, however loaded the machine is.
  constexpr std::size_t kBars = 3000;
  constexpr std::size_t kStep = 100;
  constexpr std::size_t kReloads = kBars / kStep - 1;
  std::mutex m;
  std::condition_variable cv;
  std::size_t fed = 0, posted = 0;
  std::thread reloader([&] {
    for (std::size_t k = 1; k <= kReloads; ++k) {
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return fed >= k * kStep; });
      }
      run.request_reload(test::lua_source(version(k % 2 ? "B" : "A")));
      {
        std::lock_guard<std::mutex> lock(m);
        posted = k;
      }
      cv.notify_all();
    }
  });
  for (std::size_t i = 0; i < kBars; ++i) {
    if (i % kStep == kStep / 2 && i > kStep) {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return posted >= i / kStep; });
    }
    world.feed(1);
    {
      std::lock_guard<std::mutex> lock(m);
      fed = i + 1;
    }
    cv.notify_all();
  }
  reloader.join();
  INFO((run.fault() ? run.fault()->message : ""));
  REQUIRE_FALSE(run.fault());
  CHECK(run.stats().reloads == static_cast<std::int64_t>(kReloads));
  CHECK(run.stats().reload_failures == 0);
  // A final synchronous reload reports the count the last version saw.
  const auto rep = run.reload(test::lua_source(version("C")));
  REQUIRE(rep.ok);
  REQUIRE_FALSE(world.observer.of(0).logs.empty());
  CHECK(world.observer.of(0).logs.back() == std::to_string(kBars));
  CHECK(world.pool().stats().live == 1);
}

TEST_CASE("the reload watcher reloads saved files and ignores unchanged ones", "[sandbox][reload]") {
  test::TempDir dir;
  const std::string path = dir.file("watched.lua");
  test::write_file(path, kV1);
  test::World world;
  auto r = world.add(kV1, {}, path);
  REQUIRE(r.ok());
  runner::SymbolRunner& run = **r;
  std::vector<std::string> log;
  std::mutex log_mutex;
  runner::ReloadWatcher watcher({}, [&](int, const std::string& m) {
    std::lock_guard<std::mutex> lock(log_mutex);
    log.push_back(m);
  });
  REQUIRE(watcher.watch(run, path, run.host().source().sha256).ok());
  REQUIRE(watcher.start().ok());
  world.feed(6);

  // Same bytes: the watcher sees the event, hashes, and does nothing.
  test::write_file(path, kV1);
  watcher.flush();
  CHECK(watcher.stats().unchanged >= 1);
  CHECK(watcher.stats().dispatched == 0);
  CHECK_FALSE(run.reload_pending());

  // A new version: dispatched, applied at the next bar.
  test::write_file(path, kV2);
  watcher.flush();
  CHECK(watcher.stats().dispatched == 1);
  CHECK(run.reload_pending());
  world.feed(1);
  REQUIRE(world.observer.of(0).reloads.size() == 1);
  CHECK(world.observer.of(0).reloads[0].ok);
  CHECK(run.host().source().code == kV2);
  CHECK(run.host().source().path == path);

  // A broken save: dispatched, refused by the runner, which keeps v2.
  test::write_file(path, "params = {}\nfunction detect_opportunity(\n");
  watcher.flush();
  world.feed(1);
  REQUIRE(world.observer.of(0).reloads.size() == 2);
  CHECK_FALSE(world.observer.of(0).reloads[1].ok);
  CHECK_THAT(world.observer.of(0).reloads[1].message, Catch::Contains(path + ":3:"));
  CHECK(run.host().source().code == kV2);

  // An explicit request (the `run` control hook) with nothing changed: no-op.
  watcher.reload_all();
  watcher.flush();
  CHECK(watcher.stats().dispatched == 2);
  watcher.stop();
}

TEST_CASE("SIGHUP makes the watcher re-read its files", "[sandbox][reload]") {
  // In a child process: SIGHUP must be blocked in every thread before it is
  // sent, which only a fresh single-threaded process can promise here.
  test::TempDir dir;
  const std::string path = dir.file("hup.lua");
  test::write_file(path, kV1);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    runner::ReloadWatcher watcher({.debounce_ms = 25, .watch_files = false});
    if (!watcher.handle_sighup().ok()) ::_exit(10);
    int code = 0;
    {
      test::World world;
      auto r = world.add(kV1, {}, path);
      if (!r.ok()) ::_exit(11);
      if (!watcher.watch(**r, path, (*r)->host().source().sha256).ok() || !watcher.start().ok()) ::_exit(12);
      world.feed(6);
      test::write_file(path, kV2);  // not watched: only the signal can pick it up
      ::kill(::getpid(), SIGHUP);
      for (int i = 0; i < 500 && watcher.stats().dispatched == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (watcher.stats().signals == 0) code = 13;
      world.feed(1);
      if (code == 0 && (world.observer.of(0).reloads.size() != 1 || !world.observer.of(0).reloads[0].ok)) code = 14;
      watcher.stop();
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
