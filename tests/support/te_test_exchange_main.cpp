// te_test_exchange: the test exchange as a standalone process, for integration
// tests of `trading-engine run` and `download-data` against loopback.
//
//   te_test_exchange --bars BTCUSDT=btc.csv [--bars ETHUSDT=eth.csv] | --generate BTCUSDT:500[:START_MS]
//                    [--port 0] [--interval 1m] [--pace-ms 1000] [--wait-for N] [--serve-all]
//                    [--drop-after CONN:N] [--silence-after CONN:N] [--skip-bar I] [--shutdown-before I]
//                    [--malformed-before I:TEXT] [--ping-ms MS] [--rest-429 N] [--rest-418 N]
//                    [--retry-after S] [--rest-delay-ms MS] [--exit-when-done]
//
// Prints one line "ws_url=ws://127.0.0.1:PORT rest_url=http://127.0.0.1:PORT" on
// stdout once listening, then runs until SIGINT/SIGTERM (or the script ends,
// with --exit-when-done).
#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/interval.hpp"
#include "tests/support/test_exchange.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler only
void on_signal(int) { g_stop = 1; }

int usage(const std::string& why) {
  fmt::print(stderr, "te_test_exchange: {}\n(see the comment at the top of te_test_exchange_main.cpp)\n", why);
  return 2;
}

bool split_pair(const std::string& s, char sep, std::string& a, std::string& b) {
  const auto at = s.find(sep);
  if (at == std::string::npos) return false;
  a = s.substr(0, at);
  b = s.substr(at + 1);
  return !a.empty() && !b.empty();
}

bool to_size(const std::string& s, std::size_t& out) {
  std::int64_t v = 0;
  if (!te::parse_int64(s, v) || v < 0) return false;
  out = static_cast<std::size_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  te::testing::TestExchangeOptions o;
  o.pace = std::chrono::milliseconds(1000);
  bool exit_when_done = false;
  std::vector<std::pair<std::string, std::string>> generate;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) return {};
      return argv[++i];
    };
    std::string a, b;
    std::size_t n = 0, m = 0;
    if (arg == "--bars") {
      if (!split_pair(value(), '=', a, b)) return usage("--bars needs SYMBOL=path.csv");
      auto bars = te::testing::load_bar_csv(b);
      if (!bars) return usage(bars.error().message);
      o.bars[te::venue::binance::upper_symbol(a)] = std::move(*bars);
    } else if (arg == "--generate") {
      if (!split_pair(value(), ':', a, b)) return usage("--generate needs SYMBOL:COUNT[:START_MS]");
      generate.emplace_back(te::venue::binance::upper_symbol(a), b);
    } else if (arg == "--port") {
      if (!to_size(value(), n) || n > 65535) return usage("--port needs 0..65535");
      o.port = static_cast<std::uint16_t>(n);
    } else if (arg == "--interval") {
      o.interval = value();
    } else if (arg == "--pace-ms") {
      if (!to_size(value(), n)) return usage("--pace-ms needs a number");
      o.pace = std::chrono::milliseconds(n);
    } else if (arg == "--wait-for") {
      if (!to_size(value(), n)) return usage("--wait-for needs a number");
      o.wait_for_connections = n;
    } else if (arg == "--serve-all") {
      o.rest_serves_all = true;
    } else if (arg == "--drop-after" || arg == "--silence-after") {
      if (!split_pair(value(), ':', a, b) || !to_size(a, n) || !to_size(b, m)) return usage(arg + " needs CONN:N");
      (arg == "--drop-after" ? o.drop_after_messages : o.silence_after_messages)[n] = m;
    } else if (arg == "--skip-bar") {
      if (!to_size(value(), n)) return usage("--skip-bar needs a bar index");
      o.ws_skip_bars.insert(n);
    } else if (arg == "--shutdown-before") {
      if (!to_size(value(), n)) return usage("--shutdown-before needs a bar index");
      o.server_shutdown_before_bar.insert(n);
    } else if (arg == "--malformed-before") {
      if (!split_pair(value(), ':', a, b) || !to_size(a, n)) return usage("--malformed-before needs I:TEXT");
      o.malformed_before_bar[n].push_back(b);
    } else if (arg == "--ping-ms") {
      if (!to_size(value(), n)) return usage("--ping-ms needs a number");
      o.ping_interval = std::chrono::milliseconds(n);
    } else if (arg == "--rest-429" || arg == "--rest-418") {
      if (!to_size(value(), n)) return usage(arg + " needs a count");
      (arg == "--rest-429" ? o.rest_429_first : o.rest_418_first) = static_cast<int>(n);
    } else if (arg == "--retry-after") {
      if (!to_size(value(), n)) return usage("--retry-after needs seconds");
      o.retry_after_s = static_cast<int>(n);
    } else if (arg == "--rest-delay-ms") {
      if (!to_size(value(), n)) return usage("--rest-delay-ms needs a number");
      o.rest_delay = std::chrono::milliseconds(n);
    } else if (arg == "--exit-when-done") {
      exit_when_done = true;
    } else {
      return usage("unknown argument " + arg);
    }
  }
  auto iv = te::venue::binance::parse_interval(o.interval);
  if (!iv || iv->monthly) return usage("unsupported --interval " + o.interval);
  for (const auto& [sym, spec] : generate) {
    std::string count = spec, start = "1700000000000";
    std::string c2, s2;
    if (split_pair(spec, ':', c2, s2)) {
      count = c2;
      start = s2;
    }
    std::size_t n = 0;
    std::int64_t start_ms = 0;
    if (!to_size(count, n) || !te::parse_int64(start, start_ms)) return usage("--generate needs SYMBOL:COUNT[:START_MS]");
    o.bars[sym] = te::testing::make_bars(te::venue::binance::floor_open_ms(*iv, start_ms), iv->ms, n,
                                         std::hash<std::string>{}(sym));
  }
  if (o.bars.empty()) return usage("no bars: use --bars or --generate");

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  te::testing::TestExchange ex(std::move(o));
  if (auto st = ex.start(); !st) {
    fmt::print(stderr, "te_test_exchange: {}\n", st.error().message);
    return 1;
  }
  fmt::print("ws_url={} rest_url={}\n", ex.ws_url(), ex.rest_url());
  std::fflush(stdout);
  while (!g_stop) {
    if (ex.wait_until_done(std::chrono::milliseconds(100)) && exit_when_done) break;
  }
  ex.stop();
  return 0;
}
