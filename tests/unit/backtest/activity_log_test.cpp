// ActivityLog's recording (engine/backtest/activity.hpp): an order's steps
// beyond the two kept in its row, and the texts the log keeps itself (tags and
// rejection messages in its text blocks, codes interned) stay intact and in
// place however many rows follow, in copies of the log too.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/backtest/activity.hpp"

using namespace te;
using namespace te::backtest;

namespace {

model::Order order(model::OrderId id, std::string tag) {
  model::Order o;
  o.id = id;
  o.qty = 10;
  o.submitted_ns = 1000 * static_cast<std::int64_t>(id);
  o.tag = std::move(tag);
  o.status = model::OrderStatus::Accepted;
  return o;
}

}  // namespace

TEST_CASE("an order's steps past the two kept in its row are recorded in order", "[activity]") {
  ActivityLog log;
  model::Order o = order(1, "bracket stop");
  o.type = model::OrderType::Stop;
  o.submitted_ns = 3;
  log.order_event(6, o, "", nullptr, nullptr);  // accepted
  for (int i = 0; i < 4; ++i) {
    o.stop_price = 90 + i;
    log.order_event(10 + i, o, "trail", nullptr, nullptr);
  }
  model::Fill f;
  f.qty = 10;
  f.price = 93.5;
  f.ts_ns = 20;
  o.status = model::OrderStatus::Filled;
  o.filled_qty = 10;
  log.order_event(20, o, "", &f, nullptr);
  REQUIRE(log.orders.size() == 1);
  const OrderRecord& r = log.orders[0];
  REQUIRE(r.steps.size() == 6);
  std::vector<std::string> events;
  for (const OrderStep& s : r.steps) events.emplace_back(s.event);
  CHECK(events == std::vector<std::string>{"accepted", "amended", "amended", "amended", "amended", "filled"});
  CHECK(r.steps[0].ts_ns == 3);  // accepted: the order's submission time
  for (int i = 0; i < 4; ++i) {
    CHECK(r.steps[1 + static_cast<std::size_t>(i)].price == 90 + i);
    CHECK(r.steps[1 + static_cast<std::size_t>(i)].reason == "trail");
    CHECK(r.steps[1 + static_cast<std::size_t>(i)].ts_ns == 10 + i);
  }
  CHECK(r.steps.back().price == 93.5);
  CHECK(r.steps.back().ts_ns == 20);
  CHECK(r.closed_ns == 20);
  CHECK(r.tag == "bracket stop");

  OrderSteps steps = {{1, "a", 0, 0, ""}, {2, "b", 0, 0, ""}, {3, "c", 0, 0, ""}};
  const OrderSteps copy = steps;
  steps = {{4, "d", 0, 0, ""}};
  REQUIRE(copy.size() == 3);
  CHECK(copy[2].event == "c");
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].event == "d");
}

TEST_CASE("the log's own texts stay intact across its text blocks and in copies", "[activity]") {
  auto log = std::make_unique<ActivityLog>();
  const std::string huge(200 * 1024, 'x');  // longer than a text block
  std::vector<std::string> messages;
  const std::size_t n = 5000;  // ~60-byte messages: several 64 KiB blocks
  for (std::size_t i = 0; i < n; ++i) {
    const model::OrderId id = i + 1;
    // Tags repeat (two alternate, as entries and exits do) except every 100th.
    const std::string tag = i % 100 == 0 ? "tag " + std::to_string(i) : i % 2 ? "fast SMA crossed below slow SMA" : "golden cross";
    log->order_event(0, order(id, tag), "", nullptr, nullptr);
    model::Rejection rej;
    rej.order = id;
    rej.code = i % 3 ? "insufficient_cash" : "insufficient_margin";
    rej.set_text(i == n / 2 ? huge : "buy 10 at " + std::to_string(100 + i) + " costs more than the cash there is");
    messages.emplace_back(rej.text());
    model::Order o = order(id, tag);
    o.status = model::OrderStatus::Rejected;
    log->order_event(0, o, "", nullptr, &rej);
  }
  const ActivityLog copy = *log;
  log.reset();  // the copy shares the texts: its views must stay valid
  REQUIRE(copy.orders.size() == n);
  REQUIRE(copy.rejections.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string tag = i % 100 == 0 ? "tag " + std::to_string(i) : i % 2 ? "fast SMA crossed below slow SMA" : "golden cross";
    REQUIRE(copy.orders[i].tag == tag);
    REQUIRE(copy.orders[i].steps.size() == 2);
    REQUIRE(copy.orders[i].steps[1].reason == (i % 3 ? "insufficient_cash" : "insufficient_margin"));
    std::string scratch;
    REQUIRE(copy.rejections[i].text(scratch) == messages[i]);
    REQUIRE(copy.rejections[i].code == (i % 3 ? "insufficient_cash" : "insufficient_margin"));
    REQUIRE(copy.rejections[i].source == "exchange");
  }
  // Repeated tags are kept once.
  CHECK(copy.orders[1].tag.data() == copy.orders[3].tag.data());
  CHECK(copy.orders[2].tag.data() == copy.orders[4].tag.data());
}

TEST_CASE("rejection rows are built from their refusal: the interned code and the facts or a kept text", "[activity]") {
  ActivityLog log;
  model::Rejection cash;
  cash.code = "insufficient_cash";
  cash.ts_ns = 7;
  model::RefusalFacts f;
  f.kind = model::RefusalFacts::Kind::InsufficientCash;
  f.side = model::Side::Sell;
  f.v[0] = 3;
  f.v[1] = 12.5;
  cash.set_reason("", f);
  model::Rejection qty;
  qty.code = "invalid_quantity";
  qty.ts_ns = 8;
  qty.set_text("quantity 0 is not positive");
  const std::string_view c1 = log.intern(cash.code);
  log.intent_rejected(cash, c1);
  log.intent_rejected(qty, log.intern(qty.code));
  log.intent_rejected(cash, c1);
  model::Rejection with_order = qty;
  with_order.order = 5;  // an order's rejection comes through order_event
  log.intent_rejected(with_order, log.intern(with_order.code));
  REQUIRE(log.rejections.size() == 3);
  std::string scratch, expect;
  model::append_refusal_text(expect, f);
  for (std::size_t i : {0u, 2u}) {
    const RejectionRecord& x = log.rejections[i];
    CHECK(x.code == "insufficient_cash");
    CHECK(x.code.data() == c1.data());
    CHECK(x.source == "runner");
    CHECK(x.order == 0);
    CHECK(x.ts_ns == 7);
    CHECK(x.purpose == model::OrderPurpose::Entry);
    CHECK(x.side == model::Side::Buy);  // the runner does not say it
    CHECK(x.qty == 0);
    CHECK(x.facts.kind == model::RefusalFacts::Kind::InsufficientCash);
    CHECK(x.message.empty());
    CHECK(x.text(scratch) == expect);
  }
  const RejectionRecord& y = log.rejections[1];
  CHECK(y.code == "invalid_quantity");
  CHECK(y.ts_ns == 8);
  CHECK(y.facts.kind == model::RefusalFacts::Kind::None);
  CHECK(y.message == "quantity 0 is not positive");
  CHECK(y.text(scratch) == "quantity 0 is not positive");

  model::Order o = order(9, "");
  o.side = model::Side::Sell;
  o.purpose = model::OrderPurpose::Exit;
  o.status = model::OrderStatus::Rejected;
  model::Rejection ex = qty;
  ex.order = 9;
  log.order_event(30, o, "", nullptr, &ex);
  REQUIRE(log.rejections.size() == 4);
  const RejectionRecord& z = log.rejections[3];
  CHECK(z.source == "exchange");
  CHECK(z.code == "invalid_quantity");
  CHECK(z.order == 9);
  CHECK(z.side == model::Side::Sell);
  CHECK(z.purpose == model::OrderPurpose::Exit);
  CHECK(z.qty == o.remaining());
  CHECK(z.message == "quantity 0 is not positive");
}
