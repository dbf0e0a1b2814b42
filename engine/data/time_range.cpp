#include "engine/data/time_range.hpp"

#include <limits>

#include "engine/core/time.hpp"

namespace te::data {

std::string timestamp_text(std::int64_t ts_ns) { return format_iso8601(ts_ns, ts_ns % kNsPerDay == 0); }

Status check_time_range(const LoadOptions& o, const std::string& name) {
  if (o.start_ns && o.end_ns && *o.start_ns >= *o.end_ns)
    return make_error(Errc::invalid_argument, name + ": the time range [" + timestamp_text(*o.start_ns) + ", " +
                                                  timestamp_text(*o.end_ns) + ") is empty; start must be before end");
  return {};
}

Error no_bars_in_range(const LoadOptions& o, const std::string& name, std::int64_t first_ns, std::int64_t last_ns) {
  std::string range;
  if (o.start_ns && o.end_ns)
    range = "in [" + timestamp_text(*o.start_ns) + ", " + timestamp_text(*o.end_ns) + ")";
  else if (o.start_ns)
    range = "at or after " + timestamp_text(*o.start_ns);
  else
    range = "before " + timestamp_text(o.end_ns.value_or(0));
  return make_error(Errc::invalid_argument, name + ": no bars " + range + "; the file covers " +
                                                timestamp_text(first_ns) + " to " + timestamp_text(last_ns));
}

Result<model::BarSeries> apply_time_range(const model::BarSeries& series, const LoadOptions& o,
                                          const std::string& name) {
  TE_TRY(check_time_range(o, name));
  if (!o.start_ns && !o.end_ns) return series;
  const model::BarSeries out = series.slice_time(o.start_ns.value_or(std::numeric_limits<std::int64_t>::min()),
                                                 o.end_ns.value_or(std::numeric_limits<std::int64_t>::max()));
  if (out.empty() && !series.empty())
    return no_bars_in_range(o, name, series.ts_ns().front(), series.ts_ns().back());
  return out;
}

}  // namespace te::data
