#pragma once
// A strategy's ctx as plain data (te::Value) and back: what hot reload carries
// to the new VM and what the journal records. Only plain data crosses: nil,
// booleans, numbers, strings and tables whose keys are strings (maps) or
// 1..n (arrays). Anything else (functions, coroutines, cycles, other key types)
// is refused with the path of the offending value, e.g. "ctx.levels[3]".
#include <string>

#include "engine/core/result.hpp"
#include "engine/core/value.hpp"

struct lua_State;

namespace te::script {

struct ContextLimits {
  int max_depth = 32;
  std::size_t max_nodes = 200'000;
};

// Converts the table at stack index `idx`; top-level keys listed in `skip` (host
// views such as position/account) are left out. stack: unchanged.
Result<Value> lua_to_value(lua_State* L, int idx, const std::string& path, const ContextLimits& limits = {},
                           const char* const* skip = nullptr);

// Pushes the value as Lua data. stack: -> value
void push_value(lua_State* L, const Value& v);

}  // namespace te::script
