#pragma once
// Checks of a loaded `run` configuration that go beyond its own syntax and
// types (engine/config reports those, every one with its key path): things the
// config refers to. `validate --config` calls check_config_references() once;
// add further checks inside it.
#include <string>
#include <vector>

#include "engine/config/config.hpp"

namespace te::app {

// One "<file>: <key path>: <message>" line per problem; empty when all is well.
std::vector<std::string> check_config_references(const config::Config& cfg);

}  // namespace te::app
