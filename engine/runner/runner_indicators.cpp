#include "engine/runner/runner_indicators.hpp"

#include "engine/ta/registry.hpp"
#include "engine/ta/spec.hpp"

namespace te::runner {
namespace {

// Bars looked at when the spacing is judged from the history.
constexpr std::size_t kSpacingBars = 16;

}  // namespace

RunnerIndicators::RunnerIndicators(const BarHistory& history) : history_(history) {}

std::vector<script::IndicatorDesc> RunnerIndicators::catalogue() const {
  std::vector<script::IndicatorDesc> out;
  for (const ta::IndicatorInfo& info : ta::indicator_registry()) {
    script::IndicatorDesc d;
    d.name = std::string(info.name);
    d.nparams = static_cast<int>(info.params.size());
    for (const auto& p : info.params) d.defaults.push_back(p.default_value);
    d.outputs = static_cast<int>(info.outputs.size());
    d.takes_source = info.takes_source;
    out.push_back(std::move(d));
  }
  return out;
}

Result<int> RunnerIndicators::add(std::string_view name, std::span<const double> params, std::string_view source,
                                  std::string_view timeframe) {
  std::optional<ta::Source> src;
  if (!source.empty()) {
    src = ta::parse_source(source);
    if (!src)
      return make_error(Errc::invalid_argument, "unknown source '" + std::string(source) +
                                                    "' (open, high, low, close, volume, typical, median)");
  }
  ta::Timeframe tf;
  if (!timeframe.empty()) {
    auto parsed = ta::parse_timeframe(timeframe);
    if (!parsed)
      return make_error(Errc::invalid_argument, "ind.tf: unknown timeframe '" + std::string(timeframe) +
                                                    "' (a count and a unit: 5m, 15m, 1h, 4h, 1d, 1w, 1M)");
    tf = *parsed;
    if (auto st = check_not_finer(tf); !st) return std::move(st).error();
  }
  auto spec = ta::make_spec(name, params, src, tf);
  if (!spec) return std::move(spec).error();
  const std::size_t before = set_.indicator_count();
  auto slot = set_.add(*spec, history_.size(), [this](std::size_t i) { return history_.at(i); });
  if (slot && set_.indicator_count() != before) {
    Created c;
    c.spec = ta::spec_to_string(*spec);
    int s = *slot;
    for (auto& column : ta::output_columns(*spec)) c.columns.push_back({std::move(column), s++});
    created_.push_back(std::move(c));
    created_count_ = created_.size();
    if (clear_on_create_ != nullptr) *clear_on_create_ = false;
  }
  return slot;
}

Result<int> RunnerIndicators::timeframe_feed(std::string_view timeframe) {
  auto tf = ta::parse_timeframe(timeframe);
  if (!tf)
    return make_error(Errc::invalid_argument, "ind.tf: unknown timeframe '" + std::string(timeframe) +
                                                  "' (a count and a unit: 5m, 15m, 1h, 4h, 1d, 1w, 1M)");
  if (auto st = check_not_finer(*tf); !st) return std::move(st).error();
  return set_.open_feed(*tf, history_.size(), [this](std::size_t i) { return history_.at(i); });
}

Status RunnerIndicators::check_not_finer(const ta::Timeframe& tf) const {
  std::int64_t spacing = bar_interval_ns_;
  if (spacing <= 0) {
    const std::size_t n = history_.size();
    for (std::size_t i = n > kSpacingBars ? n - kSpacingBars : 1; i < n; ++i) {
      const std::int64_t gap = history_.at(i).ts_ns - history_.at(i - 1).ts_ns;
      if (gap > 0 && (spacing <= 0 || gap < spacing)) spacing = gap;
    }
  }
  auto st = ta::check_not_finer(tf, spacing);
  if (!st) return make_error(Errc::invalid_argument, "ind.tf: " + st.error().message);
  return {};
}

}  // namespace te::runner
