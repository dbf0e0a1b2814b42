#include "engine/app/config_checks.hpp"

#include "engine/app/run_setup.hpp"
#include "engine/live/config_check.hpp"

namespace te::app {

// `validate --config` and `run` must agree on what is runnable, so both use the
// live engine's checks (files, intervals, symbols, start times, report folders)
// and then build the runners as `run` does: every historical file is parsed,
// so a bad row is found here, not after `run` has started.
std::vector<std::string> check_config_references(const config::Config& cfg) {
  std::vector<std::string> out = live::check_config(cfg);
  if (!out.empty()) return out;
  auto specs = runner_specs(cfg, {});
  if (specs) return out;
  const std::string& m = specs.error().message;
  for (std::size_t at = 0; at <= m.size();) {
    const std::size_t nl = std::min(m.find('\n', at), m.size());
    out.push_back(cfg.path + ": " + m.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

}  // namespace te::app
