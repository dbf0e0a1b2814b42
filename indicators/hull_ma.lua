-- Hull moving average (Alan Hull, 2005): a fast, smooth average that cuts the
-- lag of a plain WMA by weighting the recent half of the window twice:
--
--   HMA(n) = WMA( 2 * WMA(x, floor(n/2)) - WMA(x, n), floor(sqrt(n)) )
--
-- Use it from a strategy like any indicator: ind.hma(20), ind.hma(55, "high"),
-- ind.at(1).hma(20). Written in pure Lua as an example of a custom indicator:
-- a file in indicators/ returns a definition; new() builds one instance whose
-- update(self, x, bar) gets the source value of each bar (and the bar) and
-- returns the output, or nil while warming up.
local floor, sqrt = math.floor, math.sqrt

-- Linearly weighted moving average (weights 1..n, newest heaviest), O(1) per
-- update: keeps the plain and the weighted window sums.
local function wma(n)
  local ring, count, head = {}, 0, 0
  local sum, wsum = 0, 0
  local denom = n * (n + 1) / 2
  return function(x)
    if count < n then
      count = count + 1
      ring[count] = x
      sum = sum + x
      wsum = wsum + count * x
      if count < n then return nil end
      return wsum / denom
    end
    head = head % n + 1           -- slot of the oldest value
    local old = ring[head]
    ring[head] = x
    wsum = wsum + n * x - sum      -- every weight drops by one, the new value gets n
    sum = sum + x - old
    return wsum / denom
  end
end

return {
  name = "hma",
  summary = "Hull moving average: WMA(2*WMA(x, n/2) - WMA(x, n), sqrt(n)) (pure Lua example)",
  params = { { name = "period", default = 20, min = 4, max = 100000, integer = true } },
  outputs = { "hma" },
  source = "close",
  warmup = function(p) return (p.period - 1) + (floor(sqrt(p.period)) - 1) end,
  new = function(p)
    local half, full, final = wma(floor(p.period / 2)), wma(p.period), wma(floor(sqrt(p.period)))
    return {
      update = function(_, x)
        local a, b = half(x), full(x)
        if a and b then return final(2 * a - b) end
        return nil
      end,
    }
  end,
}
