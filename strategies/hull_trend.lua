-- hull_trend.lua — Hull moving-average trend entries with a weekly trend filter.
--
-- Idea: the Hull MA (indicators/hull_ma.lua, an indicator written in Lua) follows
-- price with little lag. Go long when the close crosses above it, but only while
-- the weekly trend is up: the close is above the Kaufman adaptive MA of weekly
-- bars (indicators/kama.lua on ind.tf("1w"): a weekly bar counts only once the
-- week has closed, so there is no lookahead). Leave when the close falls back
-- below the Hull MA or the weekly filter turns.
--
-- Parameters:
--   hull       period of the Hull MA (bars)
--   weekly     efficiency period of the weekly KAMA (weeks)
--   fraction   share of equity committed to each trade (0..1]
params = { hull = 20, weekly = 10, fraction = 0.95 }

local HULL = "hma(" .. params.hull .. ")"

local function weekly_up(bar, ind)
  local k = ind.tf("1w").kama(params.weekly)
  return k ~= nil and bar.close > k
end

function detect_opportunity(bar, ctx, ind)
  if ind.crossover("close", HULL) == 1 and weekly_up(bar, ind) then
    return { reason = "close crossed above the Hull MA in a weekly uptrend" }
  end
end

function filter_commitment(bar, ctx, ind)
  return enter_long { fraction = params.fraction, reason = ctx.setup.reason }
end

function manage_position(bar, ctx, ind)
  local h = ind.hma(params.hull)
  if h ~= nil and bar.close < h then return exit_position("close below the Hull MA") end
  if not weekly_up(bar, ind) then return exit_position("weekly trend turned") end
end
