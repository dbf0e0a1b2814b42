#include "engine/data/interval.hpp"

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::data {
namespace {

struct Unit {
  char symbol;
  std::int64_t ns;
};
constexpr Unit kUnits[] = {{'w', 7 * kNsPerDay}, {'d', kNsPerDay}, {'h', kNsPerHour}, {'m', kNsPerMin}, {'s', kNsPerSec}};

}  // namespace

std::optional<std::int64_t> parse_interval_ns(std::string_view text) noexcept {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  text.remove_suffix(1);
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;  // no sign, no spaces
  std::int64_t count = 0;
  if (!parse_int64(text, count) || count <= 0) return std::nullopt;
  for (const Unit& u : kUnits) {
    if (u.symbol != unit) continue;
    if (count > INT64_MAX / u.ns) return std::nullopt;
    return count * u.ns;
  }
  return std::nullopt;
}

std::string format_interval(std::int64_t interval_ns) {
  for (const Unit& u : kUnits)
    if (interval_ns > 0 && interval_ns % u.ns == 0) return std::to_string(interval_ns / u.ns) + u.symbol;
  return std::to_string(interval_ns) + "ns";
}

}  // namespace te::data
