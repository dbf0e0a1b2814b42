#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "engine/venue/binance/signing.hpp"
#include "tests/unit/venue/fixtures.hpp"

using namespace te::venue::binance;
using te::venue::binance::test::shared_sample;

namespace {
std::string field(const std::string& doc, const std::string& pointer) {
  auto r = json_string_at_pointer(doc, pointer);
  INFO(pointer);
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE("HMAC-SHA256 signatures match every shared example vector", "[unit][venue]") {
  const std::string doc = shared_sample("hmac_signature_examples.json");
  const std::string secret = field(doc, "/secretKey");
  const Credentials creds(field(doc, "/apiKey"), secret);
  for (int i = 0; i < 3; ++i) {
    const std::string base = "/vectors/" + std::to_string(i);
    INFO(field(doc, base + "/case"));
    const std::string payload = field(doc, base + "/payload");
    const std::string expected = field(doc, base + "/signature_hex");
    CHECK(hmac_sha256_hex(secret, payload) == expected);
    CHECK(creds.sign(payload) == expected);
  }
  // Vector 3 is query + body concatenated without "&".
  CHECK(creds.sign("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
                   "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559") ==
        field(doc, "/vectors/2/signature_hex"));
}

TEST_CASE("order params reproduce the documented signed request", "[unit][venue]") {
  const std::string hmac = shared_sample("hmac_signature_examples.json");
  const std::string order = shared_sample("rest_order_request_params.json");
  const Credentials creds(field(hmac, "/apiKey"), field(hmac, "/secretKey"));

  OrderRequest r;
  r.symbol = "LTCBTC";
  r.side = te::model::Side::Buy;
  r.type = OrderType::Limit;
  r.time_in_force = TimeInForce::Gtc;
  r.quantity = "1";
  r.price = "0.1";
  r.recv_window = "5000";
  auto params = order_params(r);
  REQUIRE(params.ok());
  const std::string query = signed_query(*params, 1499827319559, std::nullopt, creds);

  const std::string url = field(order, "/signed_example_request_from_docs/url");
  CHECK(url == "https://api.binance.com/api/v3/order?" + query);
  CHECK(field(order, "/signed_example_request_from_docs/header") == "X-MBX-APIKEY: " + creds.api_key());

  SECTION("non-ASCII symbol is percent-encoded before signing (vector 2)") {
    r.symbol = "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94\xEF\xBC\x95\xEF\xBC\x96";  // "１２３４５６"
    auto p2 = order_params(r);
    REQUIRE(p2.ok());
    const std::string q2 = signed_query(*p2, 1499827319559, std::nullopt, creds);
    CHECK(q2 == field(hmac, "/vectors/1/payload") + "&signature=" + field(hmac, "/vectors/1/signature_hex"));
  }
  SECTION("recvWindow through signed_query gives the same query") {
    r.recv_window.clear();
    auto p3 = order_params(r);
    REQUIRE(p3.ok());
    CHECK(signed_query(*p3, 1499827319559, std::string("5000"), creds) == query);
  }
}

TEST_CASE("order params check the per-type mandatory parameters", "[unit][venue]") {
  OrderRequest r;
  r.type = OrderType::Limit;
  auto bad = order_params(r);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == te::Errc::invalid_argument);
  // Every problem at once.
  CHECK_THAT(bad.error().message, Catch::Contains("symbol is required"));
  CHECK_THAT(bad.error().message, Catch::Contains("LIMIT orders need timeInForce"));
  CHECK_THAT(bad.error().message, Catch::Contains("LIMIT orders need quantity"));
  CHECK_THAT(bad.error().message, Catch::Contains("LIMIT orders need price"));

  OrderRequest m;
  m.symbol = "BTCUSDT";
  m.type = OrderType::Market;
  m.side = te::model::Side::Sell;
  CHECK_FALSE(order_params(m).ok());
  m.quote_order_qty = "100";
  auto ok = order_params(m);
  REQUIRE(ok.ok());
  CHECK(encode_query(*ok) == "symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=100");
  m.quantity = "1";
  CHECK_FALSE(order_params(m).ok());  // not both

  OrderRequest s;
  s.symbol = "BTCUSDT";
  s.type = OrderType::StopLossLimit;
  s.time_in_force = TimeInForce::Gtc;
  s.quantity = "0.01";
  s.price = "25000";
  CHECK_THAT(order_params(s).error().message, Catch::Contains("stopPrice or trailingDelta"));
  s.trailing_delta = 100;
  s.new_order_resp_type = ResponseType::Full;
  s.strategy_type = 1000000;
  auto sp = order_params(s);
  REQUIRE(sp.ok());
  CHECK(encode_query(*sp) ==
        "symbol=BTCUSDT&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.01&price=25000&strategyType=1000000&"
        "trailingDelta=100&newOrderRespType=FULL");

  s.price = "1e5";
  s.recv_window = "60000.5";
  s.strategy_type = 5;
  auto many = order_params(s);
  REQUIRE_FALSE(many.ok());
  CHECK_THAT(many.error().message, Catch::Contains("price must be a plain decimal, was \"1e5\""));
  CHECK_THAT(many.error().message, Catch::Contains("recvWindow must be <= 60000"));
  CHECK_THAT(many.error().message, Catch::Contains("strategyType must be >= 1000000"));
}

TEST_CASE("credentials come from named environment variables and never leak", "[unit][venue]") {
  ::setenv("TE_TEST_BINANCE_KEY", "key-123", 1);
  ::setenv("TE_TEST_BINANCE_SECRET", "very-secret-value", 1);
  ::unsetenv("TE_TEST_BINANCE_MISSING");
  auto c = Credentials::from_env("TE_TEST_BINANCE_KEY", "TE_TEST_BINANCE_SECRET");
  REQUIRE(c.ok());
  CHECK(c->api_key() == "key-123");
  CHECK(c->sign("a=1") == hmac_sha256_hex("very-secret-value", "a=1"));

  auto missing = Credentials::from_env("TE_TEST_BINANCE_KEY", "TE_TEST_BINANCE_MISSING");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == te::Errc::not_found);
  CHECK_THAT(missing.error().message, Catch::Contains("TE_TEST_BINANCE_MISSING"));
  CHECK_THAT(missing.error().message, !Catch::Contains("key-123"));

  ::setenv("TE_TEST_BINANCE_EMPTY", "", 1);
  CHECK_FALSE(Credentials::from_env("TE_TEST_BINANCE_KEY", "TE_TEST_BINANCE_EMPTY").ok());
  Credentials moved = std::move(*c);
  CHECK(moved.sign("a=1") == hmac_sha256_hex("very-secret-value", "a=1"));
  ::unsetenv("TE_TEST_BINANCE_SECRET");
  ::unsetenv("TE_TEST_BINANCE_KEY");
  ::unsetenv("TE_TEST_BINANCE_EMPTY");
}

TEST_CASE("percent-encoding and decimal formatting", "[unit][venue]") {
  CHECK(percent_encode("AZaz09-_.~") == "AZaz09-_.~");
  CHECK(percent_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
  CHECK(encode_query({{"symbol", "BTCUSDT"}, {"limit", "1000"}}) == "symbol=BTCUSDT&limit=1000");
  CHECK(format_decimal(0.1, 8) == "0.1");
  CHECK(format_decimal(25000, 2) == "25000");
  CHECK(format_decimal(0.00012, 8) == "0.00012");
  CHECK(format_decimal(1.23456789, 4) == "1.2346");
  CHECK(format_decimal(-0.0000001, 2) == "0");
}
