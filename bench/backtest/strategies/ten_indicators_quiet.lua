local n = 0
-- ten_indicators.lua — benchmark fixture: reads ten indicators on every bar.
--
-- A trend-and-momentum filter of the kind people actually write: trade long when
-- price is above a rising average, momentum is positive, volatility is moderate
-- and the oscillators agree; leave when any of them turns. Its rules are not
-- meant to make money; they make the strategy read ten indicator values per bar
-- (sma, ema, rsi, macd, bbands, atr, stoch, cci, adx, roc), the load the
-- throughput target "a strategy that reads ten indicators per bar" describes.
params = { stake = 100 }

function detect_opportunity(bar, ctx, ind)
  local sma, ema, rsi = ind.sma(50), ind.ema(20), ind.rsi(14)
  local macd, signal = ind.macd(12, 26, 9)
  local upper, middle, lower = ind.bbands(20, 2, 2)
  local atr, k, d = ind.atr(14), ind.stoch(14, 3, 3)
  local cci, adx, roc = ind.cci(20), ind.adx(14), ind.roc(10)
  if not (sma and ema and rsi and macd and upper and atr and k and cci and adx and roc) then return nil end
  if bar.close > sma and ema > sma and macd > signal and rsi > 50 and rsi < 70 and bar.close < upper
     and atr < 0.02 * bar.close and k > d and cci > 0 and adx > 20 and roc > 0 and lower < middle then
    n = n + 1
  end
end

function filter_commitment(bar, ctx, ind)
  return enter_long { qty = params.stake, reason = "ten-indicator setup" }
end

function manage_position(bar, ctx, ind)
  local sma, ema, rsi = ind.sma(50), ind.ema(20), ind.rsi(14)
  local macd, signal = ind.macd(12, 26, 9)
  local upper = ind.bbands(20, 2, 2)
  local atr, k, d = ind.atr(14), ind.stoch(14, 3, 3)
  local cci, adx, roc = ind.cci(20), ind.adx(14), ind.roc(10)
  if bar.close < sma or ema < sma or macd < signal or rsi > 75 or bar.close > upper
     or atr > 0.03 * bar.close or k < d - 20 or cci < -100 or adx < 15 or roc < -1 then
    return exit_position("a filter turned")
  end
end
