#include "engine/ta/indicator_set.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/core/assert.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/talib_rules.hpp"

namespace te::ta {

// The Lua prelude hard-codes this layout (ind_view.h); keep them in step.
static_assert(std::is_standard_layout_v<te_ind_view> && std::is_trivially_copyable_v<te_ind_view>);
static_assert(offsetof(te_ind_view, current) == 0);
static_assert(offsetof(te_ind_view, history) == 8);
static_assert(offsetof(te_ind_view, updates) == 16);
static_assert(offsetof(te_ind_view, history_mask) == 24);
static_assert(offsetof(te_ind_view, head) == 28);
static_assert(offsetof(te_ind_view, slot_count) == 32);
static_assert(offsetof(te_ind_view, slot_capacity) == 36);
static_assert(offsetof(te_ind_view, history_max) == 40);
static_assert(offsetof(te_ind_view, reserved) == 44);
static_assert(sizeof(te_ind_view) == 48);

namespace {

constexpr std::size_t kMaxHistoryLength = std::size_t{1} << 20;

// Bit equality (a NaN equals itself): cached values are only used for the very bars they were computed from.
bool same_bits(double a, double b) noexcept { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// Plain::ahead of an indicator updated bar by bar even when the set computes
// blocks ahead.
constexpr std::size_t kNotAhead = static_cast<std::size_t>(-1);

// Whether an indicator is computed in blocks ahead (set_ahead). The windowed
// kernels gain from their block passes (CCI's and the window extremes' scans
// run side by side). A recursive kernel's block loop runs its dependency
// chain bar after bar with nothing to overlap it, where the per-bar path hides
// it behind the rest of the bar's work (an EMA block loop was measured slower
// once, with its crossover still stepped per bar); yet with every indicator of
// a set ahead the set leaves the per-bar path altogether: update_general, a
// virtual call per indicator and the crossovers' steps become the inline copy,
// and a crossover of two indicators ahead is computed ahead too (cross_block).
// So (session 17, docs/performance.md) EMA (Ema::update_values), MACD
// (Macd::update_values, its three EMAs side by side), RSI (Rsi::update_values,
// without the branch on the change's sign), ADX (Adx::update_block, without
// the branch on the movement's side) and ATR (update_columns' generic loop)
// are computed ahead too: ema_cross, rsi_mean_reversion and
// ten_indicators then run their sets in blocks, in fewer instructions and less
// time. DEMA, TEMA, the stochastic RSI and the rest stay per bar.
bool computed_ahead(const Indicator& ind) noexcept {
  static constexpr std::string_view kAhead[] = {"sma", "wma",    "bbands", "stoch",  "willr",    "cci",    "roc",
                                                "mom", "highest", "lowest", "donchian", "stddev", "zscore", "linreg_slope",
                                                "ema", "macd",   "rsi",    "atr",    "adx"};
  const std::string_view name = ind.info().name;
  return std::find(std::begin(kAhead), std::end(kAhead), name) != std::end(kAhead);
}

std::size_t round_up_pow2(std::size_t n) noexcept {
  std::size_t p = 1;
  while (p < n && p < kMaxHistoryLength) p <<= 1;
  return p;
}

// The ring keeps the history and a block ahead: the block pass writes the
// values of the bars still to come at the positions after head, which must not
// be ones a read of the history can reach (ind_view.h).
std::size_t ring_length(std::size_t history_len) noexcept {
  std::size_t p = 1;
  while (p < history_len + IndicatorSet::kAheadBlock) p <<= 1;
  return p;
}

}  // namespace

IndicatorSet::IndicatorSet(std::size_t max_indicators, std::size_t history_length, std::int64_t base_interval_ns)
    : max_indicators_(max_indicators),
      history_len_(round_up_pow2(history_length)),
      mask_(history_len_ - 1),
      ring_len_(ring_length(history_len_)),
      ring_mask_(ring_len_ - 1),
      base_interval_ns_(base_interval_ns),
      slot_capacity_(max_indicators * static_cast<std::size_t>(kMaxOutputs)),
      // Left uninitialised on purpose: the pages of unused slots are never
      // touched, so the reservation costs address space, not memory.
      current_(std::make_unique_for_overwrite<double[]>(slot_capacity_)),
      history_(std::make_unique_for_overwrite<double[]>(std::max<std::size_t>(slot_capacity_ * ring_len_, 1))) {
  entries_.reserve(max_indicators_);
  view_.history = history_.get();
  view_.updates = 0;
  view_.history_mask = static_cast<std::uint32_t>(ring_mask_);
  view_.history_max = static_cast<std::uint32_t>(mask_);
  view_.reserved = 0;
  set_head(0);
  view_.slot_count = 0;
  view_.slot_capacity = static_cast<std::uint32_t>(slot_capacity_);
}

int IndicatorSet::group_for(const Timeframe& tf, std::size_t seen_count,
                            const std::function<model::Bar(std::size_t)>& seen_bar) {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (groups_[g].aggregator.timeframe() == tf) return static_cast<int>(g);
  Group group{BarAggregator(tf, base_interval_ns_), 0};
  for (std::size_t i = 0; i < seen_count; ++i) group.aggregator.push(seen_bar(i));
  groups_.push_back(group);
  special_ = true;
  per_bar_work_ = true;
  return static_cast<int>(groups_.size() - 1);
}

Result<int> IndicatorSet::add(const IndicatorSpec& raw, std::size_t seen_count,
                              const std::function<model::Bar(std::size_t)>& seen_bar) {
  // Re-validate: a spec may have been assembled by hand rather than parsed.
  const IndicatorInfo* info = find_indicator(raw.name);
  if (!info) return make_error(Errc::invalid_argument, "add indicator: unknown indicator \"" + raw.name + "\"; valid names: " + indicator_names());
  auto checked = make_spec(raw.name, raw.params, info->takes_source ? std::optional<Source>(raw.source) : std::nullopt,
                           raw.timeframe);
  if (!checked) return make_error(Errc::invalid_argument, "add indicator: " + checked.error().message);
  const IndicatorSpec& spec = *checked;

  std::string key = spec_key(spec);
  if (const auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  if (entries_.size() >= max_indicators_)
    return make_error(Errc::limit, "add indicator " + key + ": the set is full (at most " +
                                       std::to_string(max_indicators_) + " indicators per strategy)");
  if (seen_count > 0 && !seen_bar)
    return make_error(Errc::invalid_argument, "add indicator " + key + ": seen_count > 0 without a bar accessor");

  if (cache_ != nullptr) {
    // Shared values, if this set walks the cache's series: the bars seen so far
    // must be its first bars (checked on the last one; later bars are checked
    // as they come in update()).
    std::shared_ptr<const CachedSeries> c = cache_->get(spec, key);
    auto same_bar = [&](std::size_t i) {
      const model::Bar a = seen_bar(i), b = c->bars.at(i);
      return a.ts_ns == b.ts_ns && same_bits(a.open, b.open) && same_bits(a.high, b.high) && same_bits(a.low, b.low) &&
             same_bits(a.close, b.close) && same_bits(a.volume, b.volume);
    };
    if (c && seen_count <= c->size && (seen_count == 0 || (same_bar(0) && same_bar(seen_count - 1)))) {
      const int first = static_cast<int>(view_.slot_count);
      const int outputs = c->outputs;
      const double* v = c->values.data();
      for (int s = first; s < first + outputs; ++s) std::fill_n(row(s), ring_len_, kNaN);
      // Only the last history_len_ seen bars can still be in the ring.
      for (std::size_t i = seen_count > history_len_ ? seen_count - history_len_ : 0; i < seen_count; ++i) {
        if (updates_ + i < seen_count) continue;
        const std::size_t pos = static_cast<std::size_t>(updates_ + i - seen_count) & ring_mask_;
        for (int k = 0; k < outputs; ++k) row(first + k)[pos] = v[i * static_cast<std::size_t>(outputs) + static_cast<std::size_t>(k)];
      }
      for (int k = 0; k < outputs; ++k) {
        current_[static_cast<std::size_t>(first + k)] =
            seen_count ? v[(seen_count - 1) * static_cast<std::size_t>(outputs) + static_cast<std::size_t>(k)] : kNaN;
        // The view's current value is the ring's entry at head (also before
        // the set's first update, when the loop above wrote no entry).
        row(first + k)[view_.head] = current_[static_cast<std::size_t>(first + k)];
      }
      Entry e{nullptr, first, outputs, -1, std::move(c), seen_count};
      entries_.push_back(std::move(e));
      special_ = true;
      per_bar_work_ = true;
      by_key_.emplace(std::move(key), first);
      view_.slot_count = static_cast<std::uint32_t>(first + outputs);
      if (ahead_on_) rebuild_per_bar_lists();
      return first;
    }
  }

  std::unique_ptr<Indicator> ind;
  try {
    ind = make_indicator(spec);
  } catch (const std::bad_alloc&) {
    return make_error(Errc::limit, "add indicator " + key + ": out of memory");
  }
  const int first = static_cast<int>(view_.slot_count);
  const int outputs = ind->output_count();
  for (int s = first; s < first + outputs; ++s) {
    current_[static_cast<std::size_t>(s)] = kNaN;
    std::fill_n(row(s), ring_len_, kNaN);
  }
  const int group = spec.timeframe.empty() ? -1 : group_for(spec.timeframe, seen_count, seen_bar);

  // Warm-up: replay the bars already seen, recording the outputs each bar would
  // have had so that value(slot, offset) matches an indicator added at the start.
  double out[kMaxOutputs] = {kNaN, kNaN, kNaN};
  std::optional<BarAggregator> agg;
  if (group >= 0) agg.emplace(spec.timeframe, base_interval_ns_);
  for (std::size_t i = 0; i < seen_count; ++i) {
    const model::Bar bar = seen_bar(i);
    if (!agg) {
      ind->update(bar, out);
    } else {
      const int n = agg->push(bar);
      for (int k = 0; k < n; ++k) ind->update(agg->closed(k), out);
    }
    // Seen bar i lines up with set update number updates_ - seen_count + i.
    if (updates_ + i >= seen_count) {
      const std::size_t pos = static_cast<std::size_t>(updates_ + i - seen_count) & ring_mask_;
      for (int k = 0; k < outputs; ++k) row(first + k)[pos] = out[k];
    }
  }
  // The view's current value is the ring's entry at head (written above
  // unless the set has had no update yet: then head is 0 and nothing was).
  for (int k = 0; k < outputs; ++k) {
    current_[static_cast<std::size_t>(first + k)] = out[k];
    row(first + k)[view_.head] = out[k];
  }

  Indicator* raw_ind = ind.get();
  if (group < 0) {
    // Room for its block of values first: the only steps here that can throw.
    const bool ahead = ahead_on_ && computed_ahead(*raw_ind);
    const std::size_t row = ahead ? ahead_out_.size() : kNotAhead;
    if (ahead) {
      ahead_values_.resize((row + static_cast<std::size_t>(outputs)) * kAheadBlock);
      for (int k = 0; k < outputs; ++k) ahead_out_.push_back({current_.get() + first + k, this->row(first + k)});
    }
    const Plain p{raw_ind, current_.get() + first, outputs, row, this->row(first)};
    per_bar_.reserve(plain_.size() + 1);
    plain_.push_back(p);
    if (!ahead) per_bar_.push_back(p);
    per_bar_work_ = per_bar_work_ || !ahead;
    // Its values for the rest of the block, from the bar after the seen ones.
    if (ahead) fill_ahead_rest(p);
  }
  entries_.push_back(Entry{std::move(ind), first, outputs, group, nullptr, 0});
  by_key_.emplace(std::move(key), first);
  view_.slot_count = static_cast<std::uint32_t>(first + outputs);
  if (ahead_on_) rebuild_per_bar_lists();
  return first;
}

void IndicatorSet::update_special(const model::Bar& bar) noexcept {
  for (Group& g : groups_) g.closed_now = g.aggregator.push(bar);
  if (!feeds_.empty()) push_feeds(bar);
  for (Entry& e : entries_) {
    double* cur = current_.get() + e.first_slot;
    if (e.cached) {
      const CachedSeries& c = *e.cached;
      TE_ASSERT(e.next < c.size && c.ts_ns[e.next] == bar.ts_ns && same_bits(c.close[e.next], bar.close),
                "indicator set fed a bar that is not the next one of its cached series");
      const double* v = c.values.data() + e.next * static_cast<std::size_t>(e.outputs);
      for (int k = 0; k < e.outputs; ++k) cur[k] = v[k];
      ++e.next;
      continue;
    }
    if (e.group < 0) continue;  // plain: updated from plain_
    // A higher-timeframe indicator moves only when its bar has closed; until
    // then its slots keep the previous closed value.
    const Group& g = groups_[static_cast<std::size_t>(e.group)];
    for (int k = 0; k < g.closed_now; ++k) e.indicator->update(g.aggregator.closed(k), cur);
  }
}

void IndicatorSet::set_ahead(const model::BarSeries::Columns& columns, std::size_t next,
                             const std::size_t* readable) noexcept {
  ahead_on_ = true;
  ahead_columns_ = columns;
  ahead_readable_ = readable;
  ahead_begin_ = ahead_end_ = ahead_next_ = next;
  ahead_out_.clear();
  per_bar_.clear();
  for (Plain& p : plain_) {
    p.ahead = computed_ahead(*p.indicator) ? ahead_out_.size() : kNotAhead;
    for (int k = 0; p.ahead != kNotAhead && k < p.outputs; ++k)
      ahead_out_.push_back({p.out + k, row(static_cast<int>(p.out + k - current_.get()))});
    if (p.ahead == kNotAhead) per_bar_.push_back(p);
  }
  for (Cross& c : crosses_) {  // in creation order: a crossover of a crossover follows it
    c.ahead = kNotAhead;
    place_cross_ahead(c);
  }
  ahead_values_.assign(ahead_out_.size() * kAheadBlock, kNaN);
  rebuild_per_bar_lists();
}

std::size_t IndicatorSet::ahead_row_of(int slot) const noexcept {
  const double* p = current_.get() + slot;
  for (std::size_t r = 0; r < ahead_out_.size(); ++r)
    if (ahead_out_[r].cur == p) return r;
  return kNotAhead;
}

void IndicatorSet::place_cross_ahead(Cross& c) {
  const std::size_t ra = ahead_row_of(c.a), rb = ahead_row_of(c.b);
  if (ra == kNotAhead || rb == kNotAhead || mask_ == 0) return;
  c.ra = ra;
  c.rb = rb;
  c.ahead = ahead_out_.size();
  ahead_values_.resize((c.ahead + 2) * kAheadBlock);
  ahead_out_.push_back({current_.get() + c.slot, row(c.slot)});
  ahead_out_.push_back({current_.get() + c.slot + 1, row(c.slot + 1)});
}

void IndicatorSet::rebuild_per_bar_lists() {
  std::vector<bool> by_row(view_.slot_count, false);
  for (const AheadRow& r : ahead_out_) by_row[static_cast<std::size_t>(r.cur - current_.get())] = true;
  for (const Plain& p : per_bar_)  // (their update_keep writes the ring)
    for (int k = 0; k < p.outputs; ++k) by_row[static_cast<std::size_t>(p.out + k - current_.get())] = true;
  ring_slots_.clear();
  for (std::uint32_t s = 0; s < view_.slot_count; ++s)
    if (!by_row[s]) ring_slots_.push_back(s);
  per_bar_crosses_.clear();
  for (std::size_t k = 0; k < crosses_.size(); ++k)
    if (crosses_[k].ahead == kNotAhead) per_bar_crosses_.push_back(k);
  per_bar_work_ = !per_bar_.empty() || special_ || !per_bar_crosses_.empty() || !ring_slots_.empty();
}

// A crossover's value at a bar whose difference a - b and the one before it
// are both non-zero and not NaN (nearly every bar once the inputs are warm):
// the look-back is the bar before (age 1, within any ring longer than 1) and
// the value the sign change from there, step_cross's expression. Writes those
// values for block positions [1, n) with no dependency from bar to bar and
// returns the first position whose difference is 0 or NaN (n: none); from
// there on (and at position 0) the caller steps bar by bar.
namespace {

std::size_t cross_run(const double* a, const double* b, double* o0, double* o1, std::size_t n) noexcept {
  std::size_t k = 1;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0);
  __m128d prev = _mm_set_sd(a[0] - b[0]);  // lane 0: d[k - 1] for the first pair
  prev = _mm_unpacklo_pd(prev, prev);
  __m128d bad = _mm_cmpeq_pd(prev, zero);
  bad = _mm_or_pd(bad, _mm_cmpunord_pd(prev, prev));
  for (; k + 2 <= n; k += 2) {
    const __m128d d = _mm_sub_pd(_mm_loadu_pd(a + k), _mm_loadu_pd(b + k));
    const __m128d dp = _mm_shuffle_pd(prev, d, 1);  // d[k - 1], d[k]
    const __m128d v = _mm_sub_pd(_mm_and_pd(_mm_cmpgt_pd(d, zero), one), _mm_and_pd(_mm_cmpgt_pd(dp, zero), one));
    _mm_storeu_pd(o0 + k, v);
    _mm_storeu_pd(o1 + k, one);
    bad = _mm_or_pd(bad, _mm_or_pd(_mm_cmpeq_pd(d, zero), _mm_cmpunord_pd(d, d)));
    prev = d;
  }
  if (_mm_movemask_pd(bad) != 0) k = 1;  // (rare: found below, bar by bar)
#endif
  for (std::size_t i = k - 1; i < n; ++i) {  // the rest, and the first 0 or NaN
    const double d = a[i] - b[i];
    if (!(d > 0 || d < 0)) return i;
    if (i >= k) {
      const double dp = a[i - 1] - b[i - 1];
      o0[i] = static_cast<double>(static_cast<int>(d > 0) - static_cast<int>(dp > 0));
      o1[i] = 1.0;
    }
  }
  return n;
}

}  // namespace

void IndicatorSet::cross_block(Cross& c, std::size_t j, std::size_t n) noexcept {
  if (n == 0) return;
  const double* a = block_row(c.ra) + j;
  const double* b = block_row(c.rb) + j;
  double* o0 = block_row(c.ahead) + j;
  double* o1 = block_row(c.ahead + 1) + j;
  const std::uint64_t at = updates_;
  double out[2];
  step_cross(c, a[0], b[0], at, out);
  o0[0] = out[0];
  o1[0] = out[1];
  // Positions [1, f) by the run; its last difference is the look-back of the next.
  const std::size_t f = cross_run(a, b, o0, o1, n);
  if (f >= 2) {
    c.last_d = a[f - 1] - b[f - 1];
    c.last_at = at + (f - 1);
  }
  for (std::size_t k = std::max<std::size_t>(f, 1); k < n; ++k) {
    step_cross(c, a[k], b[k], at + k, out);
    o0[k] = out[0];
    o1[k] = out[1];
  }
}

void IndicatorSet::fill_ahead(std::size_t from) noexcept {
  ahead_begin_ = from;
  ahead_end_ = std::min(from + kAheadBlock, *ahead_readable_);
  TE_ASSERT(ahead_end_ > ahead_begin_, "indicator set updated with bar %zu, which its feed has not released", from);
  // Called by the update of bar `from`, whose update number is updates_: the
  // block's first bar goes to ring position updates_ & ring_mask_. An
  // indicator's output rows are consecutive slots, so its rows in the ring
  // are ring_len_ apart (the stride its kernel is given).
  block_pos_ = static_cast<std::size_t>(updates_) & ring_mask_;
  block_in_ring_ = block_pos_ + (ahead_end_ - ahead_begin_) <= ring_len_;
  for (const Plain& p : plain_)
    if (p.ahead != kNotAhead)
      p.indicator->update_columns(ahead_columns_, ahead_begin_, ahead_end_ - ahead_begin_, block_row(p.ahead),
                                  block_stride());
  for (Cross& c : crosses_)
    if (c.ahead != kNotAhead) cross_block(c, 0, ahead_end_ - ahead_begin_);
  if (!block_in_ring_) ring_block(0, ahead_out_.size(), 0, ahead_end_ - ahead_begin_, updates_);
}

void IndicatorSet::fill_ahead_rest(const Plain& p) noexcept {
  if (ahead_next_ >= ahead_end_) return;  // the next update starts a new block
  p.indicator->update_columns(ahead_columns_, ahead_next_, ahead_end_ - ahead_next_,
                              block_row(p.ahead) + (ahead_next_ - ahead_begin_), block_stride());
  if (!block_in_ring_)
    ring_block(p.ahead, p.ahead + static_cast<std::size_t>(p.outputs), ahead_next_ - ahead_begin_,
               ahead_end_ - ahead_next_, updates_);
}

// Only for a block across the ring's end (block_in_ring_ false): one that
// fits is computed in the ring itself.
void IndicatorSet::ring_block(std::size_t r0, std::size_t r1, std::size_t j, std::size_t n, std::uint64_t u) noexcept {
  const std::size_t pos = static_cast<std::size_t>(u) & ring_mask_;
  const std::size_t first = std::min(n, ring_len_ - pos);  // up to the ring's end, the rest from its start
  for (std::size_t r = r0; r < r1; ++r) {
    const double* src = ahead_values_.data() + r * kAheadBlock + j;
    double* ring = ahead_out_[r].ring;
    std::memcpy(ring + pos, src, first * sizeof(double));
    if (n > first) std::memcpy(ring, src + first, (n - first) * sizeof(double));  // (a block across the ring's end)
  }
}

// update()'s general body: a set without blocks ahead (live trading), with
// per-bar work, or at a block's end.
void IndicatorSet::update_general(const model::Bar& bar, std::size_t head) noexcept {
  // Every indicator reads only the bar and writes only its own slots, so the
  // plain ones can run before the others without changing any value.
  if (ahead_on_) {
    const std::size_t i = ahead_next_++;
    if (!ahead_out_.empty()) {  // (none yet: no block to keep, the next add starts one)
      if (i >= ahead_end_) fill_ahead(i);
      // The bar is the column bar the block was computed from (its time and
      // close: a feed hands over whole rows).
      TE_ASSERT(bar.ts_ns == ahead_columns_.ts_ns[i] && same_bits(bar.close, ahead_columns_.close[i]),
                "indicator set fed a bar that is not bar %zu of its columns", i);
      // The values (their history entries were written with the block).
      const std::size_t off = i - ahead_begin_;
      for (std::size_t r = 0; r < ahead_out_.size(); ++r) *ahead_out_[r].cur = block_row(r)[off];
    }
    if (per_bar_work_) {
      for (const Plain& p : per_bar_) p.indicator->update_keep(bar, p.out, p.ring + head, ring_len_);
      if (special_) update_special(bar);
      double* cur = current_.get();
      for (std::size_t k : per_bar_crosses_) {
        Cross& c = crosses_[k];
        step_cross(c, cur[c.a], cur[c.b], updates_, cur + c.slot);
      }
      for (std::uint32_t s : ring_slots_) history_[s * ring_len_ + head] = cur[s];
    }
  } else {
    for (const Plain& p : plain_) p.indicator->update(bar, p.out);
    if (special_) update_special(bar);
    for (Cross& c : crosses_) {
      const double* cur = current_.get();
      step_cross(c, cur[c.a], cur[c.b], updates_, current_.get() + c.slot);
    }
    const std::size_t slots = view_.slot_count;
    for (std::size_t s = 0; s < slots; ++s) history_[s * ring_len_ + head] = current_[s];
  }
  ++updates_;
  view_.updates = updates_;
  set_head(head);
}

void IndicatorSet::step_cross(Cross& c, double va, double vb, std::uint64_t at, double* out) const noexcept {
  const double d = va - vb;
  const double pd = c.last_d;  // never 0; NaN when there is none yet
  const std::uint64_t k = at - c.last_at;
  // d > 0 after pd < 0 is +1, d < 0 after pd > 0 is -1, the same side is 0.
  double v = 0;
  if (d != 0 && pd == pd && k <= mask_) v = static_cast<double>(static_cast<int>(d > 0) - static_cast<int>(pd > 0));
  out[0] = d == d ? v : kNaN;
  out[1] = static_cast<double>(static_cast<std::int64_t>(k));  // k < 2^63: the same value, a cheaper conversion
  if (d != 0) {  // NaN included: the look-back stops there
    c.last_d = d;
    c.last_at = at;
  }
}

Result<int> IndicatorSet::add_crossover(int slot_a, int slot_b) {
  const int used = static_cast<int>(view_.slot_count);
  if (slot_a < 0 || slot_a >= used || slot_b < 0 || slot_b >= used)
    return make_error(Errc::invalid_argument, "crossover: slot " + std::to_string(slot_a < 0 || slot_a >= used ? slot_a : slot_b) +
                                                  " is not an indicator of this set");
  std::string key = "crossover:" + std::to_string(slot_a) + ":" + std::to_string(slot_b);
  if (const auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  if (static_cast<std::size_t>(used) + 2 > slot_capacity_)
    return make_error(Errc::limit, "crossover: the set is full (at most " + std::to_string(max_indicators_) +
                                       " indicators per strategy)");
  Cross c{slot_a, slot_b, used};
  for (int s = used; s < used + 2; ++s) {
    current_[static_cast<std::size_t>(s)] = kNaN;
    std::fill_n(row(s), ring_len_, kNaN);
  }
  // Warm-up over the ring: the updates still in it are all a read can reach
  // (a look-back longer than the ring gives 0 anyway).
  const std::uint64_t from = updates_ > history_len_ ? updates_ - history_len_ : 0;
  double out[2] = {kNaN, kNaN};
  for (std::uint64_t u = from; u < updates_; ++u) {
    const std::size_t pos = static_cast<std::size_t>(u) & ring_mask_;
    step_cross(c, row(slot_a)[pos], row(slot_b)[pos], u, out);
    row(used)[pos] = out[0];
    row(used + 1)[pos] = out[1];
  }
  current_[static_cast<std::size_t>(used)] = out[0];
  current_[static_cast<std::size_t>(used) + 1] = out[1];
  if (ahead_on_) place_cross_ahead(c);
  crosses_.push_back(c);
  by_key_.emplace(std::move(key), used);
  view_.slot_count = static_cast<std::uint32_t>(used + 2);
  if (ahead_on_) {
    rebuild_per_bar_lists();
    // Its values for the rest of the block, from the next update on.
    Cross& added = crosses_.back();
    if (added.ahead != kNotAhead && ahead_next_ < ahead_end_) {
      cross_block(added, ahead_next_ - ahead_begin_, ahead_end_ - ahead_next_);
      if (!block_in_ring_)
        ring_block(added.ahead, added.ahead + 2, ahead_next_ - ahead_begin_, ahead_end_ - ahead_next_, updates_);
    }
  }
  return used;
}

double IndicatorSet::value(int slot, int offset) const noexcept {
  if (slot < 0 || static_cast<std::uint32_t>(slot) >= view_.slot_count || offset < 0) return kNaN;
  const auto k = static_cast<std::uint64_t>(offset);
  if (k >= updates_ || k > mask_) return kNaN;
  return row(slot)[(view_.head - k) & ring_mask_];
}

int IndicatorSet::open_feed(const Timeframe& tf, std::size_t seen_count,
                            const std::function<model::Bar(std::size_t)>& seen_bar) {
  for (std::size_t f = 0; f < feeds_.size(); ++f)
    if (feeds_[f].aggregator.timeframe() == tf) return static_cast<int>(f);
  Feed feed{BarAggregator(tf, base_interval_ns_), {}, {}};
  // Seen bar i lines up with update number updates_ - seen_count + i.
  const std::uint64_t first = updates_ >= seen_count ? updates_ - seen_count : 0;
  for (std::size_t i = 0; i < seen_count && seen_bar; ++i) {
    const int n = feed.aggregator.push(seen_bar(i));
    for (int k = 0; k < n; ++k) {
      feed.bars.push_back(feed.aggregator.closed(k));
      feed.closed_at.push_back(first + i);
    }
  }
  feeds_.push_back(std::move(feed));
  special_ = true;
  per_bar_work_ = true;
  return static_cast<int>(feeds_.size() - 1);
}

void IndicatorSet::push_feeds(const model::Bar& bar) {
  for (Feed& f : feeds_) {
    const int n = f.aggregator.push(bar);
    for (int k = 0; k < n; ++k) {
      f.bars.push_back(f.aggregator.closed(k));
      f.closed_at.push_back(updates_);
    }
  }
}

std::size_t IndicatorSet::feed_closed(int id, std::uint64_t update) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= feeds_.size()) return 0;
  const Feed& f = feeds_[static_cast<std::size_t>(id)];
  if (f.closed_at.empty() || update >= f.closed_at.back()) return f.closed_at.size();
  return static_cast<std::size_t>(std::upper_bound(f.closed_at.begin(), f.closed_at.end(), update) - f.closed_at.begin());
}

const model::Bar* IndicatorSet::feed_bar(int id, std::size_t i) const noexcept {
  if (id < 0 || static_cast<std::size_t>(id) >= feeds_.size()) return nullptr;
  const Feed& f = feeds_[static_cast<std::size_t>(id)];
  return i < f.bars.size() ? &f.bars[i] : nullptr;
}

int IndicatorSet::find(const std::string& key) const noexcept {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? -1 : it->second;
}

std::size_t IndicatorSet::cached_indicators() const noexcept {
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.cached != nullptr; }));
}

void IndicatorSet::reset() noexcept {
  for (Entry& e : entries_) {
    if (e.cached) e.next = 0;
    else e.indicator->reset();
  }
  for (Cross& c : crosses_) {  // as new: [1] counted on from an update number of before the reset
    c.last_d = kNaN;
    c.last_at = 0;
  }
  ahead_begin_ = ahead_end_ = ahead_next_;  // the kernels start again from the next bar
  for (Group& g : groups_) {
    g.aggregator.reset();
    g.closed_now = 0;
  }
  for (Feed& f : feeds_) {
    f.aggregator.reset();
    f.bars.clear();
    f.closed_at.clear();
  }
  for (std::size_t s = 0; s < view_.slot_count; ++s) {
    current_[s] = kNaN;
    std::fill_n(row(static_cast<int>(s)), ring_len_, kNaN);
  }
  updates_ = 0;
  view_.updates = 0;
  set_head(0);
}

}  // namespace te::ta
