#pragma once
// Checks of a `run` config that need more than the TOML itself: files that
// must exist (strategies, historical data), intervals Binance and the data
// module understand, simulated start times. `validate --config` and `run`
// call validate_config_file(); both print every problem at once.
#include <string>
#include <vector>

#include "engine/config/config.hpp"
#include "engine/core/result.hpp"

namespace te::live {

// The folder of a runner's reports under <session>/runners/: the name with
// anything but letters, digits, '-', '_' and '.' replaced by '_' (no leading dots).
std::string report_dir_name(const std::string& runner_name);

// One line per problem: "<file>: <key path>: <message>". Empty: runnable.
// Includes runners whose report folders would collide ("x/y" and "x_y").
std::vector<std::string> check_config(const config::Config& cfg);

// load_config (syntax, types, unknown keys, impossible combinations, with
// lines and key paths) and then check_config. Errors: Errc::parse /
// Errc::invalid_argument whose message lists every problem, one per line;
// Errc::io when the file cannot be read.
Result<config::Config> validate_config_file(const std::string& path);

}  // namespace te::live
