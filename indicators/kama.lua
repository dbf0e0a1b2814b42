-- Kaufman adaptive moving average (Perry Kaufman, 1995): an EMA whose speed
-- follows the market's efficiency. Over the last n bars,
--
--   ER = |x - x[n]| / sum(|x[i] - x[i-1]|)          (1 = straight line, 0 = noise)
--   sc = (ER * (2/(fast+1) - 2/(slow+1)) + 2/(slow+1))^2
--   KAMA = KAMA[1] + sc * (x - KAMA[1])
--
-- seeded with the previous value at the first full window (so the first value
-- comes `period` bars in). Use it as ind.kama(10) or ind.kama(10, 2, 30).
-- A pure-Lua example of a custom indicator with several parameters.
local abs = math.abs

return {
  name = "kama",
  summary = "Kaufman adaptive moving average (efficiency-ratio driven EMA) (pure Lua example)",
  params = {
    { name = "period", default = 10, min = 2, max = 100000, integer = true },
    { name = "fast", default = 2, min = 1, max = 1000, integer = true },
    { name = "slow", default = 30, min = 2, max = 10000, integer = true },
  },
  outputs = { "kama" },
  source = "close",
  warmup = function(p) return p.period end,
  new = function(p)
    local n = p.period
    local fast_sc, slow_sc = 2 / (p.fast + 1), 2 / (p.slow + 1)
    local window, count, head = {}, 0, 0   -- the last n+1 values
    local noise = 0                          -- sum of |x[i] - x[i-1]| over the window
    local kama
    return {
      update = function(_, x)
        count = count + 1
        if count <= n + 1 then
          window[count] = x
          if count > 1 then noise = noise + abs(x - window[count - 1]) end
          if count < n + 1 then return nil end
          head = 1
          kama = window[n]                   -- seed: the previous value
        else
          local newest_prev = window[(head + n - 1) % (n + 1) + 1]
          local oldest = window[head]
          local second = window[head % (n + 1) + 1]
          noise = noise + abs(x - newest_prev) - abs(second - oldest)
          window[head] = x
          head = head % (n + 1) + 1
        end
        local first = window[head]
        local er = noise > 0 and abs(x - first) / noise or 0
        local sc = (er * (fast_sc - slow_sc) + slow_sc) ^ 2
        kama = kama + sc * (x - kama)
        return kama
      end,
    }
  end,
}
