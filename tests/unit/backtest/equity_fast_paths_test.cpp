// The equity writer's shortcuts against the straightforward computation: a
// row whose numbers repeat the row before's copies that row's text and
// drawdown (EquityRowFormatter, EquityStream::write_block), a repeated equity
// takes MetricsAccumulator's add_repeat, times come from the clock tables.
// Random curves with long flat runs, new peaks, zero, negative and non-finite
// equity, sub-second and negative times and month ends, through an
// EquityStream; each output compared with what the plain formulas give.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backtest/equity_stream.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "tests/support/temp_files.hpp"

using namespace te;
using te::test::TempDir;

namespace {

struct Point {
  std::int64_t ts;
  double cash, pv, equity;
};

std::vector<Point> random_curve(std::mt19937_64& rng, std::size_t n, double initial_cash) {
  std::vector<Point> out;
  std::int64_t ts = static_cast<std::int64_t>(rng() % 4'000'000'000ULL) * kNsPerSec - 2'000'000'000LL * kNsPerSec;
  double cash = initial_cash, pv = 0, equity = initial_cash;
  const double specials[] = {0.0, -0.0, -250.5, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), 1e-9, 5e14 + 0.125};
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = rng() % 1000;
    if (r < 5) {
      ts += static_cast<std::int64_t>(rng() % 1000) * kNsPerMs + 1;  // sub-second
    } else if (r < 15) {
      ts += static_cast<std::int64_t>(rng() % 90) * kNsPerDay;  // across months
    } else {
      ts += kNsPerMin;
    }
    const auto kind = rng() % 100;
    if (kind < 70) {
      // flat: all three repeat
    } else if (kind < 80) {  // a fill: cash and position value move, equity may too
      cash = std::round(cash * (0.5 + static_cast<double>(rng() % 1000) / 1000) * 100) / 100;
      pv = static_cast<double>(rng() % 100000) / 100;
      equity = cash + pv;
    } else if (kind < 95) {  // marks in a position
      pv = pv * (1 + (static_cast<double>(rng() % 2001) - 1000) / 1e5);
      equity = cash + pv;
    } else if (kind < 97) {
      equity = specials[rng() % std::size(specials)];
    } else {
      equity = equity * 1.01;  // a new peak
      cash = equity;
      pv = 0;
    }
    out.push_back({ts, cash, pv, equity});
  }
  return out;
}

std::string plain_field(double v) { return std::isfinite(v) ? format_double(v) : std::string(); }

}  // namespace

TEST_CASE("the equity writer's shortcuts give the rows and curve and metrics of the plain formulas", "[report][backtest]") {
  std::mt19937_64 rng(20261207);
  TempDir dir;
  for (int round = 0; round < 24; ++round) {
    const double initial_cash = round % 6 == 5 ? 0.0 : 1e6 * static_cast<double>(1 + rng() % 5);
    const bool date_only = round % 8 == 7;
    const std::size_t n = 1 + rng() % 30000;
    const std::vector<Point> pts = random_curve(rng, n, initial_cash);

    const std::string path = dir.file("equity" + std::to_string(round) + ".csv");
    auto stream = backtest::EquityStream::open(path, initial_cash, date_only, n);
    REQUIRE(stream);
    for (const Point& p : pts) (*stream)->on_equity(p.ts, p.cash, p.pv, p.equity);
    REQUIRE((*stream)->finish());
    const backtest::EquityCurve curve = (*stream)->take_curve();

    // The plain computation: every row formatted field by field, the drawdown
    // from the running peak every row, the accumulator's general path (return
    // blocks turn add_repeat off).
    std::string text = "time,cash,position_value,equity,drawdown\n";
    double peak = initial_cash;
    backtest::MetricsAccumulator plain(initial_cash, n, 4);
    std::size_t mismatched_curve = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Point& p = pts[i];
      peak = std::max(peak, p.equity);
      const double dd = peak > 0 ? (peak - p.equity) / peak : 0.0;
      char ts[48];
      text.append(ts, format_iso8601_to(ts, p.ts, date_only));
      for (const double v : {p.cash, p.pv, p.equity, dd}) {
        text += ',';
        text += plain_field(v);
      }
      text += '\n';
      plain.on_equity(p.ts, p.cash, p.pv, p.equity);
      if (curve.ts_ns[i] != p.ts || std::memcmp(&curve.equity[i], &p.equity, 8) != 0 ||
          std::memcmp(&curve.drawdown[i], &dd, 8) != 0)
        ++mismatched_curve;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream got;
    got << in.rdbuf();
    REQUIRE(got.str() == text);
    CHECK(mismatched_curve == 0);

    backtest::BacktestResult r;
    r.bars = n;
    r.initial_cash = initial_cash;
    r.final_equity = pts.back().equity;
    const backtest::Metrics a = (*stream)->accumulator().finish(r);
    const backtest::Metrics b = plain.finish(r);
    CHECK(std::memcmp(&a, &b, sizeof a) == 0);  // every field, bit for bit (NaNs included)
    const auto ma = (*stream)->accumulator().monthly();
    const auto mb = plain.monthly();
    REQUIRE(ma.size() == mb.size());
    for (std::size_t i = 0; i < ma.size(); ++i) {
      CHECK(ma[i].year == mb[i].year);
      CHECK(ma[i].month == mb[i].month);
      CHECK(std::memcmp(&ma[i].ret, &mb[i].ret, 8) == 0);
    }
  }
}
