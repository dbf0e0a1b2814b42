#include "engine/app/config_checks.hpp"

#include <filesystem>

#include <fmt/core.h>

namespace te::app {

std::vector<std::string> check_config_references(const config::Config& cfg) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::size_t i = 0; i < cfg.runners.size(); ++i) {
    const auto& r = cfg.runners[i];
    const std::string where = fmt::format("{}: runner \"{}\"", cfg.path, r.name);
    if (!r.strategy.empty() && !std::filesystem::is_regular_file(r.strategy, ec))
      out.push_back(fmt::format("{}: strategy: no such file {} (paths are relative to the working directory)", where,
                                r.strategy));
    if (r.data_source.type == "historical" && !r.data_source.path.empty() &&
        !std::filesystem::is_regular_file(r.data_source.path, ec))
      out.push_back(fmt::format("{}: data_source.path: no such file {}", where, r.data_source.path));
  }
  return out;
}

}  // namespace te::app
