#include "engine/ta/series_cache.hpp"

#include <algorithm>

#include "engine/ta/indicator_set.hpp"
#include "engine/ta/registry.hpp"

namespace te::ta {

SeriesCache::SeriesCache(model::BarSeries bars, std::size_t budget_bytes)
    : bars_(std::move(bars)), budget_(budget_bytes) {}

std::shared_ptr<const CachedSeries> SeriesCache::compute(const IndicatorSpec& spec) const {
  // The same code a runner's set runs, so the values are the same bits.
  IndicatorSet set(1, 1, 0);
  auto slot = set.add(spec);
  if (!slot) return nullptr;
  auto out = std::make_shared<CachedSeries>();
  out->outputs = static_cast<int>(set.slot_count());
  out->size = bars_.size();
  out->ts_ns = bars_.columns().ts_ns;
  out->close = bars_.columns().close;
  out->bars = bars_;
  // Appended, not resized: no zero-fill pass over memory written right after.
  out->values.reserve(out->size * static_cast<std::size_t>(out->outputs));
  for (std::size_t i = 0; i < out->size; ++i) {
    set.update(bars_.at(i));
    for (int k = 0; k < out->outputs; ++k) out->values.push_back(set.value(*slot + k, 0));
  }
  return out;
}

void SeriesCache::evict_locked() {
  while (bytes_ > budget_) {
    // Least recently used series that no runner holds.
    auto victim = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      const Slot& s = *it->second;
      if (!s.counted || s.data.use_count() > 1) continue;
      if (victim == slots_.end() || s.last_use < victim->second->last_use) victim = it;
    }
    if (victim == slots_.end()) return;  // everything is in use: over budget until released
    bytes_ -= victim->second->data->values.size() * sizeof(double);
    ++stats_.evicted;
    slots_.erase(victim);
  }
}

std::shared_ptr<const CachedSeries> SeriesCache::get(const IndicatorSpec& spec, const std::string& key) {
  const IndicatorInfo* info = find_indicator(spec.name);
  const std::size_t need = bars_.size() * static_cast<std::size_t>(info ? info->outputs.size() : kMaxOutputs) * sizeof(double);
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard lock(mu_);
    if (need > budget_ || bars_.empty()) {
      ++stats_.refused;
      return nullptr;
    }
    auto& s = slots_[key];
    if (!s) s = std::make_shared<Slot>();
    else ++stats_.hits;
    s->last_use = ++clock_;
    slot = s;
  }
  std::call_once(slot->once, [&] { slot->data = compute(spec); });
  std::lock_guard lock(mu_);
  if (slot->data && !slot->counted) {
    slot->counted = true;
    bytes_ += slot->data->values.size() * sizeof(double);
    ++stats_.computed;
    std::shared_ptr<const CachedSeries> keep = slot->data;  // not a victim of this eviction
    evict_locked();
    return keep;
  }
  return slot->data;
}

SeriesCache::Stats SeriesCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.bytes = bytes_;
  return s;
}

}  // namespace te::ta
