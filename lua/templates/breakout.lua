-- {{NAME}}.lua — range breakout with a trailing stop (from the `breakout`
-- template of `trading-engine new-strategy`).
--
-- The three state functions (docs/lua-api.md):
--   detect_opportunity  Watch: return a setup table (kept as ctx.setup) to
--                       move to CloseWatch, or nil
--   filter_commitment   CloseWatch: enter_long{...} / enter_short{...},
--                       abandon, or nil to keep waiting
--   manage_position     InTrade: exit_position(...), update_stop(...),
--                       adjust{...} or nil
-- ind.at(1).highest(20) is the highest high of the 20 bars before this one;
-- indicators are nil while warming up. Keep state in ctx (plain data).
--
-- Try it:
--   trading-engine validate strategies/{{NAME}}.lua
--   trading-engine backtest --strategy strategies/{{NAME}}.lua --data prices.csv
params = {
  lookback = 20,      -- bars of the breakout range
  confirm = 2,        -- bars the close must hold above the broken level
  atr_period = 14,    -- ATR period for the stop distance
  stop_atr = 2.0,     -- initial stop distance in ATRs
  trail_atr = 3.0,    -- trailing distance in ATRs
  fraction = 0.5,     -- share of equity per trade
}

-- Watch: a close above the prior range's high is a setup at that level.
function detect_opportunity(bar, ctx, ind)
  local high = ind.at(1).highest(params.lookback)
  if high and bar.close > high then
    return { level = high, reason = "close broke the " .. params.lookback .. "-bar high" }
  end
end

-- CloseWatch: the close must stay above the level for `confirm` bars.
function filter_commitment(bar, ctx, ind)
  if bar.close < ctx.setup.level then return abandon end
  if ctx.bars_in_state + 1 < params.confirm then return nil end
  local atr = ind.atr(params.atr_period)
  if not atr then return abandon end
  return enter_long { fraction = params.fraction, stop = bar.close - params.stop_atr * atr,
                      trail = params.trail_atr * atr, reason = "breakout held above " .. ctx.setup.level }
end

-- InTrade: the trailing stop does the work; leave early if the range fails.
function manage_position(bar, ctx, ind)
  local low = ind.at(1).lowest(params.lookback)
  if low and bar.close < low then return exit_position("close below the range low") end
end
