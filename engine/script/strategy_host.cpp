#include "engine/script/strategy_host.hpp"

#include "engine/script/frame_bar.hpp"

#include <lua.hpp>

#include <algorithm>
#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>

#include "engine/core/sha256.hpp"
#include "engine/script/context_codec.hpp"
#include "engine/script/embedded.hpp"
#include "engine/script/embedded_chunk.hpp"
#include "engine/script/c_stack.hpp"
#include "engine/script/lua_patterns.hpp"
#include "engine/script/lua_vm.hpp"
#include "engine/ta/ind_view.h"

extern "C" int luaopen_ffi(lua_State* L);  // not declared in lualib.h

namespace te::script {
namespace {

constexpr const char* kPreludePath = "lua/prelude.lua";

// Error handler for every host->Lua call. Accepts only string errors and never
// calls an untrusted __tostring; a non-string error is reported at the
// strategy line that raised it. After a stack overflow there is room for
// little more than the message, so no traceback is added then.
// upvalue 1: the strategy's chunk name ("@strategies/x.lua").
// stack: err -> err .. traceback
int traceback_handler(lua_State* L) {
  if (lua_type(L, 1) != LUA_TSTRING) {
    const char* source = lua_tostring(L, lua_upvalueindex(1));
    const char* type = luaL_typename(L, 1);
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); ++level) {
      if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && std::strcmp(ar.source, source) == 0) {
        lua_pushfstring(L, "%s:%d: (error object is not a string but a %s)", source + 1, ar.currentline, type);
        return 1;
      }
    }
    lua_pushfstring(L, "%s: (error object is not a string but a %s)", source + 1, type);
    return 1;
  }
  const char* msg = lua_tostring(L, 1);
  if (std::strstr(msg, "stack overflow") != nullptr) return 1;
  luaL_traceback(L, L, msg, 1);
  return 1;
}

// cfg.load_trusted(path) for the prelude: compiles one of the trusted Lua files
// embedded in the binary. stack: path -> function
int load_trusted(lua_State* L) {
  std::size_t len = 0;
  const char* path = luaL_checklstring(L, 1, &len);
  if (load_embedded_chunk(L, std::string_view(path, len)) != 0) return lua_error(L);
  return 1;
}

// stack: (any) -> (any); opens one library the way lib_init.c does.
void open_lib(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// Keeps only the frames a strategy author can act on (their files), not the
// prelude's internals or C functions.
std::string strategy_frames(std::string_view traceback, std::string_view chunk) {
  std::string out = "stack traceback:";
  std::size_t pos = 0;
  while (pos < traceback.size()) {
    std::size_t end = traceback.find('\n', pos);
    if (end == std::string_view::npos) end = traceback.size();
    std::string_view line = traceback.substr(pos, end - pos);
    const bool user_indicator =
        line.find("indicators/") != std::string_view::npos && line.find("lua/") == std::string_view::npos;
    if (line.find(chunk) != std::string_view::npos || user_indicator) {
      out += '\n';
      out += line;
    }
    pos = end + 1;
  }
  return out;
}

// A strategy chooses its error messages (`error(string.rep("x", 1e6))`), and
// every error is printed, reported and journaled: without a cap, a strategy
// raising on every bar would fill the disk past its memory budget.
constexpr std::size_t kMaxErrorMessage = 4096;

// Strategy text reaches terminals (log lines, error messages): control bytes
// (escape sequences, carriage returns, NUL) would rewrite the screen or cut the
// line, so each becomes '?' (a C1 control, U+0080..U+009F, as '??'). Tabs and
// newlines stay.
void make_terminal_safe(std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if ((u < 0x20 && u != '\t' && u != '\n') || u == 0x7f) {
      text[i] = '?';
    } else if (u == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0 &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80) {
      text[i] = text[i + 1] = '?';
    }
  }
}

std::string capped_message(std::string_view m) {
  std::string out;
  if (m.size() <= kMaxErrorMessage) {
    out = std::string(m);
  } else {
    std::size_t cut = kMaxErrorMessage;
    while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
    out = std::string(m.substr(0, cut)) + "... (" + std::to_string(m.size() - cut) + " more bytes cut)";
  }
  make_terminal_safe(out);
  return out;
}

void split_error(std::string_view full, std::string_view chunk, StrategyError& out) {
  const std::size_t tb = full.find("\nstack traceback:");
  if (tb == std::string_view::npos) {
    out.message = capped_message(full);
    out.traceback.clear();
  } else {
    out.message = capped_message(full.substr(0, tb));
    out.traceback = strategy_frames(full.substr(tb + 1), chunk);
  }
}

// Fills file/line from a "file:line: message" prefix naming the strategy.
void locate(StrategyError& e, std::string_view chunk) {
  e.file.clear();
  e.line = 0;
  const std::string_view m = e.message;
  if (m.substr(0, chunk.size()) != chunk || m.size() <= chunk.size() || m[chunk.size()] != ':') {
    if (m.substr(0, chunk.size()) == chunk) e.file = std::string(chunk);
    return;
  }
  e.file = std::string(chunk);
  int line = 0;
  std::size_t i = chunk.size() + 1;
  for (; i < m.size() && m[i] >= '0' && m[i] <= '9' && line < 100'000'000; ++i) line = line * 10 + (m[i] - '0');
  if (i < m.size() && m[i] == ':') e.line = line;
}

// "@lua/prelude.lua" + line -> "lua/prelude.lua:12"; builtins by their id.
// stack: info -> info
std::string trace_location(lua_State* L, int info_idx, const char* line_field) {
  lua_getfield(L, info_idx, "source");
  const char* source = lua_tostring(L, -1);
  std::string out;
  if (source) {
    out = source[0] == '@' || source[0] == '=' ? source + 1 : source;
    lua_getfield(L, info_idx, line_field);
    out += ':';
    out += std::to_string(static_cast<long long>(lua_tointeger(L, -1)));
    lua_pop(L, 1);
  } else {
    lua_getfield(L, info_idx, "ffid");
    out = "builtin#" + std::to_string(static_cast<long long>(lua_tointeger(L, -1)));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return out;
}

// Opcode of the bytecode at (func, pc) by jit.util.funcbc (upvalue 4), or -1.
int bytecode_op(lua_State* L, int func_idx, lua_Integer pc) {
  lua_pushvalue(L, lua_upvalueindex(4));
  lua_pushvalue(L, func_idx);
  lua_pushinteger(L, pc);
  int op = -1;
  if (lua_pcall(L, 2, 1, 0) == 0 && lua_isnumber(L, -1)) op = static_cast<int>(lua_tointeger(L, -1) & 0xff);
  lua_pop(L, 1);
  return op;
}

// jit.attach(handler, "trace") handler: records one TraceEvent.
// upvalues: 1 JitTraceLog*, 2 te_frame*, 3 jit.util.funcinfo, 4 jit.util.funcbc,
//           5 {func, pc, opcode} of the root trace being recorded (else empty),
//           6 jit.util.traceinfo, 7 jit.util.tracemc
// args: what, trace, func, pc, (start: parent, exit | abort: error, info)
//
// LuaJIT blacklists a root trace's start after about ten aborts there by
// rewriting its bytecode (FUNCF -> IFUNCF, LOOP -> ILOOP...): that code then
// runs in the interpreter for good, and traces that reach it abort. There is no
// event for it, so an abort compares the start's opcode with the one it had
// when the trace started.
int trace_event_handler(lua_State* L) {
  auto* log = static_cast<JitTraceLog*>(lua_touserdata(L, lua_upvalueindex(1)));
  const auto* frame = static_cast<const te_frame*>(lua_touserdata(L, lua_upvalueindex(2)));
  const char* what = lua_tostring(L, 1);
  if (!log || !what) return 0;
  TraceEvent e;
  const std::string_view w(what);
  e.kind = w == "start" ? TraceEvent::Kind::Start
           : w == "stop"  ? TraceEvent::Kind::Stop
           : w == "abort" ? TraceEvent::Kind::Abort
                          : TraceEvent::Kind::Flush;
  e.trace = static_cast<int>(lua_tointeger(L, 2));
  e.bar = frame ? static_cast<std::uint64_t>(frame->bar_index) : 0;
  if (lua_isfunction(L, 3)) {
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushvalue(L, 3);
    if (lua_isnumber(L, 4)) lua_pushvalue(L, 4); else lua_pushnil(L);
    if (lua_pcall(L, 2, 1, 0) == 0 && lua_istable(L, -1)) {
      const int info = lua_gettop(L);
      e.where = trace_location(L, info, "currentline");
      e.function = trace_location(L, info, "linedefined");
    }
    lua_pop(L, 1);
  }
  const int root = lua_upvalueindex(5);
  if (e.kind == TraceEvent::Kind::Start) {
    if (lua_isnumber(L, 5)) {
      e.parent = static_cast<int>(lua_tointeger(L, 5));
      e.exit = static_cast<int>(lua_tointeger(L, 6));
    }
    const bool is_root = e.parent == 0 && lua_isfunction(L, 3) && lua_isnumber(L, 4);
    const int op = is_root ? bytecode_op(L, 3, lua_tointeger(L, 4)) : -1;
    if (op >= 0) {
      lua_pushvalue(L, 3);
      lua_rawseti(L, root, 1);
      lua_pushvalue(L, 4);
      lua_rawseti(L, root, 2);
      lua_pushinteger(L, op);
      lua_rawseti(L, root, 3);
    } else {
      for (int i = 1; i <= 3; ++i) {
        lua_pushnil(L);
        lua_rawseti(L, root, i);
      }
    }
  } else if (e.kind == TraceEvent::Kind::Stop) {
    lua_pushvalue(L, lua_upvalueindex(6));
    lua_pushinteger(L, e.trace);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) {
      lua_getfield(L, -1, "link");
      e.link = static_cast<int>(lua_tointeger(L, -1));
      lua_getfield(L, -2, "linktype");
      if (const char* t = lua_tostring(L, -1)) e.link_type = t;
      lua_getfield(L, -3, "nexit");
      e.exits = static_cast<int>(lua_tointeger(L, -1));
      lua_pop(L, 3);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(7));
    lua_pushinteger(L, e.trace);
    if (lua_pcall(L, 1, 2, 0) == 0) {
      std::size_t len = 0;
      if (lua_tolstring(L, -2, &len)) e.mcode_size = len;
      e.mcode = static_cast<std::uintptr_t>(lua_tonumber(L, -1));
      lua_pop(L, 2);
    } else {
      lua_pop(L, 1);
    }
  } else if (e.kind == TraceEvent::Kind::Abort) {
    lua_rawgeti(L, root, 1);
    if (lua_isfunction(L, -1)) {
      const int func_idx = lua_gettop(L);
      lua_rawgeti(L, root, 2);
      const lua_Integer pc = lua_tointeger(L, -1);
      lua_rawgeti(L, root, 3);
      const int started_as = static_cast<int>(lua_tointeger(L, -1));
      lua_pop(L, 2);
      e.blacklisted = bytecode_op(L, func_idx, pc) != started_as;
    }
    lua_pop(L, 1);
    e.error = static_cast<int>(lua_tointeger(L, 5));
    if (lua_type(L, 6) == LUA_TSTRING || lua_type(L, 6) == LUA_TNUMBER) {
      e.error_info = lua_tostring(L, 6);
    } else if (lua_isfunction(L, 6)) {
      lua_pushvalue(L, lua_upvalueindex(3));
      lua_pushvalue(L, 6);
      if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1)) e.error_info = trace_location(L, lua_gettop(L), "linedefined");
      lua_pop(L, 1);
    }
  }
  try {
    log->add(std::move(e));
  } catch (...) {
    // a diagnostic must never take the VM down
  }
  return 0;
}

// Pushes the jit.util module (LuaJIT registers it as a preload, not a global;
// the host's own LuaJIT build always has it: a missing one is a build error).
// stack: +1
void push_jit_util(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  lua_getfield(L, -1, "jit.util");
  lua_remove(L, -2);
  TE_ASSERT(lua_isfunction(L, -1), "this LuaJIT has no jit.util module");
  lua_call(L, 0, 1);
}

// jit.attach(trace_event_handler, "trace") from the trusted side, before the
// sandbox is sealed. stack: unchanged
void attach_trace_log(lua_State* L, JitTraceLog* log, te_frame* frame) {
  lua_pushlightuserdata(L, log);
  lua_pushlightuserdata(L, frame);
  push_jit_util(L);  // stack: log frame util
  lua_getfield(L, -1, "funcinfo");
  lua_getfield(L, -2, "funcbc");
  lua_newtable(L);
  lua_getfield(L, -4, "traceinfo");
  lua_getfield(L, -5, "tracemc");
  lua_remove(L, -6);
  lua_pushcclosure(L, trace_event_handler, 7);
  lua_getglobal(L, "jit");
  lua_getfield(L, -1, "attach");
  lua_remove(L, -2);
  lua_insert(L, -2);  // stack: attach handler
  lua_pushstring(L, "trace");
  lua_call(L, 2, 0);
}

}  // namespace

std::string_view to_string(Callback cb) noexcept {
  switch (cb) {
    case Callback::DetectOpportunity: return "detect_opportunity";
    case Callback::FilterCommitment: return "filter_commitment";
    case Callback::ManagePosition: return "manage_position";
  }
  return "?";
}

std::string_view to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::Error: return "error";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::OutOfMemory: return "out_of_memory";
  }
  return "?";
}

Result<StrategySource> make_strategy_source(std::string path, std::string code) {
  StrategySource s;
  s.path = std::move(path);
  s.code = std::move(code);
  if (s.code.empty()) return make_error(Errc::invalid_argument, s.path + ": the strategy file is empty");
  if (s.code[0] == '\x1b')
    return make_error(Errc::invalid_argument, s.path + ": precompiled bytecode is not accepted; give the Lua source");
  if (s.code.size() > kMaxStrategyBytes)
    return make_error(Errc::invalid_argument, fmt::format("{}: the strategy file is {} bytes; the limit is {} MB",
                                                          s.path, s.code.size(), kMaxStrategyBytes / kMiB));
  s.sha256 = sha256_hex(s.code);
  return s;
}

Result<StrategySource> read_strategy(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return make_error(Errc::invalid_argument, path + " is a directory; give a strategy file (e.g. strategies/sma_cross.lua)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, "open strategy " + path + ": " + std::strerror(errno));
  // Read at most one byte past the limit: /dev/zero or an endless pipe used to
  // be read until memory ran out (audit).
  std::string code;
  char chunk[1 << 16];
  while (code.size() <= kMaxStrategyBytes && (in.read(chunk, sizeof chunk) || in.gcount() > 0))
    code.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (code.size() > kMaxStrategyBytes)
    return make_error(Errc::invalid_argument, fmt::format("{}: the strategy file is larger than the limit of {} MB",
                                                          path, kMaxStrategyBytes / kMiB));
  if (in.bad()) return make_error(Errc::io, "read strategy " + path + ": " + std::strerror(errno));
  return make_strategy_source(path, std::move(code));
}

Result<std::vector<StrategySource>> read_indicator_dir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".lua") paths.push_back(e.path().string());
  if (ec) return make_error(Errc::io, "read indicator directory " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<StrategySource> out;
  for (const auto& p : paths) {
    auto s = read_strategy(p);
    if (!s) return std::move(s).error();
    out.push_back(std::move(*s));
  }
  return out;
}

std::vector<StrategySource> builtin_indicators() {
  std::vector<StrategySource> out;
  for (const auto& f : embedded_files()) {
    if (f.path.rfind("indicators/", 0) != 0) continue;
    StrategySource s;
    s.path = std::string(f.path);
    s.code = std::string(f.text);
    s.sha256 = sha256_hex(s.code);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

Result<std::vector<StrategySource>> find_indicator_files(const std::string& dir) {
  if (!dir.empty()) return read_indicator_dir(dir);
  std::error_code ec;
  if (std::filesystem::is_directory("indicators", ec)) return read_indicator_dir("indicators");
  return builtin_indicators();
}

Result<std::unique_ptr<StrategyHost>> StrategyHost::create(const StrategySource& source, const HostOptions& options,
                                                           IndicatorProvider& indicators, LogSink* log) {
  std::unique_ptr<StrategyHost> h(new StrategyHost());
  h->source_ = source;
  h->log_ = log;
  h->max_log_lines_ = options.max_log_lines;
  if (auto st = h->init(options, indicators); !st) return std::move(st).error();
  h->pin_entry_points();
  return h;
}

StrategyHost::~StrategyHost() {
  Discard why = Discard::Closed;
  if (poisoned_) why = error_.kind == ErrorKind::Timeout ? Discard::Deadline : Discard::Memory;
  discard_vm(why);
}

void StrategyHost::discard_vm(Discard why) noexcept {
  if (!vm_) return;
  poisoned_ = true;
  final_peak_bytes_ = vm_->peak_memory_bytes();
  pool_->discard(std::move(vm_), why);
}

Status StrategyHost::init(const HostOptions& options, IndicatorProvider& indicators) {
  indicators_ = &indicators;
  limits_ = options.limits;
  if (options.pool) {
    pool_ = options.pool;
  } else {
    own_pool_ = std::make_unique<VmPool>(limits_);
    pool_ = own_pool_.get();
  }
  callback_timeout_ns_ = static_cast<std::int64_t>(std::llround(limits_.callback_timeout_ms * 1e6));
  startup_timeout_ns_ = static_cast<std::int64_t>(std::llround(limits_.startup_timeout_ms * 1e6));
  vm_ = pool_->acquire(limits_);
  lua_State* L = vm_->state();
  CallMonitor& m = vm_->monitor();
  m.chunkname = source_.path;
  StackGuard guard(L);

  // Everything below runs as one monitored call with the startup deadline:
  // the prelude with the budget counted but not enforced (trusted code), the
  // strategy's chunk with the budget enforced.
  m.set_timeout_ns(startup_timeout_ns_);
  m.callback = "the trusted prelude";
  vm_->enforce_budget(false);
  m.enter();
  struct Leave {
    LuaVm& vm;
    std::int64_t timeout;
    ~Leave() {
      if (vm.monitor().inside()) vm.monitor().leave();
      vm.monitor().set_timeout_ns(timeout);
    }
  } leave{*vm_, callback_timeout_ns_};

  open_lib(L, luaopen_base, "");
  open_lib(L, luaopen_table, LUA_TABLIBNAME);
  open_lib(L, luaopen_string, LUA_STRLIBNAME);
  open_lib(L, luaopen_math, LUA_MATHLIBNAME);
  open_lib(L, luaopen_bit, LUA_BITLIBNAME);
  open_lib(L, luaopen_jit, LUA_JITLIBNAME);  // also switches the JIT compiler on
  open_lib(L, luaopen_debug, LUA_DBLIBNAME);
  install_guarded_patterns(L);
  if (options.jit_trace) attach_trace_log(L, options.jit_trace, &frame_);

  const std::string source_name = "@" + source_.path;
  lua_pushlstring(L, source_name.data(), source_name.size());
  lua_pushcclosure(L, traceback_handler, 1);
  traceback_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  const int handler_idx = lua_gettop(L);

  if (auto st = load_prelude(options, indicators, handler_idx); !st) return st;
  seal();

  // Load the strategy as text only (bytecode is refused by mode "t").
  if (!source_.code.empty() && source_.code[0] == '\x1b')
    return make_error(Errc::invalid_argument,
                      source_.path + ": precompiled bytecode is not accepted; give the Lua source");
  m.callback = "the strategy's top-level code";
  vm_->enforce_budget(true);
  const std::uint64_t epoch = m.current_epoch();
  const std::string chunkname = "@" + source_.path;
  int rc = luaL_loadbufferx(L, source_.code.data(), source_.code.size(), chunkname.c_str(), "t");
  if (rc == 0) {
    const int chunk_idx = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
    lua_getfield(L, -1, "install");
    lua_pushvalue(L, chunk_idx);
    rc = lua_pcall(L, 1, 0, handler_idx);
  }
  if (rc != 0) {
    fail_call(rc, epoch, lua_gettop(L), m.callback);
    error_.callback = "load";
    return make_error(Errc::invalid_argument, error_.message);
  }
  m.leave();

  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "run_batch");
  run_batch_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

  // Summary for validate/reports: callbacks and effective params.
  lua_getfield(L, -1, "describe");
  if (lua_pcall(L, 0, 2, handler_idx) != 0)
    return make_error(Errc::internal, std::string("describe strategy: ") + lua_tostring(L, -1));
  const int n_cb = static_cast<int>(lua_objlen(L, -2));
  for (int i = 1; i <= n_cb; ++i) {
    lua_rawgeti(L, -2, i);
    callbacks_.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  const int n_params = static_cast<int>(lua_objlen(L, -1));
  for (int i = 1; i <= n_params; ++i) {
    lua_rawgeti(L, -1, i);
    ParamInfo p;
    for (int k = 1; k <= 3; ++k) {
      lua_rawgeti(L, -1, k);
      const char* s = lua_tostring(L, -1);
      (k == 1 ? p.name : k == 2 ? p.type : p.value) = s ? s : "";
      lua_pop(L, 1);
    }
    params_.push_back(std::move(p));
    lua_pop(L, 1);
  }
  // A global the chunk did not define cannot be defined later (the sandbox
  // refuses new globals outside loading), so this is fixed from here on.
  lua_settop(L, handler_idx);
  may_notify_ = defines("on_fill") || defines("on_order_rejected");
  return {};
}

// stack: handler -> handler (the prelude's entry table is kept in the registry)
Status StrategyHost::load_prelude(const HostOptions& options, IndicatorProvider& indicators, int handler_idx) {
  lua_State* L = vm_->state();
  // stack: -> ffi
  lua_pushcfunction(L, luaopen_ffi);
  lua_pushstring(L, "ffi");
  lua_call(L, 1, 1);
  const int ffi_idx = lua_gettop(L);

  // stack: ffi -> ffi getinfo getmetatable
  lua_getglobal(L, "debug");
  lua_getfield(L, -1, "getinfo");
  lua_getfield(L, -2, "getmetatable");
  lua_remove(L, -3);
  const int getinfo_idx = lua_gettop(L) - 1;
  const int getmetatable_idx = lua_gettop(L);

  api_.ind_add = &StrategyHost::api_ind_add;
  api_.last_error = &StrategyHost::api_last_error;
  api_.log = &StrategyHost::api_log;
  api_.history_bar = &StrategyHost::api_history_bar;
  api_.tf_feed = &StrategyHost::api_tf_feed;
  api_.tf_closed = &StrategyHost::api_tf_closed;
  api_.tf_bar = &StrategyHost::api_tf_bar;
  api_.ind_cross = &StrategyHost::api_ind_cross;
  // Room for a typical ctx; a larger one is exported by the host once and
  // the buffer grown (accept_loop_export).
  if (ctx_buf_.empty()) ctx_buf_.resize(std::size_t{16} << 10);
  api_.ctx_buf = ctx_buf_.data();
  api_.ctx_cap = static_cast<std::int32_t>(ctx_buf_.size());
  for (double* p : {&frame_.bar.bid, &frame_.bar.ask, &frame_.bar.bid_size, &frame_.bar.ask_size, &frame_.pos.stop,
                    &frame_.pos.target})
    *p = std::numeric_limits<double>::quiet_NaN();

  // stack: ffi getinfo getmetatable -> ffi getinfo getmetatable prelude args...
  if (load_embedded_chunk(L, kPreludePath) != 0)
    return make_error(Errc::internal, std::string("load prelude: ") + lua_tostring(L, -1));
  lua_pushvalue(L, ffi_idx);
  const std::string_view decls = find_embedded("engine/script/te_ffi_decls.h");
  std::string all_decls(decls);
  all_decls += TE_IND_VIEW_CDEF;
  lua_pushlstring(L, all_decls.data(), all_decls.size());
  lua_pushlightuserdata(L, &frame_);
  lua_pushlightuserdata(L, &api_);
  lua_pushlightuserdata(L, this);
  lua_pushlightuserdata(L, const_cast<void*>(indicators.view()));
  // registry: array of {name, nparams, defaults, outputs, source}
  const auto catalogue = indicators.catalogue();
  lua_createtable(L, static_cast<int>(catalogue.size()), 0);
  for (std::size_t i = 0; i < catalogue.size(); ++i) {
    const auto& d = catalogue[i];
    lua_createtable(L, 0, 5);
    lua_pushlstring(L, d.name.data(), d.name.size());
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, d.nparams);
    lua_setfield(L, -2, "nparams");
    lua_createtable(L, d.nparams, 0);
    for (int k = 0; k < d.nparams; ++k) {
      lua_pushnumber(L, d.defaults[static_cast<std::size_t>(k)]);
      lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "defaults");
    lua_pushinteger(L, d.outputs);
    lua_setfield(L, -2, "outputs");
    lua_pushboolean(L, d.takes_source);
    lua_setfield(L, -2, "source");
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  // cfg
  lua_createtable(L, 0, 10);
  lua_pushlstring(L, options.symbol.data(), options.symbol.size());
  lua_setfield(L, -2, "symbol");
  lua_pushnumber(L, static_cast<double>(options.seed));
  lua_setfield(L, -2, "seed");
  lua_pushlstring(L, source_.path.data(), source_.path.size());
  lua_setfield(L, -2, "chunkname");
  lua_pushvalue(L, getinfo_idx);
  lua_setfield(L, -2, "getinfo");
  // debug.getmetatable: encode() reads an action's fields from its own
  // (protected) metatable without calling any metamethod (lua/actions.lua).
  lua_pushvalue(L, getmetatable_idx);
  lua_setfield(L, -2, "raw_getmetatable");
  // table.nkeys (this LuaJIT's extension, compiled as one call): entry()
  // tells a spec has no key besides the fields it reads by counting its keys
  // instead of walking them with next(), which cost a key lookup per step
  // (lua/actions.lua). Its loader also stores it in the table library:
  // removed there again, so strategies (whose `table` is copied from it when
  // the prelude loads) see the library as before.
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  lua_getfield(L, -1, "table.nkeys");
  lua_call(L, 0, 1);
  lua_remove(L, -2);
  lua_getglobal(L, LUA_TABLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "nkeys");
  lua_pop(L, 1);
  lua_setfield(L, -2, "nkeys");
  lua_pushcfunction(L, load_trusted);
  lua_setfield(L, -2, "load_trusted");
  // jit.util.funcbc: the prelude reads whether its per-kind loops compiled
  // (M.run_batch in lua/prelude.lua).
  push_jit_util(L);
  lua_getfield(L, -1, "funcbc");
  lua_remove(L, -2);
  lua_setfield(L, -2, "funcbc");
  push_jit_util(L);
  lua_getfield(L, -1, "traceinfo");
  lua_remove(L, -2);
  lua_setfield(L, -2, "traceinfo");
  lua_pushcfunction(L, lua_check_c_stack);
  lua_setfield(L, -2, "c_stack_check");
  lua_createtable(L, 0, static_cast<int>(options.param_overrides.size()));
  for (const auto& [name, text] : options.param_overrides) {
    lua_pushlstring(L, text.data(), text.size());
    lua_setfield(L, -2, name.c_str());
  }
  lua_setfield(L, -2, "overrides");
  lua_createtable(L, static_cast<int>(options.indicator_files.size()), 0);
  for (std::size_t i = 0; i < options.indicator_files.size(); ++i) {
    const auto& f = options.indicator_files[i];
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, f.path.data(), f.path.size());
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, f.code.data(), f.code.size());
    lua_setfield(L, -2, "code");
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_setfield(L, -2, "indicator_files");
  if (lua_pcall(L, 8, 1, handler_idx) != 0) {
    return make_error(Errc::internal, std::string("prelude failed: ") + lua_tostring(L, -1));
  }
  prelude_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, handler_idx);
  return {};
}

// Now that the prelude holds what it needs in locals: nothing privileged stays
// reachable by name (ffi/jit/debug live only in the prelude's upvalues).
// stack: unchanged
void StrategyHost::seal() {
  lua_State* L = vm_->state();
  for (const char* g : {"debug", "jit", "ffi", "module", "require", "package", "dofile", "loadfile", "load",
                        "loadstring", "collectgarbage", "newproxy", "getfenv", "setfenv", "gcinfo"}) {
    lua_pushnil(L);
    lua_setglobal(L, g);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_istable(L, -1)) {
    for (const char* m : {"ffi", "jit", "debug", "jit.opt", "jit.util", "jit.profile", "package", "_G"}) {
      lua_pushnil(L);
      lua_setfield(L, -2, m);
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    lua_setfield(L, -2, "ffi");
  }
  lua_pop(L, 1);
  // ("").dump reaches the real string table through the string metatable.
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  lua_pushstring(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

void StrategyHost::set_error(std::string_view lua_message, const char* callback) {
  split_error(lua_message, source_.path, error_);
  error_.callback = callback;
  error_.kind = ErrorKind::Error;
  locate(error_, source_.path);
}

// After a failed lua_pcall of call `epoch`; the error object is on top.
// stack: ... base.. err -> ... (everything from base removed)
int StrategyHost::fail_call(int rc, std::uint64_t epoch, int base, const char* callback) {
  lua_State* L = vm_->state();
  CallMonitor& m = vm_->monitor();
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object is not a string)";
  std::string errerr;
  if (rc == LUA_ERRERR) {
    // The handler itself failed: after a stack overflow inside compiled code
    // there may be no room left even for it. The position is lost.
    errerr = fmt::format("{}: {}: stack overflow (or another error while reporting an error): {}", source_.path,
                         callback, msg);
    msg = errerr.c_str();
  }
  set_error(msg, callback);
  const Trip trip = m.trip_of(epoch);
  if (trip != Trip::None || rc == LUA_ERRMEM) {
    // A budget was broken: the hook stays armed until here; the VM is done.
    poisoned_ = true;
    m.disarm();
    error_.kind = trip == Trip::Deadline ? ErrorKind::Timeout : ErrorKind::OutOfMemory;
    if (!m.trip_message.empty()) {
      error_.message = m.trip_message;
    } else if (error_.kind == ErrorKind::OutOfMemory) {
      error_.message =
          vm_->memory_limit_bytes() > 0
              ? fmt::format("{}: {} exceeded the memory budget of {} MB ([sandbox] memory_limit_mb): a request "
                            "for {} bytes was refused",
                            source_.path, callback,
                            static_cast<double>(vm_->memory_limit_bytes()) / static_cast<double>(kMiB),
                            vm_->refused_bytes())
              : fmt::format("{}: {}: out of memory", source_.path, callback);
    }
    locate(error_, source_.path);
  }
  if (m.inside()) m.leave();
  lua_settop(L, base - 1);
  return -1;
}

bool StrategyHost::pcall(int nargs, int nresults, const char* callback) {
  if (poisoned_) return false;
  lua_State* L = vm_->state();
  CallMonitor& m = vm_->monitor();
  // stack: fn args... -> handler fn args...
  const int base = lua_gettop(L) - nargs;
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  lua_insert(L, base);
  m.set_timeout_ns(startup_timeout_ns_);
  m.callback = callback;
  const std::uint64_t epoch = m.enter();
  const int rc = lua_pcall(L, nargs, nresults, base);
  m.leave();
  m.set_timeout_ns(callback_timeout_ns_);
  if (rc == 0) {
    lua_remove(L, base);
    return true;
  }
  fail_call(rc, epoch, base, callback);
  return false;
}


// The resident bottom of the VM's stack (pin_entry_points): the error handler
// and the prelude's per-kind entry points (M.entry), for call().
// stack: (empty) -> handler entry1 entry2 entry3
void StrategyHost::pin_entry_points() {
  lua_State* L = vm_->state();
  TE_ASSERT(lua_gettop(L) == 0, "the stack of a new strategy VM is not empty");
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "entry");
  for (int kind = 1; kind <= 3; ++kind) {
    lua_rawgeti(L, -1, kind);
    TE_ASSERT(lua_isfunction(L, -1), "the prelude made no entry point for callback %d", kind);
    lua_insert(L, -3);  // below prelude and entry
  }
  lua_pop(L, 2);
  static_assert(kEntrySlot + 2 == kResidentSlots);
}

int StrategyHost::call(Callback cb) {
  if (__builtin_expect(poisoned_, 0)) return -1;
  lua_State* L = vm_->state();
  CallMonitor& m = vm_->monitor();
  m.callback = kCallbackNames[static_cast<int>(cb)];
  // stack: resident -> resident entry -> resident (the kind is in the frame)
  lua_pushvalue(L, kEntrySlot - 1 + static_cast<int>(cb));
  const std::uint64_t epoch = m.enter();
  const int rc = lua_pcall(L, 0, 0, kHandlerSlot);
  m.leave();
  if (__builtin_expect(rc == 0, 1)) return frame_.action.kind;
  return fail_call(rc, epoch, kResidentSlots + 1, kCallbackNames[static_cast<int>(cb)]);
}


int StrategyHost::run_batch(std::int32_t (*step)(void*, std::int32_t), void* driver) {
  if (__builtin_expect(poisoned_, 0)) return kBatchFailed;
  lua_State* L = vm_->state();
  CallMonitor& m = vm_->monitor();
  api_.step = step;
  api_.driver = driver;
  m.bind_current();  // for begin_callback(), called from step on this thread
  // stack: -> handler run_batch -> (code)
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, run_batch_ref_);
  const int base = lua_gettop(L) - 1;
  const int rc = lua_pcall(L, 0, 1, base);
  if (__builtin_expect(rc == 0, 1)) {
    const int code = static_cast<int>(lua_tointeger(L, -1));
    lua_settop(L, base - 1);
    end_callback();  // (step left it already; a no-op kept for safety)
    return code;
  }
  // Raised inside a callback (or its encoding): the callback's own epoch
  // tells whether a budget tripped.
  fail_call(rc, m.current_epoch(), base, m.callback);
  return kBatchFailed;
}

Status StrategyHost::on_start() {
  if (poisoned_) return make_error(Errc::invalid_argument, error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "on_start");
  frame_.phase = 0;
  if (!pcall(0, 0, "on_start")) return make_error(Errc::invalid_argument, error_.message);
  return {};
}

Status StrategyHost::on_reload(const Value& old_ctx) {
  if (poisoned_) return make_error(Errc::invalid_argument, error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "on_reload");
  push_value(L, old_ctx);  // a copy of its own: the strategy may change ctx freely
  const std::int32_t phase = frame_.phase;
  frame_.phase = 2;
  const bool ok = pcall(1, 0, "on_reload");
  frame_.phase = phase;
  if (!ok) return make_error(Errc::invalid_argument, error_.message);
  return {};
}

bool StrategyHost::defines(std::string_view global) const {
  if (poisoned_) return false;
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "env");
  lua_pushlstring(L, global.data(), global.size());
  lua_rawget(L, -2);
  return !lua_isnil(L, -1);
}

StrategyHost::Environment StrategyHost::environment() const {
  Environment env;
  if (poisoned_) return env;
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "environment");
  lua_call(L, 0, 2);  // stack: prelude names forbidden
  const int n = static_cast<int>(lua_objlen(L, -2));
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, -2, i);
    env.names.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  const int nf = static_cast<int>(lua_objlen(L, -1));
  for (int i = 1; i <= nf; ++i) {
    lua_rawgeti(L, -1, i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    env.forbidden.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 3);
  }
  return env;
}

std::size_t StrategyHost::memory_bytes() const noexcept { return vm_ ? vm_->memory_bytes() : 0; }
std::size_t StrategyHost::peak_memory_bytes() const noexcept {
  return vm_ ? vm_->peak_memory_bytes() : final_peak_bytes_;
}

// The accepted loop export's value, decoded once per export.
Result<std::shared_ptr<const Value>> StrategyHost::loop_ctx_value() {
  const std::shared_ptr<const LoopExport>& e = ctx_slots_[loop_ctx_at_];
  if (loop_ctx_value_of_ != e) {
    auto v = decode_loop_export(e->bytes.data(), e->bytes.size());
    if (!v) return std::move(v).error();  // not expected: accept_loop_export checked the bytes
    loop_ctx_value_ = std::make_shared<const Value>(std::move(*v));
    loop_ctx_value_of_ = e;
  }
  return loop_ctx_value_;
}

Result<Value> StrategyHost::export_context() {
  if (loop_ctx_ready_) {
    auto v = loop_ctx_value();
    if (!v) return std::move(v).error();
    return **v;
  }
  // As data, a ctx may be as big as the VM's memory budget (a reload's
  // export and import are transient, but every runner using a saved file
  // reloads at once): a table of references to one long string is refused
  // before it expands further.
  const std::size_t budget = limits_.memory_limit_bytes;
  return walk_context(budget != 0 ? std::min(budget, ContextLimits::kDefaultMaxBytes) : ContextLimits::kDefaultMaxBytes);
}

Result<Value> StrategyHost::walk_context(std::size_t max_bytes) {
  // The host views are ctx's __index (lua/views.lua), not its keys; a key
  // rawset under one of their names is left out as the loop export does.
  static const char* const kHostViews[] = {"position", "account", "symbol", "state", "bars_in_state", nullptr};
  if (poisoned_) return make_error(Errc::invalid_argument, "the strategy's VM was discarded: " + error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  if (frame_.clear_setup != 0) {  // a drop of ctx.setup still pending
    lua_getfield(L, -1, "apply_clear_setup");
    if (!pcall(0, 0, "clear_setup")) return make_error(Errc::internal, error_.message);
  }
  lua_getfield(L, -1, "ctx");  // stack: prelude ctx
  ContextLimits limits;
  limits.max_bytes = max_bytes;
  return lua_to_value(L, -1, "ctx", limits, kHostViews);
}

Result<std::shared_ptr<const Value>> StrategyHost::export_context_shared() {
  if (loop_ctx_ready_) return loop_ctx_value();
  auto v = walk_context(ctx_export_limit_);
  if (!v) return std::move(v).error();
  return std::make_shared<const Value>(std::move(*v));
}

constinit const std::shared_ptr<const LoopExport> StrategyHost::kNoLoopExport;

bool StrategyHost::accept_loop_export(std::int32_t result) {
  loop_ctx_ready_ = false;
  if (result == kCtxExportTooBig) {
    // Grown up to the limit, and 8 bytes more: the prelude wants room for a
    // number (9 bytes) before it writes any scalar, so an export that ends
    // with a 1-byte one at the limit fits.
    const std::size_t cap = std::min(ctx_export_limit_, kMaxCtxExportLimit) + 8;
    if (ctx_buf_.size() < cap) {
      ctx_buf_.resize(std::min(cap, ctx_buf_.size() * 4));
      api_.ctx_buf = ctx_buf_.data();
      api_.ctx_cap = static_cast<std::int32_t>(ctx_buf_.size());
    }
    return false;  // the walker stops at the limit too, with the error
  }
  if (result <= kCtxExportUnsupported || static_cast<std::size_t>(result - 1) > ctx_buf_.size()) return false;
  const auto len = static_cast<std::size_t>(result - 1);
  if (len > ctx_export_limit_) return false;
  const std::uint8_t* bytes = ctx_buf_.data();
  const auto same = [&](const std::shared_ptr<const LoopExport>& e) {
    return e && e->bytes.size() == len && std::memcmp(bytes, e->bytes.data(), len) == 0;
  };
  if (!same(ctx_slots_[loop_ctx_at_])) {
    std::size_t at = 0;
    while (at < kRecentCtx && !same(ctx_slots_[at])) ++at;
    if (at == kRecentCtx) {
      // Kept as bytes: decoded only when asked (export_context), or by a
      // recorder's writer thread (loop_export). A small one replaces the
      // oldest recent export, a big one the last big one (at == kRecentCtx).
      if (!loop_export_well_formed(bytes, len)) return false;  // never expected: the host's walker then reads ctx
      if (len <= kRecentCtxMaxBytes) {
        at = recent_ctx_next_;
        recent_ctx_next_ = (recent_ctx_next_ + 1) % kRecentCtx;
      }
      ctx_slots_[at] = std::make_shared<const LoopExport>(
          LoopExport{std::vector<std::uint8_t>(bytes, bytes + len), next_loop_export_serial()});
    }
    loop_ctx_at_ = at;
    // A big export is not kept once the ctx has moved on from it (a ctx that
    // was large once would keep its copy for the rest of the session).
    if (at < kRecentCtx && ctx_slots_[kRecentCtx]) ctx_slots_[kRecentCtx].reset();
  }
  loop_ctx_ready_ = true;
  return true;
}

Status StrategyHost::import_context(const Value& ctx) {
  if (!ctx.is_map()) return make_error(Errc::invalid_argument, "a strategy context must be a map");
  if (poisoned_) return make_error(Errc::invalid_argument, "the strategy's VM was discarded: " + error_.message);
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "replace_ctx");
  push_value(L, ctx);  // stack: prelude replace_ctx t
  if (!pcall(1, 0, "replace_ctx")) return make_error(Errc::internal, error_.message);
  return {};
}

std::int32_t StrategyHost::api_ind_add(void* host, const char* name, std::size_t name_len, const double* params,
                                       std::int32_t n_params, const char* source, std::size_t source_len,
                                       const char* timeframe, std::size_t timeframe_len) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  try {
    if (n_params < 0 || n_params > 8) {
      self->api_error_ = "too many indicator parameters";
      return kTeInvalid;
    }
    auto r = self->indicators_->add(std::string_view(name, name_len),
                                    std::span<const double>(params, static_cast<std::size_t>(n_params)),
                                    std::string_view(source, source_len), std::string_view(timeframe, timeframe_len));
    if (!r) {
      self->api_error_ = r.error().message;
      return r.error().code == Errc::limit ? kTeLimit : kTeInvalid;
    }
    std::string text(name, name_len);
    text += '(';
    for (std::int32_t i = 0; i < n_params; ++i) {
      if (i) text += ',';
      text += fmt::format("{}", params[i]);
    }
    if (source_len) (text += ',').append(source, source_len);
    text += ')';
    if (timeframe_len) (text += '@').append(timeframe, timeframe_len);
    auto& used = self->indicators_used_;
    if (std::find(used.begin(), used.end(), text) == used.end()) used.push_back(std::move(text));
    return static_cast<std::int32_t>(*r);
  } catch (const std::exception& e) {
    self->api_error_ = std::string("internal error creating an indicator: ") + e.what();
    return kTeInternal;
  } catch (...) {
    self->api_error_ = "internal error creating an indicator";
    return kTeInternal;
  }
}

const char* StrategyHost::api_last_error(void* host, std::size_t* len) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  *len = self->api_error_.size();
  return self->api_error_.data();
}

std::int32_t StrategyHost::api_history_bar(void* host, double index, te_bar* out) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  const std::size_t n = self->indicators_->history_size();
  if (!(index >= 0) || index >= static_cast<double>(n)) return kTeInvalid;
  const model::Bar b = self->indicators_->history_bar(static_cast<std::size_t>(index));
  copy_bar(b, *out);
  return kTeOk;
}

namespace {

// Fields 7-10 of a lua_indicator_list row (lua/lua_indicators.lua): parameter
// specs, output names, whether a source is taken and the default one.
// stack: row -> row
void read_lua_indicator_shape(lua_State* L, LuaIndicatorInfo& info) {
  lua_rawgeti(L, -1, 7);
  const int np = lua_istable(L, -1) ? static_cast<int>(lua_objlen(L, -1)) : 0;
  for (int i = 1; i <= np; ++i) {
    lua_rawgeti(L, -1, i);
    LuaIndicatorInfo::Param p;
    lua_rawgeti(L, -1, 1);
    if (const char* s = lua_tostring(L, -1)) p.name = s;
    lua_rawgeti(L, -2, 2);
    lua_rawgeti(L, -3, 3);
    lua_rawgeti(L, -4, 4);
    lua_rawgeti(L, -5, 5);
    p.default_value = lua_tonumber(L, -4);
    p.min = lua_tonumber(L, -3);
    p.max = lua_tonumber(L, -2);
    p.integer = lua_toboolean(L, -1) != 0;
    lua_pop(L, 6);
    info.param_list.push_back(std::move(p));
  }
  lua_pop(L, 1);
  lua_rawgeti(L, -1, 8);
  const int no = lua_istable(L, -1) ? static_cast<int>(lua_objlen(L, -1)) : 0;
  for (int i = 1; i <= no; ++i) {
    lua_rawgeti(L, -1, i);
    if (const char* s = lua_tostring(L, -1)) info.output_list.emplace_back(s);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_rawgeti(L, -1, 9);
  info.takes_source = lua_toboolean(L, -1) != 0;
  lua_rawgeti(L, -2, 10);
  if (const char* s = lua_tostring(L, -1)) info.default_source = s;
  lua_pop(L, 2);
}

}  // namespace

std::int32_t StrategyHost::api_ind_cross(void* host, std::int32_t slot_a, std::int32_t slot_b) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  try {
    auto r = self->indicators_->crossover(slot_a, slot_b);
    if (!r) {
      self->api_error_ = r.error().message;
      return r.error().code == Errc::limit ? kTeLimit : kTeInvalid;
    }
    return static_cast<std::int32_t>(*r);
  } catch (const std::exception& e) {
    self->api_error_ = std::string("internal error creating a crossover: ") + e.what();
    return kTeInternal;
  } catch (...) {
    self->api_error_ = "internal error creating a crossover";
    return kTeInternal;
  }
}

std::int32_t StrategyHost::api_tf_feed(void* host, const char* timeframe, std::size_t timeframe_len) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  try {
    auto r = self->indicators_->timeframe_feed(std::string_view(timeframe, timeframe_len));
    if (!r) {
      self->api_error_ = r.error().message;
      return kTeInvalid;
    }
    return static_cast<std::int32_t>(*r);
  } catch (...) {
    self->api_error_ = "internal error opening a timeframe feed";
    return kTeInternal;
  }
}

double StrategyHost::api_tf_closed(void* host, std::int32_t feed, double bar_index) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  if (!(bar_index >= 0)) return 0;
  return static_cast<double>(self->indicators_->feed_closed(feed, static_cast<std::size_t>(bar_index)));
}

std::int32_t StrategyHost::api_tf_bar(void* host, std::int32_t feed, double index, te_bar* out) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  model::Bar b;
  if (!(index >= 0) || !self->indicators_->feed_bar(feed, static_cast<std::size_t>(index), b)) return kTeInvalid;
  copy_bar(b, *out);
  return kTeOk;
}

std::vector<LuaIndicatorInfo> StrategyHost::lua_indicators() {
  std::vector<LuaIndicatorInfo> out;
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "lua_indicator_list");
  if (!pcall(0, 1, "lua_indicator_list") || !lua_istable(L, -1)) return out;
  const int n = static_cast<int>(lua_objlen(L, -1));
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, -1, i);
    LuaIndicatorInfo info;
    std::string* fields[] = {&info.name, &info.summary, &info.params, &info.outputs, &info.warmup, &info.path};
    for (int k = 0; k < 6; ++k) {
      lua_rawgeti(L, -1, k + 1);
      if (const char* s = lua_tostring(L, -1)) *fields[k] = s;
      lua_pop(L, 1);
    }
    read_lua_indicator_shape(L, info);
    out.push_back(std::move(info));
    lua_pop(L, 1);
  }
  return out;
}

void StrategyHost::api_log(void* host, std::int32_t level, const char* msg, std::size_t len) noexcept {
  auto* self = static_cast<StrategyHost*>(host);
  if (!self->log_) return;
  try {
    if (self->log_lines_ < self->max_log_lines_) {
      std::string line(msg, std::min<std::size_t>(len, 4096));
      make_terminal_safe(line);
      self->log_->strategy_log(level, line);
    } else if (self->log_lines_ == self->max_log_lines_) {
      self->log_->strategy_log(2, "further strategy log lines suppressed (limit reached)");
    }
    ++self->log_lines_;
  } catch (...) {
    // logging must never take the runner down
  }
}

}  // namespace te::script
