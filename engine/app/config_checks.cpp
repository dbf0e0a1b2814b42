#include "engine/app/config_checks.hpp"

#include "engine/live/config_check.hpp"

namespace te::app {

// `validate --config` and `run` must agree on what is runnable, so both use the
// live engine's checks (files, intervals, symbols, start times).
std::vector<std::string> check_config_references(const config::Config& cfg) { return live::check_config(cfg); }

}  // namespace te::app
