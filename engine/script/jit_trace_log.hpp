#pragma once
// LuaJIT trace events of one strategy VM, for the JIT-health check
// (docs/performance.md, "JIT health"). A strategy whose per-bar path stops
// compiling (a trace abort that repeats until LuaJIT blacklists the code and
// leaves it to the interpreter) runs about ten times slower without any visible
// error; this log makes that visible and testable.
//
// The host attaches a handler with jit.attach(handler, "trace") from the trusted
// side before the sandbox is sealed (strategies never see `jit`). Recording only
// happens when HostOptions::jit_trace is set: it costs a C call per trace event
// (not per bar), so it is for tests and diagnostics.
#include <cstdint>
#include <string>
#include <vector>

namespace te::script {

struct TraceEvent {
  enum class Kind : std::uint8_t { Start, Stop, Abort, Flush };
  Kind kind = Kind::Start;
  int trace = 0;             // trace number
  int parent = 0;            // side traces: the parent trace (0 for a root trace)
  int exit = -1;             // side traces: the parent's exit number
  std::string where;         // "lua/prelude.lua:131": source line of the event's pc
  std::string function;      // "lua/prelude.lua:129": the function's definition line
  int error = 0;             // Abort: LuaJIT trace error number (lj_traceerr.h order)
  std::string error_info;    // Abort: the error's argument (a bytecode name, a function...)
  bool blacklisted = false;  // Abort of a root trace: LuaJIT blacklisted its start (interpreted for good)
  std::uint64_t bar = 0;     // the frame's bar index when it happened
  // Stop: what the trace links to at its end (jit.util.traceinfo) and where its
  // machine code sits (jit.util.tracemc), to attribute a profile's
  // instructions to traces (bench/backtest/jit_traces.cpp).
  int link = 0;              // trace it jumps to at its end (itself for a loop)
  std::string link_type;     // "loop", "root", "interpreter", "return", ...
  int exits = 0;             // number of exits (snapshots)
  std::uintptr_t mcode = 0;  // address of its machine code
  std::size_t mcode_size = 0;
};

class JitTraceLog {
 public:
  void add(TraceEvent e) { events_.push_back(std::move(e)); }
  void clear() { events_.clear(); }
  const std::vector<TraceEvent>& events() const noexcept { return events_; }

 private:
  std::vector<TraceEvent> events_;
};

// "NYI: bytecode FNEW" for an abort, from LuaJIT's own message table
// (share/jit/vmdef.lua of the LuaJIT build: `vmdef_path`). Falls back to
// "trace error N (info)" when the table cannot be read.
std::string describe_trace_error(int error, const std::string& info, const std::string& vmdef_path);

}  // namespace te::script
