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

}  // namespace te::journal
