params = { fast = 12, slow = 26 }
local FAST = "ema(" .. params.fast .. ")"
local SLOW = "ema(" .. params.slow .. ")"
local n = 0
function detect_opportunity(bar, ctx, ind)
  local c = ind.crossover(FAST, SLOW)
  if c == 0 then c = ind.at(1).crossover(FAST, SLOW) end
  if c == 1 then n = n + 1 end
end
function filter_commitment(bar, ctx, ind) end
function manage_position(bar, ctx, ind) end
