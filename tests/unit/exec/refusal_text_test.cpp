// A refused fill or entry keeps its numbers and builds its text only when it
// is read (model::RefusalFacts): the texts are the ones fmt's `{}` always
// gave, and a backtest that reads no transition reason never builds them
// until it writes its activity log.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <random>
#include <string>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/journal/event_sink.hpp"
#include "engine/model/refusal_text.hpp"
#include "engine/runner/journal_recorder.hpp"
#include "tests/support/flat_series.hpp"

using namespace te;
using Kind = model::RefusalFacts::Kind;

namespace {

std::string text_of(const model::RefusalFacts& f) {
  std::string s;
  model::append_refusal_text(s, f);
  return s;
}

backtest::BacktestResult run(const std::string& action, bool keep_transitions,
                             runner::RunnerObserver* observer = nullptr, const std::string& extra = "") {
  script::StrategySource s;
  s.path = "strategies/test.lua";
  s.code = "params = {}\n"
           "function detect_opportunity(bar, ctx, ind) return true end\n"
           "function filter_commitment(bar, ctx, ind) return " +
           action + " end\nfunction manage_position(bar, ctx, ind) end\n" + extra;
  s.sha256 = sha256_hex(s.code);
  backtest::BacktestConfig cfg;
  cfg.keep_transitions = keep_transitions;
  cfg.observer = observer;
  auto r = backtest::run_backtest(cfg, test::flat_series(8, 100, 1e9), s);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("refusal texts built from their numbers are fmt's texts", "[unit][exec][refusal]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> any(-1e7, 1e7);
  std::uniform_int_distribution<int> whole(1, 100000);
  for (int i = 0; i < 20000; ++i) {
    model::RefusalFacts f;
    f.side = i % 2 ? model::Side::Sell : model::Side::Buy;
    const double qty = i % 3 ? static_cast<double>(whole(rng)) : any(rng);
    const double price = i % 5 ? whole(rng) / 100.0 : any(rng);
    // Every number whole, in cents or anything, and the edges of fmt's notations.
    constexpr double kEdges[] = {0.0, -0.0, 1e15, 1e16, 123456789012345678.0, 1e-5, 0.0001, 0.01, 1e13, -0.5,
                                 HUGE_VAL, -HUGE_VAL, NAN, 5e-324, 1.7976931348623157e308};
    for (std::size_t k = 0; k < 6; ++k) {
      const int kind = static_cast<int>((i + k) % 4);
      f.v[k] = kind == 0   ? static_cast<double>(whole(rng))
               : kind == 1 ? whole(rng) / 100.0
               : kind == 2 ? any(rng)
                           : kEdges[static_cast<std::size_t>(i / 4 + k) % std::size(kEdges)];
    }
    f.v[0] = qty;
    f.v[1] = price;
    const std::string side = i % 2 ? "sell" : "buy";
    f.kind = Kind::InsufficientCash;
    REQUIRE(text_of(f) == fmt::format("{} {} at {} costs {} with commission, cash is {}", side, qty, price, f.v[2],
                                      f.v[3]));
    f.kind = Kind::InsufficientMargin;
    REQUIRE(text_of(f) == fmt::format("{} {} at {} needs margin: equity after would be {}, margin required {} "
                                      "(long {}, short {})",
                                      side, qty, price, f.v[2], f.v[3], f.v[4], f.v[5]));
    f.kind = Kind::BelowLot;
    f.v[2] = price;
    REQUIRE(text_of(f) == fmt::format("sized quantity is below one lot of {} (equity {}, price {})", qty, f.v[1],
                                      price));
    f.kind = Kind::NotPositive;
    REQUIRE(text_of(f) == fmt::format("sized quantity must be positive (equity {}, price {})", qty, price));
  }
  CHECK(text_of({}).empty());
}

TEST_CASE("a refused fill keeps its numbers until its text is read", "[unit][exec][refusal]") {
  // 2,000 shares at 100 cost more than the default 100,000 cash: the exchange
  // refuses the fill at every bar's open.
  const std::string want = "buy 2000 at 100 costs ";
  for (bool keep : {false, true}) {
    auto r = run("enter_long { qty = 2000 }", keep);
    REQUIRE(r.rejections.at("insufficient_cash") >= 3);
    REQUIRE(r.activity.rejections.size() == r.rejections.at("insufficient_cash"));
    std::string scratch;
    for (const auto& x : r.activity.rejections) {
      // Kept as numbers: no text was built for the log.
      CHECK(x.facts.kind == Kind::InsufficientCash);
      CHECK(x.message.empty());
      CHECK(std::string(x.text(scratch)).rfind(want, 0) == 0);
      CHECK(std::string(x.text(scratch)).find(" with commission, cash is 100000") != std::string::npos);
    }
    // The transition reason is built when the transitions are kept, left empty otherwise.
    std::size_t failed = 0;
    for (const auto& t : r.transitions) {
      if (t.event != runner::RunnerEvent::EntryFailed) continue;
      ++failed;
      CHECK(t.reason == "entry rejected (insufficient_cash): " + std::string(r.activity.rejections[0].text(scratch)));
    }
    CHECK(failed == (keep ? r.rejections.at("insufficient_cash") : 0));
  }
}

TEST_CASE("an entry that sizes to nothing keeps its numbers until its text is read", "[unit][exec][refusal]") {
  auto r = run("enter_long { fraction = 1e-9 }", true);
  REQUIRE(r.rejections.at("invalid_quantity") >= 3);
  std::string scratch;
  const auto& x = r.activity.rejections[0];
  CHECK(x.facts.kind == Kind::BelowLot);
  CHECK(std::string(x.text(scratch)) == "sized quantity is below one lot of 1 (equity 100000, price 100)");
  bool seen = false;
  for (const auto& t : r.transitions)
    if (t.event == runner::RunnerEvent::EntryFailed) {
      CHECK(t.reason == "entry not sent: sized quantity is below one lot of 1 (equity 100000, price 100)");
      seen = true;
    }
  CHECK(seen);
}

TEST_CASE("a recorded session's refusal texts are the ones the runner keeps", "[unit][exec][refusal][recorder]") {
  // The journal recorder hands a refusal's numbers to the writer, which
  // builds the order_update's message and the EntryFailed reason from them:
  // the same texts as the kept transitions' and the activity log's. With
  // on_order_rejected defined the runner reads the text itself before the
  // transition (the recorder then copies the built text).
  for (const std::string& action : {std::string("enter_long { qty = 2000 }"), std::string("enter_long { fraction = 1e-9 }")}) {
    for (const std::string& extra : {std::string(), std::string("function on_order_rejected(o, ctx) end\n")}) {
      INFO(action << " / " << extra);
      journal::MemoryEventSink sink;
      runner::RecorderOptions ro;
      ro.batch_events = 3;  // batches cut between an order event and its transition too
      runner::JournalRecorder rec(sink, ro);
      auto r = run(action, true, &rec, extra);
      REQUIRE(rec.flush().ok());
      std::vector<std::string> messages, reasons;
      for (const auto& e : sink.events()) {
        if (const auto* u = std::get_if<journal::OrderUpdate>(&e.body); u && !u->reason_code.empty())
          messages.push_back(u->message);
        if (const auto* t = std::get_if<journal::Transition>(&e.body); t && t->trigger == "entry_failed")
          reasons.push_back(t->reason);
      }
      std::vector<std::string> want_reasons;
      for (const auto& t : r.transitions)
        if (t.event == runner::RunnerEvent::EntryFailed) want_reasons.push_back(t.reason);
      REQUIRE(want_reasons.size() >= 3);
      CHECK(reasons == want_reasons);
      std::string scratch;
      std::vector<std::string> want_messages;
      for (const auto& x : r.activity.rejections)
        if (x.order != 0) want_messages.emplace_back(x.text(scratch));
      CHECK(messages == want_messages);
    }
  }
}

TEST_CASE("a recorder without kept transitions records the reasons a kept list has", "[unit][exec][refusal][recorder]") {
  // Without keep_transitions the recorder is served by SymbolRunner's lean
  // transition path (reason views and the refusal's numbers handed over
  // during the call); with it every transition goes through transition_any.
  // The recorded trigger and reason of every transition must not depend on
  // which path served them (a lean path that dropped the refusal recorded
  // "enter long" where the reason is "entry rejected (...): ...").
  const auto recorded = [](const journal::MemoryEventSink& sink) {
    std::vector<std::string> v;
    for (const auto& e : sink.events())
      if (const auto* t = std::get_if<journal::Transition>(&e.body)) v.push_back(t->trigger + "|" + t->reason);
    return v;
  };
  for (const std::string& action : {std::string("enter_long { qty = 2000 }"), std::string("enter_long { fraction = 1e-9 }"),
                                     std::string("enter_long { qty = 1 }")}) {
    for (const std::string& extra : {std::string(), std::string("function on_order_rejected(o, ctx) end\n")}) {
      INFO(action << " / " << extra);
      journal::MemoryEventSink kept_sink, lean_sink;
      runner::RecorderOptions ro;
      ro.batch_events = 3;
      runner::JournalRecorder kept_rec(kept_sink, ro), lean_rec(lean_sink, ro);
      run(action, true, &kept_rec, extra);
      run(action, false, &lean_rec, extra);
      REQUIRE(kept_rec.flush().ok());
      REQUIRE(lean_rec.flush().ok());
      const auto kept = recorded(kept_sink), lean = recorded(lean_sink);
      REQUIRE(kept.size() >= 2);
      bool refusal_text = false;
      for (const auto& s : kept) refusal_text |= s.find("rejected") != std::string::npos || s.find("not sent") != std::string::npos;
      if (action.find("qty = 1 ") == std::string::npos) CHECK(refusal_text);
      CHECK(kept == lean);
    }
  }
}
