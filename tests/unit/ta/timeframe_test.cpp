// Timeframes, higher-timeframe aggregation and the no-lookahead guarantee of
// multi-timeframe indicators.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/time.hpp"
#include "engine/ta/bar_aggregator.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/timeframe.hpp"
#include "tests/support/yahoo_csv.hpp"

using namespace te;
using namespace te::ta;

namespace {

std::int64_t ts(const char* iso) {
  const auto t = parse_iso8601_ns(iso);
  REQUIRE(t.has_value());
  return *t;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

model::Bar bar_at(std::int64_t t, double close) {
  model::Bar b;
  b.ts_ns = t;
  b.open = b.high = b.low = b.close = close;
  b.volume = 1;
  return b;
}

}  // namespace

TEST_CASE("timeframe parsing and UTC bucket boundaries", "[unit][ta]") {
  CHECK(parse_timeframe("5m")->to_string() == "5m");
  CHECK(parse_timeframe("1M")->unit == Timeframe::Unit::month);
  CHECK(parse_timeframe("1m")->unit == Timeframe::Unit::minute);
  CHECK_FALSE(parse_timeframe("0d"));
  CHECK_FALSE(parse_timeframe("d"));
  CHECK_FALSE(parse_timeframe("5x"));
  CHECK_FALSE(parse_timeframe("1.5h"));

  const Timeframe w = *parse_timeframe("1w");
  // 2024-01-01 is a Monday: Sunday 23:59 and Monday 00:00 are in different weeks.
  CHECK(w.bucket(ts("2023-12-31T23:59:59Z")) + 1 == w.bucket(ts("2024-01-01T00:00:00Z")));
  CHECK(w.bucket(ts("2024-01-01")) == w.bucket(ts("2024-01-07T23:59:59Z")));
  CHECK(w.bucket_start(w.bucket(ts("2024-01-04T12:00:00Z"))) == ts("2024-01-01"));
  CHECK(weekday(w.bucket_start(w.bucket(ts("1970-01-01")))) == 0);
  CHECK(w.bucket_start(w.bucket(ts("1965-06-09"))) == ts("1965-06-07"));  // before the epoch

  const Timeframe m = *parse_timeframe("1M");
  CHECK(m.bucket(ts("2024-02-29T23:00:00Z")) + 1 == m.bucket(ts("2024-03-01")));
  CHECK(m.bucket_start(m.bucket(ts("2024-02-15"))) == ts("2024-02-01"));
  CHECK(m.bucket_start(m.bucket(ts("2024-02-15")) + 1) == ts("2024-03-01"));
  CHECK(m.bucket_start(m.bucket(ts("1969-12-15"))) == ts("1969-12-01"));

  const Timeframe h4 = *parse_timeframe("4h");
  CHECK(h4.bucket_start(h4.bucket(ts("2024-05-05T07:59:00Z"))) == ts("2024-05-05T04:00:00Z"));
  const Timeframe q = *parse_timeframe("3M");
  CHECK(q.bucket_start(q.bucket(ts("2024-05-20"))) == ts("2024-04-01"));
}

TEST_CASE("aggregator releases a bar only once it is closed", "[unit][ta]") {
  const Timeframe tf = *parse_timeframe("5m");
  const std::int64_t t0 = ts("2024-01-01T10:00:00Z");
  BarAggregator lazy(tf, 0), eager(tf, kNsPerMin);
  std::vector<model::Bar> got_lazy, got_eager;
  for (int i = 0; i < 12; ++i) {
    model::Bar b = bar_at(t0 + i * kNsPerMin, 100 + i);
    b.high = 200 + i;
    b.low = 50 - i;
    b.volume = 10;
    const int nl = lazy.push(b);
    for (int k = 0; k < nl; ++k) got_lazy.push_back(lazy.closed(k));
    const int ne = eager.push(b);
    for (int k = 0; k < ne; ++k) got_eager.push_back(eager.closed(k));
    // Eager: the bucket closes on its last minute (10:04, 10:09); lazy: one bar later.
    CHECK(ne == ((i % 5 == 4) ? 1 : 0));
    CHECK(nl == ((i > 0 && i % 5 == 0) ? 1 : 0));
  }
  REQUIRE(got_lazy.size() == 2);
  REQUIRE(got_eager.size() == 2);
  for (const auto& v : {got_lazy, got_eager}) {
    CHECK(v[0].ts_ns == t0);
    CHECK(v[0].open == 100);
    CHECK(v[0].close == 104);
    CHECK(v[0].high == 204);
    CHECK(v[0].low == 46);
    CHECK(v[0].volume == 50);
    CHECK(v[1].ts_ns == t0 + 5 * kNsPerMin);
  }
  // A gap: the next bar jumps two buckets ahead and closes the open one.
  BarAggregator gap(tf, 0);
  gap.push(bar_at(t0, 1));
  CHECK(gap.push(bar_at(t0 + 20 * kNsPerMin, 2)) == 1);
  CHECK(gap.closed(0).close == 1);
}

TEST_CASE("intraday higher-timeframe values change only when the bucket has closed", "[unit][ta]") {
  const std::int64_t t0 = ts("2024-01-01T10:00:00Z");
  std::vector<model::Bar> bars;
  for (int i = 0; i < 60; ++i) bars.push_back(bar_at(t0 + i * kNsPerMin, 100 + i * i % 7));
  for (std::int64_t interval : {std::int64_t{0}, kNsPerMin}) {
    IndicatorSet set(4, 8, interval);
    const int slot = *set.add(*parse_spec("sma(2)@5m"));
    double prev = std::nan("");
    for (int i = 0; i < 60; ++i) {
      set.update(bars[static_cast<std::size_t>(i)]);
      const double v = set.value(slot);
      const bool closes_here = interval > 0 ? (i % 5 == 4) : (i > 0 && i % 5 == 0);
      if (!closes_here) CHECK(same_bits(v, prev));
      if (closes_here && i >= 9) {
        // The two most recently closed 5-minute closes.
        const int last = interval > 0 ? i : i - 1;
        const double want = (bars[static_cast<std::size_t>(last)].close + bars[static_cast<std::size_t>(last - 5)].close) / 2;
        CHECK(v == want);
      }
      prev = v;
    }
  }
}

TEST_CASE("multi-timeframe values at t do not depend on data after t (real file)", "[unit][ta][slow]") {
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/orcl-1995-2014.txt"));
  const std::vector<std::string> specs = {"sma(10)@1w", "rsi(14)@1w", "sma(6)@1M", "rsi(14)@1M", "macd(3,6,2)@1M"};
  for (std::int64_t interval : {std::int64_t{0}, kNsPerDay}) {
    INFO("base interval " << interval);
    // Full run.
    std::vector<std::vector<double>> full(8);
    IndicatorSet all(8, 4, interval);
    std::vector<int> slots;
    for (const auto& sp : specs) slots.push_back(*all.add(*parse_spec(sp)));
    const int nslots = static_cast<int>(all.slot_count());
    for (std::size_t t = 0; t < s.size(); ++t) {
      all.update(s.at(t));
      for (int k = 0; k < nslots; ++k) full[static_cast<std::size_t>(k)].push_back(all.value(k));
    }
    // Truncated at every t: a fresh set fed bars 0..t only.
    std::size_t checked = 0;
    for (std::size_t t = 0; t < s.size(); t += (interval == 0 ? 1 : 3)) {
      IndicatorSet part(8, 1, interval);
      for (const auto& sp : specs) REQUIRE(part.add(*parse_spec(sp)).ok());
      for (std::size_t i = 0; i <= t; ++i) part.update(s.at(i));
      for (int k = 0; k < nslots; ++k) REQUIRE(same_bits(part.value(k), full[static_cast<std::size_t>(k)][t]));
      ++checked;
    }
    CHECK(checked > 1000);

    // And the value is the indicator over the closed higher-timeframe bars only:
    // weekly SMA(10) of the closes of weeks that ended by bar t.
    const Timeframe w = *parse_timeframe("1w");
    for (std::size_t t = 0; t < s.size(); ++t) {
      const model::Bar cur = s.at(t);
      const std::int64_t cur_week = w.bucket(cur.ts_ns);
      const bool closes_now = interval > 0 && cur.ts_ns + interval >= w.bucket_start(cur_week + 1);
      std::vector<double> closes;  // last close of each closed week, oldest first
      std::int64_t week = w.bucket(s.at(0).ts_ns);
      for (std::size_t i = 0; i <= t; ++i) {
        const model::Bar b = s.at(i);
        const std::int64_t bw = w.bucket(b.ts_ns);
        if (bw != week) week = bw;
        const bool week_closed = bw < cur_week || closes_now;
        if (!week_closed) break;
        if (closes.empty() || i == 0 || w.bucket(s.at(i - 1).ts_ns) != bw)
          closes.push_back(b.close);
        else
          closes.back() = b.close;
      }
      const double got = full[static_cast<std::size_t>(slots[0])][t];
      if (closes.size() < 10) {
        REQUIRE(std::isnan(got));
        continue;
      }
      double sum = 0;
      for (std::size_t j = closes.size() - 10; j < closes.size(); ++j) sum += closes[j];
      REQUIRE(std::fabs(got - sum / 10) <= 1e-12 * std::fabs(got));
    }
  }
}

TEST_CASE("the base timeframe itself equals the plain indicator once the base interval is known", "[unit][ta]") {
  const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/orcl-2014.txt"));
  IndicatorSet known(4, 2, kNsPerDay), unknown(4, 2, 0);
  const int plain = *known.add(*parse_spec("sma(5)"));
  const int same = *known.add(*parse_spec("sma(5)@1d"));
  const int lag_plain = *unknown.add(*parse_spec("sma(5)"));
  const int lag = *unknown.add(*parse_spec("sma(5)@1d"));
  for (std::size_t i = 0; i < s.size(); ++i) {
    known.update(s.at(i));
    unknown.update(s.at(i));
    REQUIRE(same_bits(known.value(same), known.value(plain)));
    if (i > 0) REQUIRE(same_bits(unknown.value(lag), unknown.value(lag_plain, 1)));
  }
}
