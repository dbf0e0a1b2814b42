#pragma once
// Matches orders against bars: the execution engine of backtests and paper
// trading. Deterministic: orders are processed in id order, ids are sequential,
// nothing depends on the wall clock. The rules of every fill model, time in
// force, partial fills, latency and costs are in docs/execution.md.
// Not thread-safe: used from the run's event thread only.
#include <cmath>
#include <cstdint>
#include <limits>
#include <deque>
#include <memory>
#include <vector>

#include "engine/exec/execution_engine.hpp"
#include "engine/exec/models.hpp"
#include "engine/exec/order_fsm.hpp"

namespace te::exec {

struct SimulatedExchangeConfig {
  FillModel fill = FillModel::NextOpen;
  CommissionModel commission;
  SlippageModel slippage;
  // Largest share of a bar's volume the orders of one instrument may fill on
  // that bar (0 = no limit; bars without volume data are not limited). What
  // does not fill is carried to the next bar (IOC cancels it, FOK fills all or
  // nothing).
  double max_volume_fraction = 0;
  // Bars between sending an order, cancel or amendment and the exchange acting
  // on it (0 = the next bar, or the same bar for orders sent while a bar's open
  // is processed).
  std::int64_t latency_bars = 0;
  // Skip the full matching on bars that cannot act on any working order (only
  // trailing stops move). Same results either way; tests compare the two.
  bool quiet_bar_shortcut = true;
};

// What the simulated exchange keeps per instrument (SimulatedExchange::Venue;
// at namespace scope so a runner can hold a pointer to one with a forward
// declaration).
struct SimVenue {
  model::Instrument rules;
  double last_price = 0;  // latest price seen: the open of the bar being processed, then its close
  std::int64_t last_bar = -1;  // latest bar index seen (requests made between bars count from it)
  double volume_left = std::numeric_limits<double>::infinity();  // this bar's fill capacity
  std::uint32_t working = 0;
  // The quiet-bar shortcut (SimulatedExchange::quiet_bar()): when every
  // working order of the instrument is a plain resting stop, trailing stop or
  // limit, a bar whose range stays strictly between low_level and high_level
  // can only ratchet the trailing stops. Rebuilt by a scan after anything
  // changes the orders.
  bool quiet_known = false;
  bool quiet_ok = false;
  // A bar from which an order not yet active becomes so (none: the largest).
  std::int64_t quiet_recheck = std::numeric_limits<std::int64_t>::max();
  double low_level = 0;   // highest sell stop / buy limit: a low at or below it acts
  double high_level = 0;  // lowest buy stop / sell limit: a high at or above it acts
  std::vector<std::uint32_t> trailing;  // indices in orders_ of the trailing stops
};

class SimulatedExchange final : public ExecutionEngine {
 public:
  // `gate` and `listener` must outlive the exchange.
  SimulatedExchange(SimulatedExchangeConfig config, const FillGate& gate, ExecutionListener& listener);

  model::OrderId submit(model::Order order) override;
  bool cancel(model::OrderId id) override;
  bool amend(model::OrderId id, const Amendment& change) override;
  const model::Order* find(model::OrderId id) const override;
  void set_instrument(const model::Instrument& instrument) override;
  void on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) override;
  void on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) override;

  // End of data (backtests): executes the instrument's working market orders at
  // the close of `last_bar`, the last bar there is.
  void settle(model::InstrumentId instrument, const model::Bar& last_bar, std::int64_t bar_index);

  const SimulatedExchangeConfig& config() const noexcept { return config_; }
  std::size_t working_orders() const noexcept;
  std::size_t working_orders(model::InstrumentId instrument) const noexcept;

  using Venue = SimVenue;
  // The venue of `instrument`, or null before its first bar, order or
  // set_instrument(). Its address stays put for the exchange's life (venues
  // are allocated one by one), so a runner keeps it for its bar steps.
  Venue* venue_if(model::InstrumentId instrument) noexcept {
    return instrument < venue_count_ ? venues_[instrument].get() : nullptr;
  }
  // on_bar_open/on_bar_close for a venue already looked up (inline; the
  // instrument's entry points look it up and call these).
  void on_bar_open(Venue& v, model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  void on_bar_close(Venue& v, model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  // on_bar_close() of a venue with no order working: it only records the
  // close. False, with nothing done, when orders work there (on_bar_close()
  // then). No call and no exchange state but the venue's, so a caller's
  // quiet path keeps no registers for it.
  static bool idle_close(Venue& v, double close) noexcept {
    if (v.working != 0) return false;
    v.last_price = close;
    return true;
  }
  // What on_bar_open() records of every bar, orders or not: the bar's index,
  // its open as the last price and its fill capacity. A runner that held
  // these back for an idle venue (SymbolRunner's idle step) writes them with it.
  void record_open(Venue& v, const model::Bar& bar, std::int64_t bar_index) const noexcept {
    v.last_bar = bar_index;
    v.last_price = bar.open;
    v.volume_left = config_.max_volume_fraction > 0 && std::isfinite(bar.volume) && bar.volume >= 0
                        ? config_.max_volume_fraction * bar.volume
                        : std::numeric_limits<double>::infinity();
  }
  // No order works at `v` and no cancel or amendment waits anywhere: a bar's
  // open and close there only record the bar (record_open, idle_close).
  // Stays so until an order is submitted (to any venue: a request needs one).
  bool idle(const Venue& v) const noexcept { return v.working == 0 && requests_.empty(); }

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  // An order plus what only the exchange needs to know about it.
  struct Working {
    model::Order order;
    std::int64_t open_from = 0;      // first bar whose open may execute it
    std::int64_t intrabar_from = 0;  // first bar on which its price is watched inside the bar
    std::int64_t close_from = 0;     // first bar whose close may execute it (close-phase orders)
    std::int64_t expire_bar = kNever;  // GoodForBars: expires at the open of this bar
    std::int64_t day_end_ns = 0;       // Day: expires at the first bar at or after this time
    double anchor = std::numeric_limits<double>::quiet_NaN();  // trailing: best price seen
    double charged = 0;       // commission charged so far (per-order minimums and fees)
    std::int64_t tried_bar = -1;  // ohlc walk: tried this bar without filling (no volume, FOK)
    std::int64_t trailed_bar = -1;  // trailing: already ratcheted for this bar (it cannot fill on it)
    bool at_close = false;    // executes in the close phase (Close market orders, BidAsk)
    bool triggered = false;   // stop triggered: the remainder is a market (Stop) or limit (StopLimit) order
  };
  // What the working orders of the instrument being processed need this bar
  // (gathered by the first pass, extended by orders sent during the bar), so the
  // later passes are skipped when they have nothing to do.
  struct BarNeeds {
    bool stops = false;           // a stop the bar's range reaches
    bool limits = false;          // a limit the bar's range reaches
    bool trailing = false;        // trailing stops to ratchet
    bool trailing_reach = false;  // ... one of which the bar could reach after ratcheting (ohlc)
    bool first_chance = false;    // IOC/FOK
  };
  struct Request {
    std::int64_t effective_bar = 0;
    model::OrderId id = 0;
    model::InstrumentId instrument = 0;
    bool is_cancel = true;
    Amendment change;
  };
  enum class Phase : std::uint8_t { Idle, Open, Close };

  Venue& venue(model::InstrumentId id);
  // on_bar_open/on_bar_close of an instrument without a venue yet.
  [[gnu::noinline]] void first_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  [[gnu::noinline]] void first_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  // The matching parts of on_bar_open/on_bar_close, for bars with orders (kept
  // out of line so a bar without orders costs a few instructions).
  [[gnu::noinline]] void open_phase(Venue& v, model::InstrumentId instrument, const model::Bar& bar,
                                    std::int64_t bar_index);
  [[gnu::noinline]] void close_phase(Venue& v, model::InstrumentId instrument, const model::Bar& bar,
                                     std::int64_t bar_index);
  Working* find_working(model::OrderId id);
  std::size_t index_of(model::OrderId id) const;
  void accept(Working w);
  void finish(std::size_t i, OrderEvent event, const char* code);
  void reject_at(std::size_t i, const char* code, std::string_view message, const model::RefusalFacts& facts,
                 std::int64_t ts_ns, std::int64_t bar_index);
  bool apply_amend(std::size_t i, const Amendment& change);
  void apply_requests(model::InstrumentId instrument, std::int64_t bar_index);
  // Fills what it can of order i at `price` (plus slippage for takers); false when nothing filled.
  bool execute(std::size_t i, double price, model::Liquidity liquidity, const model::Bar& bar, std::int64_t bar_index);
  void reduce_siblings(model::OrderId id, model::OrderId group, double filled);
  void retrail(Working& w, double price);
  void note_needs(const Working& w) noexcept;
  void note_reach(Working& w, const model::Bar& bar, std::int64_t bar_index) noexcept;
  void ratchet_all(model::InstrumentId instrument, std::int64_t bar_index, double high, double low);
  void activate(Working& w, const model::Bar& bar, std::int64_t bar_index, bool eligible);
  void forget_quiet(model::InstrumentId instrument) noexcept {
    if (instrument < venues_.size()) venues_[instrument]->quiet_known = false;
  }
  void scan_quiet(Venue& v, model::InstrumentId instrument, std::int64_t bar_index);
  bool quiet_bar(Venue& v, model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  void match_at_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  void match_range(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  void match_path(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  bool walk(model::InstrumentId instrument, double from, double to, const model::Bar& bar, std::int64_t bar_index);
  void match_quote(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index);
  void end_first_chance(model::InstrumentId instrument, std::int64_t bar_index, bool close_phase);
  void compact();
  // The copy of an order handed to the listener, which may submit (and so
  // move orders_) or fill further orders before it returns: one copy per
  // nesting depth, reused, so its tag keeps its capacity (no allocation per
  // report once the first orders went through).
  class Reported {
   public:
    Reported(SimulatedExchange& x, const model::Order& o);
    ~Reported() { --x_.reported_depth_; }
    Reported(const Reported&) = delete;
    Reported& operator=(const Reported&) = delete;
    const model::Order& order() const noexcept { return *copy_; }

   private:
    SimulatedExchange& x_;
    const model::Order* copy_;
  };
  double trail_distance(const model::Order& o, double anchor) const noexcept;
  double tick(model::InstrumentId instrument) const noexcept;

  SimulatedExchangeConfig config_;
  const FillGate& gate_;
  ExecutionListener& listener_;
  model::OrderId next_id_ = 1;
  Phase phase_ = Phase::Idle;
  std::int64_t phase_bar_ = -1;
  BarNeeds needs_;
  double phase_price_ = 0;  // where the price is inside the bar being processed
  bool dirty_ = false;      // terminal orders wait in orders_ for compact()
  std::vector<Working> orders_;  // ascending id
  // By instrument id; one allocation each, so a Venue's address stays put as
  // venues are added (venue_if()).
  std::vector<std::unique_ptr<Venue>> venues_;
  std::size_t venue_count_ = 0;  // venues_.size(), kept by venue()
  std::vector<Request> requests_;  // cancels/amendments waiting out the latency
  std::deque<model::Order> reported_;  // Reported's copies by depth (a deque: they stay put as it grows)
  std::size_t reported_depth_ = 0;
  model::Rejection rejection_;  // reject_at's, reused (see there)
  const char* rejection_code_ = nullptr;  // the literal rejection_.code was copied from
  bool rejecting_ = false;      // rejection_ is being reported
};

// A bar's open and close, inline: on a venue with nothing working (most bars)
// they only record the bar, which a caller holding the exchange as a
// SimulatedExchange (the runner's quiet step) then does without a call.
[[gnu::always_inline]] inline void SimulatedExchange::on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  if (instrument >= venue_count_) return first_bar_open(instrument, bar, bar_index);
  on_bar_open(*venues_[instrument], instrument, bar, bar_index);
}

[[gnu::always_inline]] inline void SimulatedExchange::on_bar_open(Venue& v, model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  record_open(v, bar, bar_index);
  if (idle(v)) return;  // most bars: kept free of the matching's frame
  open_phase(v, instrument, bar, bar_index);
}

[[gnu::always_inline]] inline void SimulatedExchange::on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  if (instrument >= venue_count_) return first_bar_close(instrument, bar, bar_index);
  on_bar_close(*venues_[instrument], instrument, bar, bar_index);
}

[[gnu::always_inline]] inline void SimulatedExchange::on_bar_close(Venue& v, model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  // (quiet orders never execute at the close)
  if (v.working > 0 && (config_.fill == FillModel::Close || config_.fill == FillModel::BidAsk) &&
      !(config_.quiet_bar_shortcut && v.quiet_known && v.quiet_ok))
    close_phase(v, instrument, bar, bar_index);
  v.last_price = bar.close;
}

}  // namespace te::exec
