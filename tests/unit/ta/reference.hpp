#pragma once
// Straightforward batch recomputations of every native indicator, written from
// the formulas (whole arrays, windows re-summed every bar, long double where it
// helps), for the property tests. Each returns one vector per output with NaN
// during warm-up.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/model/bar.hpp"

namespace te::ref {

using Vec = std::vector<double>;
inline const double kNaN = std::numeric_limits<double>::quiet_NaN();
inline bool ta_zero(double v) { return -1e-14 < v && v < 1e-14; }

struct Series {
  std::vector<model::Bar> bars;
  Vec open, high, low, close, volume;
  std::size_t size() const { return bars.size(); }
};

inline Series make_series(const std::vector<model::Bar>& bars) {
  Series s;
  s.bars = bars;
  for (const auto& b : bars) {
    s.open.push_back(b.open);
    s.high.push_back(b.high);
    s.low.push_back(b.low);
    s.close.push_back(b.close);
    s.volume.push_back(b.volume);
  }
  return s;
}

inline Vec nans(std::size_t n) { return Vec(n, kNaN); }

inline long double window_sum(const Vec& x, std::size_t end, std::size_t n) {
  long double s = 0;
  for (std::size_t j = end + 1 - n; j <= end; ++j) s += x[j];
  return s;
}

inline Vec sma(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) out[i] = static_cast<double>(window_sum(x, i, n) / n);
  return out;
}

// EMA over the valid (non-NaN) tail of x, seeded with the mean of its first n values.
inline Vec ema(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  std::size_t start = 0;
  while (start < x.size() && std::isnan(x[start])) ++start;
  if (start + n > x.size()) return out;
  const double k = 2.0 / (static_cast<double>(n) + 1.0);
  double seed = 0;
  for (std::size_t j = start; j < start + n; ++j) seed += x[j];
  double e = seed / static_cast<double>(n);
  out[start + n - 1] = e;
  for (std::size_t i = start + n; i < x.size(); ++i) out[i] = e = (x[i] - e) * k + e;
  return out;
}

inline Vec wma(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  const long double div = static_cast<long double>(n) * (n + 1) / 2;
  for (std::size_t i = n - 1; i < x.size(); ++i) {
    long double s = 0;
    for (std::size_t w = 1; w <= n; ++w) s += static_cast<long double>(w) * x[i + 1 - n + w - 1];
    out[i] = static_cast<double>(s / div);
  }
  return out;
}

inline Vec dema(const Vec& x, std::size_t n) {
  const Vec e1 = ema(x, n), e2 = ema(e1, n);
  Vec out = nans(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(e2[i])) out[i] = 2 * e1[i] - e2[i];
  return out;
}

inline Vec tema(const Vec& x, std::size_t n) {
  const Vec e1 = ema(x, n), e2 = ema(e1, n), e3 = ema(e2, n);
  Vec out = nans(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(e3[i])) out[i] = 3 * e1[i] - 3 * e2[i] + e3[i];
  return out;
}

inline Vec rsi(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  if (x.size() <= n) return out;
  double gain = 0, loss = 0;
  for (std::size_t i = 1; i <= n; ++i) {
    const double d = x[i] - x[i - 1];
    (d < 0 ? loss : gain) += std::fabs(d);
  }
  gain /= static_cast<double>(n);
  loss /= static_cast<double>(n);
  for (std::size_t i = n;; ++i) {
    out[i] = ta_zero(gain + loss) ? 0.0 : 100.0 * gain / (gain + loss);
    if (i + 1 >= x.size()) break;
    const double d = x[i + 1] - x[i];
    gain = (gain * static_cast<double>(n - 1) + (d > 0 ? d : 0)) / static_cast<double>(n);
    loss = (loss * static_cast<double>(n - 1) + (d < 0 ? -d : 0)) / static_cast<double>(n);
  }
  return out;
}

inline std::vector<Vec> macd(const Vec& x, std::size_t fast, std::size_t slow, std::size_t signal) {
  const Vec s = ema(x, slow);
  Vec shifted = nans(x.size());  // the fast EMA starts so that its seed window ends at slow - 1
  for (std::size_t i = slow - fast; i < x.size(); ++i) shifted[i] = x[i];
  const Vec f = ema(shifted, fast);
  Vec m = nans(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(s[i])) m[i] = f[i] - s[i];
  const Vec sig = ema(m, signal);
  std::vector<Vec> out(3, nans(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(sig[i])) out[0][i] = m[i], out[1][i] = sig[i], out[2][i] = m[i] - sig[i];
  return out;
}

inline double pop_std(const Vec& x, std::size_t end, std::size_t n) {
  const long double mean = window_sum(x, end, n) / n;
  long double ss = 0;
  for (std::size_t j = end + 1 - n; j <= end; ++j) ss += (x[j] - mean) * (x[j] - mean);
  return static_cast<double>(std::sqrt(ss / n));
}

inline std::vector<Vec> bbands(const Vec& x, std::size_t n, double up, double dn) {
  std::vector<Vec> out(3, nans(x.size()));
  for (std::size_t i = n - 1; i < x.size(); ++i) {
    const double mid = static_cast<double>(window_sum(x, i, n) / n), sd = pop_std(x, i, n);
    out[0][i] = mid + up * sd;
    out[1][i] = mid;
    out[2][i] = mid - dn * sd;
  }
  return out;
}

inline double tr(const Series& s, std::size_t i) {
  return std::max({s.high[i] - s.low[i], std::fabs(s.high[i] - s.close[i - 1]), std::fabs(s.low[i] - s.close[i - 1])});
}

inline Vec trange(const Series& s) {
  Vec out = nans(s.size());
  for (std::size_t i = 1; i < s.size(); ++i) out[i] = tr(s, i);
  return out;
}

inline Vec atr(const Series& s, std::size_t n) {
  Vec out = nans(s.size());
  if (s.size() <= n) return out;
  double a = 0;
  for (std::size_t i = 1; i <= n; ++i) a += tr(s, i);
  a /= static_cast<double>(n);
  out[n] = a;
  for (std::size_t i = n + 1; i < s.size(); ++i) out[i] = a = (a * static_cast<double>(n - 1) + tr(s, i)) / static_cast<double>(n);
  return out;
}

inline double hh(const Vec& x, std::size_t end, std::size_t n) { return *std::max_element(x.begin() + static_cast<std::ptrdiff_t>(end + 1 - n), x.begin() + static_cast<std::ptrdiff_t>(end + 1)); }
inline double ll(const Vec& x, std::size_t end, std::size_t n) { return *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(end + 1 - n), x.begin() + static_cast<std::ptrdiff_t>(end + 1)); }

inline double pct_k(double c, double h, double l) { return h != l ? 100.0 * (c - l) / (h - l) : 0.0; }

// SMA of the valid tail of x.
inline Vec sma_tail(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  std::size_t start = 0;
  while (start < x.size() && std::isnan(x[start])) ++start;
  for (std::size_t i = start + n - 1; i < x.size(); ++i) out[i] = static_cast<double>(window_sum(x, i, n) / n);
  return out;
}

inline std::vector<Vec> stoch(const Series& s, std::size_t fk, std::size_t sk, std::size_t sd) {
  Vec k = nans(s.size());
  for (std::size_t i = fk - 1; i < s.size(); ++i) k[i] = pct_k(s.close[i], hh(s.high, i, fk), ll(s.low, i, fk));
  const Vec slowk = sma_tail(k, sk), slowd = sma_tail(slowk, sd);
  std::vector<Vec> out(2, nans(s.size()));
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!std::isnan(slowd[i])) out[0][i] = slowk[i], out[1][i] = slowd[i];
  return out;
}

inline std::vector<Vec> stochrsi(const Vec& x, std::size_t n, std::size_t fk, std::size_t fd) {
  const Vec r = rsi(x, n);
  Vec k = nans(x.size());
  for (std::size_t i = n + fk - 1; i < x.size(); ++i) {
    bool unchanged = true;  // RSI is then constant over the window: zero range
    for (std::size_t j = i + 2 - fk; j <= i; ++j) unchanged = unchanged && x[j] == x[j - 1];
    k[i] = unchanged ? 0.0 : pct_k(r[i], hh(r, i, fk), ll(r, i, fk));
  }
  const Vec d = sma_tail(k, fd);
  std::vector<Vec> out(2, nans(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(d[i])) out[0][i] = k[i], out[1][i] = d[i];
  return out;
}

inline Vec willr(const Series& s, std::size_t n) {
  Vec out = nans(s.size());
  for (std::size_t i = n - 1; i < s.size(); ++i) {
    const double h = hh(s.high, i, n), l = ll(s.low, i, n);
    out[i] = h != l ? -100.0 * (h - s.close[i]) / (h - l) : 0.0;
  }
  return out;
}

inline Vec cci(const Series& s, std::size_t n) {
  Vec tp(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) tp[i] = (s.high[i] + s.low[i] + s.close[i]) / 3.0;
  Vec out = nans(s.size());
  for (std::size_t i = n - 1; i < s.size(); ++i) {
    const long double mean = window_sum(tp, i, n) / n;
    long double md = 0;
    for (std::size_t j = i + 1 - n; j <= i; ++j) md += std::fabs(tp[j] - mean);
    md /= n;
    const long double d = tp[i] - mean;
    bool flat = true;
    for (std::size_t j = i + 1 - n; j <= i; ++j) flat = flat && tp[j] == tp[i];
    out[i] = (!flat && d != 0 && md != 0) ? static_cast<double>(d / (0.015L * md)) : 0.0;
  }
  return out;
}

// Wilder's directional movement: +DI, -DI and ADX (TA-Lib's initialisation).
struct Dmi {
  Vec plus, minus, adx;
};
inline Dmi dmi(const Series& s, std::size_t n) {
  Dmi r{nans(s.size()), nans(s.size()), nans(s.size())};
  double pdm = 0, mdm = 0, trs = 0, sum_dx = 0, adx = 0;
  const double nd = static_cast<double>(n);
  for (std::size_t i = 1; i < s.size(); ++i) {
    const double up = s.high[i] - s.high[i - 1], down = s.low[i - 1] - s.low[i];
    const double p = (up > 0 && up > down) ? up : 0.0;
    const double m = (down > 0 && down > up) ? down : 0.0;
    if (i < n) {
      pdm += p, mdm += m, trs += tr(s, i);
      continue;
    }
    pdm = pdm - pdm / nd + p;
    mdm = mdm - mdm / nd + m;
    trs = trs - trs / nd + tr(s, i);
    const bool tr_ok = !ta_zero(trs);
    const double pdi = tr_ok ? 100.0 * pdm / trs : 0.0, mdi = tr_ok ? 100.0 * mdm / trs : 0.0;
    r.plus[i] = pdi;
    r.minus[i] = mdi;
    const bool dx_ok = tr_ok && !ta_zero(pdi + mdi);
    const double dx = dx_ok ? 100.0 * std::fabs(mdi - pdi) / (mdi + pdi) : 0.0;
    if (i < 2 * n - 1) {
      sum_dx += dx;
    } else if (i == 2 * n - 1) {
      adx = (sum_dx + dx) / nd;
      r.adx[i] = adx;
    } else {
      if (dx_ok) adx = (adx * (nd - 1) + dx) / nd;
      r.adx[i] = adx;
    }
  }
  return r;
}

inline Vec obv(const Vec& x, const Vec& v) {
  Vec out(x.size());
  double o = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i == 0) o = v[0];
    else if (x[i] > x[i - 1]) o += v[i];
    else if (x[i] < x[i - 1]) o -= v[i];
    out[i] = o;
  }
  return out;
}

// period 0: cumulative (reset_days > 0: restart at each UTC day boundary).
inline Vec vwap(const Series& s, std::size_t period, bool reset_daily) {
  Vec out = nans(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t first = 0;
    if (period > 0) {
      if (i + 1 < period) continue;
      first = i + 1 - period;
    } else if (reset_daily) {
      const std::int64_t day = s.bars[i].ts_ns / 86'400'000'000'000LL;
      first = i;
      while (first > 0 && s.bars[first - 1].ts_ns / 86'400'000'000'000LL == day) --first;
    }
    long double num = 0, den = 0;
    for (std::size_t j = first; j <= i; ++j) {
      num += ((s.high[j] + s.low[j] + s.close[j]) / 3.0) * s.volume[j];
      den += s.volume[j];
    }
    if (den != 0) out[i] = static_cast<double>(num / den);
  }
  return out;
}

inline Vec roc(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n; i < x.size(); ++i) out[i] = x[i - n] != 0 ? (x[i] / x[i - n] - 1.0) * 100.0 : 0.0;
  return out;
}

inline Vec mom(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n; i < x.size(); ++i) out[i] = x[i] - x[i - n];
  return out;
}

inline Vec highest(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) out[i] = hh(x, i, n);
  return out;
}

inline Vec lowest(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) out[i] = ll(x, i, n);
  return out;
}

inline std::vector<Vec> donchian(const Series& s, std::size_t n) {
  std::vector<Vec> out(3, nans(s.size()));
  for (std::size_t i = n - 1; i < s.size(); ++i) {
    out[0][i] = hh(s.high, i, n);
    out[2][i] = ll(s.low, i, n);
    out[1][i] = (out[0][i] + out[2][i]) / 2;
  }
  return out;
}

inline Vec stddev(const Vec& x, std::size_t n, double k) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) out[i] = pop_std(x, i, n) * k;
  return out;
}

inline Vec zscore(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) {
    const double sd = pop_std(x, i, n);
    out[i] = sd > 0 ? static_cast<double>((x[i] - window_sum(x, i, n) / n) / sd) : 0.0;
  }
  return out;
}

inline Vec rvol(const Vec& x, std::size_t n, double ann) {
  Vec r = nans(x.size());
  for (std::size_t i = 1; i < x.size(); ++i) r[i] = std::log(x[i] / x[i - 1]);
  Vec out = nans(x.size());
  for (std::size_t i = n; i < x.size(); ++i) {
    const long double mean = window_sum(r, i, n) / n;
    long double ss = 0;
    for (std::size_t j = i + 1 - n; j <= i; ++j) ss += (r[j] - mean) * (r[j] - mean);
    out[i] = static_cast<double>(std::sqrt(ss / (n - 1) * ann));
  }
  return out;
}

// Least-squares slope against time t = 0..n-1 (oldest first).
inline Vec linreg_slope(const Vec& x, std::size_t n) {
  Vec out = nans(x.size());
  for (std::size_t i = n - 1; i < x.size(); ++i) {
    long double st = 0, sy = 0, stt = 0, sty = 0;
    for (std::size_t t = 0; t < n; ++t) {
      const long double y = x[i + 1 - n + t];
      st += t, sy += y, stt += static_cast<long double>(t) * t, sty += t * y;
    }
    out[i] = static_cast<double>((n * sty - st * sy) / (n * stt - st * st));
  }
  return out;
}

}  // namespace te::ref
