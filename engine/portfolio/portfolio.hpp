#pragma once
// The account: cash, one position per instrument, realised/unrealised PnL and
// the round-trip trade log. Applies fills; marks positions to market. Shared by
// every runner of a run (one account), used identically in backtest, paper and
// live. Not thread-safe: owned by the run's event loop thread.
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/ids.hpp"
#include "engine/model/order.hpp"

namespace te::portfolio {

struct Position {
  double qty = 0;        // signed
  double avg_price = 0;  // average entry price of the open quantity
  double last_price = 0; // last mark
  double unrealized() const noexcept { return qty * (last_price - avg_price); }
  double market_value() const noexcept { return qty * last_price; }
};

// One round trip: from flat back to flat (a reversal closes one and opens
// another). Open trades have exit_ts_ns == 0.
struct Trade {
  std::int64_t id = 0;
  model::InstrumentId instrument = 0;
  model::RunnerId runner = 0;
  model::StrategyId strategy = 0;
  bool is_long = true;
  std::int64_t entry_ts_ns = 0;
  std::int64_t exit_ts_ns = 0;
  std::int64_t entry_bar = 0;
  std::int64_t exit_bar = 0;
  double entry_price = 0;     // quantity-weighted average of entry fills
  double exit_price = 0;      // quantity-weighted average of exit fills
  double quantity = 0;        // largest absolute size held during the trade
  double entry_qty = 0;       // total quantity bought (long) / sold (short) to enter
  double exit_qty = 0;        // total quantity closed so far
  double entry_commission = 0;
  double exit_commission = 0;
  double pnl_gross = 0;       // realised on the closed quantity
  double mae = 0;             // maximum adverse excursion, money (<= 0)
  double mfe = 0;             // maximum favourable excursion, money (>= 0)
  model::OrderPurpose exit_purpose = model::OrderPurpose::Exit;  // of the fill that closed it
  bool open() const noexcept { return exit_ts_ns == 0; }
  // "signal", "stop", "target", ... (empty while open)
  std::string_view exit_reason() const noexcept { return open() ? std::string_view() : model::to_string(exit_purpose); }
  double pnl_net() const noexcept { return pnl_gross - entry_commission - exit_commission; }
};

// A simple initial-margin model (docs/execution.md, "Account and margin"):
// positions need equity of long value / leverage + short value * short_margin.
// With the defaults (no leverage, shorts fully funded) a long costs its price
// in cash and a short needs its value in cash on top of the sale proceeds.
struct MarginPolicy {
  double short_margin = 1.0;  // fraction of short notional that equity must cover
  double leverage = 1.0;      // >= 1: longs need 1/leverage of their value
};

// Why a fill cannot be paid for.
struct FundsRefusal {
  const char* code = "";  // "insufficient_cash" (unlevered long) or "insufficient_margin"
  model::RefusalFacts facts;  // the numbers; the text is built by whoever reads it
  std::string text() const {
    std::string s;
    model::append_refusal_text(s, facts);
    return s;
  }
};

class Portfolio {
 public:
  explicit Portfolio(double initial_cash, MarginPolicy margin = {});

  // Checks whether a fill could be paid for: a fill that increases exposure
  // must leave equity >= the margin of every position (MarginPolicy) after its
  // cost and commission; fills that reduce exposure always pass.
  std::optional<FundsRefusal> check_fill(model::InstrumentId instrument, model::Side side, double qty, double price,
                                         double commission) const;

  // Applies a fill at bar `bar_index`; returns true when the fill closed a trade
  // (the fill's purpose becomes the trade's exit reason).
  bool apply(const model::Fill& fill, std::int64_t bar_index);
  // Marks the instrument's position at `price` (bar close) and updates the open
  // trade's MAE/MFE with the bar's low/high. Inline for the runner's per-bar
  // path: a flat position only records the price (docs/performance.md).
  void mark(model::InstrumentId instrument, double price, double bar_low, double bar_high) {
    if (instrument >= position_count_) return mark_new(instrument, price);
    if (instrument < first_) first_ = instrument;
    Position& p = positions_[instrument];
    const double before = p.last_price;
    p.last_price = price;
    if (p.qty == 0) {
      // A flat position shows 0 * price (unrealized, market value): the same
      // bits for any two positive prices, so only a price that is not
      // positive counts as a change (the sign of zero, NaN).
      if (!(price > 0 && before > 0)) {
        ++version_;
        ++book_version_;
      }
      return;
    }
    mark_open(p, instrument, bar_low, bar_high);
  }
  // The instrument's position is flat and marked at a positive finite price:
  // further marks at positive finite prices change nothing but the stored
  // price (no version moves; its value and P&L are +0 at any such price).
  // A runner that holds them back (SymbolRunner's idle step) relies on it.
  bool flat_marked(model::InstrumentId instrument) const noexcept {
    if (instrument >= position_count_ || instrument < first_) return false;
    const Position& p = positions_[instrument];
    return p.qty == 0 && p.last_price > 0 && p.last_price < std::numeric_limits<double>::infinity();
  }
  // Changes whenever a figure this account shows may have changed (cash,
  // position values, P&L, trades): fills and marks of open positions. The
  // runner rewrites its strategy's account view only when it moved.
  std::uint64_t version() const noexcept { return version_; }
  // Changes whenever anything but the mark of an open position changed: while
  // it holds, only the open positions' unrealized P&L and market values (and
  // so equity) can differ from what was last read. The runner then rewrites
  // only those fields of its views (SymbolRunner::write_frame).
  std::uint64_t book_version() const noexcept { return book_version_; }

  double initial_cash() const noexcept { return initial_cash_; }
  double cash() const noexcept { return cash_; }
  // Inline (with position() and open_trade()): read by the runner several
  // times per bar, across static libraries (docs/performance.md).
  double position_value() const noexcept {
    // One instrument (a single-symbol run): the loop's result without the
    // loop set-up the compiler generates for it (0 + x: the same bits).
    if (first_ < positions_.size() && first_ + 1 == positions_.size()) return 0.0 + positions_[first_].market_value();
    double v = 0;
    for (std::size_t i = first_; i < positions_.size(); ++i) v += positions_[i].market_value();
    return v;
  }
  double long_value() const noexcept;
  double short_value() const noexcept;  // absolute
  double equity() const noexcept { return cash_ + position_value(); }
  // Initial margin of the open positions (MarginPolicy) and what is left of equity above it.
  double margin_used() const noexcept;
  double buying_power() const noexcept { return equity() - margin_used(); }
  const MarginPolicy& margin_policy() const noexcept { return margin_; }
  // Instruments with a non-zero position.
  std::size_t open_positions() const noexcept;
  double commission_paid() const noexcept { return commission_; }
  double realized_pnl() const noexcept { return realized_; }
  std::size_t fills() const noexcept { return fills_; }
  std::size_t closed_trades() const noexcept { return closed_; }

  // The mark price position_value() follows alone: while book_version()
  // holds, position_value() has the bits of `0.0 + market_value()` of this
  // instrument's position at the price stored there (an entry marked later
  // without a book change is flat at a positive price: +0 in the sum). Null
  // when the account sums other positions. A session recorder keeps it and
  // reads one price per bar instead of the sums (JournalRecorder::on_bar).
  // Valid while book_version() holds (only a book change resizes positions_).
  const double* sole_mark(model::InstrumentId instrument) const noexcept {
    return first_ == instrument && first_ + 1 == positions_.size() ? &positions_[instrument].last_price : nullptr;
  }
  const Position& position(model::InstrumentId instrument) const noexcept {
    return instrument < positions_.size() ? positions_[instrument] : kFlat;
  }
  // The open trade of an instrument, if any.
  const Trade* open_trade(model::InstrumentId instrument) const noexcept {
    if (instrument >= open_trade_.size() || open_trade_[instrument] < 0) return nullptr;
    return &trades_[static_cast<std::size_t>(open_trade_[instrument])];
  }
  std::span<const Trade> trades() const noexcept { return trades_; }

 private:
  static inline const Position kFlat{};
  Position& pos(model::InstrumentId instrument);
  void mark_new(model::InstrumentId instrument, double price);
  void mark_open(Position& p, model::InstrumentId instrument, double bar_low, double bar_high);

  double initial_cash_;
  double cash_;
  MarginPolicy margin_;
  double commission_ = 0;
  double realized_ = 0;
  std::size_t fills_ = 0;
  std::size_t closed_ = 0;
  std::uint64_t version_ = 0;
  std::uint64_t book_version_ = 0;
  std::vector<Position> positions_;            // indexed by instrument id
  // positions_.size(), kept for mark(): the vector's size is a subtraction and
  // a division by sizeof(Position) per bar (docs/performance.md).
  std::size_t position_count_ = 0;
  // The lowest instrument ever marked or traded (SIZE_MAX: none). The entries
  // below it were never touched (0 * 0: +0.0 each), so the sums over positions
  // start here, with the same bits: an account of one runner among many in a
  // process (`run`: instrument ids are the process's) has one entry to add,
  // not one per runner before it.
  std::size_t first_ = static_cast<std::size_t>(-1);
  std::vector<std::int64_t> open_trade_;       // instrument -> index into trades_, -1 when flat
  std::vector<Trade> trades_;
};

}  // namespace te::portfolio
