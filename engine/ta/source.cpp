#include "engine/ta/source.hpp"

namespace te::ta {

std::string_view source_name(Source s) noexcept {
  switch (s) {
    case Source::open: return "open";
    case Source::high: return "high";
    case Source::low: return "low";
    case Source::close: return "close";
    case Source::volume: return "volume";
    case Source::typical: return "typical";
    case Source::median: return "median";
  }
  return "close";
}

std::optional<Source> parse_source(std::string_view name) noexcept {
  for (Source s : kAllSources)
    if (source_name(s) == name) return s;
  return std::nullopt;
}

}  // namespace te::ta
