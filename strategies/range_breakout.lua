-- range_breakout.lua — Donchian-style breakout with a confirmation window and
-- a protective stop.
--
-- Idea: a close above the highest high of the last `lookback` bars starts a
-- setup (Watch -> CloseWatch). The breakout is confirmed if, within `confirm`
-- bars, price holds above the broken level; otherwise the setup is abandoned.
-- Once in, a stop sits `stop_atr` ATRs below the entry and trails up under the
-- recent low; the trade also ends when price closes below the lowest low of
-- the last `exit_lookback` bars.
--
-- Parameters:
--   lookback       bars of the breakout range
--   exit_lookback  bars of the exit range
--   confirm        bars to wait for confirmation in CloseWatch
--   stop_atr       initial stop distance in ATR(14) units
--   fraction       share of equity per trade
params = { lookback = 20, exit_lookback = 10, confirm = 3, stop_atr = 2.0, fraction = 0.5 }

function detect_opportunity(bar, ctx, ind)
  local prior_high = ind.at(1).highest(params.lookback)
  if prior_high and bar.close > prior_high then
    return { level = prior_high, reason = "close broke the " .. params.lookback .. "-bar high" }
  end
end

function filter_commitment(bar, ctx, ind)
  local level = ctx.setup.level
  if bar.close < level then return abandon end           -- fell back into the range
  if ctx.bars_in_state >= params.confirm - 1 or bar.low > level then
    local atr = ind.atr(14)
    if not atr then return abandon end
    return enter_long { fraction = params.fraction, stop = bar.close - params.stop_atr * atr,
                        reason = "breakout held above " .. level }
  end
  if ctx.bars_in_state >= params.confirm then return abandon end
end

function manage_position(bar, ctx, ind)
  local exit_low = ind.at(1).lowest(params.exit_lookback)
  if exit_low and bar.close < exit_low then return exit_position("close below the exit range") end
  -- trail the stop up under the low of the last 3 bars, never down
  local trail = ind.lowest(3)
  local stop = ctx.position.stop
  if trail and stop and trail > stop then return update_stop(trail) end
end
