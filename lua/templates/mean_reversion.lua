-- {{NAME}}.lua — buy oversold dips, sell the bounce (from the `mean_reversion`
-- template of `trading-engine new-strategy`).
--
-- The three state functions (docs/lua-api.md):
--   detect_opportunity  Watch: return a setup table (kept as ctx.setup) to
--                       move to CloseWatch, or nil
--   filter_commitment   CloseWatch: enter_long{...} / enter_short{...},
--                       abandon, or nil to keep waiting
--   manage_position     InTrade: exit_position(...), update_stop(...),
--                       adjust{...} or nil
-- Keep state in ctx (plain data; it survives hot reloads). ctx.bars_in_state
-- counts the bars spent in the current state; ctx.position is read-only.
--
-- Try it:
--   trading-engine validate strategies/{{NAME}}.lua
--   trading-engine backtest --strategy strategies/{{NAME}}.lua --data prices.csv
params = {
  period = 14,        -- RSI period
  oversold = 30,      -- RSI level that marks a dip
  exit_level = 55,    -- RSI level to take profit
  patience = 5,       -- bars to wait for the RSI to turn up
  max_bars = 30,      -- longest holding time (bars)
  stop_pct = 0.06,    -- protective stop below the entry (fraction)
  fraction = 0.5,     -- share of equity per trade
}

-- Watch: an oversold RSI is a setup; remember how low it went.
function detect_opportunity(bar, ctx, ind)
  local rsi = ind.rsi(params.period)
  if rsi and rsi < params.oversold then
    return { low_rsi = rsi, reason = string.format("RSI %.1f below %d", rsi, params.oversold) }
  end
end

-- CloseWatch: enter once the RSI turns up; give up after `patience` bars.
function filter_commitment(bar, ctx, ind)
  if ctx.bars_in_state >= params.patience then return abandon end
  local rsi, prev = ind.rsi(params.period), ind.at(1).rsi(params.period)
  if rsi and prev and rsi > prev then
    return enter_long { fraction = params.fraction, stop = bar.close * (1 - params.stop_pct),
                        reason = string.format("RSI turned up from %.1f", ctx.setup.low_rsi) }
  end
end

-- InTrade: take profit when the RSI recovers, or leave after max_bars.
function manage_position(bar, ctx, ind)
  local rsi = ind.rsi(params.period)
  if rsi and rsi > params.exit_level then return exit_position("RSI recovered") end
  if ctx.position.bars_held >= params.max_bars then return exit_position("time stop") end
end
