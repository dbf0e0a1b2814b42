#pragma once
// Indicator outputs over a whole loaded series, computed once per distinct
// spec and shared read-only by every strategy runner that walks that series
// (the optimiser's combinations: 1,000 combinations of an SMA cross over 20
// slow periods ask for each slow SMA 50 times).
//
// A cached series holds exactly the values an IndicatorSet fed the same bars
// would produce (it is computed by one), so results do not depend on whether
// the cache was used. Thread-safe. Memory is bounded by `budget_bytes`: series
// no runner holds any more are evicted least recently used first; a spec that
// does not fit is not cached (its runners compute it themselves).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/model/bar_series.hpp"
#include "engine/ta/spec.hpp"

namespace te::ta {

struct CachedSeries {
  int outputs = 0;
  std::size_t size = 0;
  std::vector<double> values;     // bar-major: values[i * outputs + k] = output k after bar i
  // The series' timestamps and closes (kept alive by the cache's BarSeries):
  // a set checks every bar it is fed against them.
  const std::int64_t* ts_ns = nullptr;
  const double* close = nullptr;
  model::BarSeries bars;  // the series itself, for checks at add()
};

class SeriesCache {
 public:
  SeriesCache(model::BarSeries bars, std::size_t budget_bytes);
  SeriesCache(const SeriesCache&) = delete;
  SeriesCache& operator=(const SeriesCache&) = delete;

  // The outputs of `spec` (canonical key `key`) after every bar of the series,
  // or null when the cache cannot hold it. Computes on first request (other
  // requesters of the same spec wait for it).
  std::shared_ptr<const CachedSeries> get(const IndicatorSpec& spec, const std::string& key);

  const model::BarSeries& bars() const noexcept { return bars_; }

  struct Stats {
    std::uint64_t hits = 0, computed = 0, evicted = 0, refused = 0;
    std::size_t bytes = 0;
  };
  Stats stats() const;

 private:
  struct Slot {
    std::once_flag once;
    std::shared_ptr<const CachedSeries> data;
    std::uint64_t last_use = 0;
    bool counted = false;  // its bytes are in bytes_
  };
  std::shared_ptr<const CachedSeries> compute(const IndicatorSpec& spec) const;
  void evict_locked();

  model::BarSeries bars_;
  std::size_t budget_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::uint64_t clock_ = 0;
  std::size_t bytes_ = 0;
  Stats stats_;
};

}  // namespace te::ta
