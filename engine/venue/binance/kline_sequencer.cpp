#include "engine/venue/binance/kline_sequencer.hpp"

#include <set>

namespace te::venue::binance {

KlineSequencer::SymbolState& KlineSequencer::state(const std::string& symbol) {
  auto it = symbols_.find(std::string_view(symbol));
  if (it == symbols_.end()) it = symbols_.emplace(symbol, SymbolState{}).first;
  return it->second;
}

void KlineSequencer::set_last_delivered(const std::string& symbol, std::int64_t last_open_ms) {
  SymbolState& st = state(symbol);
  st.has_last = true;
  st.last_open_ms = last_open_ms;
}

std::optional<std::int64_t> KlineSequencer::last_delivered(std::string_view symbol) const {
  auto it = symbols_.find(symbol);
  if (it == symbols_.end() || !it->second.has_last) return std::nullopt;
  return it->second.last_open_ms;
}

void KlineSequencer::on_live_bar(ClosedBar bar, Output& out) {
  const std::string symbol = bar.symbol;
  SymbolState& st = state(symbol);
  const std::int64_t open_ms = bar.bar.ts_ns / 1'000'000;
  if (st.has_last && open_ms <= st.last_open_ms) {
    ++out.duplicates;
    return;
  }
  if (!st.pending.emplace(open_ms, std::move(bar)).second) {
    ++out.duplicates;
    return;
  }
  drain(symbol, st, out);
}

std::size_t KlineSequencer::on_backfill(const BackfillRequest& request, std::vector<ClosedBar> bars, Output& out) {
  SymbolState& st = state(request.symbol);
  st.in_flight = false;
  std::set<std::int64_t> covered;
  for (auto& b : bars) {
    const std::int64_t open_ms = b.bar.ts_ns / 1'000'000;
    if (open_ms < request.from_open_ms || open_ms > request.to_open_ms) continue;
    covered.insert(open_ms);
    if (st.has_last && open_ms <= st.last_open_ms) continue;  // arrived live meanwhile
    st.pending.emplace(open_ms, std::move(b));
  }
  const std::int64_t expected = klines_between(interval_, request.from_open_ms, request.to_open_ms);
  const auto got = static_cast<std::int64_t>(covered.size());
  // The first bar after the range is the live bar that revealed the gap.
  st.known_through_ms = std::max(st.known_through_ms, request.to_open_ms + 1);
  drain(request.symbol, st, out);
  return expected > got ? static_cast<std::size_t>(expected - got) : 0;
}

void KlineSequencer::on_backfill_failed(const BackfillRequest& request, Output& out) {
  SymbolState& st = state(request.symbol);
  st.in_flight = false;
  st.known_through_ms = std::max(st.known_through_ms, request.to_open_ms + 1);
  drain(request.symbol, st, out);
}

void KlineSequencer::drain(const std::string& symbol, SymbolState& st, Output& out) {
  while (!st.pending.empty()) {
    auto it = st.pending.begin();
    const std::int64_t k = it->first;
    if (st.has_last && k <= st.last_open_ms) {
      st.pending.erase(it);
      ++out.duplicates;
      continue;
    }
    const bool in_order = !st.has_last || k == next_open_ms(interval_, st.last_open_ms) || k <= st.known_through_ms;
    if (!in_order) {
      if (!st.in_flight) {
        st.in_flight = true;
        // A gap longer than kMaxBackfillBars (a kline stamped far in the
        // future, or a very long outage) is not fetched whole: the backfill
        // holds its bars in memory and walks REST a page at a time (audit: a
        // kline from year 3900 started a 1e9-bar walk that grew memory without
        // end and starved the runner). Only the gap's last bars are fetched;
        // earlier open times are skipped like ones REST does not have.
        std::int64_t from = next_open_ms(interval_, st.last_open_ms);
        const std::int64_t step = interval_.ms > 0 ? interval_.ms : 31LL * 86'400'000;  // months: at most 31 days
        if ((k - from) / step > kMaxBackfillBars) from = floor_open_ms(interval_, k - kMaxBackfillBars * step);
        out.backfills.push_back(BackfillRequest{symbol, from, k - 1});
      }
      return;
    }
    out.bars.push_back(std::move(it->second));
    st.has_last = true;
    st.last_open_ms = k;
    st.pending.erase(it);
  }
}

std::size_t KlineSequencer::buffered(std::string_view symbol) const {
  auto it = symbols_.find(symbol);
  return it == symbols_.end() ? 0 : it->second.pending.size();
}

bool KlineSequencer::backfilling(std::string_view symbol) const {
  auto it = symbols_.find(symbol);
  return it != symbols_.end() && it->second.in_flight;
}

}  // namespace te::venue::binance
