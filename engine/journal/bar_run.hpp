#pragma once
// Format 3's bar_run record (docs/journal-format.md, section 5, "bar_run"):
// consecutive compact market_data events of one runner, with nothing else
// between them, stored as one record of columns:
//
//   [15, first_sequence, ts_event_ns, runner, count, ts_step, ts_deltas,
//    open, high, low, close, volume]
//
// Why: market data is almost every event of a backtest's journal, and as
// compact records (60 bytes each) it was most of the bytes the writer thread
// encoded and LZ4 compressed. A price column is mostly decimal numbers
// (k / 10^d exactly, as a CSV parser or the generator makes them), so a column
// is stored as d and the differences of the integers k from bar to bar: a few
// bytes a bar instead of nine per value.
//
// Readers never see the record: the block loader (open_block) expands it into
// the compact market_data records it stands for, byte for byte what a format 2
// writer would have written, so every event consumer reads the same events.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model/bar.hpp"

namespace te::journal {

inline constexpr std::uint16_t kBarRunType = 15;
// Bars per record at most: a run is cut there (the record stays a few KiB,
// and the block it ends stays near its target size).
inline constexpr std::uint32_t kMaxBarRun = 256;
// Largest decimal exponent a price column is stored with.
inline constexpr int kMaxBarRunDecimals = 9;

// The writer's run being collected (its thread only).
struct BarRun {
  std::uint32_t runner = 0;
  std::uint64_t first_sequence = 0;
  std::uint32_t count = 0;
  std::int64_t ts[kMaxBarRun];
  double col[5][kMaxBarRun];  // open, high, low, close, volume

  void add(std::int64_t ts_ns, const model::Bar& b) noexcept {
    ts[count] = ts_ns;
    col[0][count] = b.open;
    col[1][count] = b.high;
    col[2][count] = b.low;
    col[3][count] = b.close;
    col[4][count] = b.volume;
    ++count;
  }
  // The run's earliest and latest time, in one pass (count >= 1).
  void ts_range(std::int64_t& lo, std::int64_t& hi) const noexcept;
};

// Upper bound of encode_bar_run's output for kMaxBarRun bars.
inline constexpr std::size_t kMaxBarRunRecord = 64 + 6 * (5 + 9 * std::size_t{kMaxBarRun});

// Writes the record of `run` (count >= 1) to `out` (room for
// kMaxBarRunRecord); returns its size. Canonical: the same bars give the same
// bytes (each column's exponent is the smallest that holds all its values).
// `hints` (5, the writer's, kept between runs) make the exponent search start
// where the last run's ended; they never change the result.
// `time_units` (format 5, a run stored apart): uneven times are written as
// [unit, m_1, ..., m_(count-1)], t_i = t_(i-1) + m_i * unit, unit the
// differences' greatest common divisor; else format 3's differences.
// `range` (when given) receives the run's earliest and latest time, what
// BarRun::ts_range gives: for evenly spaced times that do not wrap, from the
// ends the encoder finds anyway instead of another pass over the times.
struct TsRange {
  std::int64_t lo = 0, hi = 0;
};
std::size_t encode_bar_run(const BarRun& run, int hints[5], char* out, bool time_units = false,
                           TsRange* range = nullptr) noexcept;
// The same bytes without the AVX2 kernels encode_bar_run picks on a CPU that
// has AVX2 (what runs elsewhere; tests compare the two), and whether it does.
std::size_t encode_bar_run_baseline(const BarRun& run, int hints[5], char* out, bool time_units = false,
                                    TsRange* range = nullptr) noexcept;
bool bar_run_uses_avx2() noexcept;

// True when `record` starts like a bar_run record.
inline bool is_bar_run(std::string_view record) noexcept {
  return record.size() >= 2 && static_cast<unsigned char>(record[0]) == 0x9c &&
         static_cast<unsigned char>(record[1]) == kBarRunType;
}

// Rewrites a raw block payload (varint-prefixed records) with every bar_run
// record replaced by its compact market_data records; other records are
// copied as they are. A bar_run record that does not decode is copied as it
// is (it then reads as an UnknownEvent of type 15). Returns the number of
// bar_run records that did not decode. `max_events` is the block's
// record_count: a run that would take the events past it is not expanded
// (counted as not decoded), so a block never expands beyond its own count.
// `runs` (format 5, kBlockRunsApart): the block's runs stored apart; each
// length of 0 in `raw` takes the next of them (consumed from the front). A
// place with no run left, or whose run does not decode, is dropped (counted):
// the block then reads as short of records.
std::size_t expand_bar_runs(std::string_view raw, std::string& out, std::uint32_t max_events,
                            std::string_view* runs = nullptr);

}  // namespace te::journal
