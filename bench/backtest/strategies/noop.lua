-- noop.lua — benchmark fixture: the per-bar cost of the engine and of one Lua
-- callback, with no strategy work and no orders (detect_opportunity returns nothing).
function detect_opportunity(bar, ctx, ind) end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
