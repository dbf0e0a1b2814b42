#pragma once
// What happened to a backtest's orders and why: every order with its
// lifecycle, every rejection with its reason and source, the risk engine's
// non-trivial decisions (denials, scaled sizes), StormGuard and kill-switch
// events, and the strategy's callback errors. Collected from the runner's
// observer hooks (engine/runner/symbol_runner.hpp, RunnerObserver) and shown in
// report.json ("activity") and report.html ("Orders, risk and faults").
//
// Bounded: at most kMaxActivityRows rows per list are kept; the rest are
// counted (`*_dropped`), so a pathological strategy cannot exhaust memory.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backtest/chunked_rows.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/model/order.hpp"
#include "engine/risk/risk_engine.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::backtest {

inline constexpr std::size_t kMaxActivityRows = 100000;
// Steps kept per order: the first ones and always the final one (an order
// amended every bar for a year would otherwise grow without bound).
inline constexpr std::size_t kMaxOrderSteps = 64;

// One step of an order's life: accepted, amended, partially_filled, filled,
// cancelled, expired, rejected.
struct OrderStep {
  std::int64_t ts_ns = 0;
  std::string_view event;  // a literal
  double qty = 0;    // fills: the fill's quantity; others: the order's remaining quantity
  double price = 0;  // fills: the fill price; amendments: the new stop/limit; else 0
  // cancel/expiry/rejection code ("oco", "cancel_requested", "insufficient_cash", ...):
  // text kept once by the log (ActivityLog::intern), or a literal.
  std::string_view reason;
};

// An order's steps: the first two (most orders have no more: accepted, then
// filled or rejected) kept in the row itself, the rest in a vector. A vector
// alone was a heap block per order (28,000 per 1M bars of sma_cross).
class OrderSteps {
 public:
  OrderSteps() = default;
  OrderSteps(std::initializer_list<OrderStep> steps) { *this = steps; }
  OrderSteps& operator=(std::initializer_list<OrderStep> steps) {
    more_.clear();
    n_ = 0;
    for (const OrderStep& s : steps) push_back(s);
    return *this;
  }
  void push_back(const OrderStep& s) {
    if (n_ < kInline) first_[n_] = s;
    else more_.push_back(s);
    ++n_;
  }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  const OrderStep& operator[](std::size_t i) const noexcept { return i < kInline ? first_[i] : more_[i - kInline]; }
  OrderStep& operator[](std::size_t i) noexcept { return i < kInline ? first_[i] : more_[i - kInline]; }
  const OrderStep& back() const noexcept { return (*this)[n_ - 1]; }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = OrderStep;
    using difference_type = std::ptrdiff_t;
    using pointer = const OrderStep*;
    using reference = const OrderStep&;
    const_iterator() = default;
    const_iterator(const OrderSteps* s, std::size_t i) : s_(s), i_(i) {}
    reference operator*() const { return (*s_)[i_]; }
    pointer operator->() const { return &(*s_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const noexcept { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const noexcept { return i_ != o.i_; }

   private:
    const OrderSteps* s_ = nullptr;
    std::size_t i_ = 0;
  };
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, n_}; }

 private:
  static constexpr std::size_t kInline = 2;
  std::array<OrderStep, kInline> first_{};
  std::vector<OrderStep> more_;
  std::size_t n_ = 0;
};

struct OrderRecord {
  model::OrderId id = 0;
  model::Side side = model::Side::Buy;
  model::OrderType type = model::OrderType::Market;
  model::OrderPurpose purpose = model::OrderPurpose::Entry;
  double qty = 0;
  double limit_price = 0;
  double stop_price = 0;
  std::int64_t submitted_ns = 0;
  std::string_view tag;  // kept by the log (ActivityLog::keep), or a literal
  model::OrderStatus status = model::OrderStatus::Submitted;
  double filled_qty = 0;
  double avg_fill_price = 0;
  double commission = 0;
  std::int64_t closed_ns = 0;  // when it reached a terminal status (0: still working at the end)
  std::string_view reason;     // the terminal event's reason code (empty for fills; interned)
  OrderSteps steps;
  std::size_t steps_dropped = 0;  // beyond kMaxOrderSteps (counted, not kept)
};

// A refused order or intent. source: "exchange" (the simulated venue refused
// an order), "runner" (an intent that never became an order, e.g. no size) or
// "risk" (a pre-trade check denied it).
struct RejectionRecord {
  std::int64_t ts_ns = 0;
  model::OrderId order = 0;  // 0: never became an order
  std::string_view source;   // a literal
  std::string_view code;     // interned (ActivityLog::intern) or a literal
  std::string_view message;  // kept by the log (ActivityLog::keep), or a literal
  model::Side side = model::Side::Buy;
  model::OrderPurpose purpose = model::OrderPurpose::Entry;
  double qty = 0;
  // Or the message's numbers (kind != None): formatted when the log is
  // written, not per refusal (a spent account is refused every bar).
  model::RefusalFacts facts = {};

  // The message: `message`, or `facts` formatted into `scratch`.
  std::string_view text(std::string& scratch) const {
    if (facts.kind == model::RefusalFacts::Kind::None) return message;
    scratch.clear();
    model::append_refusal_text(scratch, facts);
    return scratch;
  }
};

// kind: "denied" or "scaled" (risk decisions), "stormguard", "kill_switch".
struct RiskEventRecord {
  std::int64_t ts_ns = 0;
  std::string kind;
  std::string code;     // decision code; StormGuard event; "engaged"/"released"
  std::string state;    // StormGuard state after the event (decisions: the effective state)
  std::string message;
  double requested_qty = 0;  // decisions only
  double approved_qty = 0;
};

struct StrategyErrorRecord {
  std::int64_t ts_ns = 0;
  std::string callback;
  std::string message;
  int consecutive = 0;
  bool fatal = false;  // the error that faulted the runner
};

struct ActivityLog {
  // Chunked, not vectors: appending never moves rows (see chunked_rows.hpp).
  ChunkedRows<OrderRecord> orders;  // in submission order
  ChunkedRows<RejectionRecord> rejections;
  std::vector<RiskEventRecord> risk_events;
  std::vector<StrategyErrorRecord> strategy_errors;
  std::size_t orders_dropped = 0, rejections_dropped = 0, risk_events_dropped = 0, strategy_errors_dropped = 0;
  std::size_t risk_approved = 0;  // decisions approved unchanged (counted, not listed)

  // The reason and rejection codes of the rows: a handful of distinct texts
  // repeated on every row, kept once here (a long run refuses tens of
  // thousands of entries, each "insufficient_cash" was three heap strings).
  // Copies of the log share them, so their views stay valid.
  std::string_view intern(std::string_view text);
  // Any other text of a row (order tags, rejection messages), copied into the
  // log's text blocks: no heap block per row (a refused entry's message was
  // one, an exit's tag another). When `repeats` (tags: a strategy reuses a few),
  // a text equal to one of the last few kept that way is not copied again;
  // messages (numbers in them) are copied without looking. Shared by copies
  // of the log, like intern's texts.
  std::string_view keep(std::string_view text, bool repeats);

  // Observer entry points (the backtest's recorder forwards to these).
  void order_event(std::int64_t now_ns, const model::Order& o, std::string_view reason, const model::Fill* fill,
                   const model::Rejection* rejection);
  // Every on_rejected: only intents that never became an order (id 0) are
  // recorded here; the runner does not say their side and size. `code` is
  // intern(r.code), which the caller keeps with its counter of the code, so a
  // refusal compares its code once (a spent account is refused every bar).
  // Inline, with a refusal kept as numbers written here: a spent account is
  // refused on every entry (ema_cross: ~60,000 per 1M bars), and the call
  // chain to add_rejection (its frame, eight arguments) was ≈ 35 of its ≈ 95
  // instructions; a refusal with a text goes to add_rejection as before.
  void intent_rejected(const model::Rejection& r, std::string_view code) {
    // Exchange rejections arrive with their order through order_event().
    if (r.order != 0) return;
    if (r.pending().kind != model::RefusalFacts::Kind::None && rejections.size() < kMaxActivityRows) [[likely]] {
      rejections.emplace_back(r.ts_ns, r.order, std::string_view("runner"), code, std::string_view(),
                              model::Side::Buy, model::OrderPurpose::Entry, 0.0, r.pending());
      return;
    }
    add_rejection(r, code, "runner", model::Side::Buy, model::OrderPurpose::Entry, 0);
  }
  void risk_decision(const risk::Decision& d);
  void stormguard(const risk::StormGuardChange& c);
  void kill_switch(const risk::KillSwitchEvent& e);
  void strategy_error(std::int64_t now_ns, const script::StrategyError& e, int consecutive, bool fatal);

 private:
  OrderRecord* find(model::OrderId id);
  // `code`: intern(r.code); `source`: a literal.
  void add_rejection(const model::Rejection& r, std::string_view code, std::string_view source, model::Side side,
                     model::OrderPurpose purpose, double qty);
  std::vector<std::size_t> index_;  // order id -> position in orders + 1 (0: unknown)
  std::shared_ptr<std::set<std::string, std::less<>>> texts_ = std::make_shared<std::set<std::string, std::less<>>>();
  std::string_view last_interned_;  // intern's last answer (the same code comes again and again)
  struct TextBlocks {
    std::vector<std::unique_ptr<char[]>> blocks;
    std::size_t left = 0;  // free bytes at the end of the last block
    char* next = nullptr;
    std::size_t block = 0;  // size of the last block (they grow)
  };
  std::shared_ptr<TextBlocks> kept_ = std::make_shared<TextBlocks>();
  static constexpr std::size_t kRecentKept = 4;
  std::array<std::string_view, kRecentKept> recent_kept_{};
  std::size_t recent_next_ = 0;
};

// The log as the "activity" object of report.json and of the HTML report's
// data (one writer: the two cannot disagree). Times are ISO-8601 (dates only
// when `date_only`); numbers that do not apply are null.
void write_activity_json(JsonWriter& j, const ActivityLog& a, bool date_only);

}  // namespace te::backtest
