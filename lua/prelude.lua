-- Trusted prelude: builds one strategy's sandboxed world. Runs once per VM,
-- before any strategy code, with the FFI library passed in as an argument (it is
-- never reachable from strategy code). Everything the strategy gets is a plain
-- value, table or closure; cdata stays in this file's upvalues.
--
-- Arguments from the host (engine/script/strategy_host.cpp):
--   ffi        the FFI module (deleted from package.loaded before strategies run)
--   decls      text of engine/script/te_ffi_decls.h and engine/ta/ind_view.h
--   frame_ud   lightuserdata -> te_frame (bar, position, account, action)
--   api_ud     lightuserdata -> te_api (engine services)
--   host_ud    lightuserdata -> opaque host pointer passed back to te_api
--   ind_ud     lightuserdata -> te_ind_view (native indicator values)
--   registry   array of native indicator descriptions {name, nparams, defaults, outputs, source}
--   cfg        {symbol, seed, chunkname, overrides = {name = text}, traceback}
local ffi, decls, frame_ud, api_ud, host_ud, ind_ud, registry, cfg = ...

local type, pairs, ipairs, next, error, tostring, tonumber = type, pairs, ipairs, next, error, tostring, tonumber
local select, rawget, rawset, setmetatable, getmetatable = select, rawget, rawset, setmetatable, getmetatable
local pcall, setfenv, unpack = pcall, setfenv, unpack
local floor, huge, min = math.floor, math.huge, math.min
local sfmt, sbyte, ssub, sfind = string.format, string.byte, string.sub, string.find
local tsort, tconcat = table.sort, table.concat
local band = bit.band
local getinfo = cfg.getinfo -- debug.getinfo, kept by the host for error positions only

ffi.cdef(decls)
local F = ffi.cast("te_frame*", frame_ud)
local API = ffi.cast("te_api*", api_ud)
local HOST = host_ud
local IV = ffi.cast("const te_ind_view*", ind_ud)
local A = F.action
local NaN = 0 / 0
local pbuf = ffi.new("double[8]")
local lenbuf = ffi.new("size_t[1]")

local M = {}

--------------------------------------------------------------------------------
-- Misuse of the API is reported at the strategy line that caused it: the
-- innermost stack frame that belongs to the strategy file (tail calls and
-- helper depth make fixed error levels unreliable).
local strategy_source = "@" .. cfg.chunkname
local function fail(msg)
  for level = 2, 40 do
    local info = getinfo(level, "Sl")
    if not info then break end
    if info.source == strategy_source and info.currentline and info.currentline > 0 then
      error(sfmt("%s:%d: %s", cfg.chunkname, info.currentline, msg), 0)
    end
  end
  error(msg, 0)
end

local function describe(v)
  local t = type(v)
  if t == "string" then return sfmt("%q", #v > 40 and (ssub(v, 1, 40) .. "...") or v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "a " .. t
end

local function api_error()
  local p = API.last_error(HOST, lenbuf)
  return ffi.string(p, lenbuf[0])
end

--------------------------------------------------------------------------------
-- bar: one persistent table refreshed in place (no table per bar).
local bar = { symbol = cfg.symbol, time = 0, open = 0, high = 0, low = 0, close = 0, volume = 0 }
setmetatable(bar, { __metatable = false })
local seen_index = -1
-- Quote fields are nil when the data has none. Assigning nil to an absent key
-- still makes LuaJIT insert (and later rehash) it, so nil is only written when
-- a value was there before.
local has_bid, has_ask, has_bid_size, has_ask_size = false, false, false, false

local function refresh_bar()
  local idx = F.bar_index
  if idx == seen_index then return end
  seen_index = idx
  local b = F.bar
  bar.time = b.time_ms
  bar.open = b.open
  bar.high = b.high
  bar.low = b.low
  bar.close = b.close
  bar.volume = b.volume
  local v = b.bid
  if v == v then bar.bid = v; has_bid = true elseif has_bid then bar.bid = nil; has_bid = false end
  v = b.ask
  if v == v then bar.ask = v; has_ask = true elseif has_ask then bar.ask = nil; has_ask = false end
  v = b.bid_size
  if v == v then bar.bid_size = v; has_bid_size = true elseif has_bid_size then bar.bid_size = nil; has_bid_size = false end
  v = b.ask_size
  if v == v then bar.ask_size = v; has_ask_size = true elseif has_ask_size then bar.ask_size = nil; has_ask_size = false end
end

--------------------------------------------------------------------------------
-- Read-only views of the position and the account, read through to the frame
-- on every access so they are always current and cost nothing when unused.
local function nan_to_nil(v) if v == v then return v end return nil end

local state_names = { [0] = "watch", "close_watch", "in_trade", "faulted" }

local position_getters = {
  qty = function() return F.pos.qty end,
  side = function()
    local q = F.pos.qty
    if q > 0 then return "long" elseif q < 0 then return "short" end
    return nil
  end,
  avg_price = function() local q = F.pos.qty; if q ~= 0 then return F.pos.avg_price end return nil end,
  entry_price = function() local q = F.pos.qty; if q ~= 0 then return F.pos.avg_price end return nil end,
  unrealized_pnl = function() return F.pos.unrealized_pnl end,
  realized_pnl = function() return F.pos.realized_pnl end,
  entry_time = function() local t = F.pos.entry_time_ms; if t ~= 0 then return t end return nil end,
  bars_held = function() return F.pos.bars_held end,
  stop = function() return nan_to_nil(F.pos.stop) end,
  target = function() return nan_to_nil(F.pos.target) end,
  pending_entry = function() return F.pos.pending_entry end,
  pending_exit = function() return F.pos.pending_exit end,
}
local account_getters = {
  cash = function() return F.acct.cash end,
  equity = function() return F.acct.equity end,
  initial_cash = function() return F.acct.initial_cash end,
  position_value = function() return F.acct.position_value end,
  commission_paid = function() return F.acct.commission_paid end,
  realized_pnl = function() return F.acct.realized_pnl end,
  trades = function() return F.acct.trades end,
}

local function read_only_view(name, getters)
  return setmetatable({}, {
    __index = function(_, k)
      local g = getters[k]
      if g then return g() end
      fail(sfmt("ctx.%s has no field %s (fields: %s)", name, describe(k), M.sorted_keys_text(getters)), 2)
    end,
    __newindex = function(_, k) fail(sfmt("ctx.%s is read-only (tried to set %s)", name, describe(k)), 2) end,
    __metatable = false,
  })
end

function M.sorted_keys_text(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  tsort(keys)
  return tconcat(keys, ", ")
end

local position = read_only_view("position", position_getters)
local account = read_only_view("account", account_getters)

-- ctx: the strategy's persistent plain-data context. position/account/state
-- are host views, re-attached after every reload, never copied.
local ctx = {}
local HOST_KEYS = { position = true, account = true, state = true, symbol = true, bars_in_state = true, bar_index = true }
local function attach_views(c)
  c.position = position
  c.account = account
  c.symbol = cfg.symbol
end
attach_views(ctx)

--------------------------------------------------------------------------------
-- Native indicators: ind.<name>(params..., [source]) with values of the current
-- bar; ind.at(k) gives the same functions k bars back; ind.tf("1w") the same on
-- a higher timeframe (closed bars only). Handles are cached in nested tables
-- keyed by the arguments, so a repeated call is a few table lookups and loads.
local ind_current = IV.current
local ind_history = IV.history
local hist_mask = IV.history_mask
local hist_len = hist_mask + 1

-- Value of `slot`, `offset` bars ago (ta/ind_view.h has the layout); NaN when
-- not available.
local function ind_value(slot, offset)
  if offset == 0 then return ind_current[slot] end
  if offset >= IV.updates or offset > hist_mask then return NaN end
  return ind_history[slot * hist_len + band(IV.head - offset, hist_mask)]
end

local SOURCES = { open = true, high = true, low = true, close = true, volume = true, typical = true, median = true }

local function add_native(desc, p, nparams, source, tf)
  for i = 1, nparams do pbuf[i - 1] = p[i] end
  local slot = API.ind_add(HOST, desc.name, #desc.name, pbuf, nparams, source, #source, tf, #tf)
  if slot < 0 then fail(api_error(), 4) end
  return slot
end

local NOSRC = ""

-- Returns slot_of(a1..a5) -> first output slot, creating the indicator on
-- first use (the host warms it up over the bars already seen).
local function make_slot_lookup(desc, tf)
  local nparams, defaults, takes_source = desc.nparams, desc.defaults, desc.source
  local cache = {}
  local name = "ind." .. desc.name
  local function resolve(...)
    -- Normalise: numbers fill parameters in order, a final string names the source.
    local source = NOSRC
    local p = {}
    local np = 0
    local n = select("#", ...)
    for i = 1, n do
      local v = select(i, ...)
      if v == nil then
        if i <= nparams then p[np + 1] = defaults[np + 1]; np = np + 1 end
      elseif type(v) == "string" then
        if not takes_source then fail(sfmt("%s takes no source series, was given %s", name, describe(v)), 4) end
        if not SOURCES[v] then
          fail(sfmt("%s: unknown source %s (open, high, low, close, volume, typical, median)", name, describe(v)), 4)
        end
        for j = i + 1, n do
          if select(j, ...) ~= nil then fail(sfmt("%s: the source must be the last argument", name), 4) end
        end
        source = v
        break
      elseif type(v) == "number" then
        np = np + 1
        if np > nparams then
          fail(sfmt("%s takes %d parameter%s, was given %d", name, nparams, nparams == 1 and "" or "s", np), 4)
        end
        p[np] = v
      else
        fail(sfmt("%s: parameter %d must be a number, was %s", name, np + 1, describe(v)), 4)
      end
    end
    for i = np + 1, nparams do p[i] = defaults[i] end
    return add_native(desc, p, nparams, source, tf)
  end
  return function(a1, a2, a3, a4, a5)
    local t = cache[a1 or false]
    if t then
      t = t[a2 or false]
      if t then
        t = t[a3 or false]
        if t then
          t = t[a4 or false]
          if t then
            local slot = t[a5 or false]
            if slot then return slot end
          end
        end
      end
    end
    local slot = resolve(a1, a2, a3, a4, a5)
    local node = cache
    local keys = { a1 or false, a2 or false, a3 or false, a4 or false }
    for i = 1, 4 do
      local nxt = node[keys[i]]
      if not nxt then nxt = {}; node[keys[i]] = nxt end
      node = nxt
    end
    node[a5 or false] = slot
    return slot
  end
end

local function make_reader(nout, slot_of, offset)
  if nout == 1 then
    return function(a1, a2, a3, a4, a5)
      local v = ind_value(slot_of(a1, a2, a3, a4, a5), offset)
      if v == v then return v end
      return nil
    end
  elseif nout == 2 then
    return function(a1, a2, a3, a4, a5)
      local s = slot_of(a1, a2, a3, a4, a5)
      local v1 = ind_value(s, offset)
      if v1 ~= v1 then return nil end
      return v1, nan_to_nil(ind_value(s + 1, offset))
    end
  elseif nout == 3 then
    return function(a1, a2, a3, a4, a5)
      local s = slot_of(a1, a2, a3, a4, a5)
      local v1 = ind_value(s, offset)
      if v1 ~= v1 then return nil end
      return v1, nan_to_nil(ind_value(s + 1, offset)), nan_to_nil(ind_value(s + 2, offset))
    end
  end
  return function(a1, a2, a3, a4, a5)
    local s = slot_of(a1, a2, a3, a4, a5)
    local v1 = ind_value(s, offset)
    if v1 ~= v1 then return nil end
    local out = { v1 }
    for i = 2, nout do out[i] = nan_to_nil(ind_value(s + i - 1, offset)) end
    return unpack(out, 1, nout)
  end
end

-- "sma(10)" -> name, {10}; a bare price name "close" -> "sma", {1, "close"}.
local function parse_spec_string(spec, who)
  if type(spec) ~= "string" then
    fail(sfmt("%s: expected an indicator like \"sma(20)\" or a price like \"close\", was %s", who, describe(spec)), 4)
  end
  if SOURCES[spec] then return "sma", { 1, spec } end
  local name, inner = spec:match("^%s*([%a_][%w_]*)%s*%((.-)%)%s*$")
  if not name then
    fail(sfmt("%s: cannot read %s; write an indicator like \"sma(20)\" or \"ema(12,high)\"", who, describe(spec)), 4)
  end
  local args = {}
  for item in (inner .. ","):gmatch("%s*([^,]*),") do
    if item ~= "" then
      local n = tonumber(item)
      args[#args + 1] = n ~= nil and n or item:match("^%s*(.-)%s*$")
    end
  end
  return name, args
end

local descs = {}
for _, desc in ipairs(registry) do descs[desc.name] = desc end

local slot_lookups = {}  -- timeframe -> name -> slot_of
local function slot_lookup(tf, name)
  local by_name = slot_lookups[tf]
  if not by_name then by_name = {}; slot_lookups[tf] = by_name end
  local f = by_name[name]
  if not f then
    f = make_slot_lookup(descs[name], tf)
    by_name[name] = f
  end
  return f
end

local views = {}  -- timeframe -> offset -> view
local function make_view(offset, tf)
  local by_tf = views[tf]
  if not by_tf then by_tf = {}; views[tf] = by_tf end
  local v = by_tf[offset]
  if v then return v end
  local fns = {}
  for _, desc in ipairs(registry) do fns[desc.name] = make_reader(desc.outputs, slot_lookup(tf, desc.name), offset) end

  -- crossover(a, b): +1 when a crossed above b on this bar, -1 when it crossed
  -- below, 0 otherwise, nil while either is warming up. Ties follow backtrader's
  -- CrossOver: the side before is the last non-zero difference.
  local cross_cache = {}
  local function spec_slot(spec)
    local name, args = parse_spec_string(spec, "ind.crossover")
    local desc = descs[name]
    if not desc then fail(sfmt("ind.crossover: unknown indicator %s", describe(name)), 3) end
    return slot_lookup(tf, name)(args[1], args[2], args[3], args[4], args[5])
  end
  local function crossover(a, b)
    local by_a = cross_cache[a]
    local pair = by_a and by_a[b]
    if not pair then
      pair = { spec_slot(a), spec_slot(b) }
      if not by_a then by_a = {}; cross_cache[a] = by_a end
      by_a[b] = pair
    end
    local sa, sb = pair[1], pair[2]
    local d = ind_value(sa, offset) - ind_value(sb, offset)
    if d ~= d then return nil end
    if d == 0 then return 0 end
    for k = 1, hist_mask do
      local pd = ind_value(sa, offset + k) - ind_value(sb, offset + k)
      if pd ~= pd then return 0 end
      if pd ~= 0 then
        if pd < 0 and d > 0 then return 1 end
        if pd > 0 and d < 0 then return -1 end
        return 0
      end
    end
    return 0
  end
  fns.crossover = crossover
  fns.at = function(k)
    if type(k) ~= "number" or k < 0 or k ~= floor(k) then
      fail(sfmt("ind.at: offset must be a whole number of bars >= 0, was %s", describe(k)), 2)
    end
    if offset + k > hist_mask then
      fail(sfmt("ind.at: offset %d is beyond the %d bars of indicator history kept", offset + k, hist_mask), 2)
    end
    return make_view(offset + k, tf)
  end
  fns.tf = function(t)
    if type(t) ~= "string" then fail(sfmt("ind.tf: expected a timeframe like \"1h\" or \"1w\", was %s", describe(t)), 2) end
    return make_view(offset, t)
  end

  local view = setmetatable({}, {
    __index = function(_, k)
      local f = fns[k]
      if f ~= nil then return f end
      fail(sfmt("ind has no indicator %s (see `trading-engine indicators --list`)", describe(k)), 2)
    end,
    __newindex = function(_, k) fail(sfmt("ind is read-only (tried to set %s)", describe(k)), 2) end,
    __metatable = false,
  })
  by_tf[offset] = view
  return view
end

local ind = make_view(0, "")

--------------------------------------------------------------------------------
-- Actions: tables built only by these constructors (a private metatable marks
-- them), validated again when returned.
local ACTION_TAG = {}
local ACTION_MT = { __metatable = ACTION_TAG }
local ABANDON = "abandon"

local function positive(v, what, who, level)
  if type(v) ~= "number" or v ~= v or v <= 0 or v == huge then
    fail(sfmt("%s: %s must be a positive number, was %s", who, what, describe(v)), level + 1)
  end
  return v
end

local ENTRY_KEYS = { qty = true, fraction = true, risk = true, limit = true, stop_entry = true, stop = true,
                     target = true, trail = true, trail_pct = true, reason = true, tif = true, bars = true }
local TIF = { gtc = 0, ioc = 1, fok = 2, day = 3 }

local function entry(kind, who, spec)
  local a = { kind = kind }
  if type(spec) == "number" then
    a.qty = positive(spec, "qty", who, 3)
  elseif type(spec) == "table" and getmetatable(spec) ~= ACTION_TAG then
    for k in pairs(spec) do
      if not ENTRY_KEYS[k] then
        fail(sfmt("%s: unknown field %s (qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, tif, bars, reason)", who, describe(k)), 3)
      end
    end
    local sizing = 0
    if spec.qty ~= nil then a.qty = positive(spec.qty, "qty", who, 3); sizing = sizing + 1 end
    if spec.fraction ~= nil then a.fraction = positive(spec.fraction, "fraction", who, 3); sizing = sizing + 1 end
    if spec.risk ~= nil then
      a.risk = positive(spec.risk, "risk", who, 3); sizing = sizing + 1
      if spec.stop == nil then fail(who .. ": risk-based sizing needs a stop price", 3) end
    end
    if sizing ~= 1 then fail(who .. ": give exactly one of qty, fraction or risk", 3) end
    if spec.limit ~= nil then a.limit = positive(spec.limit, "limit", who, 3) end
    if spec.stop_entry ~= nil then a.stop_entry = positive(spec.stop_entry, "stop_entry", who, 3) end
    if spec.stop ~= nil then a.stop = positive(spec.stop, "stop", who, 3) end
    if spec.target ~= nil then a.target = positive(spec.target, "target", who, 3) end
    if spec.trail ~= nil then a.trail = positive(spec.trail, "trail", who, 3) end
    if spec.trail_pct ~= nil then a.trail_pct = positive(spec.trail_pct, "trail_pct", who, 3) end
    if spec.bars ~= nil then a.bars = positive(spec.bars, "bars", who, 3) end
    if spec.tif ~= nil then
      if TIF[spec.tif] == nil then fail(sfmt("%s: tif must be \"gtc\", \"ioc\", \"fok\" or \"day\", was %s", who, describe(spec.tif)), 3) end
      a.tif = spec.tif
    end
    if spec.reason ~= nil then
      if type(spec.reason) ~= "string" then fail(sfmt("%s: reason must be a string, was %s", who, describe(spec.reason)), 3) end
      a.reason = spec.reason
    end
  else
    fail(sfmt("%s: expected a quantity or a table like {qty = 100}, was %s", who, describe(spec)), 3)
  end
  return setmetatable(a, ACTION_MT)
end

local api = {}
function api.enter_long(spec) return entry(3, "enter_long", spec) end
function api.enter_short(spec) return entry(4, "enter_short", spec) end
function api.exit_position(spec)
  local a = { kind = 5 }
  if spec ~= nil then
    if type(spec) == "string" then
      a.reason = spec
    elseif type(spec) == "table" then
      for k in pairs(spec) do
        if k ~= "reason" then fail(sfmt("exit_position: unknown field %s (reason)", describe(k)), 2) end
      end
      if spec.reason ~= nil and type(spec.reason) ~= "string" then
        fail(sfmt("exit_position: reason must be a string, was %s", describe(spec.reason)), 2)
      end
      a.reason = spec.reason
    else
      fail(sfmt("exit_position: expected nothing, a reason string or {reason = ...}, was %s", describe(spec)), 2)
    end
  end
  return setmetatable(a, ACTION_MT)
end
function api.update_stop(price) return setmetatable({ kind = 6, stop = positive(price, "stop price", "update_stop", 2) }, ACTION_MT) end
function api.update_target(price) return setmetatable({ kind = 6, target = positive(price, "target price", "update_target", 2) }, ACTION_MT) end
function api.adjust(spec)
  if type(spec) ~= "table" then fail(sfmt("adjust: expected a table like {stop = 9.5}, was %s", describe(spec)), 2) end
  local a = { kind = 6 }
  for k in pairs(spec) do
    if k ~= "stop" and k ~= "target" and k ~= "reason" then fail(sfmt("adjust: unknown field %s (stop, target, reason)", describe(k)), 2) end
  end
  if spec.stop ~= nil then a.stop = positive(spec.stop, "stop", "adjust", 2) end
  if spec.target ~= nil then a.target = positive(spec.target, "target", "adjust", 2) end
  if a.stop == nil and a.target == nil then fail("adjust: give a stop, a target or both", 2) end
  a.reason = spec.reason
  return setmetatable(a, ACTION_MT)
end
api.abandon = ABANDON

-- Deterministic iteration: pairs() order over string keys is not something to
-- build decisions on; sorted_pairs is.
function api.sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  tsort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx < ty end
    if tx == "number" or tx == "string" then return x < y end
    return tostring(x) < tostring(y)
  end)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end

local function log_value(level, ...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    local t = type(v)
    parts[i] = (t == "string" or t == "number" or t == "boolean" or t == "nil") and tostring(v) or ("<" .. t .. ">")
  end
  local s = tconcat(parts, "\t")
  API.log(HOST, level, s, #s)
end
function api.log(...) log_value(1, ...) end
function api.print(...) log_value(1, ...) end
function api.warn(...) log_value(2, ...) end

--------------------------------------------------------------------------------
-- The strategy environment: a whitelist of safe functions, strict globals.
local function copy_lib(lib, skip)
  local t = {}
  for k, v in pairs(lib) do if not (skip and skip[k]) then t[k] = v end end
  return t
end

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall, xpcall = xpcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  rawequal = rawequal, rawget = rawget, rawset = rawset, rawlen = rawlen, setmetatable = setmetatable,
  getmetatable = getmetatable,
  math = copy_lib(math), string = copy_lib(string, { dump = true }), table = copy_lib(table),
  bit = copy_lib(bit), coroutine = copy_lib(coroutine),
  ind = ind,
}
for k, v in pairs(api) do base[k] = v end
base._VERSION = _VERSION

-- math.random is seeded by the host from the run's seed; reseeding needs an
-- explicit number so a strategy can never pull entropy from the system.
do
  local real_randomseed = math.randomseed
  real_randomseed(cfg.seed)
  base.math.randomseed = function(s)
    if type(s) ~= "number" then
      fail("math.randomseed needs a number: runs are seeded by the engine (--seed) for reproducibility", 2)
    end
    real_randomseed(s)
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
  for name, text in pairs(param_overrides) do
    local default = p[name]
    if default == nil then
      error(sfmt("--param %s: the strategy has no parameter %s (it declares: %s)", name, name,
        M.sorted_keys_text(p) ~= "" and M.sorted_keys_text(p) or "none"), 0)
    end
    local td = type(default)
    if td == "number" then
      local n = tonumber(text)
      if n == nil or n ~= n or n == huge or n == -huge then
        error(sfmt("--param %s=%s: expected a number like its default %s", name, text, tostring(default)), 0)
      end
      if default == floor(default) and n ~= floor(n) then
        error(sfmt("--param %s=%s: expected a whole number like its default %s", name, text, tostring(default)), 0)
      end
      p[name] = n
    elseif td == "boolean" then
      if text == "true" then p[name] = true
      elseif text == "false" then p[name] = false
      else error(sfmt("--param %s=%s: expected true or false like its default %s", name, text, tostring(default)), 0) end
    else
      p[name] = text
    end
  end
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

function M.install(chunk)
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

function M.describe()
  local found = {}
  for _, name in ipairs(CALLBACK_NAMES) do found[#found + 1] = name end
  for name in pairs(OPTIONAL) do if rawget(env, name) then found[#found + 1] = name end end
  tsort(found)
  local p = rawget(env, "params") or {}
  local plist = {}
  for k, v in api.sorted_pairs(p) do plist[#plist + 1] = { k, type(v), tostring(v) } end
  return found, plist
end

--------------------------------------------------------------------------------
-- Per-bar entry point. kind: 1 detect_opportunity, 2 filter_commitment,
-- 3 manage_position. Returns a TE action kind (0 = nothing) after writing the
-- details into the frame's action block.
local cb_names = CALLBACK_NAMES

local function where(kind)
  local info = getinfo(callbacks[kind], "S")
  return sfmt("%s:%d", cfg.chunkname, info and info.linedefined or 0)
end

local function set_reason(s)
  if s == nil then A.reason_len = 0; return end
  local n = min(#s, 119)
  ffi.copy(A.reason, s, n)
  A.reason_len = n
end

local function encode(kind, r)
  A.qty, A.fraction, A.risk, A.limit, A.stop_trigger = NaN, NaN, NaN, NaN, NaN
  A.stop, A.target, A.trail, A.trail_pct, A.tif_bars = NaN, NaN, NaN, NaN, NaN
  A.order_type, A.tif = 0, 0
  local is_action = type(r) == "table" and getmetatable(r) == ACTION_TAG
  if kind == 1 then
    if is_action then
      error(sfmt("%s: detect_opportunity returned an order action; return a setup table (or true) here and enter from filter_commitment", where(1)), 0)
    end
    if r == false then return 0 end
    if r == true then r = {} end
    if type(r) ~= "table" then
      error(sfmt("%s: detect_opportunity must return a setup table, true or nil, was %s", where(1), describe(r)), 0)
    end
    ctx.setup = r
    local reason = rawget(r, "reason")
    set_reason(type(reason) == "string" and reason or nil)
    return 1
  end
  if r == ABANDON then set_reason(nil); return 2 end
  if not is_action then
    local expected = kind == 2 and "an entry action (enter_long/enter_short), \"abandon\" or nil"
      or "exit_position(), update_stop(), update_target(), adjust{} or nil"
    error(sfmt("%s: %s must return %s, was %s", where(kind), cb_names[kind], expected, describe(r)), 0)
  end
  local k = r.kind
  if kind == 2 and k ~= 3 and k ~= 4 then
    error(sfmt("%s: filter_commitment must return an entry action (enter_long/enter_short), \"abandon\" or nil", where(2)), 0)
  end
  if kind == 3 and (k == 3 or k == 4) then
    error(sfmt("%s: manage_position returned an entry action while in a trade; return exit_position(), update_stop(), update_target() or adjust{}", where(3)), 0)
  end
  if r.qty then A.qty = r.qty end
  if r.fraction then A.fraction = r.fraction end
  if r.risk then A.risk = r.risk end
  if r.stop then A.stop = r.stop end
  if r.target then A.target = r.target end
  if r.trail then A.trail = r.trail end
  if r.trail_pct then A.trail_pct = r.trail_pct end
  if r.limit and r.stop_entry then
    A.order_type = 3; A.limit = r.limit; A.stop_trigger = r.stop_entry
  elseif r.limit then
    A.order_type = 1; A.limit = r.limit
  elseif r.stop_entry then
    A.order_type = 2; A.stop_trigger = r.stop_entry
  end
  if r.bars then A.tif = 4; A.tif_bars = r.bars elseif r.tif then A.tif = TIF[r.tif] end
  set_reason(r.reason)
  return k
end

function M.dispatch(kind)
  refresh_bar()
  ctx.state = state_names[F.state]
  ctx.bars_in_state = F.bars_in_state
  local r = callbacks[kind](bar, ctx, ind)
  if r == nil then return 0 end
  return encode(kind, r)
end

function M.on_start()
  local f = rawget(env, "on_start")
  if f then f(ctx) end
end

function M.clear_setup()
  ctx.setup = nil
end

M.ctx = ctx
M.env = env
M.HOST_KEYS = HOST_KEYS
M.attach_views = attach_views
return M
