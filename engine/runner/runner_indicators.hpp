#pragma once
// A runner's native indicators, as the strategy host sees them (script's
// IndicatorProvider) and as the runner drives them (update per bar). Indicators
// live here, not in the strategy's VM, so they keep their values when the
// strategy is reloaded.
#include <memory>
#include <string>
#include <vector>

#include "engine/runner/bar_history.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/ta/indicator_set.hpp"

namespace te::runner {

class RunnerIndicators final : public script::IndicatorProvider {
 public:
  // `history` must outlive this object; it supplies the bars for warming up
  // indicators created late.
  explicit RunnerIndicators(const BarHistory& history);

  void update(const model::Bar& bar) noexcept { set_.update(bar); }
  // See ta::IndicatorSet::set_ahead.
  void set_ahead(const model::BarSeries::Columns& columns, std::size_t next, const std::size_t* readable) noexcept {
    set_.set_ahead(columns, next, readable);
  }
  // Spacing of the bars this runner gets, when known up front (the data's
  // smallest gap in a backtest); 0: judged from the bars seen so far. A
  // timeframe finer than it is refused: its buckets would each hold one bar
  // and its "closed" bars would be the previous bars, silently lagged.
  void set_bar_interval(std::int64_t ns) noexcept { bar_interval_ns_ = ns; }
  // Indicators created from now on read shared precomputed values when the
  // history is the cache's series (ta::IndicatorSet::set_series_cache).
  void set_series_cache(ta::SeriesCache* cache) noexcept { set_.set_series_cache(cache); }
  const ta::IndicatorSet& set() const noexcept { return set_; }

  std::vector<script::IndicatorDesc> catalogue() const override;
  const void* view() const noexcept override { return set_.view(); }
  Result<int> add(std::string_view name, std::span<const double> params, std::string_view source,
                  std::string_view timeframe) override;
  Result<int> crossover(int slot_a, int slot_b) override { return set_.add_crossover(slot_a, slot_b); }
  std::size_t history_size() const noexcept override { return history_.size(); }
  model::Bar history_bar(std::size_t i) const noexcept override { return history_.at(i); }
  Result<int> timeframe_feed(std::string_view timeframe) override;
  std::size_t feed_closed(int id, std::size_t bar_index) const noexcept override {
    return set_.feed_closed(id, bar_index);
  }
  bool feed_bar(int id, std::size_t i, model::Bar& out) const noexcept override {
    const model::Bar* b = set_.feed_bar(id, i);
    if (b) out = *b;
    return b != nullptr;
  }

  // Every indicator the strategy created, in creation order: its spec text
  // ("sma(20)", re-parsable by ta::parse_spec) and one column per output
  // ("sma_20", "macd_12_26_9_signal") with its value slot. For the session
  // journal (indicator values at each recorded state, or recomputation).
  struct Column {
    std::string name;
    int slot = 0;
  };
  struct Created {
    std::string spec;
    std::vector<Column> columns;
  };
  const std::vector<Created>& created() const noexcept { return created_; }
  // created().size(), kept as a number: the batch loop compares it with a
  // session recorder's count at the end of every quiet bar (one load instead
  // of a division of the vector's byte length).
  std::size_t created_count() const noexcept { return created_count_; }
  // `*flag` is set to false whenever an indicator is created (null: none).
  // The runner passes its quiet-step flag when a session recorder tells its
  // quiet bar ends: the quiet step then tests only the recorder's `busy`, and
  // a bar that created an indicator ends on the full path, which compares
  // created_count() with the recorder's count (one load and test fewer per
  // quiet bar).
  void clear_on_create(bool* flag) noexcept { clear_on_create_ = flag; }

 private:
  Status check_not_finer(const ta::Timeframe& tf) const;

  const BarHistory& history_;
  std::int64_t bar_interval_ns_ = 0;
  ta::IndicatorSet set_;
  std::vector<Created> created_;
  std::size_t created_count_ = 0;
  bool* clear_on_create_ = nullptr;
};

}  // namespace te::runner
