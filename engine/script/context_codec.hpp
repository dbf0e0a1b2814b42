#pragma once
// A strategy's ctx as plain data (te::Value) and back: what hot reload carries
// to the new VM and what the journal records. Only plain data crosses: nil,
// booleans, numbers, strings and tables whose keys are strings (maps) or
// 1..n (arrays). Anything else (functions, coroutines, cycles, other key types)
// is refused with the path of the offending value, e.g. "ctx.levels[3]".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/core/value.hpp"

struct lua_State;

namespace te::script {

struct ContextLimits {
  int max_depth = 32;
  std::size_t max_nodes = 200'000;
  // The context's size as data: the bytes of its loop export (below), which
  // is what a table of many references to one long string expands to. A Lua
  // string is stored once however often a table refers to it, so a ctx within
  // the VM's memory budget can export as gigabytes; lua_to_value stops at
  // this many bytes (Errc::limit) before building more.
  std::size_t max_bytes = kDefaultMaxBytes;
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{256} << 20;
};

// The loop export's size of a value (the layout below): the measure of
// ContextLimits::max_bytes, for a value built by other means.
std::size_t export_size(const Value& v) noexcept;

// Converts the table at stack index `idx`; top-level keys listed in `skip` (host
// views such as position/account) are left out. stack: unchanged.
Result<Value> lua_to_value(lua_State* L, int idx, const std::string& path, const ContextLimits& limits = {},
                           const char* const* skip = nullptr);

// The loop export: the bytes the prelude's batch loop writes for a ctx
// (lua/prelude.lua, export_ctx_to_host) so a session recording need not leave
// the loop to walk ctx through the C API. It holds exactly what lua_to_value
// would return for the same table with the host views skipped and default
// limits; the prelude writes it only when lua_to_value would succeed (anything
// else is left to lua_to_value, which names the offending path). Native byte
// order, values written depth first:
//   0 nil | 1 false | 2 true | 3 number: f64 | 4 string: u32 length, bytes
//   5 map: u32 count, count x (u32 key length, key bytes, value)
//   6 empty map: u32 0 | 7 array: u32 n, n values
// Errors: Errc::internal when the bytes do not follow that layout.
Result<Value> decode_loop_export(const std::uint8_t* data, std::size_t size);
// True when decode_loop_export would accept the bytes (the same checks, no
// value built: nothing allocated).
bool loop_export_well_formed(const std::uint8_t* data, std::size_t size) noexcept;

// One loop export's bytes as they came, shared and immutable: a session
// recording keeps these and its journal writer decodes them on its own thread
// (decode_loop_export), so the trading thread builds no value tree.
struct LoopExport {
  std::vector<std::uint8_t> bytes;
  // Unique in the process (next_loop_export_serial): a reader on another
  // thread recognises an export it already decoded by this number, without
  // holding (and so counting references to, on the trading thread's cache
  // lines) the export itself.
  std::uint64_t serial = 0;
};
std::uint64_t next_loop_export_serial() noexcept;

// Pushes the value as Lua data. stack: -> value
void push_value(lua_State* L, const Value& v);

}  // namespace te::script
