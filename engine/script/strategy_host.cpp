#include "engine/script/strategy_host.hpp"

#include <lua.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/core/sha256.hpp"
#include "engine/script/context_codec.hpp"
#include "engine/script/embedded.hpp"
#include "engine/script/lua_vm.hpp"
#include "engine/ta/ind_view.h"

extern "C" int luaopen_ffi(lua_State* L);  // not declared in lualib.h

namespace te::script {
namespace {

constexpr const char* kPreludePath = "lua/prelude.lua";

// Error handler for every host->Lua call. Accepts only string errors and never
// calls an untrusted __tostring. stack: err -> err .. traceback
int traceback_handler(lua_State* L) {
  const char* msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : "(error object is not a string)";
  luaL_traceback(L, L, msg, 1);
  return 1;
}

// cfg.load_trusted(path) for the prelude: compiles one of the trusted Lua files
// embedded in the binary. stack: path -> function
int load_trusted(lua_State* L) {
  std::size_t len = 0;
  const char* path = luaL_checklstring(L, 1, &len);
  const std::string_view text = find_embedded(std::string_view(path, len));
  if (text.empty()) return luaL_error(L, "trusted Lua file %s is not embedded", path);
  std::string chunkname(1, '@');  // (not "@" + ...: GCC 12 misreports -Wrestrict there)
  chunkname.append(path, len);
  if (luaL_loadbufferx(L, text.data(), text.size(), chunkname.c_str(), "t") != 0) return lua_error(L);
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

void split_error(std::string_view full, std::string_view chunk, StrategyError& out) {
  const std::size_t tb = full.find("\nstack traceback:");
  if (tb == std::string_view::npos) {
    out.message = std::string(full);
    out.traceback.clear();
  } else {
    out.message = std::string(full.substr(0, tb));
    out.traceback = strategy_frames(full.substr(tb + 1), chunk);
  }
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

Result<StrategySource> read_strategy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, "open strategy " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  StrategySource s;
  s.path = path;
  s.code = std::move(ss).str();
  if (s.code.empty()) return make_error(Errc::invalid_argument, path + ": the strategy file is empty");
  if (s.code[0] == '\x1b')
    return make_error(Errc::invalid_argument, path + ": precompiled bytecode is not accepted; give the Lua source");
  s.sha256 = sha256_hex(s.code);
  return s;
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
  return h;
}

StrategyHost::~StrategyHost() = default;

Status StrategyHost::init(const HostOptions& options, IndicatorProvider& indicators) {
  indicators_ = &indicators;
  vm_ = std::make_unique<LuaVm>();
  lua_State* L = vm_->state();
  StackGuard guard(L);

  open_lib(L, luaopen_base, "");
  open_lib(L, luaopen_table, LUA_TABLIBNAME);
  open_lib(L, luaopen_string, LUA_STRLIBNAME);
  open_lib(L, luaopen_math, LUA_MATHLIBNAME);
  open_lib(L, luaopen_bit, LUA_BITLIBNAME);
  open_lib(L, luaopen_jit, LUA_JITLIBNAME);  // also switches the JIT compiler on
  open_lib(L, luaopen_debug, LUA_DBLIBNAME);

  lua_pushcfunction(L, traceback_handler);
  traceback_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

  // stack: -> ffi
  lua_pushcfunction(L, luaopen_ffi);
  lua_pushstring(L, "ffi");
  lua_call(L, 1, 1);
  const int ffi_idx = lua_gettop(L);

  // stack: ffi -> ffi getinfo
  lua_getglobal(L, "debug");
  lua_getfield(L, -1, "getinfo");
  lua_remove(L, -2);
  const int getinfo_idx = lua_gettop(L);

  api_.ind_add = &StrategyHost::api_ind_add;
  api_.last_error = &StrategyHost::api_last_error;
  api_.log = &StrategyHost::api_log;
  api_.history_bar = &StrategyHost::api_history_bar;
  for (double* p : {&frame_.bar.bid, &frame_.bar.ask, &frame_.bar.bid_size, &frame_.bar.ask_size, &frame_.pos.stop,
                    &frame_.pos.target})
    *p = std::numeric_limits<double>::quiet_NaN();

  // stack: ffi getinfo -> ffi getinfo handler prelude args...
  const std::string_view prelude = find_embedded(kPreludePath);
  TE_ASSERT(!prelude.empty(), "prelude not embedded");
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  const int handler_idx = lua_gettop(L);
  if (luaL_loadbufferx(L, prelude.data(), prelude.size(), "@lua/prelude.lua", "t") != 0)
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
  lua_createtable(L, 0, 5);
  lua_pushlstring(L, options.symbol.data(), options.symbol.size());
  lua_setfield(L, -2, "symbol");
  lua_pushnumber(L, static_cast<double>(options.seed));
  lua_setfield(L, -2, "seed");
  lua_pushlstring(L, source_.path.data(), source_.path.size());
  lua_setfield(L, -2, "chunkname");
  lua_pushvalue(L, getinfo_idx);
  lua_setfield(L, -2, "getinfo");
  lua_pushcfunction(L, load_trusted);
  lua_setfield(L, -2, "load_trusted");
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
  // Seal, now that the prelude holds what it needs in locals: nothing
  // privileged stays reachable by name (ffi/jit/debug live only in its upvalues).
  for (const char* g : {"debug", "jit", "ffi", "module", "require", "package", "dofile", "loadfile", "load",
                        "loadstring", "collectgarbage", "newproxy", "getfenv", "setfenv", "gcinfo"}) {
    lua_pushnil(L);
    lua_setglobal(L, g);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_istable(L, -1)) {
    for (const char* m : {"ffi", "jit", "debug", "jit.opt", "jit.util", "package"}) {
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


  // Load the strategy as text only (bytecode is refused by mode "t").
  if (!source_.code.empty() && source_.code[0] == '\x1b')
    return make_error(Errc::invalid_argument,
                      source_.path + ": precompiled bytecode is not accepted; give the Lua source");
  const std::string chunkname = "@" + source_.path;
  if (luaL_loadbufferx(L, source_.code.data(), source_.code.size(), chunkname.c_str(), "t") != 0) {
    std::string msg = lua_tostring(L, -1);
    return make_error(Errc::invalid_argument, msg);
  }
  const int chunk_idx = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "install");
  lua_pushvalue(L, chunk_idx);
  if (lua_pcall(L, 1, 0, handler_idx) != 0) {
    StrategyError e;
    split_error(lua_tostring(L, -1), source_.path, e);
    return make_error(Errc::invalid_argument, e.message);
  }
  lua_getfield(L, -1, "dispatch");
  dispatch_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);

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
  return {};
}

bool StrategyHost::pcall(int nargs, int nresults, const char* callback) {
  lua_State* L = vm_->state();
  // stack: fn args... -> handler fn args...
  const int base = lua_gettop(L) - nargs;
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  lua_insert(L, base);
  const int rc = lua_pcall(L, nargs, nresults, base);
  if (rc == 0) {
    lua_remove(L, base);
    return true;
  }
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object is not a string)";
  split_error(rc == LUA_ERRMEM ? std::string_view(source_.path + ": out of memory") : std::string_view(msg),
              source_.path, error_);
  error_.callback = callback;
  lua_settop(L, base - 1);
  return false;
}

int StrategyHost::call(Callback cb) {
  lua_State* L = vm_->state();
  // stack: -> handler dispatch kind -> (result)
  lua_rawgeti(L, LUA_REGISTRYINDEX, traceback_ref_);
  lua_rawgeti(L, LUA_REGISTRYINDEX, dispatch_ref_);
  lua_pushinteger(L, static_cast<int>(cb));
  const int base = lua_gettop(L) - 2;
  const int rc = lua_pcall(L, 1, 1, base);
  if (__builtin_expect(rc == 0, 1)) {
    const int kind = static_cast<int>(lua_tointeger(L, -1));
    lua_settop(L, base - 1);
    return kind;
  }
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(error object is not a string)";
  split_error(rc == LUA_ERRMEM ? std::string_view(source_.path + ": out of memory") : std::string_view(msg),
              source_.path, error_);
  error_.callback = std::string(to_string(cb));
  lua_settop(L, base - 1);
  return -1;
}

Status StrategyHost::on_start() {
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "on_start");
  frame_.phase = 0;
  if (!pcall(0, 0, "on_start")) return make_error(Errc::invalid_argument, error_.message);
  return {};
}

void StrategyHost::clear_setup() {
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "clear_setup");
  lua_call(L, 0, 0);
}

std::size_t StrategyHost::memory_bytes() const noexcept { return vm_->memory_bytes(); }

Result<Value> StrategyHost::export_context() {
  static const char* const kHostViews[] = {"position", "account", "symbol", "state", "bars_in_state", nullptr};
  lua_State* L = vm_->state();
  StackGuard guard(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, prelude_ref_);
  lua_getfield(L, -1, "ctx");  // stack: prelude ctx
  return lua_to_value(L, -1, "ctx", {}, kHostViews);
}

Status StrategyHost::import_context(const Value& ctx) {
  if (!ctx.is_map()) return make_error(Errc::invalid_argument, "a strategy context must be a map");
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
  out->time_ms = static_cast<double>(b.ts_ns / 1'000'000);
  out->open = b.open;
  out->high = b.high;
  out->low = b.low;
  out->close = b.close;
  out->volume = b.volume;
  out->bid = b.bid;
  out->ask = b.ask;
  out->bid_size = b.bid_size;
  out->ask_size = b.ask_size;
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
      self->log_->strategy_log(level, std::string_view(msg, std::min<std::size_t>(len, 4096)));
    } else if (self->log_lines_ == self->max_log_lines_) {
      self->log_->strategy_log(2, "further strategy log lines suppressed (limit reached)");
    }
    ++self->log_lines_;
  } catch (...) {
    // logging must never take the runner down
  }
}

}  // namespace te::script
