#pragma once
// The parameter space of `trading-engine optimize --space F.toml`, as plain
// structs (no TOML types leave this module). Format in docs/optimization.md:
//
//   [params]
//   fast  = { min = 5, max = 50, step = 5 }   # lattice
//   slow  = [20, 30, 50]                      # list
//   stake = 1000                              # fixed
//   width = { min = 0.5, max = 3.0 }          # continuous: random search only
//   [search]                                  # optional; the command line wins
//   method = "grid"  objective = "sharpe"  min_trades = 10  samples = 200  seed = 7
//   constraints = ["fast < slow"]
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"

namespace te::config {

struct ParamSpaceAxis {
  std::string name;
  std::vector<std::string> values;  // a list or one fixed value, as --param texts
  bool range = false;               // { min, max [, step] } instead of values
  std::string min, max, step;       // range bounds as number texts; step empty: continuous
};

struct ParamSpaceFile {
  std::string path;
  std::vector<ParamSpaceAxis> axes;  // in file order
  std::vector<std::string> constraints;
  std::string method, objective;     // empty when not set
  std::optional<std::uint64_t> samples, seed, min_trades;
};

// Every problem is reported, one per line as "<file>:<line>: <key path>: <message>";
// unknown keys are errors.
Result<ParamSpaceFile> load_param_space(const std::string& path);
Result<ParamSpaceFile> parse_param_space(std::string_view text, const std::string& name);

}  // namespace te::config
