// encode_order_update, encode_fill, encode_risk_decision and encode_transition
// (the journal writer's path for a recorder's records, written without
// building an event) must give the bytes encode_event() gives for the event:
// checked on random records, with the doubles, integers and strings that take
// the packer's other branches (NaN, -0, infinities, extremes, empty and long
// strings) and every order type, status, purpose, side and time in force.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "engine/journal/event_codec.hpp"

using namespace te;
using namespace te::journal;

namespace {

struct Gen {
  std::mt19937_64 rng{20261206};

  std::uint64_t u64() {
    static constexpr std::uint64_t kEdges[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffULL,
                                               0x100000000ULL, ~std::uint64_t{0}};
    if (rng() % 3 == 0) return kEdges[rng() % std::size(kEdges)];
    return rng() >> (rng() % 64);
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u64()); }
  std::int64_t i64() {
    // The negative forms' edges (fixint, int8, int16, int32, int64) on both sides.
    static constexpr std::int64_t kNegEdges[] = {-1, -32, -33, -128, -129, -32768, -32769,
                                                 -2147483648LL, -2147483649LL, INT64_MIN};
    if (rng() % 6 == 0) return kNegEdges[rng() % std::size(kNegEdges)];
    const auto v = static_cast<std::int64_t>(u64());
    return rng() % 2 ? v : -v;
  }
  double dbl() {
    static constexpr double kEdges[] = {0.0,
                                        -0.0,
                                        1.0,
                                        -1.5,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        -std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::denorm_min(),
                                        std::numeric_limits<double>::max(),
                                        1e300};
    if (rng() % 2 == 0) return kEdges[rng() % std::size(kEdges)];
    return std::ldexp(static_cast<double>(static_cast<std::int64_t>(rng())), static_cast<int>(rng() % 80) - 60);
  }
  std::string str() {
    static constexpr std::size_t kLengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
    const std::size_t n = rng() % 2 ? rng() % 40 : kLengths[rng() % std::size(kLengths)];
    std::string s(n, 'x');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    return s;
  }
};

std::string via_event(const Event& e) {
  std::string out = "prefix";  // both append to what `out` holds
  encode_event(e, out);
  return out;
}

}  // namespace

TEST_CASE("direct order_update records equal encode_event's", "[journal]") {
  Gen g;
  for (int i = 0; i < 4000; ++i) {
    Event e;
    e.sequence = g.u64();
    e.ts_event_ns = g.i64();
    e.runner = g.u32();
    auto& u = e.body.emplace<OrderUpdate>();
    model::Order& o = u.order;
    o.id = g.u64();
    o.instrument = g.u32();
    o.runner = g.u32();
    o.strategy = g.u32();
    o.side = static_cast<model::Side>(i % 2);
    o.type = static_cast<model::OrderType>(i % 5);
    o.tif = static_cast<model::TimeInForce>(i / 5 % 5);
    o.purpose = static_cast<model::OrderPurpose>(i / 25 % 9);
    o.status = static_cast<model::OrderStatus>(i / 3 % 7);
    o.qty = g.dbl();
    o.filled_qty = g.dbl();
    o.limit_price = g.dbl();
    o.stop_price = g.dbl();
    o.reduce_only = g.rng() % 2 == 0;
    o.tif_bars = static_cast<std::int32_t>(g.i64());
    o.submitted_ns = g.i64();
    o.submitted_bar = g.i64();
    o.active_from_bar = g.i64();
    o.tag = g.str();
    o.trail_amount = g.dbl();
    o.trail_pct = g.dbl();
    o.avg_fill_price = g.dbl();
    o.oco_group = g.u64();
    u.reason_code = g.str();
    u.message = g.str();
    std::string direct = "prefix";
    encode_order_update(e.sequence, e.ts_event_ns, e.runner, o, u.reason_code, u.message, direct);
    INFO("record " << i);
    REQUIRE(direct == via_event(e));
  }
}

TEST_CASE("direct fill records equal encode_event's", "[journal]") {
  Gen g;
  for (int i = 0; i < 4000; ++i) {
    Event e;
    e.sequence = g.u64();
    e.ts_event_ns = g.i64();
    e.runner = g.u32();
    model::Fill& f = e.body.emplace<FillEvent>().fill;
    f.order = g.u64();
    f.instrument = g.u32();
    f.runner = g.u32();
    f.strategy = g.u32();
    f.side = static_cast<model::Side>(i % 2);
    f.purpose = static_cast<model::OrderPurpose>(i / 2 % 9);
    f.qty = g.dbl();
    f.price = g.dbl();
    f.commission = g.dbl();
    f.ts_ns = g.i64();
    f.bar_index = g.i64();
    f.liquidity = static_cast<model::Liquidity>(i / 18 % 2);
    f.slippage = g.dbl();
    std::string direct = "prefix";
    encode_fill(e.sequence, e.ts_event_ns, e.runner, f, direct);
    INFO("record " << i);
    REQUIRE(direct == via_event(e));
  }
}

TEST_CASE("direct risk_decision records equal encode_event's", "[journal]") {
  Gen g;
  for (int i = 0; i < 2000; ++i) {
    Event e;
    e.sequence = g.u64();
    e.ts_event_ns = g.i64();
    e.runner = g.u32();
    auto& d = e.body.emplace<RiskDecision>();
    d.order = g.u64();
    d.strategy = g.u32();
    d.approved = i % 2 == 0;
    d.reason_code = g.str();
    d.message = g.str();
    std::string direct = "prefix";
    encode_risk_decision(e.sequence, e.ts_event_ns, e.runner, d.order, d.strategy, d.approved, d.reason_code,
                         d.message, direct);
    INFO("record " << i);
    REQUIRE(direct == via_event(e));
  }
}

TEST_CASE("direct transition records equal encode_event's", "[journal]") {
  Gen g;
  for (int i = 0; i < 2000; ++i) {
    Event e;
    e.sequence = g.u64();
    e.ts_event_ns = g.i64();
    e.runner = g.u32();
    auto& t = e.body.emplace<Transition>();
    t.from = static_cast<std::uint8_t>(g.u64());
    t.to = static_cast<std::uint8_t>(g.u64());
    t.trigger = g.str();
    t.reason = g.str();
    t.bar_ts_ns = g.i64();
    std::string direct = "prefix";
    encode_transition(e.sequence, e.ts_event_ns, e.runner, t.from, t.to, t.trigger, t.reason, t.bar_ts_ns, direct);
    INFO("record " << i);
    REQUIRE(direct == via_event(e));
  }
}
