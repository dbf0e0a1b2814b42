// te_jit_traces: which LuaJIT traces a backtest compiles, and where their
// machine code is (docs/performance.md, "JIT health" and "The per-bar loop").
//
//   te_jit_traces <strategy> [bars] [map-file] [heap-shift]
//
// <strategy> is a name from strategies/ or bench/backtest/strategies/, or a
// path; the data are `bars` generated 1-minute bars (default 200,000) with the
// configuration of BM_pipeline. Prints the callback counts and every trace
// event (bar, trace, parent and exit of side traces, start line, link at the
// end, machine-code size); with a map file, also writes "trace address size"
// lines, so instruction counts of a callgrind run of this program
// (`--dump-instr=yes`) can be summed per trace (bench/backtest/trace_costs.py).
// `heap-shift` bytes are allocated first: LuaJIT's hot counters are hashed by
// bytecode address, so a shifted heap shows whether the traces a run gets
// depend on the layout. With TE_BARS_FILE set, the bars are that file's
// instead (e.g. ../shared/data/nvda-1999-2014.txt) and the cash the default,
// as in the JIT-health test (tests/unit/backtest/jit_health_test.cpp).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/script/jit_trace_log.hpp"
#include "engine/script/strategy_host.hpp"

using namespace te;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "te_jit_traces: %s\n", what.c_str());
  std::exit(1);
}

std::string strategy_path(const std::string& name) {
  if (std::filesystem::exists(name)) return name;
  const std::string root = TE_SOURCE_DIR;
  for (const char* dir : {"/strategies/", "/bench/backtest/strategies/"})
    if (std::filesystem::exists(root + dir + name + ".lua")) return root + dir + name + ".lua";
  die("no strategy " + name);
}

const char* kind_name(script::TraceEvent::Kind k) {
  switch (k) {
    case script::TraceEvent::Kind::Start: return "start";
    case script::TraceEvent::Kind::Stop: return "stop";
    case script::TraceEvent::Kind::Abort: return "abort";
    case script::TraceEvent::Kind::Flush: return "flush";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: te_jit_traces <strategy> [bars] [map-file] [heap-shift]");
  const std::size_t shift = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
  const auto layout_shift = std::make_unique<char[]>(shift + 1);
  const std::size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200'000;
  const char* bars_file = std::getenv("TE_BARS_FILE");
  data::LoadOptions lo;
  lo.cache.read = lo.cache.write = false;
  auto bars = bars_file ? data::load_bars(bars_file, lo) : data::generate_bars(data::GeneratorOptions{}, count, "SIM");
  if (!bars) die(bars.error().message);
  auto src = script::read_strategy(strategy_path(argv[1]));
  if (!src) die(src.error().message);
  auto files = script::find_indicator_files(std::string(TE_SOURCE_DIR) + "/indicators");
  if (!files) die(files.error().message);

  script::JitTraceLog log;
  backtest::BacktestConfig cfg;  // as BM_pipeline (bench/backtest/backtest_bench.cpp)
  if (!bars_file) cfg.initial_cash = 1'000'000;
  cfg.exchange.commission.rate = 0.001;
  cfg.keep_transitions = false;
  cfg.indicator_files = *files;
  cfg.jit_trace = &log;
  auto r = backtest::run_backtest(cfg, *bars, *src);
  if (!r) die(r.error().message);
  if (r->fault) die(r->fault->message);

  std::printf("%s: %zu bars, %zu trades, callbacks detect %lld filter %lld manage %lld, final equity %.6f\n",
              argv[1], r->bars, r->trades.size(), static_cast<long long>(r->stats.callback_calls[0]),
              static_cast<long long>(r->stats.callback_calls[1]), static_cast<long long>(r->stats.callback_calls[2]),
              r->final_equity);
  std::ofstream map;
  if (argc > 3 && argv[3][0] != '\0' && std::string(argv[3]) != "-") map.open(argv[3]);
  for (const auto& e : log.events()) {
    std::printf("bar %7llu %-5s %3d", static_cast<unsigned long long>(e.bar), kind_name(e.kind), e.trace);
    if (e.kind == script::TraceEvent::Kind::Start && e.parent)
      std::printf(" side of %d/%d", e.parent, e.exit);
    std::printf(" at %s (fn %s)", e.where.c_str(), e.function.c_str());
    if (e.kind == script::TraceEvent::Kind::Stop) {
      std::printf(" -> %s %d, %d exits, %zu bytes", e.link_type.c_str(), e.link, e.exits, e.mcode_size);
      if (map.is_open())
        map << e.trace << ' ' << std::hex << e.mcode << std::dec << ' ' << e.mcode_size << '\n';
    }
    if (e.kind == script::TraceEvent::Kind::Abort)
      std::printf(": %s", script::describe_trace_error(e.error, e.error_info, TE_LUAJIT_VMDEF).c_str());
    std::printf("\n");
  }
  return 0;
}
