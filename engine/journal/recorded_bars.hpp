#pragma once
// The market data a session recorded, per runner, as bar series: what `rerun`
// feeds through a (possibly different) strategy, and what a `run` with a
// recorded-session data source would replay.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/model/bar_series.hpp"

namespace te::journal {

struct RecordedBars {
  model::RunnerId runner = 0;
  model::InstrumentId instrument = 0;
  std::string symbol;
  std::string timeframe;
  model::BarSeries bars;  // in recorded order
};

// Reads the whole journal from the start (open the reader with
// reconstruct_state = false: states are not needed and that is faster).
// Sorted by runner id. Damage is reported to the reader's Reporter; the bars
// it took are simply missing.
// Errors: Errc::io.
Result<std::vector<RecordedBars>> load_recorded_bars(JournalReader& reader);

// SHA-256 of bars as a runner sees them (meta.json data[].bars_sha256): per
// bar, ts_ns as int64 then open, high, low, close, volume, bid, ask, bid_size,
// ask_size as IEEE-754 bits, all little-endian, every NaN as 0x7ff8000000000000.
// Equal for a data file's bars and the same bars read back from a journal, so
// `rerun` can prove it feeds exactly what the original session ran on.
std::string bars_sha256(const model::BarSeries& bars);

}  // namespace te::journal
