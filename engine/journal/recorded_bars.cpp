#include "engine/journal/recorded_bars.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <map>

#include "engine/core/sha256.hpp"

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

std::string bars_sha256(const model::BarSeries& bars) {
  static_assert(std::endian::native == std::endian::little, "bars_sha256 hashes little-endian bytes");
  Sha256 h;
  constexpr std::size_t kChunk = 256;
  std::uint64_t buf[kChunk * 10];
  std::size_t used = 0;
  auto bits = [](double d) {
    return std::isnan(d) ? std::uint64_t{0x7ff8000000000000} : std::bit_cast<std::uint64_t>(d);
  };
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const model::Bar b = bars.at(i);
    std::uint64_t* o = buf + used * 10;
    o[0] = static_cast<std::uint64_t>(b.ts_ns);
    o[1] = bits(b.open), o[2] = bits(b.high), o[3] = bits(b.low), o[4] = bits(b.close), o[5] = bits(b.volume);
    o[6] = bits(b.bid), o[7] = bits(b.ask), o[8] = bits(b.bid_size), o[9] = bits(b.ask_size);
    if (++used == kChunk) {
      h.update(buf, sizeof(buf));
      used = 0;
    }
  }
  h.update(buf, used * 10 * sizeof(std::uint64_t));
  return h.hex_digest();
}

}  // namespace te::journal
