-- one_indicator.lua — benchmark fixture: the cost of reading one native
-- indicator from Lua (ind.sma(20)) on top of an empty callback (noop.lua).
function detect_opportunity(bar, ctx, ind)
  local v = ind.sma(20)
  if v and v < 0 then return { reason = "never" } end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
