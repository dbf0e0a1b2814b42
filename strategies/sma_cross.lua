-- sma_cross.lua — the classic moving-average crossover, long only.
--
-- Idea: when the fast simple moving average of the close crosses above the slow
-- one, momentum has turned up: buy a fixed number of shares. Sell everything when
-- the fast average crosses back below the slow one.
--
-- These are exactly the rules of the reference run in
-- ../shared/golden/nvda/backtrader_sma_cross_trades.csv (backtrader's CrossOver:
-- the side before a cross is the last non-zero difference), so this strategy
-- reproduces backtrader's trade list bar for bar.
--
-- Parameters:
--   fast   period of the fast SMA (bars)
--   slow   period of the slow SMA (bars)
--   stake  shares bought on each entry
params = { fast = 10, slow = 30, stake = 1000 }

-- Built once: the file's top level runs after --param overrides are applied.
local FAST = "sma(" .. params.fast .. ")"
local SLOW = "sma(" .. params.slow .. ")"

local function cross(ind)
  return ind.crossover(FAST, SLOW)
end

-- Watch: a cross up is a setup.
function detect_opportunity(bar, ctx, ind)
  if cross(ind) == 1 then return { reason = "fast SMA crossed above slow SMA" } end
end

-- CloseWatch: nothing more to confirm, commit right away (fills at the next open).
function filter_commitment(bar, ctx, ind)
  return enter_long { qty = params.stake, reason = "golden cross" }
end

-- InTrade: leave on the cross down.
function manage_position(bar, ctx, ind)
  if cross(ind) == -1 then return exit_position("fast SMA crossed below slow SMA") end
end
