#pragma once
// The per-strategy indicator engine: every indicator a strategy asked for,
// updated once per base bar in creation order, with outputs in one contiguous
// array of slots and a history ring per slot (see ind_view.h for the layout the
// Lua prelude reads).
//
// Not thread-safe: one IndicatorSet per strategy runner, used only on the
// runner's thread.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/model/bar.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/ta/bar_aggregator.hpp"
#include "engine/ta/ind_view.h"
#include "engine/ta/indicator.hpp"
#include "engine/ta/series_cache.hpp"
#include "engine/ta/spec.hpp"

namespace te::ta {

class IndicatorSet {
 public:
  static constexpr std::size_t kDefaultMaxIndicators = 256;
  static constexpr std::size_t kDefaultHistoryLength = 256;

  // history_length is rounded up to a power of two (1 .. 2^20). base_interval_ns
  // is the spacing of the base bars when known (0 = unknown): it lets a
  // higher-timeframe bar close on its last base bar instead of on the next
  // bucket's first one (see bar_aggregator.hpp).
  // Memory: max_indicators * 3 slots * the ring's length (history_length plus
  // kAheadBlock, rounded up to a power of two) doubles are reserved as address
  // space; only the rows of slots in use are touched.
  explicit IndicatorSet(std::size_t max_indicators = kDefaultMaxIndicators,
                        std::size_t history_length = kDefaultHistoryLength, std::int64_t base_interval_ns = 0);
  IndicatorSet(const IndicatorSet&) = delete;
  IndicatorSet& operator=(const IndicatorSet&) = delete;

  // Finds the indicator with the spec's canonical key or creates it. A new one is
  // warmed by feeding it the `seen_count` bars already seen (seen_bar(0) oldest),
  // and its history is filled for those bars, so asking late gives the same
  // values (and offsets) as asking early. Returns the index of its first output
  // slot; the outputs occupy consecutive slots.
  // Errors: limit when the set already holds max_indicators; invalid_argument
  // for a spec that did not come from make_spec/parse_spec.
  Result<int> add(const IndicatorSpec& spec, std::size_t seen_count = 0,
                  const std::function<model::Bar(std::size_t)>& seen_bar = {});

  // The crossover of two existing slots (the strategy API's
  // ind.crossover(a, b), same rule as backtrader's CrossOver), kept per bar so
  // that reading it is one load instead of a walk back through the history.
  // Two slots: [0] +1 when a crossed above b on this bar, -1 below, 0 otherwise,
  // NaN while either is NaN; [1] how many bars back the difference it compared
  // against lies (a +-1 read k bars ago is a cross only while k + [1] <=
  // history_length - 1, the look-back the history allows). The look-back for
  // the side before: the last bar whose difference a - b was not exactly 0; a NaN
  // there, or none within history_length - 1 bars, gives 0. Warmed over the
  // history ring, which holds everything a read can reach. Errors:
  // invalid_argument for a slot not in use, limit when the slots are used up.
  Result<int> add_crossover(int slot_a, int slot_b);

  // Updates every indicator with one base bar and records the outputs.
  // Its common case is inline (below), for the runner's per-bar path.
  void update(const model::Bar& bar) noexcept;

  // The bars the next updates bring are known in advance (a backtest's
  // preloaded series): the next update's bar is bar `next` of `columns`, the
  // one after it bar next + 1, and so on; bars before *readable may be read
  // (`readable` is the caller's count, re-read whenever a block runs out; it
  // must stay valid while updates come). Windowed base-timeframe indicators
  // (computed_ahead in the .cpp) then run kAheadBlock bars at a time (one
  // update_columns loop each, no virtual call per bar); recursive ones (but EMA, MACD, RSI, ATR, ADX) stay
  // per bar. Each update copies its bar's values. Same values: the kernels
  // see the same bars in the same order (tests/unit/ta/indicator_ahead_test).
  // Every update checks that its bar is the expected column bar.
  static constexpr std::size_t kAheadBlock = 64;
  void set_ahead(const model::BarSeries::Columns& columns, std::size_t next, const std::size_t* readable) noexcept;

  // Value of `slot` `offset` bars ago (0 = after the latest update); NaN when
  // out of range or not available.
  double value(int slot, int offset = 0) const noexcept;

  // Slot of an existing indicator by canonical key, or -1.
  int find(const std::string& key) const noexcept;

  // Clears every indicator and the history (the set keeps its indicators and
  // timeframe feeds).
  void reset() noexcept;

  // Closed higher-timeframe bars for indicators computed outside the set
  // (indicators written in Lua, on ind.tf(...)): finds or opens the feed of
  // `tf`, replaying the `seen_count` bars already seen through the same
  // BarAggregator the native indicators use, so a feed bar exists only once it
  // has closed. Returns the feed's id (>= 0).
  int open_feed(const Timeframe& tf, std::size_t seen_count = 0,
                const std::function<model::Bar(std::size_t)>& seen_bar = {});
  // Bars of feed `id` closed by the end of update number `update` (0-based,
  // the bars replayed by open_feed included): a reader at update u may use
  // bars 0 .. feed_closed(id, u) - 1 and nothing later.
  std::size_t feed_closed(int id, std::uint64_t update) const noexcept;
  // Closed bar `i` of feed `id` (0 = oldest), or null when there is none.
  const model::Bar* feed_bar(int id, std::size_t i) const noexcept;

  // Indicators added from now on read their values from `cache` (shared,
  // computed once over the cache's series) instead of computing them, when
  // this set is fed exactly that series from its first bar (checked at add():
  // otherwise they are computed as usual). The cache must outlive the set.
  void set_series_cache(SeriesCache* cache) noexcept { cache_ = cache; }
  std::size_t cached_indicators() const noexcept;

  const te_ind_view* view() const noexcept { return &view_; }
  std::size_t indicator_count() const noexcept { return entries_.size(); }
  std::size_t slot_count() const noexcept { return view_.slot_count; }
  std::uint64_t updates() const noexcept { return updates_; }
  std::size_t history_length() const noexcept { return history_len_; }
  // Crossovers computed in the block-ahead pass (set_ahead), not per bar.
  std::size_t crossovers_ahead() const noexcept { return crosses_.size() - (ahead_on_ ? per_bar_crosses_.size() : crosses_.size()); }

 private:
  struct Entry {
    std::unique_ptr<Indicator> indicator;
    int first_slot;
    int outputs;
    int group;  // index into groups_, or -1 for base-timeframe indicators
    // Shared precomputed outputs (then `indicator` is null): the values after
    // series bar `next` are read by the next update.
    std::shared_ptr<const CachedSeries> cached;
    std::size_t next = 0;
  };
  // One ind.crossover pair (add_crossover). `last_d` is the most recent
  // difference that was not exactly 0 (NaN counts: it stops the look-back, and
  // NaN is also the start value), seen at update number `last_at`.
  // `ahead`: its first row in ahead_values_ when both inputs are computed
  // ahead (then so is the crossover: cross_block), with `ra`, `rb` the rows of
  // a and b; else kNotAhead (stepped per bar in update()).
  struct Cross {
    int a, b, slot;
    double last_d = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t last_at = 0;
    std::size_t ahead = static_cast<std::size_t>(-1);
    std::size_t ra = 0, rb = 0;
  };
  // Writes the crossover's two slots for update number `at` from the values
  // `va`, `vb` of its inputs at that update.
  void step_cross(Cross& c, double va, double vb, std::uint64_t at, double* out) const noexcept;
  // Crossover `c`'s values for block positions [j, j + n) from its inputs'
  // rows, the first of them update number updates_ (step_cross's values).
  void cross_block(Cross& c, std::size_t j, std::size_t n) noexcept;
  // Makes crossover `c` one computed ahead when both its inputs are (rows
  // appended; the caller fills them).
  void place_cross_ahead(Cross& c);
  // Row of ahead_values_ that holds `slot`, or kNotAhead.
  std::size_t ahead_row_of(int slot) const noexcept;
  // update() but for its common case (out of line: that case is inline in the caller).
  [[gnu::noinline]] void update_general(const model::Bar& bar, std::size_t head) noexcept;
  // ring_slots_ and per_bar_crosses_ from the current rows (after any add).
  void rebuild_per_bar_lists();

  // A base-timeframe indicator computed here (not cached, not on a higher
  // timeframe): the common case, updated from this flat list without the
  // per-entry checks (docs/performance.md, "Profile-driven changes").
  // `indicator` is owned by its Entry; `out` is its first slot in current_.
  // `ahead`: its first row in ahead_values_ (one row of kAheadBlock values
  // per output), when set_ahead() was called.
  // `ring`: its first slot's history row (per-bar indicators over preloaded
  // bars write their history entry themselves: Indicator::update_keep).
  struct Plain {
    Indicator* indicator;
    double* out;
    int outputs;
    std::size_t ahead;
    double* ring;
  };
  // Computes the plain indicators' values for the block from column bar `from`.
  void fill_ahead(std::size_t from) noexcept;
  // Computes plain indicator `p`'s values for the rest of the current block.
  void fill_ahead_rest(const Plain& p) noexcept;
  // Writes block positions [j, j + n) of ahead rows [r0, r1) of ahead_values_
  // into their history rows, position j being update number u (a block across
  // the ring's end; one that fits is computed there directly): the bars to
  // come land ahead of head, beyond any read (the ring's length: ind_view.h),
  // so an update in the block only moves head (the view's current values are
  // the ring's there).
  void ring_block(std::size_t r0, std::size_t r1, std::size_t j, std::size_t n, std::uint64_t u) noexcept;
  // The rest of update(): timeframe groups, feeds, cached and higher-timeframe
  // entries (only called when there is one).
  void update_special(const model::Bar& bar) noexcept;

  struct Group {
    BarAggregator aggregator;
    int closed_now = 0;  // bars released by the current update
  };

  struct Feed {
    BarAggregator aggregator;
    std::vector<model::Bar> bars;            // closed, oldest first
    std::vector<std::uint64_t> closed_at;    // update number at which bars[i] closed
  };

  // Appends the bars `bar` closes to every feed (called from update(); only
  // running out of memory can throw, which ends the process as any allocation
  // failure on the bar path does).
  void push_feeds(const model::Bar& bar);
  int group_for(const Timeframe& tf, std::size_t seen_count, const std::function<model::Bar(std::size_t)>& seen_bar);
  double* row(int slot) noexcept { return history_.get() + static_cast<std::size_t>(slot) * ring_len_; }
  const double* row(int slot) const noexcept { return history_.get() + static_cast<std::size_t>(slot) * ring_len_; }

  std::size_t max_indicators_;
  std::size_t history_len_;  // the history kept (a read reaches k <= mask_)
  std::size_t mask_;
  // The ring: history_len_ plus a block ahead, rounded up to a power of two
  // (the stride of history_ and the mask of its positions).
  std::size_t ring_len_;
  std::size_t ring_mask_;
  std::int64_t base_interval_ns_;
  std::size_t slot_capacity_;
  // The newest values as update_general last wrote them (its per-bar steps
  // and crossovers read them); the view's, and value()'s, are the ring's at
  // head, which every update writes.
  std::unique_ptr<double[]> current_;
  std::unique_ptr<double[]> history_;
  std::vector<Entry> entries_;
  std::vector<Plain> plain_;  // the entries_ that are Plain, in creation order
  // With set_ahead: the plain_ not computed ahead, in creation order (the
  // update loop then skips the others without looking at them).
  std::vector<Plain> per_bar_;
  bool special_ = false;      // any group, feed, cached or higher-timeframe entry
  // With set_ahead: any of per_bar_, special_, per_bar_crosses_, ring_slots_
  // (one test per bar instead of four when everything is computed ahead).
  bool per_bar_work_ = false;
  std::vector<Group> groups_;
  std::vector<Feed> feeds_;
  std::vector<Cross> crosses_;  // updated after entries_, in creation order
  std::map<std::string, int> by_key_;  // canonical key -> first slot
  std::uint64_t updates_ = 0;
  te_ind_view view_{};
  SeriesCache* cache_ = nullptr;
  // Block-ahead state (set_ahead): the block holds the values of column bars
  // [ahead_begin_, ahead_end_); ahead_next_ is the column bar of the next update.
  bool ahead_on_ = false;
  model::BarSeries::Columns ahead_columns_{};
  const std::size_t* ahead_readable_ = nullptr;
  std::size_t ahead_begin_ = 0, ahead_end_ = 0, ahead_next_ = 0;
  std::vector<double> ahead_values_;
  // Block row r goes to ahead_out_[r].ring (its history row) when the block
  // is computed (in the ring itself, or from ahead_values_ by ring_block),
  // and to *ahead_out_[r].cur (its slot in current_) at the updates that take
  // update_general (the per-bar steps read current_; the all-ahead update()
  // leaves it behind).
  struct AheadRow {
    double* cur;
    double* ring;
  };
  std::vector<AheadRow> ahead_out_;
  // Whether the current block's rows are their history rows' entries
  // (block_pos_ the ring position of its first bar): a block that does not
  // reach past the ring's end is computed straight into the ring, with no
  // copy (ring_block); one that does is computed into ahead_values_ and
  // copied in two pieces. block_row()/block_stride() give where row r is.
  bool block_in_ring_ = false;
  std::size_t block_pos_ = 0;
  double* block_row(std::size_t r) noexcept {
    return block_in_ring_ ? ahead_out_[r].ring + block_pos_ : ahead_values_.data() + r * kAheadBlock;
  }
  std::size_t block_stride() const noexcept { return block_in_ring_ ? ring_len_ : kAheadBlock; }
  // Points the view at update number `head`'s ring entries (ind_view.h: the
  // current values are the history at head).
  void set_head(std::size_t head) noexcept {
    view_.head = static_cast<std::uint32_t>(head);
    view_.current = history_.get() + head;
  }
  // With set_ahead: the slots whose history update() copies from current_
  // (those no ahead row and no per-bar indicator writes), and the crossovers
  // it steps per bar.
  std::vector<std::uint32_t> ring_slots_;
  std::vector<std::size_t> per_bar_crosses_;  // indices into crosses_
};

// Most updates of a backtest: everything computed ahead and the bar inside
// the current block (its time and close those of the block's column bar, as
// update_general's TE_ASSERT has them). The same steps as update_general's,
// inline in the runner's bar; everything else, and a bar the block does not
// match (the assertion's message), goes on there. The values of this update
// were written into the ring with the block (fill_ahead), and the view's
// current values are the ring's entries at head: nothing is copied. (current_
// keeps the values update_general last copied: C++ reads the ring, value().)
inline void IndicatorSet::update(const model::Bar& bar) noexcept {
  if (ahead_on_ && !per_bar_work_) [[likely]] {
    const std::size_t i = ahead_next_;
    if (ahead_out_.empty() || (i < ahead_end_ && bar.ts_ns == ahead_columns_.ts_ns[i] &&
                               std::bit_cast<std::uint64_t>(bar.close) ==
                                   std::bit_cast<std::uint64_t>(ahead_columns_.close[i])))
        [[likely]] {
      ahead_next_ = i + 1;
      set_head(static_cast<std::size_t>(updates_) & ring_mask_);
      ++updates_;
      view_.updates = updates_;
      return;
    }
  }
  update_general(bar, static_cast<std::size_t>(updates_) & ring_mask_);
}

}  // namespace te::ta
