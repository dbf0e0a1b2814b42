#pragma once
// The bars a runner has seen, oldest first; used to warm up indicators that a
// strategy asks for late. Backtests view the loaded series (no copy); live and
// paper runners keep their own growing store.
#include <cstddef>
#include <vector>

#include "engine/model/bar_series.hpp"

namespace te::runner {

class BarHistory {
 public:
  virtual ~BarHistory() = default;
  virtual std::size_t size() const noexcept = 0;
  virtual model::Bar at(std::size_t i) const noexcept = 0;
  // Called by the runner for every bar it processes, after the previous ones.
  // Inline: a view of a loaded series only counts, without a virtual call per
  // bar (docs/performance.md).
  void push(const model::Bar& bar) {
    if (counts_only_) ++seen_;
    else push_bar(bar);
  }

 protected:
  // `counts_only`: push() only advances seen_ (push_bar is never called).
  explicit BarHistory(bool counts_only = false, std::size_t seen = 0) : seen_(seen), counts_only_(counts_only) {}
  virtual void push_bar(const model::Bar&) {}
  std::size_t seen_;

 private:
  bool counts_only_;
};

// A prefix of a loaded series: push() only advances the visible length, so
// strategies can never see bars beyond the one being processed.
class SeriesHistory final : public BarHistory {
 public:
  explicit SeriesHistory(model::BarSeries series) : BarHistory(true), series_(std::move(series)) {}
  std::size_t size() const noexcept override { return seen_; }
  model::Bar at(std::size_t i) const noexcept override { return series_.at(i); }

 private:
  model::BarSeries series_;
};

class GrowingHistory final : public BarHistory {
 public:
  std::size_t size() const noexcept override { return bars_.size(); }
  model::Bar at(std::size_t i) const noexcept override { return bars_[i]; }

 private:
  void push_bar(const model::Bar& bar) override { bars_.push_back(bar); }

  std::vector<model::Bar> bars_;
};

}  // namespace te::runner
