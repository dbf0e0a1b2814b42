#include "engine/ta/batch.hpp"

#include <algorithm>
#include <cmath>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/ta/indicator_set.hpp"

namespace te::ta {
namespace {

constexpr std::size_t kFlushBytes = 1 << 16;

// Adds every spec to a fresh set; returns the first slot of each (in spec order).
Result<std::vector<int>> add_all(IndicatorSet& set, std::span<const IndicatorSpec> specs) {
  std::vector<int> slots;
  slots.reserve(specs.size());
  for (const IndicatorSpec& s : specs) {
    auto slot = set.add(s);
    if (!slot) return std::move(slot).error();
    slots.push_back(*slot);
  }
  return slots;
}

// Distinct indicators in a list (duplicates share one indicator in the set).
std::size_t distinct(std::span<const IndicatorSpec> specs) {
  std::vector<std::string> keys;
  for (const IndicatorSpec& s : specs) {
    std::string k = spec_key(s);
    bool seen = false;
    for (const std::string& x : keys) seen = seen || x == k;
    if (!seen) keys.push_back(std::move(k));
  }
  return keys.size();
}

}  // namespace

Result<IndicatorColumns> compute_indicators(const model::BarSeries& bars, std::span<const IndicatorSpec> specs,
                                            std::int64_t base_interval_ns) {
  IndicatorSet set(std::max<std::size_t>(distinct(specs), 1), 1, base_interval_ns);
  auto slots = add_all(set, specs);
  if (!slots) return std::move(slots).error();

  IndicatorColumns cols;
  std::vector<int> col_slot;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::vector<std::string> names = output_columns(specs[i]);
    for (std::size_t k = 0; k < names.size(); ++k) {
      cols.names.push_back(names[k]);
      col_slot.push_back((*slots)[i] + static_cast<int>(k));
    }
  }
  cols.values.resize(cols.names.size());
  for (std::vector<double>& v : cols.values) v.resize(bars.size());
  for (std::size_t b = 0; b < bars.size(); ++b) {
    set.update(bars.at(b));
    for (std::size_t c = 0; c < col_slot.size(); ++c) cols.values[c][b] = set.value(col_slot[c]);
  }
  return cols;
}

Status write_indicators_csv(const model::BarSeries& bars, std::string_view spec_list, const CsvSink& sink,
                            std::int64_t base_interval_ns) {
  auto specs = parse_spec_list(spec_list);
  if (!specs) return std::move(specs).error();
  std::vector<ColumnGroup> groups;
  groups.reserve(specs->size());
  for (IndicatorSpec& s : *specs) groups.push_back(ColumnGroup{std::move(s), {}});
  return write_indicators_csv(bars, groups, {}, sink, base_interval_ns);
}

Status write_indicators_csv(const model::BarSeries& bars, std::span<const ColumnGroup> groups,
                            const ExternalColumns& external, const CsvSink& sink, std::int64_t base_interval_ns) {
  std::vector<IndicatorSpec> specs;
  for (const ColumnGroup& g : groups)
    if (g.native) specs.push_back(*g.native);
  IndicatorSet set(std::max<std::size_t>(distinct(specs), 1), 1, base_interval_ns);
  auto slots = add_all(set, specs);
  if (!slots) return std::move(slots).error();

  const bool date_only = bars.date_only();
  std::string buf = date_only ? "date" : "time";
  // Each column reads a native slot (>= 0) or external value -1 - slot.
  std::vector<int> col_slot;
  std::size_t native_index = 0;
  int external_count = 0;
  for (const ColumnGroup& g : groups) {
    const std::vector<std::string> names = g.native ? output_columns(*g.native) : g.columns;
    for (std::size_t k = 0; k < names.size(); ++k) {
      buf += ',';
      buf += names[k];
      col_slot.push_back(g.native ? (*slots)[native_index] + static_cast<int>(k) : -1 - external_count++);
    }
    if (g.native) ++native_index;
  }
  buf += '\n';
  if (external_count > 0 && !external)
    return make_error(Errc::invalid_argument, "write indicator csv: external columns without a step to compute them");

  const auto flush = [&]() -> bool {
    if (buf.empty()) return true;
    const bool ok = sink(buf);
    buf.clear();
    return ok;
  };
  const auto ts = bars.ts_ns();
  std::vector<double> ext;
  for (std::size_t b = 0; b < bars.size(); ++b) {
    const model::Bar bar = bars.at(b);
    set.update(bar);
    if (external_count > 0) {
      ext.clear();
      if (Status st = external(b, bar, ext); !st) return st;
      if (ext.size() != static_cast<std::size_t>(external_count))
        return make_error(Errc::internal, "write indicator csv: the external step gave " + std::to_string(ext.size()) +
                                              " values for " + std::to_string(external_count) + " columns");
    }
    buf += format_iso8601(ts[b], date_only);
    for (int slot : col_slot) {
      buf += ',';
      const double v = slot >= 0 ? set.value(slot) : ext[static_cast<std::size_t>(-1 - slot)];
      if (!std::isnan(v)) append_double(buf, v);
    }
    buf += '\n';
    if (buf.size() >= kFlushBytes && !flush()) return make_error(Errc::io, "write indicator csv: write failed");
  }
  if (!flush()) return make_error(Errc::io, "write indicator csv: write failed");
  return {};
}

Result<std::string> indicators_csv(const model::BarSeries& bars, std::string_view spec_list,
                                   std::int64_t base_interval_ns) {
  std::string out;
  const Status st = write_indicators_csv(
      bars, spec_list,
      [&out](std::string_view chunk) {
        out.append(chunk);
        return true;
      },
      base_interval_ns);
  if (!st) return st.error();
  return out;
}

}  // namespace te::ta
