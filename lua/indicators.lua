-- Trusted: the `ind` object strategies use to read indicators (native ones here;
-- pure-Lua ones plug in through P.extend_ind, see lua/lua_indicators.lua). Values are
-- read straight from the IndicatorSet's arrays through the FFI (see
-- engine/ta/ind_view.h); an indicator is created on first use and warmed up by
-- the host over the bars already seen. Loaded by lua/prelude.lua; sets P.ind.
local P = ...
local type, pairs, ipairs, next, error, tostring, tonumber = type, pairs, ipairs, next, error, tostring, tonumber
local select, rawget, rawset, setmetatable, getmetatable = select, rawget, rawset, setmetatable, getmetatable
local unpack, load = unpack, load
local floor, huge, min = math.floor, math.huge, math.min
local sfmt, ssub = string.format, string.sub
local tsort, tconcat = table.sort, table.concat
local band = bit.band
local fail, describe, nan_to_nil = P.fail, P.describe, P.nan_to_nil
local API, HOST, IV, NaN, registry = P.API, P.HOST, P.IV, P.NaN, P.registry
local pbuf = P.ffi.new("double[8]")

--------------------------------------------------------------------------------
-- Native indicators: ind.<name>(params..., [source]) with values of the current
-- bar; ind.at(k) gives the same functions k bars back; ind.tf("1w") the same on
-- a higher timeframe (closed bars only). Handles are cached in nested tables
-- keyed by the arguments, so a repeated call is a few table lookups and loads.
local ind_history = IV.history
local hist_mask = IV.history_max  -- the largest offset kept (ind_view.h), the limit of every read below
local ring_mask = IV.history_mask; local hist_len = ring_mask + 1  -- the ring: the history and a block ahead

-- Value of `slot`, `offset` bars ago (ta/ind_view.h has the layout); NaN when
-- not available. The current values are IV.current[slot * hist_len] (the
-- ring at head: the pointer moves with every update, so it is read on each
-- call, which a trace does once per pass; the slot's offset is a constant).
local function ind_value(slot, offset)
  if offset == 0 then return IV.current[slot * hist_len] end
  if offset >= IV.updates or offset > hist_mask then return NaN end
  return ind_history[slot * hist_len + band(IV.head - offset, ring_mask)]
end

local SOURCES = { open = true, high = true, low = true, close = true, volume = true, typical = true, median = true }

local function add_native(desc, p, nparams, source, tf)
  for i = 1, nparams do pbuf[i - 1] = p[i] end
  local slot = API.ind_add(HOST, desc.name, #desc.name, pbuf, nparams, source, #source, tf, #tf)
  if slot < 0 then fail(P.api_error()) end
  return slot
end

local NOSRC = ""
local NINF = -huge
-- nan_to_nil for the readers' values, which are always numbers (see
-- reader_source: the same test as their first value's).
local function num_or_nil(v)
  if v >= NINF then return v end
  return nil
end

-- The lookup and the readers are compiled from source for each indicator and
-- view (`fresh`), so that every closure has a prototype of its own. LuaJIT
-- specialises a trace to a called closure only while its prototype has made
-- fewer than three closures; past that (one reader prototype shared by all
-- the indicators) it guards the prototype instead and loads each upvalue
-- (the slot lookup, its cache table, the offset) on every read. With a
-- closure of its own the reader is a constant in the trace and so are those
-- upvalues but the tables: one guard on the reader, the cache lookup, the load.
local function fresh(src, what)
  return load(src, "=lua/indicators.lua (" .. what .. ")", "t")
end

-- slot_of(a1..a5) for make_slot_lookup. The common calls take one to three
-- arguments (ind.sma(20), ind.ema(20, "high"), ind.macd(12, 26, 9)): one,
-- two or three nested lookups instead of the five of the general cache.
local SLOT_OF = [==[
local one, two, three, cache, resolve = ...
return function(a1, a2, a3, a4, a5)
  if a4 == nil and a5 == nil and a3 ~= nil then
    local by1 = three[a1 or false]
    local by2 = by1 and by1[a2 or false]
    local slot = by2 and by2[a3]
    if slot then return slot end
    slot = resolve(a1, a2, a3, a4, a5)
    if not by1 then by1 = {}; three[a1 or false] = by1 end
    if not by2 then by2 = {}; by1[a2 or false] = by2 end
    by2[a3] = slot
    return slot
  end
  if a3 == nil and a4 == nil and a5 == nil and a1 ~= nil then
    if a2 == nil then
      local slot = one[a1]
      if slot then return slot end
      slot = resolve(a1)
      one[a1] = slot
      return slot
    end
    local by2 = two[a1]
    local slot = by2 and by2[a2]
    if slot then return slot end
    slot = resolve(a1, a2)
    if not by2 then by2 = {}; two[a1] = by2 end
    by2[a2] = slot
    return slot
  end
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
]==]

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
      elseif type(v) == "table" then
        fail(sfmt("%s: options tables are not taken; for the value k bars ago write ind.at(k).%s(...)", name, desc.name), 4)
      else
        fail(sfmt("%s: parameter %d must be a number, was %s", name, np + 1, describe(v)), 4)
      end
    end
    for i = np + 1, nparams do p[i] = defaults[i] end
    return add_native(desc, p, nparams, source, tf)
  end
  return fresh(SLOT_OF, "slot lookup")({}, {}, {}, cache, resolve)
end

-- A reader's source for `nout` outputs and `ncases` argument lists it knows:
-- up to three outputs written out (the values returned directly), more
-- through a table. Upvalues: slot_of, offset, ind_value, num_or_nil, unpack,
-- nout, learn, ninf (-inf), then per known case its slot and its five arguments.
--
-- A value is "no value" (nil) when NaN. The test is `v >= -inf`, false for
-- NaN only: LuaJIT compiles that guard to one compare and one branch (`jb`,
-- taken for "below or unordered"), where `v ~= v` takes two (`jp` for the
-- unordered case, `jne`); ten_indicators reads 15 values per callback.
--
-- Why the cases: the slot of a call like ind.sma(50) is fixed once the
-- indicator exists, but a slot looked up in a table is a table lookup on every
-- read (in a trace: the cache table's upvalue, its size and hash-mask guards,
-- the key's node and a type guard, per level; three levels for
-- ind.macd(12, 26, 9)). A case compares the arguments with upvalues of a
-- closure the trace has as a constant, and numbers and strings held in such
-- upvalues are constants too (LuaJIT folds immutable upvalues that are not
-- tables), so for the constant arguments a strategy writes the comparisons
-- fold away and the slot is a constant: the read is the load and its NaN test.
-- Arguments that are not constants cost a guard per comparison. A call that
-- matches no case takes the lookup and, while the reader knows fewer than
-- kMaxCases, teaches its view a new reader that knows this case as well
-- (`learn`); the slot it returns is the lookup's either way.
local kMaxCases = 4

-- `shape` says, per case, which of its five arguments are nil ("n") and
-- which are values ("v"), e.g. "vnnnn" for ind.sma(20). A nil argument is
-- compared with the literal nil, not with an upvalue holding nil: LuaJIT
-- folds upvalues holding numbers, strings and booleans into constants, but
-- loads and type-checks one holding nil on every trace entry (lj_record.c,
-- lj_record_constify), and a missing argument compared with the literal folds
-- away. For ten_indicators that was about 30 guarded loads in the per-bar
-- loop's first copy, which every side trace that links back to the loop's
-- start runs again.
local function reader_source(nout, shape)
  local ncases = #shape / 5
  local rest
  if nout <= 3 then
    rest = "return v1"
    for i = 2, nout do rest = rest .. sfmt(", num_or_nil(ind_value(s + %d, offset))", i - 1) end
  else
    rest = "local out = { v1 }\n  for i = 2, nout do out[i] = num_or_nil(ind_value(s + i - 1, offset)) end\n" ..
           "  return unpack(out, 1, nout)"
  end
  local ups, tests = {}, {}
  for c = 1, ncases do
    ups[#ups + 1] = sfmt(", s%d, k%d_1, k%d_2, k%d_3, k%d_4, k%d_5", c, c, c, c, c, c)
    local conds = {}
    for i = 1, 5 do
      local nil_arg = ssub(shape, (c - 1) * 5 + i, (c - 1) * 5 + i) == "n"
      conds[i] = nil_arg and sfmt("a%d == nil", i) or sfmt("a%d == k%d_%d", i, c, i)
    end
    tests[#tests + 1] = sfmt("%sif %s then\n    s = s%d\n", c == 1 and "  " or "  else", tconcat(conds, " and "), c)
  end
  local lookup = "s = slot_of(a1, a2, a3, a4, a5)\n    learn(s, a1, a2, a3, a4, a5)\n"
  if ncases == 0 then
    lookup = "  " .. lookup
  else
    lookup = tconcat(tests) .. "  else\n    " .. lookup .. "  end\n"
  end
  return "local slot_of, offset, ind_value, num_or_nil, unpack, nout, learn, ninf" .. tconcat(ups) .. " = ...\n" ..
         "return function(a1, a2, a3, a4, a5)\n  local s\n" .. lookup ..
         "  local v1 = ind_value(s, offset)\n  if not (v1 >= ninf) then return nil end\n  " .. rest .. "\nend\n"
end
local reader_sources = {}  -- by nout and the cases' shape: "nout:shape"

local function compile_reader(nout, slot_of, offset, learn, cases)
  local shape = {}
  for c, k in ipairs(cases) do
    for i = 1, 5 do shape[(c - 1) * 5 + i] = k[i + 1] == nil and "n" or "v" end
  end
  shape = tconcat(shape)
  local key = nout .. ":" .. shape
  local src = reader_sources[key]
  if not src then
    src = reader_source(nout, shape)
    reader_sources[key] = src
  end
  local args, n = { slot_of, offset, ind_value, num_or_nil, unpack, nout, learn, NINF }, 8
  for _, c in ipairs(cases) do
    for i = 1, 6 do args[n + i] = c[i] end  -- (nil arguments leave holes: n counts)
    n = n + 6
  end
  return fresh(src, "reader")(unpack(args, 1, n))
end

-- The reader of one indicator in one view (`fns[name]`), starting with no
-- case; each call that teaches it a case puts a new reader in its place.
-- Cases are only learnt for arguments equal to themselves (not NaN), so that
-- the comparison can match them again.
local function make_reader(nout, slot_of, offset, fns, name)
  local cases = {}
  local function learn(s, a1, a2, a3, a4, a5)
    if #cases >= kMaxCases or a1 ~= a1 or a2 ~= a2 or a3 ~= a3 or a4 ~= a4 or a5 ~= a5 then return end
    for _, c in ipairs(cases) do
      if c[2] == a1 and c[3] == a2 and c[4] == a3 and c[5] == a4 and c[6] == a5 then return end
    end
    cases[#cases + 1] = { s, a1, a2, a3, a4, a5 }
    fns[name] = compile_reader(nout, slot_of, offset, learn, cases)
  end
  return compile_reader(nout, slot_of, offset, learn, cases)
end

-- "sma(10)" -> name, {10}; a bare price name "close" -> "highest", {1, "close"}
-- (the series itself: a one-bar window; sma's period starts at 2).
local function parse_spec_string(spec, who)
  if type(spec) ~= "string" then
    fail(sfmt("%s: expected an indicator like \"sma(20)\" or a price like \"close\", was %s", who, describe(spec)), 4)
  end
  if SOURCES[spec] then return "highest", { 1, spec } end
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

-- ind.crossover's reader for the pairs it learnt (up to kMaxCases, as the
-- indicators' readers above): two spec strings compared with constants, so a
-- read of a pair written as constants is the slot's load without the two
-- lookups in cross_cache. Anything else goes to the view's general crossover
-- (a tail call: its errors name the strategy's line as before).
local function cross_source(ncases)
  local ups, tests = {}, {}
  for c = 1, ncases do
    ups[#ups + 1] = sfmt(", c%d, ka%d, kb%d", c, c, c)
    tests[#tests + 1] = sfmt("  %sif a == ka%d and b == kb%d then\n    c = c%d\n", c == 1 and "" or "else", c, c, c)
  end
  return "local general, ind_value, hist_mask, offset" .. tconcat(ups) .. " = ...\n" ..
         "return function(a, b)\n  local c\n" .. tconcat(tests) .. "  else\n    return general(a, b)\n  end\n" .. [[
  if offset == 0 then
    local v = ind_value(c, 0)
    if v ~= v then return nil end
    return v
  end
  local v = ind_value(c, offset)
  if v ~= v then return nil end
  if v ~= 0 and ind_value(c + 1, offset) + offset > hist_mask then return 0 end
  return v
end
]]
end

local views = {}  -- timeframe -> offset -> view
local view_fns = {}  -- every view's function table, to add indicators defined later
local extensions = {}  -- name -> maker(offset, tf): indicators written in Lua (lua/lua_indicators.lua)
local extension_order = {}

-- Adds an indicator to every view, existing and future.
function P.extend_ind(name, maker)
  extensions[name] = maker
  extension_order[#extension_order + 1] = name
  for _, v in ipairs(view_fns) do v.fns[name] = maker(v.offset, v.tf) end
end

local build_view

-- The view for (offset, tf), built on first use. Kept free of closures: a
-- return from a function that creates closures closes upvalues (bytecode UCLO),
-- which LuaJIT does not compile, and ind.at(1) runs on every bar.
local function make_view(offset, tf)
  local by_tf = views[tf]
  local v = by_tf and by_tf[offset]
  if v then return v end
  return build_view(offset, tf)
end

build_view = function(offset, tf)
  local by_tf = views[tf]
  if not by_tf then by_tf = {}; views[tf] = by_tf end
  local fns = {}
  -- Each native indicator's reader is compiled on its first call (≈ 6
  -- million instructions of `load` for all of them would be paid by every
  -- short backtest): until then its name holds a stand-in that replaces
  -- itself. The key is there from the start, so the table keeps its shape.
  -- A strategy may have kept the stand-in itself: it compiles only once.
  for _, desc in ipairs(registry) do
    local name = desc.name
    local f
    fns[name] = function(...)
      if not f then
        f = make_reader(desc.outputs, slot_lookup(tf, name), offset, fns, name)
        fns[name] = f
      end
      return f(...)
    end
  end
  for _, name in ipairs(extension_order) do fns[name] = extensions[name](offset, tf) end
  view_fns[#view_fns + 1] = { fns = fns, offset = offset, tf = tf }

  -- crossover(a, b): +1 when a crossed above b on this bar, -1 when it crossed
  -- below, 0 otherwise, nil while either is warming up. Ties follow backtrader's
  -- CrossOver: the side before is the last non-zero difference. Two native
  -- indicators: the indicator set keeps the pair's value per bar
  -- (IndicatorSet::add_crossover), so a read is one load with no look-back and
  -- no branch on the signs (each sign combination was a separate trace path);
  -- `cross_cache[a][b]` holds its slot. With an indicator written in Lua it
  -- holds a function(offset) (P.series_crossover).
  local cross_cache = {}
  local cross_cases = {}  -- { slot, a, b } of the pairs fns.crossover compares
  local crossover  -- the general reader (below)
  local function spec_slot(spec)
    local name, args = parse_spec_string(spec, "ind.crossover")
    local desc = descs[name]
    if not desc then
      -- An indicator written in Lua: a function(k) giving its first output k bars back.
      if extensions[name] then return P.lua_series(name, tf, args) end
      fail(sfmt("ind.crossover: unknown indicator %s", describe(name)), 3)
    end
    return slot_lookup(tf, name)(args[1], args[2], args[3], args[4], args[5])
  end
  local function cross_of(a, b)
    local sa, sb = spec_slot(a), spec_slot(b)
    local c
    if type(sa) == "function" or type(sb) == "function" then
      c = P.series_crossover(sa, sb, ind_value)
    else
      c = API.ind_cross(HOST, sa, sb)
      if c < 0 then fail(P.api_error()) end
    end
    local by_a = cross_cache[a]
    if not by_a then by_a = {}; cross_cache[a] = by_a end
    by_a[b] = c
    if type(c) == "number" and #cross_cases < kMaxCases then
      cross_cases[#cross_cases + 1] = { c, a, b }
      local args, n = { crossover, ind_value, hist_mask, offset }, 4
      for _, k in ipairs(cross_cases) do
        args[n + 1], args[n + 2], args[n + 3] = k[1], k[2], k[3]
        n = n + 3
      end
      fns.crossover = fresh(cross_source(#cross_cases), "crossover")(unpack(args, 1, n))
    end
    return c
  end
  crossover = function(a, b)
    local by_a = cross_cache[a]
    local c = by_a and by_a[b]
    if not c then c = cross_of(a, b) end
    if type(c) == "function" then return c(offset) end
    if offset == 0 then
      local v = ind_value(c, 0)
      if v ~= v then return nil end
      return v
    end
    local v = ind_value(c, offset)
    if v ~= v then return nil end
    -- k bars back the look-back is k bars shorter (ind_view.h: hist_mask + 1 bars are kept).
    if v ~= 0 and ind_value(c + 1, offset) + offset > hist_mask then return 0 end
    return v
  end
  fns.crossover = crossover
  -- The views already handed out by at(k), by k: a strategy that reads
  -- ind.at(1) on every bar gets it with one lookup, without the checks and
  -- the two-level view lookup (its trace runs them on every such bar).
  local at_views = {}
  fns.at = function(k)
    local v = at_views[k]
    if v then return v end
    if type(k) ~= "number" or k < 0 or k ~= floor(k) then
      fail(sfmt("ind.at: offset must be a whole number of bars >= 0, was %s", describe(k)), 2)
    end
    if offset + k > hist_mask then
      fail(sfmt("ind.at: offset %d is beyond the %d bars of indicator history kept", offset + k, hist_mask), 2)
    end
    v = make_view(offset + k, tf)
    at_views[k] = v
    return v
  end
  fns.tf = function(t)
    if type(t) ~= "string" then fail(sfmt("ind.tf: expected a timeframe like \"1h\" or \"1w\", was %s", describe(t)), 2) end
    return make_view(offset, t)
  end

  -- Known names resolve through a plain table (a compiled load); only an
  -- unknown name reaches the function that raises the error.
  setmetatable(fns, {
    __index = function(_, k)
      fail(sfmt("ind has no indicator %s (see `trading-engine indicators --list`)", describe(k)), 3)
    end,
    __metatable = false,
  })
  local view = setmetatable({}, {
    __index = fns,
    __newindex = function(_, k) fail(sfmt("ind is read-only (tried to set %s)", describe(k)), 2) end,
    __metatable = false,
  })
  by_tf[offset] = view
  return view
end

-- Building a view runs once per (offset, timeframe) and creates closures,
-- which LuaJIT cannot compile: keep its loops from starting traces that abort.
jit.off(build_view)

local ind = make_view(0, "")


P.ind = ind
