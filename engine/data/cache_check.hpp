#pragma once
// A cache's data checks (verify_bar_cache) on a thread of their own, while the
// caller already reads the rows that passed. Opening a 1M-bar cache spent
// ~25 ms checking it before anything could start, nearly all of it the first
// touch of the mapping's pages (slow on VMs); run beside the backtest, the
// check touches the pages just ahead of the strategy, which reads only rows
// that passed the bar checks (so no engine invariant sees a bad bar). The
// checksum is known when result() returns: a caller must not report anything
// computed from the rows before that (the backtest command runs again with the
// checks up front when it fails, docs/data.md).
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "engine/core/result.hpp"
#include "engine/data/bar_cache.hpp"
#include "engine/model/bar_series.hpp"

namespace te::data {

class CacheCheck {
 public:
  // Starts checking `series` (the whole cache at `path`, opened without
  // verify_data; `header` as open_bar_cache returned it).
  CacheCheck(model::BarSeries series, const BarCacheHeader& header, std::string path);
  ~CacheCheck();  // waits for the check
  CacheCheck(const CacheCheck&) = delete;
  CacheCheck& operator=(const CacheCheck&) = delete;

  // How many leading rows of the series passed the bar checks, once at least
  // `rows` did or the check ended (then fewer when it failed). Blocks meanwhile.
  std::size_t wait_rows(std::size_t rows) const noexcept;
  // Without blocking: the whole check is over and passed.
  bool passed() const noexcept;
  // Waits for the whole check: ok, or why the cache is bad.
  Status result();
  const model::BarSeries& series() const noexcept { return series_; }

 private:
  static constexpr std::uint64_t kEnded = std::uint64_t{1} << 63;  // or-ed into rows_ when the check is over
  model::BarSeries series_;
  BarCacheHeader header_;
  std::string path_;
  std::atomic<std::uint64_t> rows_{0};
  Status status_;
  std::thread thread_;
};

}  // namespace te::data
