-- ema_cross.lua — exponential moving-average crossover, long and short.
--
-- Idea: EMAs react faster than SMAs. Go long when the fast EMA crosses above the
-- slow EMA and short when it crosses below. A cross first closes the running
-- trade (the exit fills at the next open); on that next bar, back in Watch, the
-- cross of the previous bar still counts, so the strategy turns around. Positions
-- are sized as a fraction of equity.
--
-- Parameters:
--   fast       period of the fast EMA (bars)
--   slow       period of the slow EMA (bars)
--   fraction   share of equity committed to each trade (0..1]
--   allow_short  also trade the downside
params = { fast = 12, slow = 26, fraction = 0.95, allow_short = true }

local FAST = "ema(" .. params.fast .. ")"
local SLOW = "ema(" .. params.slow .. ")"

local function cross(ind)
  return ind.crossover(FAST, SLOW)
end

function detect_opportunity(bar, ctx, ind)
  local c = cross(ind)
  if c == 0 then c = cross(ind.at(1)) end  -- the cross that just closed the last trade
  if c == 1 then return { side = "long", reason = "fast EMA crossed above slow EMA" } end
  if c == -1 and params.allow_short then return { side = "short", reason = "fast EMA crossed below slow EMA" } end
end

function filter_commitment(bar, ctx, ind)
  if ctx.setup.side == "long" then
    return enter_long { fraction = params.fraction, reason = ctx.setup.reason }
  end
  return enter_short { fraction = params.fraction, reason = ctx.setup.reason }
end

function manage_position(bar, ctx, ind)
  local c = cross(ind)
  if ctx.position.side == "long" and c == -1 then return exit_position("EMA cross down") end
  if ctx.position.side == "short" and c == 1 then return exit_position("EMA cross up") end
end
