#pragma once
// [sandbox] (docs/sandbox.md, "Limits") as the budgets and error policy a
// command hands to its runners.
#include "engine/config/config.hpp"
#include "engine/script/vm_limits.hpp"

namespace te::app {

inline script::VmLimits sandbox_limits(const config::SandboxSection& s, script::RunMode mode) {
  return script::make_limits(mode, s.callback_timeout_ms, s.memory_limit_mb);
}

}  // namespace te::app
