-- {{NAME}}.lua — trend following with two moving averages (from the
-- `crossover` template of `trading-engine new-strategy`).
--
-- How a strategy works (docs/lua-api.md has every detail):
--   * `params` holds the tunable values with their defaults. `--param fast=5`,
--     a config's [runners.params] and `optimize` override them before the
--     rest of this file runs.
--   * The engine runs one state machine per symbol and calls one function per
--     bar, depending on the state:
--       Watch       detect_opportunity(bar, ctx, ind): return a setup table to
--                   move to CloseWatch, or nil to keep watching
--       CloseWatch  filter_commitment(bar, ctx, ind): return an entry
--                   (enter_long / enter_short), abandon, or nil to wait
--       InTrade     manage_position(bar, ctx, ind): return exit_position(),
--                   update_stop(), adjust{...}, or nil
--     A transition runs the new state's function on the same bar, so a setup
--     can be confirmed at once; a market entry fills at the next bar's open.
--   * `bar` has time (epoch ms), open, high, low, close, volume (and bid/ask
--     when the data has quotes). `ind` gives the native indicators: ind.sma(20),
--     ind.at(1).sma(20) (one bar ago), ind.crossover("sma(10)", "sma(30)").
--     Indicators are nil while they warm up.
--   * `ctx` is this strategy's own table: keep state there (plain data: numbers,
--     strings, booleans, tables). It survives state changes and hot reloads.
--     ctx.position and ctx.account are read-only views of the engine's books.
--   * Globals cannot be created inside functions (strict mode): use locals or ctx.
--
-- Try it:
--   trading-engine validate strategies/{{NAME}}.lua
--   trading-engine backtest --strategy strategies/{{NAME}}.lua --data prices.csv
params = {
  fast = 10,          -- period of the fast SMA (bars)
  slow = 30,          -- period of the slow SMA (bars)
  fraction = 0.5,     -- share of equity put into each trade
  stop_pct = 0.05,    -- protective stop below the entry (fraction of price)
}

-- Indicator names are built once: the top level runs after overrides apply.
local FAST = "sma(" .. params.fast .. ")"
local SLOW = "sma(" .. params.slow .. ")"

-- Optional: runs once before the first bar.
function on_start(ctx)
  ctx.entries = 0
end

-- Watch: the fast average crossing above the slow one is a setup.
function detect_opportunity(bar, ctx, ind)
  if ind.crossover(FAST, SLOW) == 1 then
    return { reason = "fast SMA crossed above slow SMA" }
  end
end

-- CloseWatch: confirm with the close above the slow average, else give up.
function filter_commitment(bar, ctx, ind)
  local slow = ind.sma(params.slow)
  if not slow or bar.close < slow then return abandon end
  ctx.entries = ctx.entries + 1
  return enter_long { fraction = params.fraction, stop = bar.close * (1 - params.stop_pct),
                      reason = "golden cross confirmed" }
end

-- InTrade: leave on the cross back down (the stop protects in between).
function manage_position(bar, ctx, ind)
  if ind.crossover(FAST, SLOW) == -1 then
    return exit_position("fast SMA crossed below slow SMA")
  end
end

-- Optional: after a hot reload, `old` is the previous version's ctx (already
-- copied into ctx); migrate fields here when their meaning changed.
function on_reload(old, ctx)
  ctx.entries = old.entries or 0
end
