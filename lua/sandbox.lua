-- Trusted: the strategy's environment. A whitelist of safe functions and
-- libraries (copies, so a strategy can only damage its own), strict globals
-- (undeclared reads and writes inside callbacks are errors naming the
-- variable), --param overrides applied when the chunk assigns `params`, and the
-- loading of the strategy chunk. Loaded by lua/prelude.lua; sets P.env,
-- P.install, P.summary, P.callbacks, P.where, P.CALLBACK_NAMES.
local P = ...
local type, pairs, ipairs, next, error, tostring, tonumber = type, pairs, ipairs, next, error, tostring, tonumber
local select, rawget, rawset, setmetatable, getmetatable = select, rawget, rawset, setmetatable, getmetatable
local unpack = unpack
local floor, huge, min = math.floor, math.huge, math.min
local sfmt, ssub = string.format, string.sub
local tsort, tconcat = table.sort, table.concat
local band = bit.band
local fail, describe, nan_to_nil = P.fail, P.describe, P.nan_to_nil
local setfenv = setfenv
local cfg = P.cfg
local api, ind = P.api, P.ind

--------------------------------------------------------------------------------
-- The strategy environment: a whitelist of safe functions, strict globals.
local function copy_lib(lib, skip)
  local t = {}
  for k, v in pairs(lib) do if not (skip and skip[k]) then t[k] = v end end
  return t
end

-- Libraries are read-only views of private copies: a strategy that assigns
-- math.floor = ... gets an error naming the library instead of quietly
-- changing its own world (the trusted files hold their own locals anyway).
-- Lookups stay table lookups (__index is a table), which the JIT compiles.
local function read_only_lib(name, lib)
  local proxy = {}
  return setmetatable(proxy, {
    __index = lib,
    __newindex = function(_, k)
      fail(sfmt("%s is read-only (tried to set %s.%s); keep your own functions in locals", name, name, tostring(k)))
    end,
    __metatable = false,
  }), lib
end

-- xpcall runs its handler at the error point, before unwinding. When the error
-- is a CPU or memory budget trip raised from the engine's hook, that point is
-- inside the hook, where LuaJIT suspends hooks: a looping handler could then
-- never be stopped. So the handler runs after the stack has unwound, with the
-- budget hooks live (strategies have no debug library, so the stack the real
-- xpcall would have shown is not observable anyway).
local pcall = pcall
local function xpcall_finish(handler, ok, ...)
  if ok then return true, ... end
  local handled, result = pcall(handler, (...))
  if handled then return false, result end
  return false, "error in error handling"
end
local function safe_xpcall(f, handler, ...)
  if type(handler) ~= "function" then
    error(sfmt("bad argument #2 to 'xpcall' (function expected, got %s)", type(handler)), 2)
  end
  return xpcall_finish(handler, pcall(f, ...))
end

-- LuaJIT names tables, functions and coroutines by their memory address
-- ("table: 0x7f3a..."), which changes from run to run: a strategy that keys,
-- hashes or compares such names would make its backtest irreproducible. Inside
-- the sandbox they are numbered in the order they are first named instead
-- ("table: #3"); a __tostring metamethod still wins.
local sfind = string.find
local ADDRESS_NAMED = { table = "table: #", ["function"] = "function: #", thread = "thread: #", userdata = "userdata: #" }
local object_ids = setmetatable({}, { __mode = "k" })
local named_objects = 0
local function stable_tostring(v, level)
  local s = tostring(v)
  -- LuaJIT passes on whatever a __tostring returns; name the mistake (at the
  -- strategy's call, `level`) instead of failing later inside this file.
  if type(s) ~= "string" then
    error(sfmt("'__tostring' must return a string (returned a %s)", type(s)), level or 2)
  end
  local prefix = ADDRESS_NAMED[type(v)]
  if prefix and sfind(s, "^%a+: 0x%x+$") then
    local id = object_ids[v]
    if not id then
      named_objects = named_objects + 1
      id = named_objects
      object_ids[v] = id
    end
    return prefix .. id
  end
  return s
end
-- "%p" prints an object's memory address (strings' too): refused, for the
-- same reason. Specs are walked from each "%" so "%%p" stays plain text.
local function pointer_spec(fmt)
  local i = 1
  while true do
    local s = sfind(fmt, "%", i, true)
    if not s then return false end
    local _, e, conv = sfind(fmt, "^[-+ #0]*%d*%.?%d*(.?)", s + 1)
    if conv == "p" then return true end
    i = e + 1
  end
end
-- string.format("%s", t) names objects without calling tostring.
local function stable_format(fmt, ...)
  if type(fmt) == "string" and sfind(fmt, "p", 1, true) and pointer_spec(fmt) then
    error("string.format: %p is not available: it prints a memory address, which changes from run to run", 2)
  end
  local n = select("#", ...)
  for i = 1, n do
    if ADDRESS_NAMED[type((select(i, ...)))] then
      local args = { ... }
      for j = i, n do
        if ADDRESS_NAMED[type(args[j])] then args[j] = stable_tostring(args[j], 3) end
      end
      return sfmt(fmt, unpack(args, 1, n))
    end
  end
  return sfmt(fmt, ...)
end
-- The real table too: ("%s"):format(t) reaches it through the string metatable.
string.format = stable_format

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall, xpcall = safe_xpcall,
  select = select, tonumber = tonumber, tostring = stable_tostring, type = type, unpack = unpack,
  rawequal = rawequal, rawget = rawget, rawset = rawset, rawlen = rawlen, setmetatable = setmetatable,
  getmetatable = getmetatable,
  ind = ind,
}
local libs = {}
for name, lib in pairs({ math = math, string = string, table = table, bit = bit, coroutine = coroutine }) do
  base[name], libs[name] = read_only_lib(name, copy_lib(lib, name == "string" and { dump = true } or nil))
end
for k, v in pairs(api) do base[k] = v end
base._VERSION = _VERSION

-- math.random is seeded by the host from the run's seed; reseeding needs an
-- explicit number so a strategy can never pull entropy from the system.
do
  local real_randomseed = math.randomseed
  real_randomseed(cfg.seed)
  libs.math.randomseed = function(s)
    if type(s) ~= "number" then
      fail("math.randomseed needs a number: runs are seeded by the engine (--seed) for reproducibility", 2)
    end
    real_randomseed(s)
  end
end

-- A coroutine resumed inside another nests a call of LuaJIT's VM on the
-- thread's native stack, which LuaJIT does not limit: a few ten thousand nested
-- resumes crashed the engine. Each resume first checks the room left there
-- (cfg.c_stack_check, engine/script/c_stack.hpp) and raises an ordinary error
-- when it is short. Results and errors are those of the real functions.
do
  local co_resume, co_create = coroutine.resume, coroutine.create
  local room = cfg.c_stack_check
  libs.coroutine.resume = function(co, ...)
    room("coroutine.resume")
    return co_resume(co, ...)
  end
  -- As LuaJIT's wrap: a string error gets the caller's position, others pass as they are.
  local function wrapped_result(ok, ...)
    if ok then return ... end
    local e = ...
    error(e, type(e) == "string" and 2 or 0)
  end
  libs.coroutine.wrap = function(f)
    if type(f) ~= "function" then
      error(sfmt("bad argument #1 to 'wrap' (function expected, got %s)", type(f)), 2)
    end
    local co = co_create(f)
    return function(...)
      room("coroutine.wrap")
      return wrapped_result(co_resume(co, ...))
    end
  end
end

local FORBIDDEN = {
  io = "files are off limits to strategies", os = "the operating system is off limits to strategies",
  ffi = "the FFI is off limits to strategies", debug = "the debug library is off limits to strategies",
  jit = "JIT control is off limits to strategies", package = "modules cannot be loaded by strategies",
  require = "modules cannot be loaded by strategies", load = "strategies cannot compile code at run time",
  loadstring = "strategies cannot compile code at run time", loadfile = "strategies cannot load files",
  dofile = "strategies cannot load files", getfenv = "environments are off limits to strategies",
  setfenv = "environments are off limits to strategies", collectgarbage = "the collector is managed by the engine",
  newproxy = "newproxy is off limits to strategies", module = "modules cannot be defined by strategies",
  gcinfo = "the collector is managed by the engine", _G = "the global table is off limits to strategies",
}

local loading = true
setmetatable(base, {
  __index = function(_, k)
    local why = FORBIDDEN[k]
    if why then fail(sfmt("%s is not available: %s", tostring(k), why), 3) end
    fail(sfmt("undeclared global %s (declare it at the top of the file, or use local)", describe(k)), 3)
  end,
  __newindex = function() fail("the base environment is read-only", 2) end,
  __metatable = false,
})

local env = {}
local declared = {}
local param_overrides = cfg.overrides or {}
local params_applied = false

local function apply_overrides(p)
  if type(p) ~= "table" then fail(sfmt("params must be a table of defaults, was %s", describe(p)), 3) end
  for k, v in pairs(p) do
    local tv = type(v)
    if type(k) ~= "string" then fail(sfmt("params keys must be names, was %s", describe(k)), 3) end
    if tv ~= "number" and tv ~= "boolean" and tv ~= "string" then
      fail(sfmt("params.%s must be a number, boolean or string default, was %s", k, describe(v)), 3)
    end
  end
  -- Every bad override is reported at once, in name order (not hash order).
  local names, problems = {}, {}
  for name in pairs(param_overrides) do names[#names + 1] = name end
  tsort(names)
  local function check(name, text)
    local default = p[name]
    if default == nil then
      return sfmt("--param %s: the strategy has no parameter %s (it declares: %s)", name, name,
        P.sorted_keys_text(p) ~= "" and P.sorted_keys_text(p) or "none")
    end
    local td = type(default)
    if td == "number" then
      local n = tonumber(text)
      if n == nil or n ~= n or n == huge or n == -huge then
        return sfmt("--param %s=%s: expected a number like its default %s", name, text, tostring(default))
      end
      if default == floor(default) and n ~= floor(n) then
        return sfmt("--param %s=%s: expected a whole number like its default %s", name, text, tostring(default))
      end
      p[name] = n
    elseif td == "boolean" then
      if text == "true" then p[name] = true
      elseif text == "false" then p[name] = false
      else return sfmt("--param %s=%s: expected true or false like its default %s", name, text, tostring(default)) end
    else
      p[name] = text
    end
  end
  for _, name in ipairs(names) do
    local problem = check(name, param_overrides[name])
    if problem then problems[#problems + 1] = problem end
  end
  if #problems > 0 then error(tconcat(problems, "\n"), 0) end
  params_applied = true
  return p
end

setmetatable(env, {
  __index = base,
  __newindex = function(t, k, v)
    if not loading then
      fail(sfmt("assignment to undeclared global %s inside a callback (declare it at the top of the file, keep state in ctx, or use local)", describe(k)), 2)
    end
    if k == "params" then v = apply_overrides(v) end
    declared[k] = true
    rawset(t, k, v)
  end,
  __metatable = false,
})

--------------------------------------------------------------------------------
-- Loading the strategy chunk (compiled by the host as text only).
local callbacks = {}
local CALLBACK_NAMES = { "detect_opportunity", "filter_commitment", "manage_position" }
local OPTIONAL = { on_start = true, on_reload = true, on_fill = true, on_order_rejected = true }

function P.install(chunk)
  setfenv(chunk, env)
  chunk()
  loading = false
  if not params_applied then
    if next(param_overrides) ~= nil then
      local name = next(param_overrides)
      error(sfmt("--param %s: the strategy declares no params table", name), 0)
    end
    rawset(env, "params", apply_overrides({}))
  end
  local problems = {}
  -- A second assignment (params = {...} then params = 5) bypasses __newindex.
  local p = rawget(env, "params")
  if type(p) ~= "table" then problems[#problems + 1] = sfmt("params must be a table of defaults, was %s", describe(p)) end
  for i, name in ipairs(CALLBACK_NAMES) do
    local f = rawget(env, name)
    if type(f) ~= "function" then
      problems[#problems + 1] = f == nil and sfmt("missing callback %s(bar, ctx, ind)", name)
        or sfmt("%s must be a function, was %s", name, describe(f))
    end
    callbacks[i] = f
  end
  for name in pairs(OPTIONAL) do
    local f = rawget(env, name)
    if f ~= nil and type(f) ~= "function" then problems[#problems + 1] = sfmt("%s must be a function, was %s", name, describe(f)) end
  end
  if #problems > 0 then error(cfg.chunkname .. ": " .. tconcat(problems, "; "), 0) end
end

function P.summary()
  local found = {}
  for _, name in ipairs(CALLBACK_NAMES) do found[#found + 1] = name end
  for name in pairs(OPTIONAL) do if rawget(env, name) then found[#found + 1] = name end end
  tsort(found)
  local p = rawget(env, "params") or {}
  local plist = {}
  for k, v in api.sorted_pairs(p) do plist[#plist + 1] = { k, type(v), tostring(v) } end
  return found, plist
end


-- "file:line" of a callback's definition, for errors about what it returned.
function P.where(kind)
  local info = P.getinfo(callbacks[kind], "S")
  return sfmt("%s:%d", cfg.chunkname, info and info.linedefined or 0)
end

-- What validate's static scan needs: every readable name, and the forbidden
-- ones with the reason.
function P.environment()
  local names, forbidden = {}, {}
  for k in pairs(base) do names[#names + 1] = k end
  tsort(names)
  for k, why in pairs(FORBIDDEN) do forbidden[#forbidden + 1] = { k, why } end
  tsort(forbidden, function(a, b) return a[1] < b[1] end)
  return names, forbidden
end

P.env = env
P.base = base
P.callbacks = callbacks
P.CALLBACK_NAMES = CALLBACK_NAMES
