-- rsi_mean_reversion.lua — buy oversold dips in an uptrend, sell the bounce.
--
-- Idea: in a market above its long-term average, an RSI below `oversold` is a
-- temporary dip (setup). Enter when the RSI turns back up (CloseWatch confirms
-- the turn, gives up after `patience` bars). Exit when the RSI is overbought,
-- or after `max_bars` bars, or at the protective stop.
--
-- Parameters:
--   period      RSI period
--   oversold    RSI level that marks a dip
--   overbought  RSI level to take profit
--   trend       SMA period defining the uptrend filter
--   patience    bars to wait for the turn
--   max_bars    maximum holding time in bars
--   stop_pct    protective stop below the entry price (fraction)
--   fraction    share of equity per trade
params = { period = 14, oversold = 30, overbought = 70, trend = 200, patience = 5,
           max_bars = 20, stop_pct = 0.08, fraction = 0.9 }

function detect_opportunity(bar, ctx, ind)
  local rsi, trend = ind.rsi(params.period), ind.sma(params.trend)
  if rsi and trend and bar.close > trend and rsi < params.oversold then
    return { reason = string.format("RSI %.1f below %d in an uptrend", rsi, params.oversold) }
  end
end

function filter_commitment(bar, ctx, ind)
  local rsi, prev = ind.rsi(params.period), ind.at(1).rsi(params.period)
  if ctx.bars_in_state >= params.patience then return abandon end
  if rsi and prev and rsi > prev then
    return enter_long { fraction = params.fraction, stop = bar.close * (1 - params.stop_pct),
                        reason = "RSI turned up" }
  end
end

function manage_position(bar, ctx, ind)
  local rsi = ind.rsi(params.period)
  if rsi and rsi > params.overbought then return exit_position("RSI overbought") end
  if ctx.position.bars_held >= params.max_bars then return exit_position("time stop") end
end
