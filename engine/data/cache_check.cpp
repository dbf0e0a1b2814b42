#include "engine/data/cache_check.hpp"

namespace te::data {

CacheCheck::CacheCheck(model::BarSeries series, const BarCacheHeader& header, std::string path)
    : series_(std::move(series)), header_(header), path_(std::move(path)) {
  thread_ = std::thread([this] {
    std::uint64_t passed = 0;
    const std::function<void(std::size_t)> progress = [this, &passed](std::size_t rows) {
      passed = rows;
      rows_.store(rows, std::memory_order_release);
      rows_.notify_all();
    };
    status_ = verify_bar_cache(series_, header_, path_, progress);
    // A reader waiting for rows past a bad block must wake up too.
    rows_.store((status_ ? series_.size() : passed) | kEnded, std::memory_order_release);
    rows_.notify_all();
  });
}

CacheCheck::~CacheCheck() {
  if (thread_.joinable()) thread_.join();
}

std::size_t CacheCheck::wait_rows(std::size_t rows) const noexcept {
  for (;;) {
    const std::uint64_t now = rows_.load(std::memory_order_acquire);
    if ((now & ~kEnded) >= rows || (now & kEnded)) return static_cast<std::size_t>(now & ~kEnded);
    rows_.wait(now, std::memory_order_acquire);
  }
}

bool CacheCheck::passed() const noexcept {
  return (rows_.load(std::memory_order_acquire) & kEnded) && status_.ok();  // status_ is set before kEnded
}

Status CacheCheck::result() {
  if (thread_.joinable()) thread_.join();
  return status_;
}

}  // namespace te::data
