// Micro-benchmark: cost of parsing Binance combined-stream messages (ns/message).
// Messages are the shared samples (../shared/binance/), a closed kline and a
// bookTicker, parsed with a warmed-up te::venue::binance::Parser (the way the
// WebSocket client does: reused StreamMessage, no allocation per message), plus
// the one-shot convenience function for comparison.
//
//   te_bench_venue_parse [iterations]      (default 1,000,000 per case)
#include <fmt/core.h>

#include <time.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/core/clock.hpp"
#include "engine/venue/binance/parse.hpp"

namespace bn = te::venue::binance;

namespace {

std::string sample(const std::string& file, const std::string& pointer) {
  std::ifstream in(std::string(TE_SHARED_DIR) + "/binance/" + file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  auto r = bn::json_at_pointer(s.str(), pointer);
  if (!r) {
    fmt::print(stderr, "bench: {}{}: {}\n", file, pointer, r.error().message);
    std::exit(1);
  }
  return *r;
}

// CPU time of this thread, so that other processes on a busy machine do not
// inflate the figure (wall time is printed too).
std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Cost {
  double cpu_ns;
  double wall_ns;
};

template <class F>
Cost ns_per_op(long iterations, F&& f) {
  for (long i = 0; i < iterations / 10; ++i) f();  // warm up
  const std::int64_t c0 = thread_cpu_ns();
  const std::int64_t w0 = te::monotonic_ns();
  for (long i = 0; i < iterations; ++i) f();
  const auto n = static_cast<double>(iterations);
  return {static_cast<double>(thread_cpu_ns() - c0) / n, static_cast<double>(te::monotonic_ns() - w0) / n};
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  std::string kline = sample("ws_combined_wrapper.json", "/constructed_combined_kline");
  const auto at = kline.find("\"x\":false");
  kline.replace(at, 9, "\"x\":true");  // a closed kline, the kind that becomes a bar
  const std::string ticker = sample("ws_combined_wrapper.json", "/constructed_combined_bookTicker");

  bn::Parser parser;
  bn::StreamMessage msg;
  long failures = 0;
  const Cost kline_ns = ns_per_op(n, [&] { failures += !parser.parse_combined(kline, msg).ok(); });
  const Cost ticker_ns = ns_per_op(n, [&] { failures += !parser.parse_combined(ticker, msg).ok(); });
  const Cost oneshot_ns = ns_per_op(n / 10, [&] { failures += !bn::parse_combined(kline).ok(); });
  if (failures != 0) {
    fmt::print(stderr, "bench: {} parse failures\n", failures);
    return 1;
  }
  auto line = [](const char* what, Cost c) {
    fmt::print("{:<52} {:8.1f} ns/message CPU ({:.1f} wall)\n", what, c.cpu_ns, c.wall_ns);
  };
  line(fmt::format("binance kline ({} bytes), reused parser", kline.size()).c_str(), kline_ns);
  line(fmt::format("binance bookTicker ({} bytes), reused parser", ticker.size()).c_str(), ticker_ns);
  line("binance kline, one-shot parse_combined()", oneshot_ns);
  return 0;
}
