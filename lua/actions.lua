-- Trusted: what strategies return. Action constructors (enter_long, exit_position,
-- update_stop, ...) validate their arguments at the strategy's line and build
-- tables marked by a private metatable, so strategies cannot forge them; encode()
-- writes a returned action into the frame's action block for the runner. Also
-- the small helpers strategies get (sorted_pairs, log). Loaded by
-- lua/prelude.lua; sets P.api, P.ACTION_TAG, P.ABANDON, P.encode.
local P = ...
local type, pairs, ipairs, next, error, tostring, tonumber = type, pairs, ipairs, next, error, tostring, tonumber
local select, rawget, rawset, setmetatable, getmetatable = select, rawget, rawset, setmetatable, getmetatable
local unpack = unpack
local floor, huge, min = math.floor, math.huge, math.min
local sfmt, ssub = string.format, string.sub
local tsort, tconcat = table.sort, table.concat
local band = bit.band
local fail, describe, nan_to_nil = P.fail, P.describe, P.nan_to_nil
local ffi, A, NaN, ctx = P.ffi, P.A, P.NaN, P.ctx

--------------------------------------------------------------------------------
-- Actions: tables built only by these constructors (a private metatable marks
-- them), validated again when returned.
local ACTION_TAG = {}
local ABANDON = "abandon"

-- An action is an empty proxy over its validated fields: assigning to a
-- returned action (a.qty = -5, a.tif = "zzz", even through rawset) cannot
-- forge what the engine receives. Found by the audit: mutated actions reached
-- the host unvalidated. The proxy's metatable (one per field table, never
-- reachable by strategies: getmetatable gives ACTION_TAG, they have no debug
-- library) holds the field table under the private key OWN; encode() reads it
-- with debug.getmetatable and rawget, which call no metamethod, so a hand-made
-- table (a strategy's own metatable, __index functions and all) runs no
-- strategy code there and is refused. A weak map proxy -> fields did this
-- before: its dead keys were reclaimed only by rehashing it (~460 rehashes
-- per 1M bars of ema_cross, whose refused entries build an action every time).
local raw_getmetatable = P.cfg.raw_getmetatable
local nkeys = P.cfg.nkeys  -- table.nkeys, kept from strategies (see entry)
local OWN = {}
local function readonly(_, k)
  fail(sfmt("actions are read-only (tried to set %s); build a new one with enter_long{...}, exit_position{...}, ...",
    describe(k)), 2)
end
local function action_mt(a)
  return { __metatable = ACTION_TAG, __index = a, __newindex = readonly, [OWN] = a }
end
-- (Not `return setmetatable(...)`: a tail call of a builtin that returns
-- below a side trace's start frame is not compiled, "NYI: return to lower
-- frame", and the filter's path went on in the interpreter.)
local function freeze(mt)
  local proxy = setmetatable({}, mt)
  return proxy
end

local function positive(v, what, who, level)
  if type(v) ~= "number" or v ~= v or v <= 0 or v == huge then
    fail(sfmt("%s: %s must be a positive number, was %s", who, what, describe(v)), level + 1)
  end
  return v
end

local ENTRY_KEYS = { qty = true, fraction = true, risk = true, limit = true, stop_entry = true, stop = true,
                     target = true, trail = true, trail_pct = true, reason = true, tif = true, bars = true,
                     breakeven = true, max_bars = true }
local ENTRY_KEY_LIST = "qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, breakeven, max_bars, tif, bars, reason"
local TIF = { gtc = 0, ioc = 1, fok = 2, day = 3 }

local function fraction_of_one(v, what, who, level)
  positive(v, what, who, level + 1)
  if v >= 1 then fail(sfmt("%s: %s must be below 1, was %s", who, what, describe(v)), level + 1) end
  return v
end

local function whole(v, what, who, level)
  positive(v, what, who, level + 1)
  if v ~= floor(v) then fail(sfmt("%s: %s must be a whole number, was %s", who, what, describe(v)), level + 1) end
  return v
end

local function reason_of(spec, who, level)
  local r = spec.reason
  if r ~= nil and type(r) ~= "string" then fail(sfmt("%s: reason must be a string, was %s", who, describe(r)), level + 1) end
  return r
end

local function time_in_force(spec, who, level)
  local bars, tif
  if spec.bars ~= nil then bars = whole(spec.bars, "bars", who, level + 1) end
  if spec.tif ~= nil then
    if TIF[spec.tif] == nil then fail(sfmt("%s: tif must be \"gtc\", \"ioc\", \"fok\" or \"day\", was %s", who, describe(spec.tif)), level + 1) end
    if spec.bars ~= nil then fail(who .. ": give either tif or bars (good for N bars), not both", level + 1) end
    tif = spec.tif
  end
  return bars, tif
end

local function check_keys(spec, allowed, list, who, level)
  for k in pairs(spec) do
    if not allowed[k] then fail(sfmt("%s: unknown field %s (%s)", who, describe(k), list), level + 1) end
  end
end

-- The last entry and exit actions built, by kind (3 long, 4 short, 5 exit):
-- their validated values (an array in made_entry's order, nil for a field not
-- given, rewritten in place), field table and metatable. A strategy builds the
-- same action bar after bar (a fixed stake, a fixed reason), so an action whose
-- values equal the last one's shares its field table and metatable (never
-- handed out) and costs one new table, its proxy, instead of three. Each
-- action keeps its own proxy: identities and everything a strategy can see
-- stay as they were. The comparison reads an array, not the field table (whose
-- absent fields would each be a hash-chain walk). LAST_ENC: false, or, once a
-- second action shares the field table, what encode() writes into the frame's
-- action block for it (encoding_of), copied there by one ffi.copy.
local LAST_VALUES = { false, false, false, false, false, false, false }
local LAST_FIELDS = { false, false, false, false, false, false, false }
local LAST_MT = { false, false, false, false, false, false, false }
local LAST_ENC = { false, false, false, false, false, false, false }
local encoding_of
-- An array part for the values (a table's integer keys past its array part
-- would go to its hash part).
local function value_slots()
  return { false, false, false, false, false, false, false, false, false, false, false, false, false, false }
end
-- The one before the last of each kind, the same four things: a strategy whose
-- exits alternate between two reasons (ema_cross: "EMA cross down", "EMA cross
-- up") missed the last one on every exit and built the field table, its
-- metatable (whose private key was a new key and a rehash: ~3 per trade) and
-- the encoding field by field each time. A hit here swaps the two, so the
-- last one is always the one just handed out (encode's copy needs that).
local PREV_VALUES = { false, false, false, false, false, false, false }
local PREV_FIELDS = { false, false, false, false, false, false, false }
local PREV_MT = { false, false, false, false, false, false, false }
local PREV_ENC = { false, false, false, false, false, false, false }
local function take_prev(kind)
  LAST_VALUES[kind], PREV_VALUES[kind] = PREV_VALUES[kind], LAST_VALUES[kind]
  LAST_FIELDS[kind], PREV_FIELDS[kind] = PREV_FIELDS[kind], LAST_FIELDS[kind]
  LAST_MT[kind], PREV_MT[kind] = PREV_MT[kind], LAST_MT[kind]
  LAST_ENC[kind], PREV_ENC[kind] = PREV_ENC[kind], LAST_ENC[kind]
  if not LAST_ENC[kind] then LAST_ENC[kind] = encoding_of(LAST_FIELDS[kind]) end
  return LAST_MT[kind]
end
-- The last becomes the one before; its values array (or a new one) is
-- rewritten for the new action by the caller.
local function push_last(kind)
  local l = PREV_VALUES[kind] or value_slots()
  PREV_VALUES[kind], PREV_FIELDS[kind], PREV_MT[kind], PREV_ENC[kind] =
    LAST_VALUES[kind], LAST_FIELDS[kind], LAST_MT[kind], LAST_ENC[kind]
  LAST_VALUES[kind] = l
  return l
end

local function made_entry(kind, qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, breakeven,
                          max_bars, bars, tif, reason)
  local l = LAST_VALUES[kind]
  if l and l[1] == qty and l[2] == fraction and l[3] == reason and l[4] == risk and l[5] == limit
    and l[6] == stop_entry and l[7] == stop and l[8] == target and l[9] == trail and l[10] == trail_pct
    and l[11] == breakeven and l[12] == max_bars and l[13] == bars and l[14] == tif then
    if not LAST_ENC[kind] then LAST_ENC[kind] = encoding_of(LAST_FIELDS[kind]) end
    return freeze(LAST_MT[kind])
  end
  l = PREV_VALUES[kind]
  if l and l[1] == qty and l[2] == fraction and l[3] == reason and l[4] == risk and l[5] == limit
    and l[6] == stop_entry and l[7] == stop and l[8] == target and l[9] == trail and l[10] == trail_pct
    and l[11] == breakeven and l[12] == max_bars and l[13] == bars and l[14] == tif then
    return freeze(take_prev(kind))
  end
  -- The usual fields (size, reason) in the constructor, so its template has
  -- room for them: one table and one hash part, no resize.
  local a = { kind = kind, qty = qty, fraction = fraction, reason = reason }
  if risk ~= nil then a.risk = risk end
  if limit ~= nil then a.limit = limit end
  if stop_entry ~= nil then a.stop_entry = stop_entry end
  if stop ~= nil then a.stop = stop end
  if target ~= nil then a.target = target end
  if trail ~= nil then a.trail = trail end
  if trail_pct ~= nil then a.trail_pct = trail_pct end
  if breakeven ~= nil then a.breakeven = breakeven end
  if max_bars ~= nil then a.max_bars = max_bars end
  if bars ~= nil then a.bars = bars end
  if tif ~= nil then a.tif = tif end
  local mt = action_mt(a)
  l = push_last(kind)
  l[1], l[2], l[3], l[4], l[5], l[6], l[7] = qty, fraction, reason, risk, limit, stop_entry, stop
  l[8], l[9], l[10], l[11], l[12], l[13], l[14] = target, trail, trail_pct, breakeven, max_bars, bars, tif
  LAST_FIELDS[kind], LAST_MT[kind], LAST_ENC[kind] = a, mt, false
  return freeze(mt)
end

-- entry_of_table's checks on values (a spec without a metatable, see
-- entry's fast path): the same order, the same messages.
local function entry_of_values(kind, who, qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct,
                               breakeven, max_bars, bars, tif, reason)
  local sizing = 0
  if qty ~= nil then qty = positive(qty, "qty", who, 3); sizing = sizing + 1 end
  if fraction ~= nil then fraction = positive(fraction, "fraction", who, 3); sizing = sizing + 1 end
  if risk ~= nil then
    risk = fraction_of_one(risk, "risk", who, 3); sizing = sizing + 1
    if stop == nil and trail == nil and trail_pct == nil then
      fail(who .. ": risk-based sizing needs a stop (or a trail / trail_pct distance)", 3)
    end
  end
  if sizing ~= 1 then fail(who .. ": give exactly one of qty, fraction or risk", 3) end
  if limit ~= nil then limit = positive(limit, "limit", who, 3) end
  if stop_entry ~= nil then stop_entry = positive(stop_entry, "stop_entry", who, 3) end
  if stop ~= nil then stop = positive(stop, "stop", who, 3) end
  if target ~= nil then target = positive(target, "target", who, 3) end
  if trail ~= nil then trail = positive(trail, "trail", who, 3) end
  if trail_pct ~= nil then trail_pct = fraction_of_one(trail_pct, "trail_pct", who, 3) end
  if trail and trail_pct then fail(who .. ": give either trail or trail_pct, not both", 3) end
  if breakeven ~= nil then breakeven = positive(breakeven, "breakeven", who, 3) end
  if max_bars ~= nil then max_bars = whole(max_bars, "max_bars", who, 3) end
  -- time_in_force's checks
  if bars ~= nil then bars = whole(bars, "bars", who, 3) end
  if tif ~= nil then
    if TIF[tif] == nil then fail(sfmt("%s: tif must be \"gtc\", \"ioc\", \"fok\" or \"day\", was %s", who, describe(tif)), 3) end
    if bars ~= nil then fail(who .. ": give either tif or bars (good for N bars), not both", 3) end
  end
  -- reason_of's
  if reason ~= nil and type(reason) ~= "string" then fail(sfmt("%s: reason must be a string, was %s", who, describe(reason)), 3) end
  return made_entry(kind, qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, breakeven, max_bars,
                    bars, tif, reason)
end

-- A spec with a metatable: its fields are read (through __index, whatever it
-- does) one by one, in this order, between the checks.
local function entry_of_table(kind, who, spec)
  local qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, breakeven, max_bars, bars, tif, reason
  check_keys(spec, ENTRY_KEYS, ENTRY_KEY_LIST, who, 3)
  local sizing = 0
  if spec.qty ~= nil then qty = positive(spec.qty, "qty", who, 3); sizing = sizing + 1 end
  if spec.fraction ~= nil then fraction = positive(spec.fraction, "fraction", who, 3); sizing = sizing + 1 end
  if spec.risk ~= nil then
    risk = fraction_of_one(spec.risk, "risk", who, 3); sizing = sizing + 1
    if spec.stop == nil and spec.trail == nil and spec.trail_pct == nil then
      fail(who .. ": risk-based sizing needs a stop (or a trail / trail_pct distance)", 3)
    end
  end
  if sizing ~= 1 then fail(who .. ": give exactly one of qty, fraction or risk", 3) end
  if spec.limit ~= nil then limit = positive(spec.limit, "limit", who, 3) end
  if spec.stop_entry ~= nil then stop_entry = positive(spec.stop_entry, "stop_entry", who, 3) end
  if spec.stop ~= nil then stop = positive(spec.stop, "stop", who, 3) end
  if spec.target ~= nil then target = positive(spec.target, "target", who, 3) end
  if spec.trail ~= nil then trail = positive(spec.trail, "trail", who, 3) end
  if spec.trail_pct ~= nil then trail_pct = fraction_of_one(spec.trail_pct, "trail_pct", who, 3) end
  if trail and trail_pct then fail(who .. ": give either trail or trail_pct, not both", 3) end
  if spec.breakeven ~= nil then breakeven = positive(spec.breakeven, "breakeven", who, 3) end
  if spec.max_bars ~= nil then max_bars = whole(spec.max_bars, "max_bars", who, 3) end
  bars, tif = time_in_force(spec, who, 3)
  reason = reason_of(spec, who, 3)
  return made_entry(kind, qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct, breakeven, max_bars,
                    bars, tif, reason)
end

local function entry(kind, who, spec)
  if type(spec) == "number" then
    return made_entry(kind, positive(spec, "qty", who, 3))
  end
  if type(spec) ~= "table" or getmetatable(spec) == ACTION_TAG then
    fail(sfmt("%s: expected a quantity or a table like {qty = 100}, was %s", who, describe(spec)), 3)
  end
  if raw_getmetatable(spec) ~= nil then return entry_of_table(kind, who, spec) end
  -- Up to four keys, all of them fields: read by name, and the spec has no
  -- other key when as many fields are there as it has keys (nkeys: one call
  -- in a trace). The reads cost nothing in the trace that built the spec
  -- (LuaJIT folds a key its constructor's template lacks to nil), where a
  -- walk with next() took three calls, each a lookup of the key before
  -- (ema_cross's {fraction, reason}: ~180 instructions per entry), and
  -- check_keys' pairs loop was a trace of its own, entered and left on every
  -- entry.
  local n = nkeys(spec)
  if n <= 4 then
    local qty, fraction, risk, limit, stop_entry = spec.qty, spec.fraction, spec.risk, spec.limit, spec.stop_entry
    local stop, target, trail, trail_pct, breakeven = spec.stop, spec.target, spec.trail, spec.trail_pct, spec.breakeven
    local max_bars, bars, tif, reason = spec.max_bars, spec.bars, spec.tif, spec.reason
    local found = 0
    if qty ~= nil then found = found + 1 end
    if fraction ~= nil then found = found + 1 end
    if risk ~= nil then found = found + 1 end
    if limit ~= nil then found = found + 1 end
    if stop_entry ~= nil then found = found + 1 end
    if stop ~= nil then found = found + 1 end
    if target ~= nil then found = found + 1 end
    if trail ~= nil then found = found + 1 end
    if trail_pct ~= nil then found = found + 1 end
    if breakeven ~= nil then found = found + 1 end
    if max_bars ~= nil then found = found + 1 end
    if bars ~= nil then found = found + 1 end
    if tif ~= nil then found = found + 1 end
    if reason ~= nil then found = found + 1 end
    if found == n then
      return entry_of_values(kind, who, qty, fraction, risk, limit, stop_entry, stop, target, trail, trail_pct,
                             breakeven, max_bars, bars, tif, reason)
    end
  end
  -- An unknown key or five keys or more: read as any table (check_keys
  -- names the unknown key, in pairs order; the same checks and messages).
  return entry_of_table(kind, who, spec)
end

local EXIT_KEYS = { reason = true, qty = true, fraction = true, limit = true, tif = true, bars = true }
local api = {}
function api.enter_long(spec) return entry(3, "enter_long", spec) end
function api.enter_short(spec) return entry(4, "enter_short", spec) end
function api.exit_position(spec)
  local qty, fraction, limit, bars, tif, reason
  if spec ~= nil then
    if type(spec) == "string" then
      reason = spec
    elseif type(spec) == "table" and getmetatable(spec) ~= ACTION_TAG then
      check_keys(spec, EXIT_KEYS, "reason, qty, fraction, limit, tif, bars", "exit_position", 2)
      if spec.qty ~= nil then qty = positive(spec.qty, "qty", "exit_position", 2) end
      if spec.fraction ~= nil then
        fraction = positive(spec.fraction, "fraction", "exit_position", 2)
        if fraction > 1 then fail(sfmt("exit_position: fraction is a share of the position in (0, 1], was %s", describe(spec.fraction)), 2) end
      end
      if qty and fraction then fail("exit_position: give either qty or fraction, not both", 2) end
      if spec.limit ~= nil then limit = positive(spec.limit, "limit", "exit_position", 2) end
      bars, tif = time_in_force(spec, "exit_position", 2)
      reason = reason_of(spec, "exit_position", 2)
    else
      fail(sfmt("exit_position: expected nothing, a reason string or {reason = ..., qty = ..., fraction = ..., limit = ...}, was %s", describe(spec)), 2)
    end
  end
  -- The last exit's fields when they are the same (see LAST_VALUES).
  local l = LAST_VALUES[5]
  if l and l[1] == reason and l[2] == qty and l[3] == fraction and l[4] == limit and l[5] == bars and l[6] == tif then
    if not LAST_ENC[5] then LAST_ENC[5] = encoding_of(LAST_FIELDS[5]) end
    return freeze(LAST_MT[5])
  end
  l = PREV_VALUES[5]
  if l and l[1] == reason and l[2] == qty and l[3] == fraction and l[4] == limit and l[5] == bars and l[6] == tif then
    return freeze(take_prev(5))
  end
  local a = { kind = 5, reason = reason }  -- room for the reason (see made_entry)
  if qty ~= nil then a.qty = qty end
  if fraction ~= nil then a.fraction = fraction end
  if limit ~= nil then a.limit = limit end
  if bars ~= nil then a.bars = bars end
  if tif ~= nil then a.tif = tif end
  local mt = action_mt(a)
  l = push_last(5)
  l[1], l[2], l[3], l[4], l[5], l[6] = reason, qty, fraction, limit, bars, tif
  LAST_FIELDS[5], LAST_MT[5], LAST_ENC[5] = a, mt, false
  return freeze(mt)
end

-- stop: a price, or "breakeven" (the average entry price of the position).
local function stop_value(v, who, level)
  if v == "breakeven" then return nil, true end
  return positive(v, "stop", who, level + 1), false
end

function api.update_stop(price)
  local a = { kind = 6 }
  local be
  a.stop, be = stop_value(price, "update_stop", 2)
  if be then a.breakeven_now = true end
  return freeze(action_mt(a))
end
function api.update_target(price) return freeze(action_mt({ kind = 6, target = positive(price, "target price", "update_target", 2) })) end
local ADJUST_KEYS = { stop = true, target = true, trail = true, trail_pct = true, limit = true, stop_entry = true, reason = true }
function api.adjust(spec)
  if type(spec) ~= "table" or getmetatable(spec) == ACTION_TAG then fail(sfmt("adjust: expected a table like {stop = 9.5}, was %s", describe(spec)), 2) end
  check_keys(spec, ADJUST_KEYS, "stop, target, trail, trail_pct, limit, stop_entry, reason", "adjust", 2)
  local a = { kind = 6 }
  if spec.stop ~= nil then
    local be
    a.stop, be = stop_value(spec.stop, "adjust", 2)
    if be then a.breakeven_now = true end
  end
  if spec.target ~= nil then a.target = positive(spec.target, "target", "adjust", 2) end
  if spec.trail ~= nil then a.trail = positive(spec.trail, "trail", "adjust", 2) end
  if spec.trail_pct ~= nil then a.trail_pct = fraction_of_one(spec.trail_pct, "trail_pct", "adjust", 2) end
  if a.trail and a.trail_pct then fail("adjust: give either trail or trail_pct, not both", 2) end
  if spec.limit ~= nil then a.limit = positive(spec.limit, "limit", "adjust", 2) end
  if spec.stop_entry ~= nil then a.stop_entry = positive(spec.stop_entry, "stop_entry", "adjust", 2) end
  if next(a, nil) == "kind" and next(a, "kind") == nil then
    fail("adjust: give at least one of stop, target, trail, trail_pct, limit or stop_entry", 2)
  end
  a.reason = reason_of(spec, "adjust", 2)
  return freeze(action_mt(a))
end
function api.cancel_entry(reason)
  if reason ~= nil and type(reason) ~= "string" then fail(sfmt("cancel_entry: reason must be a string, was %s", describe(reason)), 2) end
  return freeze(action_mt({ kind = 7, reason = reason }))
end

-- Sizing helpers (plain numbers; the runner rounds to the lot size).
-- qty_for_risk(0.01, entry, stop): the quantity that loses 1 % of equity if the
-- stop is hit. qty_for_fraction(0.5, price): half of equity's worth at price.
local F = P.F
function api.qty_for_risk(risk, entry_price, stop_price)
  positive(risk, "risk", "qty_for_risk", 2)
  positive(entry_price, "entry price", "qty_for_risk", 2)
  positive(stop_price, "stop price", "qty_for_risk", 2)
  local d = entry_price - stop_price
  if d < 0 then d = -d end
  if d == 0 then fail("qty_for_risk: the stop must differ from the entry price", 2) end
  return risk * F.acct.equity / d
end
function api.qty_for_fraction(fraction, price)
  positive(fraction, "fraction", "qty_for_fraction", 2)
  positive(price, "price", "qty_for_fraction", 2)
  return fraction * F.acct.equity / price
end
api.abandon = ABANDON

-- Deterministic iteration: pairs() order over string keys is not something to
-- build decisions on; sorted_pairs is.
-- Only numbers, strings and booleans have an order that does not depend on
-- memory addresses (which change from run to run): any other key is an error
-- rather than an order that breaks reproducibility (found by the audit).
function api.sorted_pairs(t)
  if type(t) ~= "table" then fail(sfmt("sorted_pairs: expected a table, was %s", describe(t)), 2) end
  local keys = {}
  for k in pairs(t) do
    local tk = type(k)
    if tk ~= "number" and tk ~= "string" and tk ~= "boolean" then
      fail(sfmt("sorted_pairs: a %s key has no reproducible order (it would sort by memory address); key the table by numbers, strings or booleans", tk), 2)
    end
    keys[#keys + 1] = k
  end
  tsort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx < ty end
    if tx == "boolean" then return not x and y end
    return x < y
  end)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end

local API, HOST = P.API, P.HOST
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


-- The frame's action block: the fields encode() writes, from order_type to the
-- end of the reason (kind is the host's, see te_ffi_decls.h).
local ENC_FROM = ffi.offsetof("te_action", "order_type")
local ENC_FIXED = ffi.offsetof("te_action", "reason") - ENC_FROM
local A_BYTES = ffi.cast("char*", A) + ENC_FROM

-- ffi.copy as an upvalue: a field of the ffi table is a lookup and a guard
-- in the trace on every call (each setup's reason, each action written).
local ffi_copy = ffi.copy
local function set_reason(D, s)
  if s == nil then D.reason_len = 0; return end
  local n = min(#s, 119)
  ffi_copy(D.reason, s, n)
  D.reason_len = n
end

local function clear_fields(D)
  D.qty, D.fraction, D.risk, D.limit, D.stop_trigger = NaN, NaN, NaN, NaN, NaN
  D.stop, D.target, D.trail, D.trail_pct, D.tif_bars = NaN, NaN, NaN, NaN, NaN
  D.breakeven, D.max_bars = NaN, NaN
  D.order_type, D.tif, D.flags = 0, 0, 0
end

-- An action's validated fields r (of kind k) into the action block D, which
-- clear_fields has cleared.
local function write_fields(D, r, k)
  if r.qty then D.qty = r.qty end
  if r.fraction then D.fraction = r.fraction end
  if r.risk then D.risk = r.risk end
  if r.stop then D.stop = r.stop end
  if r.target then D.target = r.target end
  if r.trail then D.trail = r.trail end
  if r.trail_pct then D.trail_pct = r.trail_pct end
  if r.breakeven then D.breakeven = r.breakeven end
  if r.max_bars then D.max_bars = r.max_bars end
  if r.breakeven_now then D.flags = 1 end
  if k == 6 then
    if r.limit then D.limit = r.limit end
    if r.stop_entry then D.stop_trigger = r.stop_entry end
  elseif r.limit and r.stop_entry then
    D.order_type = 3; D.limit = r.limit; D.stop_trigger = r.stop_entry
  elseif r.limit then
    D.order_type = 1; D.limit = r.limit
  elseif r.stop_entry then
    D.order_type = 2; D.stop_trigger = r.stop_entry
  end
  if r.bars then D.tif = 4; D.tif_bars = r.bars elseif r.tif then D.tif = TIF[r.tif] end
  set_reason(D, r.reason)
end

-- What write_fields writes for the fields r, as bytes from order_type to the
-- end of the reason: a shared action's (made_entry, exit_position) is copied
-- into the frame by one ffi.copy instead of a lookup of every field, most of
-- them absent (a walk of the field table's hash chain each in compiled code).
local SCRATCH = ffi.new("te_action")
encoding_of = function(r)
  clear_fields(SCRATCH)
  write_fields(SCRATCH, r, r.kind)
  return ffi.string(ffi.cast("char*", SCRATCH) + ENC_FROM, ENC_FIXED + SCRATCH.reason_len)
end

-- The block is cleared first on every path but the kept encoding's copy,
-- which writes every field clear_fields does (order_type to the reason).
local function encode(kind, r)
  local mt = type(r) == "table" and raw_getmetatable(r)
  -- The last entry (or, from manage_position, exit) handed out again, the
  -- usual case (a fixed stake and reason): its metatable is the kept one of
  -- its kind, which only this file makes, so its fields are that kind's
  -- (LAST_FIELDS[k].kind == k) and the kind is valid for the callback (a
  -- filter takes entries only). Compared by identity: no lookup of the
  -- private key and of the kind in hash parts (a hash-chain walk each in
  -- compiled code, ~40 instructions per action).
  if mt and kind ~= 1 then
    local k = mt == LAST_MT[4] and 4 or mt == LAST_MT[3] and 3 or kind == 3 and mt == LAST_MT[5] and 5
    if k then
      local enc = LAST_ENC[k]
      if enc then
        ffi_copy(A_BYTES, enc, #enc)
        return k
      end
    end
  end
  local fields = mt and rawget(mt, OWN)
  local is_action = fields ~= nil and fields ~= false
  if kind == 1 then
    clear_fields(A)
    if is_action then
      error(sfmt("%s: detect_opportunity returned an order action; return a setup table (or true) here and enter from filter_commitment", P.where(1)), 0)
    end
    if r == false then return 0 end
    if r == true then r = {} end
    if type(r) ~= "table" then
      error(sfmt("%s: detect_opportunity must return a setup table, true or nil, was %s", P.where(1), describe(r)), 0)
    end
    -- What ctx's __newindex does for a key that is not a host view's.
    rawset(ctx, "setup", r)
    local reason = rawget(r, "reason")
    set_reason(A, type(reason) == "string" and reason or nil)
    return 1
  end
  if r == ABANDON then clear_fields(A); set_reason(A, nil); return 2 end
  if not is_action then
    clear_fields(A)
    local expected = kind == 2 and "an entry action (enter_long/enter_short), \"abandon\" or nil"
      or "exit_position(), update_stop(), update_target(), adjust{}, cancel_entry(), an added entry or nil"
    error(sfmt("%s: %s must return %s, was %s", P.where(kind), P.CALLBACK_NAMES[kind], expected, describe(r)), 0)
  end
  local k = fields.kind
  if kind == 2 and k ~= 3 and k ~= 4 then
    clear_fields(A)
    error(sfmt("%s: filter_commitment must return an entry action (enter_long/enter_short), \"abandon\" or nil", P.where(2)), 0)
  end
  -- manage_position may return an entry: it adds to the position (pyramiding,
  -- limited by the runner's configuration; refused entries reach on_order_rejected).
  -- (Only the last action of a kind can have an encoding: mt tells it is that one.)
  local enc = mt == LAST_MT[k] and LAST_ENC[k]
  if enc then
    ffi_copy(A_BYTES, enc, #enc)
  else
    clear_fields(A)
    write_fields(A, fields, k)
  end
  return k
end

P.api = api
P.ACTION_TAG = ACTION_TAG
P.ABANDON = ABANDON
P.encode = encode
