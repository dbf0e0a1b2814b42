#include "engine/live/config_check.hpp"

#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/core.h>

#include "engine/core/labels.hpp"
#include "engine/core/time.hpp"
#include "engine/data/interval.hpp"
#include "engine/venue/binance/interval.hpp"

namespace te::live {
namespace {

bool readable_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

std::string report_dir_name(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  return out.empty() ? "runner" : out;
}

std::vector<std::string> check_config(const config::Config& cfg) {
  std::vector<std::string> out;
  auto problem = [&](const std::string& key, const std::string& message) {
    out.push_back(fmt::format("{}: {}: {}", cfg.path, key, message));
  };
  if (cfg.runners.empty()) problem("runners", "no runners: add a [[runners]] or [[strategies]] table");
  std::set<std::string> reported;  // one message per file, not one per symbol of a [[strategies]] entry
  std::map<std::string, const config::RunnerSection*> folders;  // report folder -> first runner writing there
  for (const auto& r : cfg.runners) {
    const std::string& at = r.key_path;
    const auto [first, fresh] = folders.try_emplace(report_dir_name(r.name), &r);
    if (!fresh && first->second->name != r.name)
      problem(at + ".name", fmt::format("runner \"{}\" would write its reports to the same folder runners/{}/ as runner "
                                        "\"{}\" ({}); rename one",
                                        printable(r.name), first->first, printable(first->second->name),
                                        first->second->key_path));
    if (!r.strategy.empty() && !readable_file(r.strategy) && reported.insert(at + "|s|" + r.strategy).second)
      problem(at + ".strategy", "no such file: " + printable(r.strategy) + " (paths are relative to the working directory)");
    const auto& ds = r.data_source;
    if (ds.type == "historical" && !ds.path.empty() && !readable_file(ds.path) &&
        reported.insert(at + "|p|" + ds.path).second)
      problem(at + ".data_source.path", "no such file: " + printable(ds.path));
    if (ds.type == "live") {
      if (auto iv = venue::binance::parse_interval(ds.interval); !iv && reported.insert(at + "|i").second)
        problem(at + ".data_source.interval", iv.error().message);
      bool plain = true;
      for (char c : r.symbol) plain = plain && std::isalnum(static_cast<unsigned char>(c));
      if (!plain || r.symbol.empty())
        problem(at + ".symbol", "a Binance symbol is letters and digits, e.g. BTCUSDT; was \"" + printable(r.symbol) + "\"");
    }
    if (ds.type == "simulated") {
      if (!data::parse_interval_ns(ds.interval) && reported.insert(at + "|i").second)
        problem(at + ".data_source.interval", "unknown interval \"" + ds.interval + "\" (e.g. 1s, 1m, 5m, 1h, 1d)");
      if (!ds.start.empty() && !parse_iso8601_ns(ds.start) && reported.insert(at + "|t").second)
        problem(at + ".data_source.start", "expected an ISO-8601 date or date-time, was \"" + ds.start + "\"");
    }
  }
  return out;
}

Result<config::Config> validate_config_file(const std::string& path) {
  auto cfg = config::load_config(path);
  if (!cfg) return cfg;
  auto problems = check_config(*cfg);
  if (problems.empty()) return cfg;
  std::string text;
  for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
  return make_error(Errc::invalid_argument, text);
}

}  // namespace te::live
