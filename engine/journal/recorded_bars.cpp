#include "engine/journal/recorded_bars.hpp"

#include <map>

namespace te::journal {

Result<std::vector<RecordedBars>> load_recorded_bars(JournalReader& reader) {
  struct Acc {
    RecordedBars info;
    model::BarSeriesBuilder builder;
  };
  std::map<model::RunnerId, Acc> acc;
  TE_TRY(reader.rewind());
  Event e;
  while (true) {
    auto ok = reader.next(e);
    if (!ok) return std::move(ok).error();
    if (!*ok) break;
    const auto* md = e.get<MarketData>();
    if (md == nullptr) continue;
    Acc& a = acc[e.runner];
    if (a.builder.size() == 0) {
      a.info.runner = e.runner;
      a.info.instrument = md->instrument;
      a.info.symbol = md->symbol;
      a.info.timeframe = md->timeframe;
    }
    a.builder.push(md->bar);
  }
  std::vector<RecordedBars> out;
  for (auto& [id, a] : acc) {
    a.info.bars = std::move(a.builder).build(a.info.symbol, a.info.instrument);
    out.push_back(std::move(a.info));
  }
  return out;
}

}  // namespace te::journal
