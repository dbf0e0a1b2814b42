// Micro-benchmark: cost of parsing Binance combined-stream messages (ns/message).
// Messages are the shared samples (../shared/binance/), a closed kline and a
// bookTicker, parsed with a warmed-up te::venue::binance::Parser (the way the
// WebSocket client does: reused StreamMessage, no allocation per message), plus
// the one-shot convenience function for comparison.
//
//   te_bench_venue_parse [iterations]      (default 1,000,000 per case)
#include <fmt/core.h>

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

template <class F>
double ns_per_op(long iterations, F&& f) {
  for (long i = 0; i < iterations / 10; ++i) f();  // warm up
  const std::int64_t t0 = te::monotonic_ns();
  for (long i = 0; i < iterations; ++i) f();
  return static_cast<double>(te::monotonic_ns() - t0) / static_cast<double>(iterations);
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
  const double kline_ns = ns_per_op(n, [&] { failures += !parser.parse_combined(kline, msg).ok(); });
  const double ticker_ns = ns_per_op(n, [&] { failures += !parser.parse_combined(ticker, msg).ok(); });
  const double oneshot_ns = ns_per_op(n / 10, [&] { failures += !bn::parse_combined(kline).ok(); });
  if (failures != 0) {
    fmt::print(stderr, "bench: {} parse failures\n", failures);
    return 1;
  }
  fmt::print("binance kline message ({} bytes), reused parser:      {:8.1f} ns/message\n", kline.size(), kline_ns);
  fmt::print("binance bookTicker message ({} bytes), reused parser: {:8.1f} ns/message\n", ticker.size(), ticker_ns);
  fmt::print("binance kline message, one-shot parse_combined():    {:8.1f} ns/message\n", oneshot_ns);
  return 0;
}
