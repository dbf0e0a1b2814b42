#pragma once
// `validate`'s static scan: every global variable a strategy file reads or
// writes, with its line, found by compiling the file (never running it) in a
// private VM and walking the bytecode of every function (lua/static_scan.lua).
// Complements strict mode, which only sees the code paths that actually run.
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/script/strategy_host.hpp"

namespace te::script {

struct GlobalUse {
  std::string name;
  int line = 0;
  bool write = false;      // assignment (GSET), else a read (GGET)
  bool top_level = false;  // in the file's main chunk, not inside a function
};

// Errors: Errc::invalid_argument with "file:line: message" for a syntax error
// (or bytecode given as source).
Result<std::vector<GlobalUse>> scan_globals(const StrategySource& source);

}  // namespace te::script
