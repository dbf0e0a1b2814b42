#include <catch2/catch.hpp>

#include "engine/core/time.hpp"
#include "engine/venue/binance/interval.hpp"

using namespace te::venue::binance;

namespace {
std::int64_t ms(const char* iso) { return *te::parse_iso8601_ns(iso) / 1'000'000; }
}  // namespace

TEST_CASE("binance intervals parse exactly the documented spellings", "[unit][venue]") {
  for (const char* t : {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"}) {
    INFO(t);
    auto iv = parse_interval(t);
    REQUIRE(iv.ok());
    CHECK(iv->text == t);
  }
  CHECK(parse_interval("1m")->ms == 60'000);
  CHECK(parse_interval("1M")->monthly);
  for (const char* t : {"", "2m", "1H", "1D", "60s", "1mo", " 1m"}) {
    INFO(t);
    auto iv = parse_interval(t);
    REQUIRE_FALSE(iv.ok());
    CHECK(iv.error().code == te::Errc::invalid_argument);
  }
}

TEST_CASE("kline open-time arithmetic follows the Binance grid", "[unit][venue]") {
  const auto m1 = *parse_interval("1m");
  CHECK(next_open_ms(m1, 1672515780000) == 1672515840000);
  CHECK(close_time_ms(m1, 1672515780000) == 1672515839999);  // ws_kline_event.json: t and T
  CHECK(floor_open_ms(m1, 1672515782136) == 1672515780000);
  CHECK(klines_between(m1, 1672515780000, 1672515780000 + 9 * 60'000) == 10);
  CHECK(klines_between(m1, 1672515780001, 1672515780000 + 9 * 60'000) == 9);
  CHECK(klines_between(m1, 5, 4) == 0);

  const auto w1 = *parse_interval("1w");
  CHECK(floor_open_ms(w1, ms("2024-01-10T12:00:00Z")) == ms("2024-01-08"));  // a Monday
  CHECK(floor_open_ms(w1, ms("2024-01-08")) == ms("2024-01-08"));
  CHECK(floor_open_ms(w1, ms("1970-01-01")) == ms("1969-12-29"));

  const auto mo = *parse_interval("1M");
  CHECK(next_open_ms(mo, ms("2023-12-01")) == ms("2024-01-01"));
  CHECK(next_open_ms(mo, ms("2024-02-01")) == ms("2024-03-01"));
  CHECK(close_time_ms(mo, ms("2024-02-01")) == ms("2024-03-01") - 1);
  CHECK(floor_open_ms(mo, ms("2024-02-29T23:59:59Z")) == ms("2024-02-01"));
  CHECK(klines_between(mo, ms("2024-01-01"), ms("2024-12-01")) == 12);

  CHECK(upper_symbol("bnbBtc") == "BNBBTC");
  CHECK(lower_symbol("BNBBTC") == "bnbbtc");
}
