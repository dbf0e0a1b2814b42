#pragma once
// string.find, string.match, string.gmatch and string.gsub with a work budget.
//
// A count hook cannot interrupt a C function, and Lua patterns backtrack: a
// pattern like ("a"):rep(30000):find(".-.-.-.-b") runs for hours inside the C
// matcher, out of the watchdog's reach. These replacements implement LuaJIT's
// pattern semantics exactly (same classes, same captures, same results; a
// differential test compares them with the originals) but count matching
// steps and raise "pattern too complex" when one call exceeds the budget.
// Plain (no special characters, or find's `plain` flag) searches are linear
// and not counted.
#include <cstdint>

struct lua_State;

namespace te::script {

// About 30-60 ms of matching on our machines; ordinary uses of patterns on
// strings of a few kilobytes need a few thousand steps.
inline constexpr std::uint64_t kPatternStepBudget = 10'000'000;

// Replaces the four functions in the global `string` table, which is also the
// __index of the string metatable, so ("x"):find(...) is guarded too.
// stack: unchanged.
void install_guarded_patterns(lua_State* L, std::uint64_t max_steps = kPatternStepBudget);

}  // namespace te::script
