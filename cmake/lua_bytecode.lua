-- usage: luajit cmake/lua_bytecode.lua IN CHUNKNAME OUT
-- Compiles one trusted Lua file to LuaJIT bytecode with its debug information
-- (chunk name, line numbers), so error messages, tracebacks and the [jit]
-- check name the same file and line as the source would.
local input, chunkname, output = ...
local f = assert(io.open(input, "rb"))
local text = f:read("*a")
f:close()
local fn = assert(loadstring(text, chunkname))
local out = assert(io.open(output, "wb"))
out:write(string.dump(fn))  -- not stripped
assert(out:close())
