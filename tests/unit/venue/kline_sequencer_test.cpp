#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "engine/venue/binance/kline_sequencer.hpp"

using namespace te::venue::binance;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;  // on the minute grid

ClosedBar bar(const std::string& sym, std::int64_t open_ms, BarSource src = BarSource::Live) {
  ClosedBar b;
  b.symbol = sym;
  b.bar.ts_ns = open_ms * 1'000'000;
  b.bar.open = b.bar.high = b.bar.low = b.bar.close = 1.0;
  b.close_time_ms = open_ms + kMin - 1;
  b.source = src;
  return b;
}

std::vector<std::int64_t> opens(const std::vector<ClosedBar>& bars) {
  std::vector<std::int64_t> v;
  for (const auto& b : bars) v.push_back(b.bar.ts_ns / 1'000'000);
  return v;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> v;
  for (std::int64_t t = first; t <= last; t += kMin) v.push_back(t);
  return v;
}

}  // namespace

TEST_CASE("sequencer delivers contiguous live bars at once and drops duplicates", "[unit][venue]") {
  KlineSequencer seq(*parse_interval("1m"));
  KlineSequencer::Output out;
  seq.on_live_bar(bar("BTCUSDT", kT0), out);
  seq.on_live_bar(bar("BTCUSDT", kT0 + kMin), out);
  seq.on_live_bar(bar("BTCUSDT", kT0 + kMin), out);  // again
  seq.on_live_bar(bar("BTCUSDT", kT0), out);         // older
  seq.on_live_bar(bar("ETHUSDT", kT0 + 5 * kMin), out);  // first bar of another symbol: no history needed
  CHECK(opens(out.bars) == std::vector<std::int64_t>{kT0, kT0 + kMin, kT0 + 5 * kMin});
  CHECK(out.duplicates == 2);
  CHECK(out.backfills.empty());
  CHECK(seq.last_delivered("BTCUSDT") == kT0 + kMin);
}

TEST_CASE("sequencer holds live bars behind a gap until the backfill arrives", "[unit][venue]") {
  KlineSequencer seq(*parse_interval("1m"));
  KlineSequencer::Output out;
  seq.on_live_bar(bar("BTCUSDT", kT0), out);
  out.clear();
  seq.on_live_bar(bar("BTCUSDT", kT0 + 4 * kMin), out);  // 1..3 missing
  seq.on_live_bar(bar("BTCUSDT", kT0 + 5 * kMin), out);
  CHECK(out.bars.empty());
  REQUIRE(out.backfills.size() == 1);  // one request for the gap, not one per held bar
  const BackfillRequest req = out.backfills[0];
  CHECK(req.symbol == "BTCUSDT");
  CHECK(req.from_open_ms == kT0 + kMin);
  CHECK(req.to_open_ms == kT0 + 4 * kMin - 1);
  CHECK(seq.buffered("BTCUSDT") == 2);
  CHECK(seq.backfilling("BTCUSDT"));

  // Other symbols are not held up.
  out.clear();
  seq.on_live_bar(bar("ETHUSDT", kT0), out);
  CHECK(out.bars.size() == 1);

  out.clear();
  // REST returns the gap (plus a bar outside the range, and one duplicate), unordered.
  std::vector<ClosedBar> rest{bar("BTCUSDT", kT0 + 3 * kMin, BarSource::Backfill),
                              bar("BTCUSDT", kT0 + kMin, BarSource::Backfill),
                              bar("BTCUSDT", kT0 + 2 * kMin, BarSource::Backfill),
                              bar("BTCUSDT", kT0 + 4 * kMin, BarSource::Backfill),
                              bar("BTCUSDT", kT0 + kMin, BarSource::Backfill)};
  CHECK(seq.on_backfill(req, rest, out) == 0);
  CHECK(opens(out.bars) == range(kT0 + kMin, kT0 + 5 * kMin));
  CHECK(out.bars[0].source == BarSource::Backfill);
  CHECK(out.bars[3].source == BarSource::Live);  // the held live bar, not REST's copy
  CHECK_FALSE(seq.backfilling("BTCUSDT"));
  CHECK(seq.buffered("BTCUSDT") == 0);
}

TEST_CASE("sequencer crosses open times that REST does not have either", "[unit][venue]") {
  KlineSequencer seq(*parse_interval("1m"));
  KlineSequencer::Output out;
  seq.set_last_delivered("BTCUSDT", kT0);  // resume after a restart
  seq.on_live_bar(bar("BTCUSDT", kT0 + 5 * kMin), out);
  REQUIRE(out.backfills.size() == 1);
  const auto req = out.backfills[0];
  CHECK(req.from_open_ms == kT0 + kMin);
  out.clear();
  // Exchange maintenance: 2 and 4 do not exist.
  const std::size_t missing = seq.on_backfill(
      req, {bar("BTCUSDT", kT0 + kMin, BarSource::Backfill), bar("BTCUSDT", kT0 + 3 * kMin, BarSource::Backfill)}, out);
  CHECK(missing == 2);
  CHECK(opens(out.bars) == std::vector<std::int64_t>{kT0 + kMin, kT0 + 3 * kMin, kT0 + 5 * kMin});
  CHECK(out.backfills.empty());  // no second request for the same hole

  // A failed backfill skips its range too.
  out.clear();
  seq.on_live_bar(bar("BTCUSDT", kT0 + 9 * kMin), out);
  REQUIRE(out.backfills.size() == 1);
  const auto req2 = out.backfills[0];
  out.clear();
  seq.on_backfill_failed(req2, out);
  CHECK(opens(out.bars) == std::vector<std::int64_t>{kT0 + 9 * kMin});
}

TEST_CASE("sequencer output is exactly the series under random drops, repeats and reordering", "[unit][venue]") {
  // Property test: a series of 300 bars is fed live with random holes, repeats
  // and late arrivals; backfills answer from the full series after a random
  // delay. The output must be the series, in order, once.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    KlineSequencer seq(*parse_interval("1m"));
    KlineSequencer::Output out;
    std::vector<ClosedBar> delivered;
    std::vector<BackfillRequest> in_flight;
    auto collect = [&] {
      for (auto& b : out.bars) delivered.push_back(b);
      for (auto& r : out.backfills) in_flight.push_back(r);
      out.clear();
    };
    const std::int64_t n = 300;
    seq.on_live_bar(bar("S", kT0), out);
    collect();
    for (std::int64_t i = 1; i < n; ++i) {
      if (u(rng) < 0.2 && i < n - 1) continue;  // lost on the stream (never the last one)
      seq.on_live_bar(bar("S", kT0 + i * kMin), out);
      collect();
      if (u(rng) < 0.1) {  // a repeat of an older bar (rotation overlap)
        seq.on_live_bar(bar("S", kT0 + (i - static_cast<std::int64_t>(u(rng) * 3)) * kMin), out);
        collect();
      }
      if (!in_flight.empty() && u(rng) < 0.3) {  // a backfill completes
        const auto req = in_flight.front();
        in_flight.erase(in_flight.begin());
        std::vector<ClosedBar> rest;
        for (std::int64_t t = req.from_open_ms; t <= req.to_open_ms; t += kMin) {
          rest.push_back(bar("S", t, BarSource::Backfill));
        }
        CHECK(seq.on_backfill(req, rest, out) == 0);
        collect();
      }
    }
    while (!in_flight.empty()) {
      const auto req = in_flight.front();
      in_flight.erase(in_flight.begin());
      std::vector<ClosedBar> rest;
      for (std::int64_t t = req.from_open_ms; t <= req.to_open_ms; t += kMin) rest.push_back(bar("S", t));
      seq.on_backfill(req, rest, out);
      collect();
    }
    CHECK(opens(delivered) == range(kT0, kT0 + (n - 1) * kMin));
  }
}

TEST_CASE("sequencer fetches at most the last kMaxBackfillBars of a huge gap", "[unit][venue][audit]") {
  // Audit: a kline stamped far in the future made the feed walk REST over the
  // whole gap (1e9 bars), holding every bar in memory, while the runner starved.
  KlineSequencer seq(*parse_interval("1m"));
  KlineSequencer::Output out;
  seq.on_live_bar(bar("BTCUSDT", kT0), out);
  out.clear();
  const std::int64_t far = kT0 + (KlineSequencer::kMaxBackfillBars + 50) * kMin;
  seq.on_live_bar(bar("BTCUSDT", far), out);
  REQUIRE(out.backfills.size() == 1);
  const BackfillRequest req = out.backfills[0];
  CHECK(req.from_open_ms == kT0 + 50 * kMin);
  CHECK(req.to_open_ms == far - 1);
  CHECK(klines_between(*parse_interval("1m"), req.from_open_ms, req.to_open_ms) == KlineSequencer::kMaxBackfillBars);
  out.clear();
  seq.on_backfill(req, {bar("BTCUSDT", far - kMin, BarSource::Backfill)}, out);
  CHECK(opens(out.bars) == std::vector<std::int64_t>{far - kMin, far});
  // A gap within the limit is fetched whole.
  out.clear();
  seq.on_live_bar(bar("BTCUSDT", far + 10 * kMin), out);
  REQUIRE(out.backfills.size() == 1);
  CHECK(out.backfills[0].from_open_ms == far + kMin);
}
