-- Trusted: the strategy's view of the world, refreshed from the engine's frame.
-- `bar` is one persistent table updated in place per bar (never a table per
-- bar); `ctx` is the strategy's own persistent table, reading through its
-- metatable the host's read-only views of the position and the account. Loaded by lua/prelude.lua with its private
-- namespace P; adds P.bar, P.refresh_bar, P.copy_bar, P.ctx, P.ctx_views, P.state_names.
local P = ...
local type, pairs, ipairs, next, error, tostring, tonumber = type, pairs, ipairs, next, error, tostring, tonumber
local select, rawget, rawset, setmetatable, getmetatable = select, rawget, rawset, setmetatable, getmetatable
local unpack = unpack
local floor, huge, min = math.floor, math.huge, math.min
local sfmt, ssub = string.format, string.sub
local tsort, tconcat = table.sort, table.concat
local band = bit.band
local fail, describe, nan_to_nil = P.fail, P.describe, P.nan_to_nil
local F, cfg = P.F, P.cfg

--------------------------------------------------------------------------------
-- bar: one persistent table refreshed in place (no table per bar).
local bar = { symbol = cfg.symbol, time = 0, open = 0, high = 0, low = 0, close = 0, volume = 0 }
setmetatable(bar, { __metatable = false })
local seen_index = -1
-- Quote fields are nil when the data has none. Assigning nil to an absent key
-- still makes LuaJIT insert (and later rehash) it, so nil is only written when
-- a value was there before.
local has_bid, has_ask, has_bid_size, has_ask_size = false, false, false, false
local any_quote = false  -- any of the four

-- Copies the frame's bar into `bar`. Copying the same bar again changes
-- nothing, so the per-bar loop calls it on every callback without testing
-- whether the bar is new (a test is a guard in its trace: lua/prelude.lua).
-- The caller passes `bar` (always this table; the parameter shadows the
-- upvalue): in a trace, its own upvalue's load is then the very reference
-- the strategy's callback gets as `bar`, so the stores below are forwarded
-- to the strategy's reads of those fields (no key, type or load per read);
-- two upvalues holding the same table are two loads LuaJIT cannot tell apart.
-- The frame's address is read from memory (`frame_cell`) on each call rather
-- than taken from `F`: LuaJIT makes a constant of a small immutable cdata
-- upvalue, so every field of `F.bar` was a constant address, which its x86
-- backend puts into a register first (a `mov` per field, one more per read
-- than a base register plus offset).
local frame_cell = P.ffi.new("te_frame*[1]", F)
local function copy_bar(bar)
  local f = frame_cell[0]
  seen_index = f.bar_index
  local b = f.bar
  -- rawset: bar's metatable (there only for `__metatable = false`) makes a
  -- plain store guard that the field's old value is not nil (no __newindex
  -- to call), two instructions a field in a trace's first copy of its loop,
  -- which every side trace that links back to the loop's start runs again.
  -- rawset never looks at the metatable; bar has no __newindex, so the
  -- stores are the same.
  rawset(bar, "time", b.time_ms)
  rawset(bar, "open", b.open)
  rawset(bar, "high", b.high)
  rawset(bar, "low", b.low)
  rawset(bar, "close", b.close)
  rawset(bar, "volume", b.volume)
  local q1, q2, q3, q4 = b.bid, b.ask, b.bid_size, b.ask_size
  -- No quotes now and none before (data without quote columns): nothing to
  -- write. One flag for the four has_ tests: on that path a trace's first
  -- copy of its loop loads and guards one upvalue instead of four.
  if q1 == q1 or q2 == q2 or q3 == q3 or q4 == q4 or any_quote then
    if q1 == q1 then bar.bid = q1; has_bid = true elseif has_bid then bar.bid = nil; has_bid = false end
    if q2 == q2 then bar.ask = q2; has_ask = true elseif has_ask then bar.ask = nil; has_ask = false end
    if q3 == q3 then bar.bid_size = q3; has_bid_size = true elseif has_bid_size then bar.bid_size = nil; has_bid_size = false end
    if q4 == q4 then bar.ask_size = q4; has_ask_size = true elseif has_ask_size then bar.ask_size = nil; has_ask_size = false end
    any_quote = has_bid or has_ask or has_bid_size or has_ask_size
  end
end

-- Returns true when the frame holds a bar not seen before (and copies it).
local function refresh_bar()
  if F.bar_index == seen_index then return false end
  copy_bar(bar)
  return true
end

--------------------------------------------------------------------------------
-- Read-only views of the position and the account, read through to the frame
-- on every access so they are always current and cost nothing when unused.

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
      fail(sfmt("ctx.%s has no field %s (fields: %s)", name, describe(k), P.sorted_keys_text(getters)), 2)
    end,
    __newindex = function(_, k) fail(sfmt("ctx.%s is read-only (tried to set %s)", name, describe(k)), 2) end,
    __metatable = false,
  })
end

local position = read_only_view("position", position_getters)
local account = read_only_view("account", account_getters)

-- ctx: the strategy's persistent plain-data context. The host's values
-- (position/account views, symbol, state, bars_in_state) are not its keys:
-- they live in `ctx_views`, ctx's __index, so the ctx export and a reload's
-- copy walk the strategy's own keys only (pairs(ctx) lists just those), and
-- a table __index keeps reads compiled in traces. __newindex runs only for a
-- key ctx lacks: it refuses the host's names and stores anything else.
local ctx_views = { position = position, account = account, symbol = cfg.symbol }
local VIEW_KEYS = { position = true, account = true, symbol = true, state = true, bars_in_state = true }
local ctx = setmetatable({}, {
  __index = ctx_views,
  __newindex = function(t, k, v)
    if VIEW_KEYS[k] then fail(sfmt("ctx.%s is read-only (set by the engine)", k), 2) end
    rawset(t, k, v)
  end,
  __metatable = false,
})
-- Keys replace_ctx never copies into ctx (bar_index: a state record's own field).
local HOST_KEYS = { position = true, account = true, state = true, symbol = true, bars_in_state = true, bar_index = true }


P.bar = bar
P.refresh_bar = refresh_bar
P.copy_bar = copy_bar
P.frame_cell = frame_cell
P.ctx = ctx
P.position = position
P.account = account
P.ctx_views = ctx_views
P.state_names = state_names
P.HOST_KEYS = HOST_KEYS
