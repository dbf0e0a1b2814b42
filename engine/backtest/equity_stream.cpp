#include "engine/backtest/equity_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/backtest/equity_rows.hpp"

namespace te::backtest {

Result<std::unique_ptr<EquityStream>> EquityStream::open(const std::string& path, double initial_cash,
                                                         bool date_only, std::size_t curve_rows) {
  auto file = OutputFile::create(path + ".partial");
  if (!file) return std::move(file).error();
  return std::unique_ptr<EquityStream>(new EquityStream(path, std::move(*file), initial_cash, date_only, curve_rows));
}

EquityStream::EquityStream(std::string path, OutputFile file, double initial_cash, bool date_only,
                           std::size_t curve_rows)
    : path_(std::move(path)),
      partial_(path_ + ".partial"),
      file_(std::move(file)),
      acc_(initial_cash),
      formatter_(date_only),
      peak_(initial_cash),
      dd_(initial_cash > 0 ? (initial_cash - initial_cash) / initial_cash : 0.0),
      expected_rows_(curve_rows) {
  // As if the initial cash had been a row: max(peak, cash) is the peak, and the
  // drawdown that row would have had is dd_'s.
  std::memcpy(&dd_equity_bits_, &initial_cash, sizeof dd_equity_bits_);
  file_->append(detail::kEquityHeader);
  if (curve_rows > 0) {  // virtual until the worker writes it
    curve_.ts_ns.reserve(curve_rows);
    curve_.equity.reserve(curve_rows);
    curve_.drawdown.reserve(curve_rows);
  }
  for (std::size_t i = 0; i < kBlocks; ++i) {
    storage_.push_back(std::make_unique_for_overwrite<Block>());  // rows are written before they are read
    free_.push_back(storage_.back().get());
  }
  current_ = free_.back();
  free_.pop_back();
  worker_ = std::thread([this] { work(); });
}

EquityStream::~EquityStream() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (!finished_) {
    // A file taken over (the run passed its checks) is half written: it goes
    // as a new one would.
    (void)file_->close();
    std::remove(partial_.c_str());
  }
}

void EquityStream::on_equity(std::int64_t ts_ns, double cash, double position_value, double equity) noexcept {
  Block& b = *current_;
  b.ts[b.n] = ts_ns;
  b.cash[b.n] = cash;
  b.pv[b.n] = position_value;
  b.equity[b.n] = equity;
  if (++b.n == kBlockRows) hand_over();
}

void EquityStream::replace_old(std::function<bool()> may_replace) {
  // Nothing there to write over (a first run into its directory, or a file
  // that is not ours): no reason to hold the rows back.
  if (!OutputFile::may_take_over(path_)) return;
  // Room for every block the pool may grow to: decide() and hand_over() cannot
  // throw. Under the lock: the worker already runs and reads free_ and ready_.
  std::lock_guard lock(mu_);
  storage_.reserve(kMaxBlocks);
  free_.reserve(kMaxBlocks);
  ready_.reserve(kMaxBlocks);
  may_replace_ = std::move(may_replace);
  state_ = State::waiting;
}

void EquityStream::decide() noexcept {
  bool yes = false;
  try {
    yes = may_replace_();
  } catch (...) {
  }
  if (yes) return take_old();
  std::lock_guard lock(mu_);
  if (!free_.empty()) return;  // a block for the next rows
  if (storage_.size() < kMaxBlocks) {
    try {
      storage_.push_back(std::make_unique_for_overwrite<Block>());
      free_.push_back(storage_.back().get());
      return;
    } catch (...) {
    }
  }
  // No more room to wait in: a new file, as without replace_old.
  state_ = State::writing;
  cv_.notify_all();
}

void EquityStream::take_old() noexcept {
  try {
    // Replaces the new (empty) partial file open() made.
    if (auto over = OutputFile::take_over(path_, partial_)) {
      file_.reset();
      file_.emplace(std::move(*over));
      file_->append(detail::kEquityHeader);
      wrote_over_ = true;
    }
  } catch (...) {  // no memory for its buffer (nothing was renamed): the new file as usual
  }
  std::lock_guard lock(mu_);
  state_ = State::writing;
  cv_.notify_all();
}

void EquityStream::hand_over() noexcept {
  if (state_ == State::waiting) decide();
  std::unique_lock lock(mu_);
  ready_.push_back(current_);
  // A worker waiting for the old file has nothing to do: not woken (each
  // wake-up cost the run thread two preemptions, sched_switch trace). Else
  // woken after the lock is released: notified under it, the worker ran into
  // the held lock and the run thread was preempted again at the unlock.
  const bool wake = state_ == State::writing;
  if (free_.empty()) {
    if (wake) {
      lock.unlock();
      cv_.notify_all();
      lock.lock();
    }
    cv_.wait(lock, [this] { return !free_.empty(); });
  }
  current_ = free_.back();
  free_.pop_back();
  current_->n = 0;
  lock.unlock();
  if (wake) cv_.notify_all();
}

void EquityStream::work() {
  for (;;) {
    Block* b = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return (!ready_.empty() && state_ == State::writing) || closing_; });
      // Closing and nothing left, or closed while waiting for the old file
      // (a discarded run: its rows are not written).
      if (ready_.empty() || state_ == State::waiting) return;
      b = ready_.front();
      ready_.erase(ready_.begin());
    }
    write_block(*b);
    {
      std::lock_guard lock(mu_);
      free_.push_back(b);
    }
    cv_.notify_all();
  }
}

void EquityStream::write_block(const Block& b) {
  detail::EquityRowFormatter& rows = formatter_;
  OutputFile& file = *file_;
  // Rows per room() request: the buffer is written out when less than that
  // much room is left, so a small request makes few large writes (256 rows:
  // about 200 KB per write of the 256 KiB buffer; 1024 rows made ~50 KB writes).
  constexpr std::size_t kRowsPerRoom = 256;
  // The kept columns, if any (a run has at most the rows it was sized for).
  const std::size_t keep = std::min(b.n, curve_.equity.capacity() - std::min(curve_.equity.capacity(), rows_));
  std::int64_t* const keep_ts = curve_.ts_ns.writable() + (keep ? rows_ : 0);
  double* const keep_equity = curve_.equity.writable() + (keep ? rows_ : 0);
  double* const keep_dd = curve_.drawdown.writable() + (keep ? rows_ : 0);
  for (std::size_t i = 0; i < b.n;) {
    const std::size_t stop = std::min(b.n, i + kRowsPerRoom);
    char* p = file.room((stop - i) * detail::kMaxEquityRow);
    for (; i < stop; ++i) {
      // The drawdown exactly as run_backtest computes the curve's column; an
      // equity that repeats the row before's (bit for bit) leaves the peak as
      // it was, so its drawdown is the one computed then.
      std::uint64_t eq_bits;
      std::memcpy(&eq_bits, &b.equity[i], sizeof eq_bits);
      if (eq_bits != dd_equity_bits_) [[unlikely]] {
        peak_ = std::max(peak_, b.equity[i]);
        dd_ = peak_ > 0 ? (peak_ - b.equity[i]) / peak_ : 0.0;
        dd_equity_bits_ = eq_bits;
      }
      const double dd = dd_;
      p = rows.row(p, b.ts[i], b.cash[i], b.pv[i], b.equity[i], dd);
      acc_.on_equity(b.ts[i], b.cash[i], b.pv[i], b.equity[i]);
      if (i < keep) {
        keep_ts[i] = b.ts[i];
        keep_equity[i] = b.equity[i];
        keep_dd[i] = dd;
      }
    }
    file.commit(p);
  }
  // Not for the old file written over (about as long, when the same run is
  // repeated): blocks reserved past its end are freed again by close()'s
  // truncation, which on ext4 mounted with `discard` waits for the device
  // (0.2-24 ms on the run thread, strace/sched_switch); a longer file grows
  // past the old end by delayed allocation (OutputFile::drain).
  if (rows_ == 0 && b.n == kBlockRows && expected_rows_ > b.n && !wrote_over_) {
    // The file's size from its first rows (later rows are rarely much longer).
    const double per_row = static_cast<double>(file.bytes()) / static_cast<double>(b.n);
    file.preallocate(static_cast<std::uint64_t>(per_row * 1.02 * static_cast<double>(expected_rows_)) + 65536);
  }
  rows_ += b.n;
  if (keep) {
    curve_.ts_ns.set_size(curve_.ts_ns.size() + keep);
    curve_.equity.set_size(curve_.equity.size() + keep);
    curve_.drawdown.set_size(curve_.drawdown.size() + keep);
  }
}

EquityCurve EquityStream::take_curve() noexcept { return std::move(curve_); }

Status EquityStream::finish() {
  // Still waiting: the rename below would replace the old file anyway.
  if (state_ == State::waiting) take_old();
  {
    std::lock_guard lock(mu_);
    if (current_ != nullptr && current_->n > 0) ready_.push_back(current_);
    current_ = nullptr;
    closing_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  finished_ = true;
  Status st = file_->close();
  if (!st) {
    std::remove(partial_.c_str());
    return st;
  }
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(partial_.c_str());
    return make_error(Errc::io, "write " + path_ + ": cannot rename " + partial_ + ": " + std::strerror(err));
  }
  return {};
}

}  // namespace te::backtest
