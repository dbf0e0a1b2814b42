-- bracket_trend.lua — trend following with a bracket entry.
--
-- Idea: in an uptrend (fast EMA above slow EMA, close above the fast EMA) wait
-- for a breakout above the recent high. The entry is a stop order just above
-- that high, valid for a few bars; its size risks a fixed share of equity down
-- to the initial stop (risk-based sizing). Once filled, the exit bracket is a
-- trailing stop (starting at the initial stop, then trailing the best price by
-- a multiple of ATR) and a profit target at a multiple of the risk; whichever
-- fills first cancels the other. The trade also ends when the trend turns.
--
-- Parameters:
--   fast, slow   EMA lengths of the trend filter
--   breakout     bars of the high the entry must break
--   atr_len      ATR length
--   stop_atr     initial stop distance below the entry, in ATRs
--   trail_atr    trailing distance, in ATRs
--   target_r     profit target, in multiples of the initial risk
--   risk         share of equity lost if the initial stop is hit
--   valid_bars   bars the entry stop order stays working
params = { fast = 20, slow = 50, breakout = 10, atr_len = 14, stop_atr = 2.0, trail_atr = 3.0, target_r = 4.0,
           risk = 0.01, valid_bars = 3 }

function detect_opportunity(bar, ctx, ind)
  local fast, slow = ind.ema(params.fast), ind.ema(params.slow)
  if fast and slow and fast > slow and bar.close > fast then
    return { reason = "uptrend: EMA " .. params.fast .. " above EMA " .. params.slow }
  end
end

function filter_commitment(bar, ctx, ind)
  local high, atr = ind.highest(params.breakout), ind.atr(params.atr_len)
  if not (high and atr) or atr <= 0 then return abandon end
  local entry = high + 0.01
  local stop = entry - params.stop_atr * atr
  return enter_long {
    risk = params.risk,                                  -- size: lose params.risk of equity at the stop
    stop_entry = entry,                                  -- buy stop above the recent high
    bars = params.valid_bars,                            -- ... valid for a few bars
    stop = stop,                                         -- initial stop
    trail = params.trail_atr * atr,                      -- then trail the best price
    target = entry + params.target_r * (entry - stop),   -- profit target at target_r x risk
    reason = string.format("breakout above %.2f", high),
  }
end

function manage_position(bar, ctx, ind)
  local fast, slow = ind.ema(params.fast), ind.ema(params.slow)
  if fast and slow and fast < slow then return exit_position("trend turned") end
end

function on_order_rejected(order, ctx)
  ctx.rejected = (ctx.rejected or 0) + 1
  log("order refused:", order.code, order.message)
end
