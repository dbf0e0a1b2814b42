#pragma once
// equity.csv and the curve metrics, produced on a second thread while the
// backtest runs. The run thread only copies each equity point into a block
// (EquityListener, no formatting, no I/O); full blocks go to a worker thread
// that formats the rows into the file and feeds a MetricsAccumulator. When the
// run ends, the file is complete but for its last block and the metrics need
// only the trades: the biggest output of a long run is off the critical path.
//
// The rows are the bytes write_report would write from the finished result
// (same formatter, engine/backtest/equity_rows.hpp; drawdown from the running
// peak as in run_backtest), and the accumulator sees the points compute_metrics
// would replay, in the same order: outputs are identical either way
// (tests/unit/backtest/report_streaming_test.cpp).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/equity_rows.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/output_file.hpp"
#include "engine/core/result.hpp"

namespace te::backtest {

class EquityStream final : public EquityListener {
 public:
  // Writes into "<path>.partial", renamed to `path` by finish(); `initial_cash`
  // starts the drawdown's peak and the metrics, as in run_backtest.
  // `curve_rows` > 0: the worker also keeps the curve's time, equity and
  // drawdown columns for up to that many points (take_curve()), the columns a
  // report reads once equity.csv and the metrics are done; the run then needs
  // no curve of its own (BacktestConfig::keep_equity_curve false), and the
  // fresh memory they fill is touched on the worker's core, not the run's.
  // Errors: Errc::io naming the file.
  static Result<std::unique_ptr<EquityStream>> open(const std::string& path, double initial_cash, bool date_only,
                                                    std::size_t curve_rows = 0);

  // Before the first on_equity: write over the file already at `path` rather
  // than a new one, once `may_replace()` says it may go. Why: on ext4 a new
  // 78 MB equity.csv cost ~8 ms of kernel CPU to write (new page-cache folios,
  // delayed allocation) and the old one's unlink as much again, against ~4 ms
  // to write over the old file's cached pages. Until then the worker writes
  // nothing (the old file stays as it was should the run be discarded, e.g. its
  // data turns out bad): the run's points queue up in blocks, the pool growing
  // up to kMaxBlocks; past that the stream writes a new file as usual.
  // `may_replace` is asked on the run thread, at each block handed over; finish()
  // takes it as a yes (its rename replaces the old file anyway). The old file
  // is taken only when OutputFile::take_over would write over it: renamed to
  // "<path>.partial" and written from its start. Without such a file at `path`
  // now (a first run into its directory) the stream does not wait.
  void replace_old(std::function<bool()> may_replace);
  // Run thread: whether the stream may still take the old file (it waits for
  // `may_replace`); once false, the file at `path`, if any, is the caller's to
  // remove (the stream has taken it or writes a new file).
  bool waiting_for_old() const noexcept { return state_ == State::waiting; }
  // Whether the old file's storage was written over (after finish()).
  bool wrote_over() const noexcept { return wrote_over_; }

  ~EquityStream() override;  // stops the worker; an unfinished file is removed
  EquityStream(const EquityStream&) = delete;
  EquityStream& operator=(const EquityStream&) = delete;

  // The run thread, once per bar, in order.
  void on_equity(std::int64_t ts_ns, double cash, double position_value, double equity) noexcept override;

  // After the run: writes the rest, closes and renames the file into place.
  // Errors: Errc::io naming the file.
  Status finish();

  // The metrics' accumulator; read it only after finish().
  const MetricsAccumulator& accumulator() const noexcept { return acc_; }
  // After finish(): the kept columns (ts_ns, equity, drawdown; cash and
  // position_value stay empty), as run_backtest would have filled them.
  EquityCurve take_curve() noexcept;
  std::size_t rows() const noexcept { return rows_; }

 private:
  static constexpr std::size_t kBlockRows = 8192;
  // In flight at most: bounds memory (4 MiB), blocks the run if the writer lags.
  // The worker shares the second core with the cache check at the start of a
  // run, and then lags by a few blocks: 4 blocks made a 1M-bar run wait 5-11
  // times (10-140 ms by load); 16 (131,072 rows) absorb it.
  static constexpr std::size_t kBlocks = 16;
  // While waiting for the old file to be free (replace_old): 128 blocks of
  // 8,192 rows (32 MiB) cover a 1M-bar run; its CSV or cache passes its check
  // after 30-65 % of the rows (rows 330k-650k at load 3).
  static constexpr std::size_t kMaxBlocks = 128;
  enum class State { writing, waiting };
  struct Block {
    std::size_t n = 0;
    std::int64_t ts[kBlockRows];
    double cash[kBlockRows], pv[kBlockRows], equity[kBlockRows];
  };

  EquityStream(std::string path, OutputFile file, double initial_cash, bool date_only, std::size_t curve_rows);
  void hand_over() noexcept;  // run thread: queue the current block, take a free one
  void decide() noexcept;     // run thread, while waiting: take the old file, grow the pool or give up
  void take_old() noexcept;   // run thread: write over the file at path_ if it may be
  void work();                // worker thread
  void write_block(const Block& b);

  std::string path_, partial_;
  std::optional<OutputFile> file_;  // the worker's once state_ is writing
  MetricsAccumulator acc_;
  detail::EquityRowFormatter formatter_;  // worker thread only
  double peak_;
  double dd_;                        // the drawdown of the last equity seen (worker thread)
  std::uint64_t dd_equity_bits_ = 0;  // that equity's bits
  std::size_t rows_ = 0;
  std::size_t expected_rows_;  // curve_rows: the file is preallocated for about that many
  EquityCurve curve_;  // worker thread until finish(); capacity 0 when not kept
  bool finished_ = false;
  bool wrote_over_ = false;
  std::function<bool()> may_replace_;
  State state_ = State::writing;  // written by the run thread under mu_

  std::vector<std::unique_ptr<Block>> storage_;
  Block* current_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Block*> ready_, free_;  // ready_ is FIFO (front first)
  bool closing_ = false;
  std::thread worker_;
};

}  // namespace te::backtest
