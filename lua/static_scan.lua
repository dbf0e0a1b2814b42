-- Trusted: `validate`'s static scan. Compiles a strategy chunk (never runs it)
-- and lists every global variable it reads or writes, with the line, by
-- walking the bytecode of the chunk and of every function nested in it
-- (jit.util). This finds undeclared and forbidden names on code paths a dry run
-- never reaches. Runs in a private VM of its own (engine/script/static_scan.cpp),
-- never in a strategy's VM.
-- Arguments: jit.util, the source text, the chunk name (path).
-- Returns: nil, message on a syntax error; else an array of
-- { name, line, write (boolean), top_level (boolean) } in bytecode order.
local util, code, chunkname = ...
local funcinfo, funcbc, funck = util.funcinfo, util.funcbc, util.funck
local band, rshift = bit.band, bit.rshift

-- Opcode numbers are an implementation detail of the LuaJIT build: learn the
-- two we need from probe chunks instead of hard-coding them.
local function opcode(src, pc)
  local f = assert(load(src, "=probe", "t"))
  return band(funcbc(f, pc), 0xff)
end
local GGET = opcode("return g", 1)
local GSET = opcode("g = 1", 2)

local fn, err = load(code, "@" .. chunkname, "t")
if not fn then return nil, err end

local out = {}
local function walk(f, top_level)
  local info = funcinfo(f)
  if info.children then
    for n = -1, -1000000000, -1 do
      local k = funck(f, n)
      if k == nil then break end
      if type(k) == "proto" then walk(k, false) end
    end
  end
  for pc = 1, 1000000000 do
    local ins = funcbc(f, pc)
    if not ins then break end
    local op = band(ins, 0xff)
    if op == GGET or op == GSET then
      local name = funck(f, -rshift(ins, 16) - 1)
      local line = funcinfo(f, pc).currentline or 0
      out[#out + 1] = { name, line, op == GSET, top_level }
    end
  end
end
walk(fn, true)
return out
