-- quiet sma_cross: reads the crossover every bar, never trades
params = { fast = 10, slow = 30, stake = 1000 }
local FAST = "sma(" .. params.fast .. ")"
local SLOW = "sma(" .. params.slow .. ")"
local n = 0
function detect_opportunity(bar, ctx, ind)
  if ind.crossover(FAST, SLOW) == 1 then n = n + 1 end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
