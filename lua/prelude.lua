-- Trusted prelude: builds one strategy's sandboxed world. Runs once per VM,
-- before any strategy code, with the FFI library passed in as an argument (it is
-- never reachable from strategy code). Everything the strategy gets is a plain
-- value, table or closure; cdata stays in the upvalues of the trusted files.
--
-- Arguments from the host (engine/script/strategy_host.cpp):
--   ffi        the FFI module (deleted from package.loaded before strategies run)
--   decls      text of engine/script/te_ffi_decls.h and the te_ind_view declaration
--   frame_ud   lightuserdata -> te_frame (bar, position, account, action)
--   api_ud     lightuserdata -> te_api (engine services)
--   host_ud    lightuserdata -> opaque host pointer passed back to te_api
--   ind_ud     lightuserdata -> te_ind_view (native indicator values)
--   registry   array of native indicator descriptions {name, nparams, defaults, outputs, source}
--   cfg        {symbol, seed, chunkname, overrides = {name = text}, getinfo, raw_getmetatable, load_trusted,
--              funcbc (jit.util.funcbc: whether M.run_batch's loops compiled),
--              traceinfo (jit.util.traceinfo: the length of Watch's root, choose_watch_root), ...}
--
-- The world is assembled from trusted files sharing one private namespace P:
--   lua/views.lua       bar, ctx, position and account views
--   lua/indicators.lua  ind
--   lua/actions.lua     action constructors, encode(), strategy helpers
--   lua/sandbox.lua     the environment, strict globals, params, install()
--   lua/lua_indicators.lua  indicators written in Lua (indicators/*.lua), used like native ones
local ffi, decls, frame_ud, api_ud, host_ud, ind_ud, registry, cfg = ...

local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local sfmt, ssub = string.format, string.sub
local tsort, tconcat = table.sort, table.concat
local getinfo = cfg.getinfo -- debug.getinfo, kept by the host for error positions only

ffi.cdef(decls)
local F = ffi.cast("te_frame*", frame_ud)
local API = ffi.cast("te_api*", api_ud)
local lenbuf = ffi.new("size_t[1]")

local P = {
  ffi = ffi, cfg = cfg, getinfo = getinfo, registry = registry,
  F = F, A = F.action, API = API,
  -- A pointer cdata, not the lightuserdata: passing a lightuserdata to a C
  -- function is not compiled ("NYI: unsupported C type conversion"), and
  -- strategies call API.log on their per-bar path.
  HOST = ffi.cast("void*", host_ud),
  IV = ffi.cast("const te_ind_view*", ind_ud),
  NaN = 0 / 0,
}

-- Misuse of the API is reported at the strategy line that caused it: the
-- innermost stack frame that belongs to the strategy file (tail calls and
-- helper depth make fixed error levels unreliable).
local strategy_source = "@" .. cfg.chunkname
-- The callback running now (1..3), nil outside callbacks: for P.fail's
-- message. A local, not a field of P: it is written twice per callback, and an
-- upvalue store is cheaper on the traced per-bar path than a store into P.
local current_callback = nil
function P.fail(msg)
  for level = 2, 40 do
    local info = getinfo(level, "Sl")
    if not info then break end
    if info.source == strategy_source and info.currentline and info.currentline > 0 then
      error(sfmt("%s:%d: %s", cfg.chunkname, info.currentline, msg), 0)
    end
  end
  -- `return enter_long{...}` is a tail call: the callback's frame is gone. Name
  -- the callback (and the line where it starts) rather than nothing.
  local kind = current_callback
  if kind and P.where then
    error(sfmt("%s: %s (in a tail call from %s, which starts at this line)", P.where(kind), msg,
      P.CALLBACK_NAMES[kind]), 0)
  end
  error(msg, 0)
end

function P.describe(v)
  local t = type(v)
  if t == "string" then return sfmt("%q", #v > 40 and (ssub(v, 1, 40) .. "...") or v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "a " .. t
end

local describe_value = P.describe  -- sandbox.lua reuses the name P.describe for the summary

function P.nan_to_nil(v) if v == v then return v end return nil end

function P.sorted_keys_text(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  tsort(keys)
  return tconcat(keys, ", ")
end

function P.api_error()
  local p = API.last_error(P.HOST, lenbuf)
  return ffi.string(p, lenbuf[0])
end

for _, file in ipairs({ "lua/views.lua", "lua/indicators.lua", "lua/actions.lua", "lua/sandbox.lua",
                        "lua/lua_indicators.lua" }) do
  cfg.load_trusted(file)(P)
end

local bar, ctx, ind, callbacks, encode, refresh_bar = P.bar, P.ctx, P.ind, P.callbacks, P.encode, P.refresh_bar
local ctx_views = P.ctx_views
local A = P.A
local copy_bar = P.copy_bar
local update_lua_indicators = P.update_lua_indicators
local state_names, env = P.state_names, P.env
local frame_cell = P.frame_cell  -- the frame's address, read per pass (lua/views.lua, copy_bar)
-- The runner state whose name ctx_views.state holds: run_callback renames it
-- only when the state changed. A name stored on every callback was a table
-- lookup with its bound and type guards and a hash store with its key and
-- metatable guards in every compiled loop; the comparison is one guard. Every
-- store of ctx_views.state sets it (run_callback, run_entry, M.on_reload).
-- An int32 cell, not a Lua number: the frame's state is an int32, so the
-- trace compares two integer loads (the cell's address is a constant) where a
-- number upvalue was its load and type guard and the state's conversion to
-- a double before a floating-point compare.
local shown_state = ffi.new("int32_t[1]", -1)
local cb_watch, cb_trade = nil, nil  -- callbacks[1] and [3] once installed (run_callback)
local rawget, rawset = rawget, rawset

--------------------------------------------------------------------------------
-- The host's entry points.
local M = {}

M.lua_indicator_list = P.lua_indicator_list
M.indicator_columns = { add = P.add_indicator_column, read = P.read_indicator_columns }  -- indicators --compute
M.describe = P.summary

-- ctx.setup is dropped when the runner leaves CloseWatch/InTrade (the host
-- only raises a flag in the frame, so that step never has to call into Lua).
local function apply_clear_setup()
  if F.clear_setup ~= 0 then
    ctx.setup = nil
    F.clear_setup = 0
  end
end

-- One state callback. kind: 1 detect_opportunity, 2 filter_commitment,
-- 3 manage_position. Returns a TE action kind (0 = nothing) after writing the
-- details into the frame's action block.
local function run_callback(kind)
  local f = frame_cell[0]
  if f.clear_setup ~= 0 then apply_clear_setup() end
  -- The same path on every callback, the first of a bar or not: a test of
  -- "new bar?" here would be a guard in the loop's trace, and whichever case
  -- LuaJIT recorded (a root trace recorded on a bar's second callback was seen),
  -- the other left the trace by a side exit on every bar it happened. Copying
  -- the same bar again changes nothing, and the Lua indicators step a bar once.
  copy_bar(bar)
  update_lua_indicators(bar)
  local s = f.state
  if s ~= shown_state[0] then
    ctx_views.state = state_names[s]
    shown_state[0] = s
  end
  -- rawset: a plain store tests that ctx_views has no metatable (a guard in
  -- the first copy of the loop's trace, see copy_bar in lua/views.lua).
  rawset(ctx_views, "bars_in_state", f.bars_in_state)
  current_callback = kind
  -- Watch's and InTrade's callbacks from upvalues (cb_watch, cb_trade, set by
  -- M.install): with the kind a constant of the loop's call the test folds
  -- away, and the trace loads one upvalue instead of the callbacks table
  -- with its type, bound and array guards (in the first copy of a loop).
  local cb
  if kind == 1 then cb = cb_watch elseif kind == 3 then cb = cb_trade else cb = callbacks[kind] end
  local r = cb(bar, ctx, ind)
  current_callback = nil
  if r == nil then return 0 end
  return encode(kind, r)
end

-- Per-bar entry points for one callback called from the host (live trading,
-- and any bar a batch hands back to the host): M.entry[kind], one closure per
-- kind, made once the strategy is installed (its callbacks are fixed from
-- then on). The host keeps them on the VM's stack
-- (StrategyHost::pin_entry_points) and calls them with no arguments and no
-- results, the action kind going into the frame (A.kind, written only here;
-- the batch loop hands it to step): a host call needs no registry lookup and
-- no argument. run_entry does what run_callback does, written out again:
--  * run_callback's bytecode stays as it is: the batch loop's traces move with
--    any change of it (a version sharing one helper cost sma_cross +11
--    instructions per bar);
--  * the work stays in one closure, the callback passed in: a prototype made
--    into several closures (make_entry's) has its upvalues loaded and guarded
--    in a trace, a single closure's are constants (LuaJIT's PROTO_CLC_POLY);
--    with make_entry's closures doing the work a call cost 267 instructions
--    of compiled code instead of 213, and 233 calling run_callback(kind).
local function run_entry(kind, cb)
  if F.clear_setup ~= 0 then apply_clear_setup() end
  copy_bar(bar)
  update_lua_indicators(bar)
  local s = F.state
  if s ~= shown_state[0] then
    ctx_views.state = state_names[s]
    shown_state[0] = s
  end
  rawset(ctx_views, "bars_in_state", F.bars_in_state)
  current_callback = kind
  local r = cb(bar, ctx, ind)
  current_callback = nil
  if r == nil then A.kind = 0 return end
  A.kind = encode(kind, r)
end

local function make_entry(kind)
  local cb = callbacks[kind]
  return function() run_entry(kind, cb) end
end

-- Indicator files (cfg.indicator_files) load before the strategy, so its top
-- level can already use them.
function M.install(chunk)
  P.load_lua_indicators(cfg.indicator_files or {})
  P.install(chunk)
  cb_watch, cb_trade = callbacks[1], callbacks[3]
  M.entry = { make_entry(1), make_entry(2), make_entry(3) }
end

-- The per-bar loop of a run (docs/performance.md, "The per-bar loop"): the
-- runner's step function (through the FFI, no Lua inside) does the engine's
-- work of a bar and names the callback to run; the callback runs here, Lua to
-- Lua, and its action goes back with the next step. Bar after bar in one host
-- call, so the loop and the strategy compile into one trace. Returns the
-- step's code when it leaves the loop (end of data, or work the host must do
-- outside the FFI: order notices, reloads, recorders). A strategy error leaves
-- by error(), as from dispatch.
-- The ctx export inside the loop (step code 4, for the session journal): the
-- strategy's ctx written into the host's buffer in the
-- layout of engine/script/context_codec.hpp ("loop export"). It writes only
-- what the host's walker (lua_to_value) would accept and return unchanged:
-- anything else (a function, a cycle, mixed keys, too deep or too many
-- values) returns 0 and the host walks ctx itself, reporting the path. No
-- allocation, no metamethods (next, rawget and # are raw).
local XSKIP = { position = true, account = true, symbol = true, state = true, bars_in_state = true }
local XMAX_DEPTH, XMAX_NODES = 32, 200000  -- ContextLimits' defaults
local xb, xcap, xpos, xnodes, xfull = nil, 0, 0, 0, false
local next = next
-- Numbers go into the buffer byte by byte through these unions (native byte
-- order), not through pointer arithmetic and casts: the export often runs in
-- the interpreter (it recurses), where every `xb + p` and ffi.cast made a new
-- cdata for the GC (two per table, more per string and number).
local XU = ffi.new("union { uint32_t u; struct { uint8_t c0, c1, c2, c3; }; }")
local XD = ffi.new("union { double d; struct { uint8_t c0, c1, c2, c3, c4, c5, c6, c7; }; }")

-- A length or count (< 2^31) in native byte order. On a little-endian
-- machine as shifts of the number: the union's store and its four byte loads
-- were kept as such in the traces (LuaJIT forwards no store to a load of
-- another width), ≈ 10 instructions more per length or count.
local xu32
if ffi.abi("le") then
  local rshift = bit.rshift
  xu32 = function(p, n)
    xb[p], xb[p + 1], xb[p + 2], xb[p + 3] = n, rshift(n, 8), rshift(n, 16), rshift(n, 24)
  end
else
  xu32 = function(p, n)
    XU.u = n
    xb[p], xb[p + 1], xb[p + 2], xb[p + 3] = XU.c0, XU.c1, XU.c2, XU.c3
  end
end
-- ffi.copy as an upvalue: `ffi.copy` is a hash lookup in the ffi table and a
-- guard on the function found, in the trace, for every string.
local ffi_copy = ffi.copy

local function xstring(s)
  local n, p = #s, xpos
  if p + 4 + n > xcap then xfull = true return false end
  xu32(p, n)
  -- One copy at any length: a byte loop for short strings (keys) was a loop
  -- of its own inside the export's trace, entered and left for every string
  -- (in traces `xb + p` makes no cdata; only the warm-up's interpreted
  -- exports pay one per string).
  ffi_copy(xb + p + 4, s, n)
  xpos = p + 4 + n
  return true
end

local xvalue
-- xtable for a table whose first key is not a string: an array (exactly n
-- keys besides skipped ones, as the host's walker requires), or refused.
-- Nothing is written yet but the header's place at p.
local function xarray(t, depth, p)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in next, t do
    if depth ~= 0 or type(k) ~= "string" or not XSKIP[k] then count = count + 1 end
  end
  if count ~= n then return false end
  xb[p] = 7
  for i = 1, n do
    if not xvalue(rawget(t, i), depth + 1) then return false end
  end
  xu32(p + 1, count)
  return true
end

local function xtable(t, depth)
  if depth >= XMAX_DEPTH then return false end
  local p = xpos
  if p + 5 > xcap then xfull = true return false end
  xpos = p + 5
  -- A map (string keys only) or empty, unless the first key is not a string:
  -- then an array (xarray) or mixed keys (refused by both ways; a top-level
  -- array beside a view's name set by rawset goes to the host's walker,
  -- which gives the array the other way would have written). Decided in the
  -- walk itself: a `next(t)` before it to look at the first key was a call
  -- of lj_vm_next per table, and `#t` (for a table with a hash part a C
  -- call that probes the hash for key 1, ≈ 80 instructions) is asked only
  -- for an array. The value comes with its key (a `rawget` per key was a
  -- hash probe): a skipped key's value then also sets a type for the loop's
  -- trace to guard, but the views are ctx's __index, not its keys, and a
  -- view's name set by rawset is rare. The host views are left out at the
  -- top, as the host's walker does (StrategyHost::export_context).
  local count, first = 0, true
  for k, v in next, t do
    if type(k) ~= "string" then
      if first then return xarray(t, depth, p) end
      return false
    end
    first = false
    if depth ~= 0 or not XSKIP[k] then
      if not xstring(k) or not xvalue(v, depth + 1) then return false end
      count = count + 1
    end
  end
  xb[p] = count == 0 and 6 or 5
  xu32(p + 1, count)
  return true
end

xvalue = function(v, depth)
  xnodes = xnodes + 1
  if xnodes > XMAX_NODES then return false end
  local tv, p = type(v), xpos
  if tv == "table" then return xtable(v, depth) end
  if p + 9 > xcap then xfull = true return false end
  if tv == "number" then
    xb[p] = 3
    XD.d = v
    xb[p + 1], xb[p + 2], xb[p + 3], xb[p + 4] = XD.c0, XD.c1, XD.c2, XD.c3
    xb[p + 5], xb[p + 6], xb[p + 7], xb[p + 8] = XD.c4, XD.c5, XD.c6, XD.c7
    xpos = p + 9
  elseif tv == "string" then
    xb[p] = 4
    xpos = p + 1
    return xstring(v)
  elseif tv == "boolean" then
    xb[p] = v and 2 or 1
    xpos = p + 1
  elseif v == nil then
    xb[p] = 0
    xpos = p + 1
  else
    return false
  end
  return true
end

-- Returns the bytes written + 1, 0 (the host walks ctx) or -1 (too big).
local function export_ctx_to_host()
  if F.clear_setup ~= 0 then apply_clear_setup() end
  -- The buffer's pointer is read again only when the host grew it (reading
  -- it makes a cdata).
  if API.ctx_cap ~= xcap then xb, xcap = API.ctx_buf, API.ctx_cap end
  xpos, xnodes, xfull = 0, 0, false
  local ok = xvalue(ctx, 0)
  if ok then return xpos + 1 end
  return xfull and -1 or 0
end

--
-- The loops (docs/performance.md, "The per-bar loop"). LuaJIT records a
-- loop's root trace once, on one iteration, and the trace keeps that
-- iteration's path: every later iteration that differs leaves it by a side
-- exit, runs a side trace and re-enters the root at its start (its unhoisted
-- first copy). So:
--  - a warm-up loop runs the VM's first WARMUP_STEPS steps (callbacks and ctx
--    exports, across host calls), so that nothing after it is recorded while
--    the indicators warm up (ind.* gives nil, a crossover is not there yet);
--  - the generic loop runs any callback kind: short runs (a filter, the bars
--    around a hand-over, ctx exports);
--  - once the same kind has run RUN steps in a row, Watch (1) and InTrade (3)
--    bars go on in a loop of their own, whose root trace is recorded on a bar
--    of that kind; with one loop for all kinds, the root was one kind's and
--    every bar of the other kind left it at the callback's identity guard.
--    A kind whose loop has compiled goes back to it after its first step in
--    the generic loop (the run-length rule is for trying a loop: a recording
--    on a run's last step fails); ema_cross's refused entries (a Watch step,
--    the filter, Watch again) then take one generic step instead of two.
-- A kind's loop is used only once it compiled: its root trace is recorded on
-- its first iteration (LuaJIT's hotloop is 1 while a loop is tried, see
-- try_own_loop), and if that recording fails (the run ended right there, or a
-- NYI) the kind stays in the generic loop for good. A loop that ran in the
-- interpreter would call the callbacks from there; their function traces'
-- side traces return into M.run_batch and unroll the loop until "loop unroll
-- limit reached", on quiet bars (the JIT-health test saw it).
local WARMUP_STEPS = 1000
local warmup_left = WARMUP_STEPS
-- Same-kind steps in the generic loop before a kind's own loop is tried.
-- Each hand-over costs RUN bars in the generic loop (mostly side traces);
-- a smaller RUN makes the first iteration of a kind's loop (its recording)
-- likelier to be the last of its run, which leaves the loop and fails the
-- recording. 1M generated bars: RUN 2 against 4: sma_cross 989 against 1,000
-- instructions per bar, ema_cross 1,241 against 1,259.
local RUN = 2
local HOTLOOP = 56  -- LuaJIT's default hotloop
-- Calls LuaJIT does not compile (a C function): a trace being recorded stops
-- before it and execution goes on in the interpreter (a trace rooted in
-- M.run_batch, or one that returned into it, is at its start's frame depth,
-- where LuaJIT stops instead of stitching). gcinfo only reads the heap size.
local trace_stop = gcinfo
local jit_opt_start = jit.opt.start
local funcbc, band = cfg.funcbc, bit.band
-- Per kind: nil = not tried, true = its loop compiled, false = stays in the
-- generic loop. Filters (2) and ctx exports (4) never get a loop of their own.
local own_loop = { nil, false, nil, false }
local trying = 0       -- the kind whose loop is being tried, 0 = none
local hot_now = false  -- hotloop is 1
local LOOP_OP, OWN_LOOP_PC = nil, {}  -- LOOP's opcode; pc of each kind's loop

local function hotloop(on)
  hot_now = on
  jit_opt_start(on and "hotloop=1" or ("hotloop=" .. HOTLOOP))
end
-- The VM may come from a pool where a previous strategy's run ended while a
-- loop was tried (hotloop is VM-wide): start from the default.
hotloop(false)

-- Back to the default hotloop and no loop on trial: on every way out of
-- M.run_batch that can leave them set (a return from the generic loop, and, at
-- the next entry, an error that unwound out of a callback mid-trial; the kind
-- tried then is tried again later).
local function settle()
  trace_stop()
  hotloop(false)
  trying = 0
end

-- Whether LuaJIT compiled the kind's loop: its LOOP instruction became JLOOP
-- (lj_bc.h: LOOP, ILOOP, JLOOP; ILOOP = blacklisted).
local function loop_compiled(kind)
  return band(funcbc(M.run_batch, OWN_LOOP_PC[kind]), 0xff) == LOOP_OP + 2
end
-- Which path Watch's root trace keeps (session 18). Its root is recorded on
-- one bar, and every Watch bar whose callback takes another path leaves the
-- loop by a side exit and comes back through the root's start, whose first
-- copy of the loop (the part before LOOP, with every invariant guard: the
-- tables of the frame refresh, each `ind.<name>` lookup and its function
-- guard) runs that bar; only bars on the recorded path that follow one also
-- on it run the loop's hoisted body. For ten_indicators that copy was ≈ 470
-- machine instructions against ≈ 180 for the body, and the root had been
-- recorded on a path 19 % of its Watch bars take, while 54 % leave its
-- twelve-way condition at the first test. So Watch's loop is recorded
-- WATCH_SAMPLES times, WATCH_GAP generic steps apart (a decision path tends to
-- last a few bars: samples next to each other would be one sample), each
-- recording flushed (jit.flush of the root and its side traces) after its
-- length in IR instructions is noted; the length most samples had (the
-- shorter on a tie) names the commonest path, and the loop is recorded again
-- until a recording has that length, at most WATCH_RETRIES times (then the
-- last one stays). Each recording is chosen or flushed in the interpreter,
-- after its loop ended, and the generic loop's exit that starts a trial is
-- taken once per recording (fewer than LuaJIT's hotexit, 10, for all of them):
-- no trace links to a flushed root (jit.flush keeps a root's code while one
-- does, and that trace would run it, its side traces gone). Only Watch: InTrade runs are as
-- short as trades, so samples failed ("leaving loop in root trace", and the
-- kind then stays in the generic loop) and cost other strategies up to 12
-- instructions per bar, and an exit rule's common path is the no-exit one any
-- recording on a quiet bar keeps. Watch's first recording that fails follows
-- the rule above (the kind stays in the generic loop); one that fails after a
-- sample was flushed is tried again, at most WATCH_FAILS times. Speed only: traces never change
-- what a callback computes.
local traceinfo, jit_flush, rshift = cfg.traceinfo, jit.flush, bit.rshift
-- Every recording (sample, retry, or a failed one tried again) takes the
-- generic loop's exit once: together fewer than LuaJIT's hotexit (10), so no
-- side trace is recorded there that could link to a root flushed later.
local WATCH_SAMPLES, WATCH_RETRIES, WATCH_GAP, WATCH_FAILS = 3, 4, 32, 2
assert(WATCH_SAMPLES + WATCH_RETRIES + WATCH_FAILS < 10)
local watch_fails = 0     -- recordings that did not compile while sampling
local watch_lengths = {}  -- IR length of each recording of Watch's loop so far
local watch_common = nil  -- the length most samples had
local watch_kept = false  -- sampling is over
local watch_gate = 0      -- generic step (g) from which Watch's loop may be tried again

-- After Watch's loop compiled (in the interpreter, `g` the generic loop's
-- step count): keeps the recording or flushes it to record again later.
local function choose_watch_root(g)
  if watch_kept then return end
  local tr = rshift(funcbc(M.run_batch, OWN_LOOP_PC[1]), 16)  -- JLOOP's D operand: the root trace
  local info = traceinfo(tr)
  if not info then watch_kept = true return end  -- (cannot happen: a patched JLOOP names a live trace)
  local n = info.nins
  watch_lengths[#watch_lengths + 1] = n
  if #watch_lengths > WATCH_SAMPLES then
    if not watch_common then
      local count, best, most = {}, nil, 0
      for i = 1, WATCH_SAMPLES do
        local v = watch_lengths[i]
        count[v] = (count[v] or 0) + 1
        if count[v] > most or (count[v] == most and v < best) then best, most = v, count[v] end
      end
      watch_common = best
    end
    if n == watch_common or #watch_lengths >= WATCH_SAMPLES + WATCH_RETRIES then
      watch_kept = true
      return
    end
  end
  jit_flush(tr)
  own_loop[1] = nil
  watch_gate = g + WATCH_GAP
end

-- The step function and its driver are read from the API block on every
-- step (API.step(API.driver, r)), not kept in locals of this function: a
-- local is a stack slot that a root trace loads and type-checks at its start
-- (two cdata, each a tag and a ctype id test), and every side trace that
-- links back to a loop's start runs that part again (ten_indicators: 0.44
-- of its bars). API is a constant pointer in the traces, so the two fields
-- are two loads per step, which the loop's body had as spill reloads anyway.
function M.run_batch()
  local r = 0
  if hot_now or trying ~= 0 then settle() end
  watch_gate = 0  -- (g counts this call's steps)
  while warmup_left > 0 do
    local kind = API.step(API.driver, r)
    if kind <= 0 then return kind end
    warmup_left = warmup_left - 1
    if kind == 4 then
      r = export_ctx_to_host()
    else
      r = run_callback(kind)
    end
  end
  if warmup_left == 0 then
    -- Once, in the interpreter: the generic loop's root is recorded on its
    -- first iteration, a steady-state bar; hotloop goes back to the default on
    -- its second (g == 2, a side exit to the interpreter).
    trace_stop()
    warmup_left = -1
    hotloop(true)
  end
  local kind, last, same, g = 0, 0, 0, 0
  ::generic::
  while true do
    kind = API.step(API.driver, r)
    if kind <= 0 then
      if hot_now then settle() end  -- (the bar went back to the host before g reached 2)
      return kind
    end
    if kind == 4 then
      r = export_ctx_to_host()
    else
      r = run_callback(kind)
    end
    g = g + 1
    if g == 2 and hot_now then
      trace_stop()
      hotloop(false)
    end
    if kind ~= last then
      last, same = kind, 1
      if own_loop[kind] then break end
    else
      same = same + 1
      if own_loop[kind] or (same >= RUN and own_loop[kind] == nil and (kind ~= 1 or g >= watch_gate)) then break end
    end
  end
  if own_loop[kind] == nil then
    -- try_own_loop: in the interpreter, with hotloop 1, so the loop below is
    -- recorded on its first iteration.
    trace_stop()
    trying = kind
    if not hot_now then hotloop(true) end
  end
  -- The kind's own loop, entered with its callback's result pending. A side
  -- trace that gets here finds it compiled and links to it.
  ::own::
  if kind == 1 then
    while true do
      kind = API.step(API.driver, r)
      if kind ~= 1 then break end
      r = run_callback(1)
    end
  else
    while true do
      kind = API.step(API.driver, r)
      if kind ~= 3 then break end
      r = run_callback(3)
    end
  end
  if trying ~= 0 then
    trace_stop()
    hotloop(false)
    own_loop[trying] = loop_compiled(trying)
    if trying == 1 then
      if own_loop[1] then
        choose_watch_root(g)
      elseif #watch_lengths > 0 and not watch_kept and watch_fails < WATCH_FAILS then
        -- A recording after a flushed sample failed (a short Watch run, a rare
        -- path): Watch had a loop before sampling took it, so it is tried
        -- again later rather than left in the generic loop for the run.
        watch_fails = watch_fails + 1
        own_loop[1] = nil
        watch_gate = g + WATCH_GAP
      end
    end
    trying = 0
  end
  if kind <= 0 then return kind end
  if kind == 4 then
    r = export_ctx_to_host()
  else
    r = run_callback(kind)
  end
  -- The callback's result goes with the next step to the loop of the kind
  -- that step most likely names, when that loop has compiled, not to the
  -- generic loop: after a filter, Watch's (a refused entry, ema_cross's spent
  -- account or sma_cross's cash check at the open, is back in Watch at that
  -- step; an accepted one leaves Watch's loop at once, through the first
  -- copy of its root up to the kind's guard), and after a Watch or InTrade
  -- callback run here (a hand-over: an entry filled, an exit filled), that
  -- kind's own. The generic loop's pass cost its root's iteration (an
  -- unhoisted callback) and, for a Watch bar after a refusal, a side trace
  -- of its own for the setup's drop. (Not while a loop is sampled or tried:
  -- own_loop is nil then, and trying is 0 here; filters and exports have no
  -- loop: own_loop[2] and own_loop[4] are false.)
  if kind == 2 then
    if own_loop[1] then
      kind = 1
      do goto own end
    end
  elseif own_loop[kind] then
    do goto own end
  end
  last, same = kind, 1
  -- Inside a block: a backward goto at the label's own level would be a loop
  -- for LuaJIT (lj_parse.c parse_goto), whose root traces would meet the
  -- loops above; this one is a plain jump.
  do goto generic end
end

-- The pcs of the kinds' loops: M.run_batch's LOOP instructions in order are
-- the warm-up loop, the generic loop, Watch's and InTrade's.
do
  local function probe() while true do end end
  LOOP_OP = band(funcbc(probe, 1), 0xff)
  local loops = {}
  for pc = 1, 1000 do
    local ins = funcbc(M.run_batch, pc)
    if not ins then break end
    if band(ins, 0xff) == LOOP_OP then loops[#loops + 1] = pc end
  end
  if #loops ~= 4 then error("prelude: M.run_batch should have 4 loops, has " .. #loops, 0) end
  OWN_LOOP_PC[1], OWN_LOOP_PC[3] = loops[3], loops[4]
end

function M.on_start()
  current_callback = nil
  apply_clear_setup()
  local f = rawget(env, "on_start")
  if f then f(ctx) end
end

-- Hot reload: ctx already holds a copy of the old data (replace_ctx);
-- on_reload(old_ctx, ctx) may migrate it, and a table it returns replaces it.
function M.on_reload(old)
  current_callback = nil
  apply_clear_setup()
  local f = rawget(env, "on_reload")
  if not f then return end
  -- The frame was copied from the old VM: the migration sees the runner's state.
  refresh_bar()
  shown_state[0] = F.state
  ctx_views.state = state_names[shown_state[0]]
  ctx_views.bars_in_state = F.bars_in_state
  local r = f(old, ctx)
  if r ~= nil and r ~= ctx then
    if type(r) ~= "table" then
      error(sfmt("%s: on_reload must return nothing or a table to use as ctx, was %s", cfg.chunkname, describe_value(r)), 0)
    end
    M.replace_ctx(r)
  end
end

M.environment = P.environment

-- Order events for the strategy's optional callbacks on_fill(fill, ctx) and
-- on_order_rejected(order, ctx) (engine/script/order_notice.cpp builds `t`; events
-- are rare, so a fresh table each time). Returns whether the callback exists.
function M.notify(name, t)
  current_callback = nil
  local f = rawget(env, name)
  if f == nil then return false end
  apply_clear_setup()
  -- The first refresh of a bar also steps the Lua indicators (dispatch then
  -- sees the bar as already refreshed).
  if refresh_bar() then update_lua_indicators(bar) end
  f(t, ctx)
  return true
end

M.apply_clear_setup = apply_clear_setup

-- Replaces the strategy's own ctx data (hot reload, replay) with `t` (the host
-- views are ctx's __index, never its keys).
function M.replace_ctx(t)
  F.clear_setup = 0  -- the new data is the whole context: no drop pending for it
  for k in pairs(ctx) do
    ctx[k] = nil
  end
  for k, v in pairs(t) do
    if not P.HOST_KEYS[k] then ctx[k] = v end
  end
end

M.ctx = ctx
M.env = env
return M
