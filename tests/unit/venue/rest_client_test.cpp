#include <catch2/catch.hpp>

#include <thread>

#include "engine/venue/binance/rest_client.hpp"
#include "tests/support/test_exchange.hpp"

using namespace te::venue::binance;
using te::testing::TestExchange;
using te::testing::TestExchangeOptions;

namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kT0 = 1'700'000'040'000;

TestExchangeOptions serve_all(std::size_t bars) {
  TestExchangeOptions o;
  o.bars["BTCUSDT"] = te::testing::make_bars(kT0, kMin, bars, 7);
  o.rest_serves_all = true;
  o.wait_for_connections = 0;
  o.pace = std::chrono::milliseconds(0);
  return o;
}

RestClient client_for(const TestExchange& ex, int max_attempts = 3) {
  RestClientOptions o;
  o.base_url = ex.rest_url();
  o.max_attempts = max_attempts;
  o.retry_initial_delay = std::chrono::milliseconds(10);
  o.retry_max_delay = std::chrono::milliseconds(50);
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(5000);
  auto c = RestClient::create(o);
  REQUIRE(c.ok());
  return std::move(*c);
}

}  // namespace

TEST_CASE("REST client options and URLs are validated", "[unit][venue]") {
  RestClientOptions o;
  o.base_url = "ftp://example.com";
  auto bad = RestClient::create(o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == te::Errc::invalid_argument);
  CHECK_THAT(bad.error().message, Catch::Contains("scheme must be http or https"));
  o.base_url = "http://127.0.0.1:0";
  CHECK_FALSE(RestClient::create(o).ok());
  o.base_url = "https://api.binance.com";  // TLS context with the system store, no connection yet
  CHECK(RestClient::create(o).ok());
  o.max_attempts = 0;
  CHECK_THAT(RestClient::create(o).error().message, Catch::Contains("max_attempts"));
}

TEST_CASE("REST klines pages through a test exchange with exact strings", "[unit][venue][net]") {
  TestExchange ex(serve_all(2500));
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  const auto script = te::testing::make_bars(kT0, kMin, 2500, 7);

  auto page = client.klines({"btcusdt", "1m", kT0, std::nullopt, 1000});
  REQUIRE(page.ok());
  REQUIRE(page->size() == 1000);
  CHECK((*page)[0].open_time_ms == kT0);
  CHECK((*page)[0].open == script[0].open);
  CHECK((*page)[999].close == script[999].close);
  CHECK((*page)[999].close_time_ms == script[999].open_time_ms + kMin - 1);
  REQUIRE(client.last_rate_limits().used_weight_1m());
  CHECK(*client.last_rate_limits().used_weight_1m() == 2);

  std::vector<RestKline> all;
  std::size_t pages = 0;
  auto st = for_each_kline_page(client, "BTCUSDT", "1m", kT0 + 10 * kMin, kT0 + 2399 * kMin,
                                [&](std::vector<RestKline>& p) -> te::Status {
                                  ++pages;
                                  for (auto& k : p) all.push_back(std::move(k));
                                  return {};
                                });
  REQUIRE(st.ok());
  CHECK(pages == 3);
  REQUIRE(all.size() == 2390);
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].open_time_ms != script[i + 10].open_time_ms || all[i].volume != script[i + 10].volume) {
      FAIL("row " << i << " differs");
    }
  }
  CHECK(client.stats().connections == 1);  // kept alive across requests
}

TEST_CASE("REST errors carry the Binance code and message", "[unit][venue][net]") {
  TestExchange ex(serve_all(10));
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex);
  auto bad = client.klines({"NOPE", "1m", std::nullopt, std::nullopt, 10});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == te::Errc::invalid_argument);
  CHECK_THAT(bad.error().message, Catch::Contains("GET /api/v3/klines: http 400, binance error -1121: Invalid symbol."));
  REQUIRE(client.last_api_error());
  CHECK(client.last_api_error()->code == -1121);

  auto local = client.klines({"BTC-USDT", "7m", std::nullopt, std::nullopt, 5000});
  REQUIRE_FALSE(local.ok());  // refused before sending anything
  CHECK_THAT(local.error().message, Catch::Contains("not a Binance symbol"));
  CHECK_THAT(local.error().message, Catch::Contains("unknown binance interval"));
  CHECK_THAT(local.error().message, Catch::Contains("limit must be in 1..1000"));

  auto missing = client.get("/api/v3/nothing");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == te::Errc::not_found);
}

TEST_CASE("REST client waits out 429 and 418 with Retry-After", "[unit][venue][net]") {
  auto o = serve_all(10);
  o.rest_429_first = 1;
  o.rest_418_first = 1;
  o.retry_after_s = 1;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex, 5);
  const auto t0 = std::chrono::steady_clock::now();
  auto page = client.klines({"BTCUSDT", "1m", kT0, std::nullopt, 1000});
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(page.ok());
  CHECK(page->size() == 10);
  CHECK(client.stats().rate_limited == 2);
  CHECK(ex.stats().rest_rate_limited == 2);
  CHECK(took >= std::chrono::milliseconds(1900));  // two Retry-After: 1 waits
  CHECK(client.stats().waited >= std::chrono::milliseconds(1900));
}

TEST_CASE("REST client gives up when Retry-After exceeds its limit or attempts run out", "[unit][venue][net]") {
  auto o = serve_all(10);
  o.rest_418_first = 100;
  o.retry_after_s = 120;  // a two-minute ban
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClientOptions ro;
  ro.base_url = ex.rest_url();
  ro.max_retry_after = std::chrono::seconds(10);
  auto client = RestClient::create(ro);
  REQUIRE(client.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client->klines({"BTCUSDT", "1m", kT0, std::nullopt, 1000});
  REQUIRE_FALSE(r.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  CHECK(r.error().code == te::Errc::limit);
  CHECK_THAT(r.error().message, Catch::Contains("http 418"));
  CHECK_THAT(r.error().message, Catch::Contains("Retry-After 120 s exceeds"));

  auto o2 = serve_all(10);
  o2.rest_429_first = 100;
  o2.retry_after_s = 0;
  TestExchange ex2(o2);
  REQUIRE(ex2.start().ok());
  RestClient c2 = client_for(ex2, 3);
  auto r2 = c2.klines({"BTCUSDT", "1m", kT0, std::nullopt, 1000});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code == te::Errc::limit);
  CHECK_THAT(r2.error().message, Catch::Contains("after 3 attempts"));
  CHECK(ex2.stats().rest_requests == 3);
}

TEST_CASE("REST client times out slow responses and reports refused connections", "[unit][venue][net]") {
  auto o = serve_all(10);
  o.rest_delay = std::chrono::milliseconds(3000);
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClientOptions ro;
  ro.base_url = ex.rest_url();
  ro.request_timeout = std::chrono::milliseconds(200);
  ro.max_attempts = 2;
  ro.retry_initial_delay = std::chrono::milliseconds(10);
  ro.retry_max_delay = std::chrono::milliseconds(10);
  auto client = RestClient::create(ro);
  REQUIRE(client.ok());
  auto r = client->klines({"BTCUSDT", "1m", kT0, std::nullopt, 10});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == te::Errc::io);
  CHECK_THAT(r.error().message, Catch::Contains("timed out"));
  CHECK_THAT(r.error().message, Catch::Contains("after 2 attempts"));

  // A port nobody listens on (the exchange is stopped).
  const std::string url = ex.rest_url();
  ex.stop();
  ro.base_url = url;
  auto refused = RestClient::create(ro);
  REQUIRE(refused.ok());
  auto r2 = refused->get("/api/v3/klines", "symbol=BTCUSDT&interval=1m");
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code == te::Errc::io);
  CHECK_THAT(r2.error().message, Catch::Contains("connect"));
}

TEST_CASE("REST client cancel() interrupts a Retry-After wait from another thread", "[unit][venue][net]") {
  auto o = serve_all(10);
  o.rest_429_first = 100;
  o.retry_after_s = 30;
  TestExchange ex(o);
  REQUIRE(ex.start().ok());
  RestClient client = client_for(ex, 5);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    client.cancel();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client.klines({"BTCUSDT", "1m", kT0, std::nullopt, 10});
  canceller.join();
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("cancelled"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  CHECK_FALSE(client.klines({"BTCUSDT", "1m", kT0, std::nullopt, 10}).ok());  // stays cancelled
}
