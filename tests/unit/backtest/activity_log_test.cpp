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
