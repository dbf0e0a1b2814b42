-- sma_cross_quiet.lua — benchmark fixture: sma_cross's per-bar work without its
-- trades. It reads the same crossover of the same two SMAs every bar and counts
-- the golden crosses, but never enters, so pipeline/sma_cross minus
-- pipeline/sma_cross_quiet is the cost of the trade path (orders, fills,
-- rejections, activity rows, state transitions).
params = { fast = 10, slow = 30 }

local FAST = "sma(" .. params.fast .. ")"
local SLOW = "sma(" .. params.slow .. ")"
local crosses = 0

function detect_opportunity(bar, ctx, ind)
  if ind.crossover(FAST, SLOW) == 1 then crosses = crosses + 1 end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
