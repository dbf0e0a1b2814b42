-- Trusted: custom indicators written in pure Lua (indicators/*.lua), used by
-- strategies exactly like native ones: ind.hma(20), ind.at(1).hma(20),
-- ind.tf("1w").hma(10) (closed higher-timeframe bars only), multiple outputs,
-- nil while warming up. Each indicator file runs sandboxed
-- (text only, the strategy's safe environment) and returns a definition table;
-- see docs/indicators.md ("Custom indicators in Lua"). An instance is created
-- the first time a strategy asks for it, warmed up over the bars already seen,
-- and updated once per bar before the strategy's callback from then on.
-- Loaded by lua/prelude.lua after sandbox.lua; sets P.load_lua_indicators,
-- P.update_lua_indicators, P.lua_indicator_list, P.lua_series and
-- P.series_crossover (ind.crossover), P.add_indicator_column and
-- P.read_indicator_columns (indicators --compute).
local P = ...
local type, pairs, ipairs, error, tostring, tonumber = type, pairs, ipairs, error, tostring, tonumber
local select, setmetatable, setfenv, load, unpack = select, setmetatable, setfenv, load, unpack
local floor, sqrt = math.floor, math.sqrt
local sfmt = string.format
local fail, describe = P.fail, P.describe
local API, HOST, F, NaN = P.API, P.HOST, P.F, P.NaN

local HISTORY = 256  -- values kept per output for ind.at(k), as for native indicators
local SOURCES = { open = true, high = true, low = true, close = true, volume = true, typical = true, median = true }
local RESERVED = { at = true, tf = true, crossover = true }

local defs = {}        -- name -> definition
local def_list = {}    -- in load order (for listings)
local instances = {}   -- every live instance, in creation order (update order)

local scratch = P.ffi.new("te_bar[1]")
local warm_bar = {}

local function source_value(bar, source)
  if source == "typical" then return (bar.high + bar.low + bar.close) / 3 end
  if source == "median" then return (bar.high + bar.low) / 2 end
  return bar[source]
end

-- Copies scratch[0] into `t` (a plain bar table like the strategy's `bar`).
local function fill_bar(t)
  local b = scratch[0]
  t.time, t.open, t.high, t.low = b.time_ms, b.open, b.high, b.low
  t.close, t.volume = b.close, b.volume
  t.bid = b.bid == b.bid and b.bid or nil
  t.ask = b.ask == b.ask and b.ask or nil
  t.bid_size = b.bid_size == b.bid_size and b.bid_size or nil
  t.ask_size = b.ask_size == b.ask_size and b.ask_size or nil
  t.symbol = P.cfg.symbol
end

-- Feeds one bar (of the instance's timeframe) to the indicator and keeps its
-- outputs as the instance's latest values.
local function step(inst, bar)
  local v1, v2, v3, v4 = inst.obj:update(source_value(bar, inst.source), bar)
  inst.v1 = v1 == nil and NaN or v1
  inst.v2 = v2 == nil and NaN or v2
  inst.v3 = v3 == nil and NaN or v3
  inst.v4 = v4 == nil and NaN or v4
end

-- Appends the latest values to the history ring: one entry per base bar, so
-- ind.at(k) means k base bars back on every timeframe, as for native ones.
local function record(inst)
  local n = inst.count + 1
  inst.count = n
  local base = ((n - 1) % HISTORY) * inst.nout
  local ring = inst.ring
  ring[base + 1] = inst.v1
  if inst.nout > 1 then
    ring[base + 2] = inst.v2
    if inst.nout > 2 then
      ring[base + 3] = inst.v3
      if inst.nout > 3 then ring[base + 4] = inst.v4 end
    end
  end
end

-- Feeds the next closed bar of the instance's higher timeframe.
local function feed_closed_bar(inst)
  local fed = inst.fed
  if API.tf_bar(HOST, inst.feed, fed, scratch) ~= 0 then error("internal: higher-timeframe bar missing", 0) end
  local htf_bar = inst.htf_bar
  fill_bar(htf_bar)
  step(inst, htf_bar)
  inst.fed = fed + 1
end

-- Higher timeframe: feeds the bars of the instance's timeframe that had closed
-- by base bar `index` and were not fed yet. The host's feed releases a bar only
-- once it has closed (engine/ta/bar_aggregator.hpp), so nothing from after
-- `index` can reach the indicator. Per bar this is none or one; the loop only
-- runs on warm-up and gaps (a loop that would iterate on ordinary bars becomes
-- a root trace that cannot compile, see docs/performance.md, JIT health).
local function catch_up(inst, index)
  local closed = API.tf_closed(HOST, inst.feed, index)
  if inst.fed >= closed then return end
  feed_closed_bar(inst)
  while inst.fed < closed do feed_closed_bar(inst) end
end

local function step_one(inst, bar, index)
  if inst.last_index ~= index then
    inst.last_index = index
    if inst.feed then catch_up(inst, index) else step(inst, bar) end
    record(inst)
  end
end

-- The per-bar update of every instance, in creation order, as straight-line
-- code generated when an instance is added: a loop over a handful of
-- instances would be a hot loop of two or three iterations, which LuaJIT
-- tries to compile as a root trace and aborts ("leaving loop in root trace")
-- until it blacklists it.
local updater = function() end
-- Whether there is an instance: with none (most strategies) the per-bar call
-- below is a test of this flag, one guard in a trace, where calling the empty
-- updater was a load of the upvalue, its type guard and its identity guard.
local any_instance = false
local function rebuild_updater()
  local src = { "local step_one, I = ...\nreturn function(bar, index)\n" }
  for i = 1, #instances do src[#src + 1] = sfmt("  step_one(I[%d], bar, index)\n", i) end
  src[#src + 1] = "end\n"
  updater = load(table.concat(src), "=lua/lua_indicators.lua (per-bar update)", "t")(step_one, instances)
  any_instance = #instances > 0
end

-- Runs every instance on the bar just refreshed (called once per new bar).
function P.update_lua_indicators(bar)
  if any_instance then updater(bar, F.bar_index) end
end

local function value(inst, offset, j)
  if offset >= inst.count or offset >= HISTORY then return nil end
  local v = inst.ring[((inst.count - 1 - offset) % HISTORY) * inst.nout + j]
  if v ~= v then return nil end
  return v
end

local function new_instance(def, params, source, tf)
  local obj = def.new(params, source)
  if type(obj) ~= "table" or type(obj.update) ~= "function" then
    error(sfmt("%s: new() must return a table with an update(self, x, bar) method, was %s", def.path, describe(obj)), 0)
  end
  local inst = { obj = obj, source = source, nout = #def.outputs, ring = {}, count = 0, last_index = F.bar_index,
                 v1 = NaN, v2 = NaN, v3 = NaN, v4 = NaN }
  if tf ~= "" then
    local id = API.tf_feed(HOST, tf, #tf)
    if id < 0 then fail(P.api_error()) end
    inst.feed, inst.fed, inst.htf_bar = id, 0, {}
  end
  -- Warm up over every bar seen so far (this bar included), so asking late
  -- gives the same values (and the same ind.at(k) history) as asking early.
  -- (Before the first bar, e.g. at the strategy's top level, there is none.)
  local seen = F.bar_index + 1
  for i = 0, seen - 1 do
    if API.history_bar(HOST, i, scratch) ~= 0 then
      inst.last_index = i - 1  -- bar i is fed when it comes
      break
    end
    if inst.feed then
      catch_up(inst, i)
    else
      fill_bar(warm_bar)
      step(inst, warm_bar)
    end
    record(inst)
  end
  instances[#instances + 1] = inst
  rebuild_updater()
  return inst
end

-- Arguments like native indicators: numbers fill parameters in order, a final
-- string names the source series.
local function resolve(def, a1, a2, a3, a4, a5)
  local args = { a1, a2, a3, a4, a5 }
  local params, np, source = {}, 0, def.default_source
  for i = 1, 5 do
    local v = args[i]
    if v == nil then break end
    if type(v) == "string" then
      if not def.takes_source then fail(sfmt("ind.%s takes no source series, was given %s", def.name, describe(v))) end
      if not SOURCES[v] then fail(sfmt("ind.%s: unknown source %s (open, high, low, close, volume, typical, median)", def.name, describe(v))) end
      source = v
      break
    elseif type(v) == "number" then
      np = np + 1
      local spec = def.params[np]
      if not spec then fail(sfmt("ind.%s takes %d parameter%s, was given %d", def.name, #def.params, #def.params == 1 and "" or "s", np)) end
      if v ~= v or v < spec.min or v > spec.max or (spec.integer and v ~= floor(v)) then
        fail(sfmt("ind.%s: %s must be %s between %s and %s, was %s", def.name, spec.name,
          spec.integer and "a whole number" or "a number", tostring(spec.min), tostring(spec.max), tostring(v)))
      end
      params[spec.name] = v
    elseif type(v) == "table" then
      fail(sfmt("ind.%s: options tables are not taken; for the value k bars ago write ind.at(k).%s(...)", def.name, def.name))
    else
      fail(sfmt("ind.%s: parameter %d must be a number, was %s", def.name, np + 1, describe(v)))
    end
  end
  for i = np + 1, #def.params do params[def.params[i].name] = def.params[i].default end
  return params, source
end

-- Instances of one definition on one timeframe, cached by the call's
-- arguments (a repeated call is a few table lookups).
local function instance_lookup(def, tf)
  local cache = {}
  return function(a1, a2, a3, a4, a5)
    local t = cache[a1 or false]
    t = t and t[a2 or false]
    t = t and t[a3 or false]
    t = t and t[a4 or false]
    local inst = t and t[a5 or false]
    if inst then return inst end
    local params, source = resolve(def, a1, a2, a3, a4, a5)
    inst = new_instance(def, params, source, tf)
    local node = cache
    for _, k in ipairs({ a1 or false, a2 or false, a3 or false, a4 or false }) do
      local nxt = node[k]
      if not nxt then nxt = {}; node[k] = nxt end
      node = nxt
    end
    node[a5 or false] = inst
    return inst
  end
end

local function make_maker(def)
  local lookups = {}  -- timeframe -> instance lookup
  local nout = #def.outputs
  local function maker(offset, tf)
    local instance = lookups[tf]
    if not instance then
      instance = instance_lookup(def, tf)
      lookups[tf] = instance
    end
    if nout == 1 then
      return function(a1, a2, a3, a4, a5) return value(instance(a1, a2, a3, a4, a5), offset, 1) end
    end
    return function(a1, a2, a3, a4, a5)
      local inst = instance(a1, a2, a3, a4, a5)
      local v1 = value(inst, offset, 1)
      if v1 == nil then return nil end
      if nout == 2 then return v1, value(inst, offset, 2) end
      if nout == 3 then return v1, value(inst, offset, 2), value(inst, offset, 3) end
      return v1, value(inst, offset, 2), value(inst, offset, 3), value(inst, offset, 4)
    end
  end
  return maker, function(tf)
    local instance = lookups[tf]
    if not instance then
      instance = instance_lookup(def, tf)
      lookups[tf] = instance
    end
    return instance
  end
end

local function check_def(def, path, native_names)
  local function bad(msg) error(sfmt("%s: %s", path, msg), 0) end
  if type(def) ~= "table" then bad("an indicator file must return a definition table, was " .. describe(def)) end
  local name = def.name
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then bad("name must be an identifier, was " .. describe(name)) end
  if native_names[name] then bad(sfmt("name %q is taken by a native indicator", name)) end
  if RESERVED[name] then bad(sfmt("name %q is reserved by ind", name)) end
  if defs[name] then bad(sfmt("name %q is already defined by %s", name, defs[name].path)) end
  if type(def.new) ~= "function" then bad("new must be a function(params, source) returning an object with update(self, x, bar)") end
  local outputs = def.outputs or { name }
  if type(outputs) ~= "table" or #outputs < 1 or #outputs > 4 then bad("outputs must list 1 to 4 output names") end
  local params = def.params or {}
  if type(params) ~= "table" or #params > 5 then bad("params must be a list of at most 5 parameter specs") end
  local clean = {}
  for i, p in ipairs(params) do
    if type(p) ~= "table" or type(p.name) ~= "string" or type(p.default) ~= "number" then
      bad(sfmt("params[%d] must be a table {name = \"...\", default = <number>, min = ..., max = ..., integer = ...}", i))
    end
    clean[i] = { name = p.name, default = p.default, min = tonumber(p.min) or -math.huge,
                 max = tonumber(p.max) or math.huge, integer = p.integer == true }
  end
  local d = {
    name = name, path = path, new = def.new, outputs = outputs, params = clean,
    summary = type(def.summary) == "string" and def.summary or "",
    takes_source = def.takes_source ~= false,
    default_source = type(def.source) == "string" and def.source or "close",
    warmup = def.warmup,
  }
  if not SOURCES[d.default_source] then bad("source must name a series (open, high, low, close, volume, typical, median)") end
  return d
end

-- files: array of {path = "indicators/x.lua", code = "..."}; loaded in order.
function P.load_lua_indicators(files)
  local native_names = {}
  for _, d in ipairs(P.registry) do native_names[d.name] = true end
  for _, f in ipairs(files) do
    local chunk, err = load(f.code, "@" .. f.path, "t")
    if not chunk then error(err, 0) end
    -- Same safe world as strategies; globals the file creates stay in its own table.
    setfenv(chunk, setmetatable({}, { __index = P.base }))
    local def = check_def(chunk(), f.path, native_names)
    local maker, lookup = make_maker(def)
    def.lookup = lookup
    defs[def.name] = def
    def_list[#def_list + 1] = def
    P.extend_ind(def.name, maker)
  end
end

-- ind.crossover with an indicator written in Lua (lua/indicators.lua): its
-- first output k bars back, NaN when there is none. `args` as parsed from
-- "hma(20)" / "kama(10,2,30,high)".
function P.lua_series(name, tf, args)
  local inst = defs[name].lookup(tf)(args[1], args[2], args[3], args[4], args[5])
  return function(k) return value(inst, k, 1) or NaN end
end

-- The difference of the two series at the first bar before `offset` where it
-- is not exactly 0 (NaN counts), or 0 when there is none within the history.
-- Only ties get here (see P.series_crossover), so this loop is off the per-bar
-- path.
local function last_nonzero_difference(fa, fb, offset)
  for k = 2, HISTORY - 1 do
    local pd = fa(offset + k) - fb(offset + k)
    if pd ~= 0 then return pd end
  end
  return 0
end

-- The crossover of two series, each a native slot (read with ind_value) or a
-- function(k) from P.lua_series; same rule as the native one
-- (IndicatorSet::add_crossover). The bar before is compared inline and the
-- look-back past ties is a separate function: a loop here, run by every
-- crossover call, made the callers' traces hit LuaJIT's loop unroll limit
-- (hull_trend's JIT-health flake).
function P.series_crossover(a, b, ind_value)
  local fa = type(a) == "function" and a or function(k) return ind_value(a, k) end
  local fb = type(b) == "function" and b or function(k) return ind_value(b, k) end
  return function(offset)
    local d = fa(offset) - fb(offset)
    if d ~= d then return nil end
    if d == 0 then return 0 end
    local pd = fa(offset + 1) - fb(offset + 1)
    if pd == 0 then pd = last_nonzero_difference(fa, fb, offset) end
    if pd ~= pd then return 0 end
    if pd < 0 and d > 0 then return 1 end
    if pd > 0 and d < 0 then return -1 end
    return 0
  end
end

-- `trading-engine indicators --compute` (engine/script/lua_indicator_columns.cpp):
-- the host adds columns, then for each bar (written into the frame) reads
-- them: the same instances, warm-up and values as ind.<name>(...) in a strategy.
local columns = {}

function P.add_indicator_column(name, params, source, tf)
  local def = defs[name]
  if not def then error(sfmt("no indicator written in Lua is named %s", describe(name)), 0) end
  local args = {}
  for i = 1, #params do args[i] = params[i] end
  if source ~= "" then args[#args + 1] = source end
  resolve(def, unpack(args, 1, #args))  -- raises on bad arguments
  columns[#columns + 1] = { lookup = def.lookup(tf), args = args, nargs = #args, nout = #def.outputs }
  return #def.outputs
end

-- Every column's outputs for the frame's bar (NaN while warming up).
function P.read_indicator_columns()
  if P.refresh_bar() then P.update_lua_indicators(P.bar) end
  local out, n = {}, 0
  for i = 1, #columns do
    local c = columns[i]
    local inst = c.lookup(unpack(c.args, 1, c.nargs))
    for j = 1, c.nout do
      n = n + 1
      out[n] = value(inst, 0, j) or NaN
    end
  end
  return unpack(out, 1, n)
end

-- For `indicators --list`: {name, summary, params text, outputs text, warm-up text, path}.
function P.lua_indicator_list()
  local out = {}
  for _, d in ipairs(def_list) do
    local ps = {}
    for _, p in ipairs(d.params) do ps[#ps + 1] = p.name .. "=" .. tostring(p.default) end
    local warm = ""
    if type(d.warmup) == "function" then
      local defaults = {}
      for _, p in ipairs(d.params) do defaults[p.name] = p.default end
      local ok, w = pcall(d.warmup, defaults)
      warm = ok and tostring(w) or ""
    elseif d.warmup ~= nil then
      warm = tostring(d.warmup)
    end
    -- Fields 7-10 describe the parameters for parsing `indicators --compute` specs.
    local plist = {}
    for i, p in ipairs(d.params) do plist[i] = { p.name, p.default, p.min, p.max, p.integer } end
    out[#out + 1] = { d.name, d.summary, table.concat(ps, " ") .. (d.takes_source and " [source=" .. d.default_source .. "]" or ""),
                      table.concat(d.outputs, " "), warm, d.path, plist, d.outputs, d.takes_source, d.default_source }
  end
  return out
end
