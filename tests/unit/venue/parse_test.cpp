#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "engine/venue/binance/parse.hpp"
#include "tests/unit/venue/fixtures.hpp"

using namespace te::venue::binance;
using te::venue::binance::test::sample_member;
using te::venue::binance::test::shared_sample;

namespace {

void check_docs_kline(const KlineEvent& e) {
  CHECK(e.event_time_ms == 1672515782136);
  CHECK(e.symbol == "BNBBTC");
  const Kline& k = e.kline;
  CHECK(k.open_time_ms == 1672515780000);
  CHECK(k.close_time_ms == 1672515839999);
  CHECK(k.symbol == "BNBBTC");
  CHECK(k.interval == "1m");
  CHECK(k.open == 0.0010);
  CHECK(k.close == 0.0020);
  CHECK(k.high == 0.0025);
  CHECK(k.low == 0.0015);
  CHECK(k.volume == 1000.0);
  CHECK(k.trades == 100);
  CHECK_FALSE(k.closed);
  CHECK(k.quote_volume == 1.0);
  CHECK(k.taker_buy_base_volume == 500.0);
  CHECK(k.taker_buy_quote_volume == 0.5);
}

void check_docs_book_ticker(const BookTicker& t) {
  CHECK(t.update_id == 400900217);
  CHECK(t.symbol == "BNBUSDT");
  CHECK(t.bid_price == 25.3519);
  CHECK(t.bid_qty == 31.21);
  CHECK(t.ask_price == 25.3652);
  CHECK(t.ask_qty == 40.66);
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("kline event sample parses field by field", "[unit][venue]") {
  auto e = parse_kline_event(sample_member("ws_kline_event.json", "/payload"));
  REQUIRE(e.ok());
  check_docs_kline(*e);
  const auto bar = e->kline.to_bar();
  CHECK(bar.ts_ns == 1672515780000LL * 1'000'000);  // labelled by the open time
  CHECK(bar.open == 0.0010);
  CHECK(bar.high == 0.0025);
  CHECK(bar.low == 0.0015);
  CHECK(bar.close == 0.0020);
  CHECK(bar.volume == 1000.0);
  CHECK(std::isnan(bar.bid));
  // The docs' sample is not a consistent bar (open 0.0010 < low 0.0015); the parser
  // accepts the wire format as is, bar makers must check.
  CHECK(te::model::bar_problem(bar) != nullptr);
}

TEST_CASE("bookTicker sample parses field by field", "[unit][venue]") {
  auto t = parse_book_ticker(sample_member("ws_bookticker_event.json", "/payload"));
  REQUIRE(t.ok());
  check_docs_book_ticker(*t);
}

TEST_CASE("combined-stream wrapper samples route to their payload types", "[unit][venue]") {
  SECTION("serverShutdown") {
    auto m = parse_combined(sample_member("ws_combined_wrapper.json", "/verbatim_combined_example_serverShutdown"));
    REQUIRE(m.ok());
    CHECK(m->stream == "!serverShutdown");
    REQUIRE(std::holds_alternative<ServerShutdown>(m->payload));
    CHECK(std::get<ServerShutdown>(m->payload).event_time_ms == 1770123456789);
  }
  SECTION("kline") {
    auto m = parse_combined(sample_member("ws_combined_wrapper.json", "/constructed_combined_kline"));
    REQUIRE(m.ok());
    CHECK(m->stream == "bnbbtc@kline_1m");
    REQUIRE(std::holds_alternative<KlineEvent>(m->payload));
    check_docs_kline(std::get<KlineEvent>(m->payload));
  }
  SECTION("bookTicker") {
    auto m = parse_combined(sample_member("ws_combined_wrapper.json", "/constructed_combined_bookTicker"));
    REQUIRE(m.ok());
    CHECK(m->stream == "bnbusdt@bookTicker");
    REQUIRE(std::holds_alternative<BookTicker>(m->payload));
    check_docs_book_ticker(std::get<BookTicker>(m->payload));
  }
  SECTION("a closed kline and the reusing overload") {
    const std::string closed = replace_once(sample_member("ws_combined_wrapper.json", "/constructed_combined_kline"),
                                            "\"x\":false", "\"x\":true");
    Parser p;
    StreamMessage msg;
    REQUIRE(p.parse_combined(sample_member("ws_combined_wrapper.json", "/constructed_combined_bookTicker"), msg).ok());
    REQUIRE(p.parse_combined(closed, msg).ok());
    REQUIRE(std::holds_alternative<KlineEvent>(msg.payload));
    CHECK(std::get<KlineEvent>(msg.payload).kline.closed);
    CHECK(p.counts().total() == 0);
  }
}

TEST_CASE("REST klines sample keeps Binance's decimal text exactly", "[unit][venue]") {
  auto rows = parse_rest_klines(sample_member("rest_klines_response.json", "/response"));
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const RestKline& k = rows->front();
  CHECK(k.open_time_ms == 1499040000000);
  CHECK(k.open == "0.01634790");
  CHECK(k.high == "0.80000000");
  CHECK(k.low == "0.01575800");
  CHECK(k.close == "0.01577100");
  CHECK(k.volume == "148976.11427815");
  CHECK(k.close_time_ms == 1499644799999);
  CHECK(k.quote_volume == "2434.19055334");
  CHECK(k.trades == 308);
  CHECK(k.taker_buy_base_volume == "1756.87402397");
  CHECK(k.taker_buy_quote_volume == "28.46694368");
  CHECK(k.bar.ts_ns == 1499040000000LL * 1'000'000);
  CHECK(k.bar.open == 0.0163479);
  CHECK(k.bar.high == 0.8);
  CHECK(k.bar.low == 0.015758);
  CHECK(k.bar.close == 0.015771);
  CHECK(k.bar.volume == 148976.11427815);

  auto empty = parse_rest_klines("[]");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  // Without the unused 12th element.
  auto eleven = parse_rest_klines(R"([[1,"1","1","1","1","1",60000,"1",1,"1","1"]])");
  REQUIRE(eleven.ok());
  CHECK(eleven->size() == 1);
}

TEST_CASE("REST error samples parse into code and message", "[unit][venue]") {
  auto e = parse_api_error(sample_member("rest_error_format_and_codes.json", "/error_payload_example_verbatim"));
  REQUIRE(e.ok());
  CHECK(e->code == -1121);
  CHECK(e->msg == "Invalid symbol.");
  auto ts = parse_api_error(sample_member("rest_error_format_and_codes.json", "/observed_in_the_wild_not_docs/-1021/body"));
  REQUIRE(ts.ok());
  CHECK(ts->code == -1021);
  CHECK(ts->msg == "Timestamp for this request is outside of the recvWindow.");
}

TEST_CASE("order response samples parse as ACK, RESULT and FULL", "[unit][venue]") {
  auto ack = parse_order_response(sample_member("rest_order_response_ack.json", "/response"));
  REQUIRE(ack.ok());
  CHECK(ack->kind == OrderResponseKind::Ack);
  CHECK(ack->symbol == "BTCUSDT");
  CHECK(ack->order_id == 28);
  CHECK(ack->order_list_id == -1);
  CHECK(ack->client_order_id == "6gCrw2kRUAF9CvJDGP16IP");
  CHECK(ack->transact_time_ms == 1507725176595);

  auto res = parse_order_response(sample_member("rest_order_response_result.json", "/response"));
  REQUIRE(res.ok());
  CHECK(res->kind == OrderResponseKind::Result);
  CHECK(res->price == 0.0);
  CHECK(res->orig_qty == 10.0);
  CHECK(res->executed_qty == 10.0);
  CHECK(res->orig_quote_order_qty == 0.0);
  CHECK(res->cummulative_quote_qty == 10.0);
  CHECK(res->status == "FILLED");
  CHECK(res->time_in_force == "GTC");
  CHECK(res->type == "MARKET");
  CHECK(res->side == "SELL");
  CHECK(res->working_time_ms == 1507725176595);
  CHECK(res->self_trade_prevention_mode == "NONE");
  CHECK(res->fills.empty());

  auto full = parse_order_response(sample_member("rest_order_response_full.json", "/response"));
  REQUIRE(full.ok());
  CHECK(full->kind == OrderResponseKind::Full);
  REQUIRE(full->fills.size() == 5);
  CHECK(full->fills[0].price == 4000.0);
  CHECK(full->fills[0].qty == 1.0);
  CHECK(full->fills[0].commission == 4.0);
  CHECK(full->fills[0].commission_asset == "USDT");
  CHECK(full->fills[0].trade_id == 56);
  CHECK(full->fills[4].price == 3995.0);
  CHECK(full->fills[4].trade_id == 60);
  double qty = 0;
  for (const auto& f : full->fills) qty += f.qty;
  CHECK(qty == full->executed_qty);  // 1+5+2+1+1 = 10 (the quote-qty relation is not asserted, see the sample's note)
}

TEST_CASE("rate-limit headers and Retry-After", "[unit][venue]") {
  // Header names from rest_rate_limits.json.
  const std::string doc = shared_sample("rest_rate_limits.json");
  REQUIRE(doc.find("X-MBX-USED-WEIGHT-1M") != std::string::npos);
  REQUIRE(doc.find("X-MBX-ORDER-COUNT-10S") != std::string::npos);

  auto w = parse_rate_limit_header("X-MBX-USED-WEIGHT-1M", "42");
  REQUIRE(w.ok());
  CHECK(w->kind == RateLimitCounter::Kind::UsedWeight);
  CHECK(w->interval_num == 1);
  CHECK(w->interval_letter == 'M');
  CHECK(w->value == 42);

  auto o = parse_rate_limit_header("x-mbx-order-count-10s", " 3 ");
  REQUIRE(o.ok());
  CHECK(o->kind == RateLimitCounter::Kind::OrderCount);
  CHECK(o->interval_num == 10);
  CHECK(o->interval_letter == 'S');
  CHECK(o->value == 3);

  auto d = parse_rate_limit_header("X-MBX-ORDER-COUNT-1D", "17");
  REQUIRE(d.ok());
  CHECK(d->interval_letter == 'D');

  auto legacy = parse_rate_limit_header("X-MBX-USED-WEIGHT", "7");
  REQUIRE(legacy.ok());
  CHECK(legacy->interval_letter == 'M');
  CHECK(legacy->value == 7);

  CHECK(parse_rate_limit_header("Content-Type", "x").error().code == te::Errc::not_found);
  CHECK(parse_rate_limit_header("X-MBX-USED-WEIGHT-1X", "1").error().code == te::Errc::parse);
  CHECK(parse_rate_limit_header("X-MBX-USED-WEIGHT-M", "1").error().code == te::Errc::parse);
  CHECK(parse_rate_limit_header("X-MBX-USED-WEIGHT-1M", "lots").error().code == te::Errc::parse);
  CHECK(parse_rate_limit_header("X-MBX-USED-WEIGHT-1M", "-1").error().code == te::Errc::parse);

  RateLimitUsage u;
  u.counters = {*o, *w};
  REQUIRE(u.used_weight_1m());
  CHECK(*u.used_weight_1m() == 42);

  CHECK(*parse_retry_after("120") == 120);
  CHECK(*parse_retry_after(" 0") == 0);
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").ok());
  CHECK_FALSE(parse_retry_after("-5").ok());
  CHECK_FALSE(parse_retry_after("").ok());
}

TEST_CASE("malformed stream messages are reported by kind, never thrown", "[unit][venue]") {
  const std::string kline = sample_member("ws_combined_wrapper.json", "/constructed_combined_kline");
  const std::string book = sample_member("ws_combined_wrapper.json", "/constructed_combined_bookTicker");

  struct Case {
    std::string name;
    std::string text;
    Malformed kind;
    std::string mentions;  // a fragment the message must contain
  };
  const std::vector<Case> cases = {
      {"empty", "", Malformed::BadJson, "bad json"},
      {"not json", "hello", Malformed::BadJson, "bad json"},
      {"truncated", kline.substr(0, kline.size() / 2), Malformed::BadJson, "bad json"},
      {"binary", std::string("\x00\xff\x01{", 4), Malformed::BadJson, "bad json"},
      {"array root", "[1,2]", Malformed::WrongType, "expected object, was array"},
      {"no stream", R"({"data":{}})", Malformed::MissingField, "missing field stream"},
      {"no data", R"({"stream":"bnbusdt@bookTicker"})", Malformed::MissingField, "missing field data"},
      {"stream not a string", R"({"stream":5,"data":{}})", Malformed::WrongType, "field stream: expected string, was integer"},
      {"unknown stream kind", R"({"stream":"bnbusdt@depth","data":{}})", Malformed::UnknownStream, "bnbusdt@depth"},
      {"unknown interval", R"({"stream":"bnbusdt@kline_7m","data":{}})", Malformed::UnknownStream, "kline_7m"},
      {"no @", R"({"stream":"bnbusdt","data":{}})", Malformed::UnknownStream, "unknown stream"},
      {"data not object", R"({"stream":"bnbusdt@bookTicker","data":[]})", Malformed::WrongType, "expected object, was array"},
      {"ticker missing a", replace_once(book, R"("a":"25.36520000",)", ""), Malformed::MissingField, "missing field a"},
      {"ticker number price", replace_once(book, R"("b":"25.35190000")", R"("b":25.3519)"), Malformed::WrongType,
       "field b: expected a decimal string, was number"},
      {"ticker bad decimal", replace_once(book, R"("b":"25.35190000")", R"("b":"25.35.19")"), Malformed::BadValue,
       "field b: expected a non-negative decimal"},
      {"ticker negative", replace_once(book, R"("B":"31.21000000")", R"("B":"-1")"), Malformed::BadValue, "field B"},
      {"ticker nan", replace_once(book, R"("B":"31.21000000")", R"("B":"nan")"), Malformed::BadValue, "field B"},
      {"ticker symbol mismatch", replace_once(book, R"("s":"BNBUSDT")", R"("s":"ETHUSDT")"), Malformed::BadValue,
       "does not match the stream"},
      {"ticker u string", replace_once(book, R"("u":400900217)", R"("u":"400900217")"), Malformed::WrongType,
       "field u: expected integer, was string"},
      {"kline x string", replace_once(kline, R"("x":false)", R"("x":"false")"), Malformed::WrongType,
       "field k.x: expected boolean, was string"},
      {"kline missing k", replace_once(kline, R"("k":{)", R"("kk":{)"), Malformed::MissingField, "missing field k"},
      {"kline missing close", replace_once(kline, R"("c":"0.0020",)", ""), Malformed::MissingField, "missing field k.c"},
      {"kline wrong event", replace_once(kline, R"("e":"kline")", R"("e":"trade")"), Malformed::BadValue,
       "expected \"kline\""},
      {"kline time as string", replace_once(kline, R"("t":1672515780000)", R"("t":"1672515780000")"),
       Malformed::WrongType, "field k.t: expected integer, was string"},
      {"kline time fractional", replace_once(kline, R"("t":1672515780000)", R"("t":1672515780000.5)"),
       Malformed::WrongType, "field k.t: expected integer, was number"},
      {"kline negative volume", replace_once(kline, R"("v":"1000")", R"("v":"-1000")"), Malformed::BadValue,
       "field k.v: expected a non-negative decimal, was \"-1000\""},
      {"kline close before open", replace_once(kline, R"("T":1672515839999)", R"("T":1)"), Malformed::BadValue,
       "before open time"},
      // Audit: open times beyond year 2261 overflowed the nanosecond bar time.
      {"kline open time past 2261", replace_once(kline, R"("t":1672515780000)", R"("t":4611686018427387904)"),
       Malformed::BadValue, "field k.t: open time 4611686018427387904 is outside 0 .. 9214646399999 ms"},
      {"kline negative open time", replace_once(kline, R"("t":1672515780000)", R"("t":-60000)"), Malformed::BadValue,
       "field k.t: open time -60000 is outside"},
      {"kline interval mismatch", replace_once(kline, R"("i":"1m")", R"("i":"5m")"), Malformed::BadValue,
       "k.i \"5m\" does not match"},
      {"kline symbol mismatch",
       replace_once(replace_once(kline, R"("s":"BNBBTC","k")", R"("s":"ETHBTC","k")"), R"("s":"BNBBTC","i")",
                    R"("s":"ETHBTC","i")"),
       Malformed::BadValue, "does not match the stream"},
      {"kline k.s differs", replace_once(kline, R"("s":"BNBBTC","i")", R"("s":"ETHBTC","i")"), Malformed::BadValue,
       "differs from s"},
      {"shutdown wrong e", R"({"stream":"!serverShutdown","data":{"e":"x","E":1}})", Malformed::BadValue,
       "expected \"serverShutdown\""},
  };

  Parser parser;
  MalformedCounts expected;
  for (const auto& c : cases) {
    INFO(c.name << ": " << c.text);
    auto r = parser.parse_combined(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == te::Errc::parse);
    CHECK(parser.last_malformation() == c.kind);
    CHECK_THAT(r.error().message, Catch::Contains(c.mentions));
    expected.add(c.kind);
  }
  for (std::size_t k = 0; k < kMalformedKinds; ++k) {
    INFO(to_string(static_cast<Malformed>(k)));
    CHECK(parser.counts().by_kind[k] == expected.by_kind[k]);
  }
  CHECK(parser.counts().total() == cases.size());
  // The parser still works after all that.
  CHECK(parser.parse_combined(kline).ok());
}

TEST_CASE("malformed REST payloads are reported with their position", "[unit][venue]") {
  Parser p;
  auto not_array = p.parse_rest_klines(R"({"code":-1121,"msg":"Invalid symbol."})");
  REQUIRE_FALSE(not_array.ok());
  CHECK(p.last_malformation() == Malformed::WrongType);

  auto short_row = p.parse_rest_klines(R"([[1,"1","1","1","1"]])");
  REQUIRE_FALSE(short_row.ok());
  CHECK(p.last_malformation() == Malformed::MissingField);
  CHECK_THAT(short_row.error().message, Catch::Contains("row 0: expected 11 or 12 elements, was 5"));

  auto number_price =
      p.parse_rest_klines(R"([[1,"1","1","1","1","1",59999,"1",1,"1","1","0"],[60000,1.5,"2","1","1","1",119999,"1",1,"1","1","0"]])");
  REQUIRE_FALSE(number_price.ok());
  CHECK(p.last_malformation() == Malformed::WrongType);
  CHECK_THAT(number_price.error().message, Catch::Contains("[1][1]"));

  auto backwards =
      p.parse_rest_klines(R"([[60000,"1","1","1","1","1",119999,"1",1,"1","1","0"],[0,"1","1","1","1","1",59999,"1",1,"1","1","0"]])");
  REQUIRE_FALSE(backwards.ok());
  CHECK(p.last_malformation() == Malformed::BadValue);

  auto far_future =
      p.parse_rest_klines(R"([[9214646400000,"1","1","1","1","1",9214646459999,"1",1,"1","1","0"]])");
  REQUIRE_FALSE(far_future.ok());
  CHECK(p.last_malformation() == Malformed::BadValue);
  CHECK_THAT(far_future.error().message, Catch::Contains("[0][0]: open time 9214646400000 is outside"));

  auto no_msg = p.parse_api_error(R"({"code":-1121})");
  REQUIRE_FALSE(no_msg.ok());
  CHECK_THAT(no_msg.error().message, Catch::Contains("missing field msg"));

  auto html = p.parse_api_error("<html>502 Bad Gateway</html>");
  REQUIRE_FALSE(html.ok());
  CHECK(p.last_malformation() == Malformed::BadJson);

  const std::string full = sample_member("rest_order_response_full.json", "/response");
  auto bad_fill = p.parse_order_response(replace_once(full, R"("tradeId":58)", R"("tradeId":"58")"));
  REQUIRE_FALSE(bad_fill.ok());
  CHECK_THAT(bad_fill.error().message, Catch::Contains("fills[2].tradeId"));
  CHECK(p.counts().total() == 8);
}

TEST_CASE("every truncation and byte flip of a stream message is handled", "[unit][venue]") {
  const std::string msgs[] = {sample_member("ws_combined_wrapper.json", "/constructed_combined_kline"),
                              sample_member("ws_combined_wrapper.json", "/constructed_combined_bookTicker")};
  Parser p;
  std::size_t ok = 0, bad = 0;
  for (const auto& m : msgs) {
    for (std::size_t n = 0; n < m.size(); ++n) {
      auto r = p.parse_combined(std::string_view(m).substr(0, n));
      (r.ok() ? ok : bad)++;
    }
    for (std::size_t i = 0; i < m.size(); ++i) {
      for (char c : {'\0', '"', '{', '9', 'x', '-'}) {
        std::string mutated = m;
        mutated[i] = c;
        auto r = p.parse_combined(mutated);
        (r.ok() ? ok : bad)++;
        if (!r.ok()) CHECK_FALSE(r.error().message.empty());
      }
    }
  }
  CHECK(bad == p.counts().total());
  CHECK(bad > 0);
  CHECK(ok > 0);  // some flips keep the message valid (e.g. a digit in a price)
}
