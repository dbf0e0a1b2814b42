#include "engine/backtest/report_html.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <memory>

#include <fmt/core.h>

#include "engine/backtest/output_file.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::backtest {

extern const std::string_view kReportScript;
extern const std::string_view kReportStyle;

namespace {

std::string escape_html(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f} %", v * 100) : "n/a"; }
std::string fixed(double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a"; }

double ms(std::int64_t ns) { return static_cast<double>(ns / kNsPerMs); }

// Money values are shown to the cent: two decimals keep the page small.
double cents(double v) { return std::isfinite(v) ? std::round(v * 100) / 100 : v; }

}  // namespace

namespace {

// The page in order: head (with the style sheet), the data block, the script.
template <class Sink>
void page_head(std::string_view title, std::string_view subtitle, Sink sink) {
  std::string head = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  head += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // The page may run only its own inline script and style: no network at all.
  head += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
          "style-src 'unsafe-inline'; img-src data:\">\n";
  head += "<title>" + escape_html(title) + "</title>\n<style>\n";
  sink(head);
  sink(kReportStyle);
  sink("</style>\n</head>\n<body>\n<header><h1>" + escape_html(title) + "</h1><div class=\"sub\">" +
       escape_html(subtitle) + "</div></header>\n<main></main>\n<div id=\"te-status\" hidden></div>\n"
       "<script type=\"application/json\" id=\"te-data\">");
}

template <class Sink>
void page_tail(Sink sink) {
  sink("</script>\n<script>\n");
  sink(kReportScript);
  sink("</script>\n</body>\n</html>\n");
}

// Passes the data block on in pieces, escaped on the way: "</" could close the
// <script> element, JSON allows "<\/" instead. A '<' that ends a piece waits
// for the next one.
template <class Sink>
class ScriptDataEscaper {
 public:
  explicit ScriptDataEscaper(Sink& sink) : sink_(sink) {}
  void operator()(std::string_view json) {
    if (json.empty()) return;
    if (pending_lt_) {
      pending_lt_ = false;
      sink_(std::string_view("<"));
      if (json.front() == '/') sink_(std::string_view("\\"));
    }
    if (json.back() == '<') {
      pending_lt_ = true;
      json.remove_suffix(1);
    }
    std::size_t from = 0;
    for (std::size_t at = json.find("</"); at != std::string_view::npos; at = json.find("</", at + 2)) {
      sink_(json.substr(from, at + 1 - from));
      sink_(std::string_view("\\"));
      from = at + 1;
    }
    sink_(json.substr(from));
  }
  void finish() {
    if (pending_lt_) sink_(std::string_view("<"));
    pending_lt_ = false;
  }

 private:
  Sink& sink_;
  bool pending_lt_ = false;
};

template <class Sink>
void page_parts(std::string_view title, std::string_view subtitle, std::string_view json, Sink sink) {
  page_head(title, subtitle, sink);
  ScriptDataEscaper<Sink> data(sink);
  data(json);
  data.finish();
  page_tail(sink);
}

}  // namespace

std::string html_page(std::string_view title, std::string_view subtitle, std::string_view data_json) {
  std::string out;
  out.reserve(data_json.size() + kReportScript.size() + kReportStyle.size() + 1024);
  page_parts(title, subtitle, data_json, [&out](std::string_view part) { out += part; });
  return out;
}

Status write_html_page(const std::string& path, std::string_view title, std::string_view subtitle,
                       std::string_view data_json) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  bool ok = true;
  page_parts(title, subtitle, data_json,
             [&](std::string_view part) { ok = ok && std::fwrite(part.data(), 1, part.size(), f) == part.size(); });
  ok = std::fflush(f) == 0 && ok;
  const int err = errno;
  std::fclose(f);
  if (!ok) return make_error(Errc::io, "write " + path + ": " + std::strerror(err));
  return {};
}

std::vector<std::pair<std::string, std::string>> metric_rows(const Metrics& m, bool with_trades) {
  std::vector<std::pair<std::string, std::string>> r = {
      {"Initial cash", fixed(m.initial_cash, 2)},
      {"Final equity", fixed(m.final_equity, 2)},
      {"Net profit", fixed(m.net_profit, 2)},
      {"Total return", pct(m.total_return)},
      {"Annualized return", pct(m.annualized_return)},
      {"Volatility (ann.)", pct(m.volatility)},
      {"Sharpe", fixed(m.sharpe, 3)},
      {"Sortino", fixed(m.sortino, 3)},
      {"Calmar", fixed(m.calmar, 3)},
      {"Probabilistic Sharpe", pct(m.psr)},
      {"Max drawdown", pct(m.max_drawdown)},
      {"Max drawdown (money)", fixed(m.max_drawdown_money, 2)},
      {"Max DD duration (bars)", std::to_string(m.max_drawdown_duration)},
      {"Max DD duration (days)", fixed(m.max_drawdown_duration_days, 1)},
      {"Recovery factor", fixed(m.recovery_factor, 3)},
      {"Exposure", pct(m.exposure)},
      {"Bars", std::to_string(m.bars)},
  };
  if (!with_trades) return r;
  const std::vector<std::pair<std::string, std::string>> t = {
      {"Trades (closed / open)", fmt::format("{} / {}", m.trades, m.open_trades)},
      {"Win rate", pct(m.win_rate)},
      {"Profit factor", fixed(m.profit_factor, 3)},
      {"Expectancy / trade", fixed(m.expectancy, 2)},
      {"Expectancy ratio", fixed(m.expectancy_ratio, 3)},
      {"Avg win", fixed(m.avg_win, 2)},
      {"Avg loss", fixed(m.avg_loss, 2)},
      {"Best trade", fixed(m.best_trade, 2)},
      {"Worst trade", fixed(m.worst_trade, 2)},
      {"Best / worst trade %", pct(m.best_trade_return) + " / " + pct(m.worst_trade_return)},
      {"Max consecutive wins", std::to_string(m.max_consecutive_wins)},
      {"Max consecutive losses", std::to_string(m.max_consecutive_losses)},
      {"Avg holding (bars)", fixed(m.avg_bars_held, 1)},
      {"Avg holding (days)", fixed(m.avg_holding_days, 2)},
      {"Commission paid", fixed(m.commission_paid, 2)},
      {"Fills", std::to_string(m.fills)},
  };
  r.insert(r.end(), t.begin(), t.end());
  return r;
}

void write_curve_json(JsonWriter& j, std::span<const std::int64_t> ts_ns, std::span<const double> v,
                      std::size_t points) {
  const std::size_t n = std::min(ts_ns.size(), v.size());
  const std::size_t k = points ? std::max<std::size_t>(1, (n + points - 1) / points) : 1;
  j.begin_object();
  j.key("t").begin_array();
  for (std::size_t i = 0; i < n; i += k) j.value(ms(ts_ns[i]));
  j.end_array();
  j.key("v").begin_array();
  for (std::size_t i = 0; i < n; i += k) j.value(v[std::min(n, i + k) - 1]);
  j.end_array();
  if (k > 1) {
    j.key("lo").begin_array();
    for (std::size_t i = 0; i < n; i += k) j.value(*std::min_element(v.begin() + static_cast<std::ptrdiff_t>(i), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + k))));
    j.end_array();
    j.key("hi").begin_array();
    for (std::size_t i = 0; i < n; i += k) j.value(*std::max_element(v.begin() + static_cast<std::ptrdiff_t>(i), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + k))));
    j.end_array();
  }
  j.end_object();
}

namespace {
// What `for x in [0, n): r = std::max(r, v[x])` (std::min for kMax false)
// gives from `r`, in four lanes: both skip a NaN element and keep the first of
// equal values (MAXPD/MINPD's rule with the element first: (x > r) ? x : r), so
// the lanes agree with the loop except on the sign of a zero result when +0
// and -0 both occur; a zero result is computed again in order.
template <bool kMax>
double extreme(const double* v, std::size_t n, double r) noexcept {
  const auto op = [](double a, double x) { return kMax ? std::max(a, x) : std::min(a, x); };
  double out = r;
  std::size_t x = 0;
#if defined(__SSE2__)
  if (n >= 4) {
    const auto vop = [](__m128d a, __m128d xv) { return kMax ? _mm_max_pd(xv, a) : _mm_min_pd(xv, a); };
    __m128d a0 = _mm_set1_pd(r), a1 = a0;
    for (; x + 4 <= n; x += 4) {
      a0 = vop(a0, _mm_loadu_pd(v + x));
      a1 = vop(a1, _mm_loadu_pd(v + x + 2));
    }
    double lane[4];
    _mm_storeu_pd(lane, a0);
    _mm_storeu_pd(lane + 2, a1);
    out = op(op(lane[0], lane[1]), op(lane[2], lane[3]));
  }
#endif
  for (; x < n; ++x) out = op(out, v[x]);
  if (out != 0) return out;
  for (x = 0; x < n; ++x) r = op(r, v[x]);
  return r;
}

void backtest_json(JsonWriter& j, const BacktestResult& r, const Metrics& m, const model::BarSeries* bars,
                   const std::vector<MonthReturn>& months) {
  const EquityCurve& eq = r.equity;
  const std::size_t n = eq.equity.size();
  const std::size_t k = std::max<std::size_t>(1, (n + kMaxChartPoints - 1) / kMaxChartPoints);
  const bool prices = bars && bars->size() >= n;

  j.begin_object();
  j.field("kind", "backtest");
  j.field("date_only", r.date_only);
  j.field("initial_cash", r.initial_cash);
  j.field("bucket", static_cast<std::uint64_t>(k));
  j.field("bars", static_cast<std::uint64_t>(n));
  j.key("metrics").begin_array();
  for (const auto& [label, text] : metric_rows(m)) {
    j.begin_array();
    j.value(label);
    j.value(text);
    j.end_array();
  }
  j.end_array();
  if (r.fault) j.field("fault", r.fault->message);

  // Buckets of k bars: price OHLC, equity min/max/last, worst drawdown.
  struct Bucket {
    double t, o, h, l, c, eh, el, ec, dd;
  };
  std::vector<Bucket> b;
  b.reserve(n / k + 1);
  for (std::size_t i = 0; i < n; i += k) {
    const std::size_t e = std::min(n, i + k);
    Bucket q{ms(eq.ts_ns[i]), 0, -HUGE_VAL, HUGE_VAL, 0, -HUGE_VAL, HUGE_VAL, eq.equity[e - 1], 0};
    if (prices) {
      const auto& c = bars->columns();
      q.o = c.open[i];
      q.c = c.close[e - 1];
      q.h = extreme<true>(c.high + i, e - i, q.h);
      q.l = extreme<false>(c.low + i, e - i, q.l);
    } else {
      q.o = q.c = q.h = q.l = eq.equity[e - 1];
    }
    q.eh = extreme<true>(eq.equity.data() + i, e - i, q.eh);
    q.el = extreme<false>(eq.equity.data() + i, e - i, q.el);
    q.dd = extreme<true>(eq.drawdown.data() + i, e - i, q.dd);
    b.push_back(q);
  }
  j.key("series").begin_object();
  // In the page's compact data block a column is written as one piece of text
  // (the writer's own layout: "[v,v,...]", null for what is not finite): a
  // token per number through JsonWriter::value cost ~360 instructions, most of
  // it the writer's per-token bookkeeping (225,000 numbers for 25,000 buckets).
  std::unique_ptr<char[]> text;
  if (j.indent() == 0) text = std::make_unique_for_overwrite<char[]>(b.size() * 33 + 2);
  auto column = [&](const char* name, auto get) {
    j.key(name);
    if (!text) {
      j.begin_array();
      for (const Bucket& q : b) j.value(get(q));
      j.end_array();
      return;
    }
    char* p = text.get();
    *p++ = '[';
    // Equity and drawdown repeat from bucket to bucket while flat: the same
    // bits are the same text, copied from the previous value.
    std::uint64_t prev_bits = 0;
    const char* prev = nullptr;
    std::size_t prev_len = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (i > 0) *p++ = ',';
      const double v = get(b[i]);
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      if (prev != nullptr && bits == prev_bits) {
        std::memcpy(p, prev, prev_len);  // ends before the comma just written
        prev = p;
        p += prev_len;
        continue;
      }
      prev = p;
      if (std::isfinite(v)) {
        p += format_double(v, p);
      } else {
        std::memcpy(p, "null", 4);
        p += 4;
      }
      prev_bits = bits;
      prev_len = static_cast<std::size_t>(p - prev);
    }
    *p++ = ']';
    j.raw_value(std::string_view(text.get(), static_cast<std::size_t>(p - text.get())));
  };
  column("t", [](const Bucket& q) { return q.t; });
  column("o", [](const Bucket& q) { return q.o; });
  column("h", [](const Bucket& q) { return q.h; });
  column("l", [](const Bucket& q) { return q.l; });
  column("c", [](const Bucket& q) { return q.c; });
  column("eh", [](const Bucket& q) { return cents(q.eh); });
  column("el", [](const Bucket& q) { return cents(q.el); });
  column("ec", [](const Bucket& q) { return cents(q.ec); });
  column("dd", [](const Bucket& q) { return std::round(q.dd * 1e6) / 1e6; });
  j.end_object();

  j.key("trades").begin_array();
  const std::int64_t last_bar = static_cast<std::int64_t>(r.bars) - 1;
  std::size_t written = 0;
  for (const auto& t : r.trades) {
    if (written++ == kMaxHtmlTrades) break;
    j.begin_array();
    j.value(t.id);
    j.value(t.is_long ? 1 : -1);
    j.value(ms(t.entry_ts_ns));
    j.value(t.entry_price);
    if (t.open()) {
      j.null();
      j.null();
    } else {
      j.value(ms(t.exit_ts_ns));
      j.value(t.exit_price);
    }
    j.value(t.quantity);
    j.value(cents(t.pnl_net()));
    const double value = std::fabs(t.entry_price * t.quantity);
    j.value(value > 0 ? std::round(t.pnl_net() / value * 1e6) / 1e6 : std::nan(""));
    j.value((t.open() ? last_bar : t.exit_bar) - t.entry_bar);
    j.value(t.open() ? std::string_view("open") : t.exit_reason());
    j.end_array();
  }
  j.end_array();
  if (r.trades.size() > kMaxHtmlTrades) j.field("trades_truncated", static_cast<std::uint64_t>(r.trades.size()));

  j.key("activity");
  write_activity_json(j, r.activity, r.date_only);

  j.key("monthly").begin_array();
  for (const MonthReturn& mr : months) {
    j.begin_array();
    j.value(mr.year);
    j.value(static_cast<std::int64_t>(mr.month));
    j.value(mr.ret);
    j.end_array();
  }
  j.end_array();

  j.key("symbols").begin_array();
  for (const SymbolBreakdown& s : symbol_breakdown(r.trades, {r.symbol})) {
    j.begin_array();
    j.value(s.symbol);
    j.value(static_cast<std::uint64_t>(s.trades));
    j.value(static_cast<std::uint64_t>(s.open_trades));
    j.value(s.net_pnl);
    j.value(s.win_rate);
    j.value(s.profit_factor);
    j.value(s.avg_trade);
    j.value(s.commission);
    j.end_array();
  }
  j.end_array();
  j.end_object();
}

std::string backtest_json(const BacktestResult& r, const Metrics& m, const model::BarSeries* bars) {
  JsonWriter j(0);
  backtest_json(j, r, m, bars, monthly_returns(r));
  return j.str();
}

std::string backtest_subtitle(const BacktestResult& r, const ReportStamp& st) {
  const EquityCurve& eq = r.equity;
  const std::size_t n = eq.equity.size();
  std::string subtitle = st.strategy_path + " on " + r.symbol + " (" + st.data_path + ")";
  if (n) subtitle += "   " + format_iso8601(eq.ts_ns[0], r.date_only) + " .. " + format_iso8601(eq.ts_ns[n - 1], r.date_only);
  if (!st.params.empty()) {
    subtitle += "   params:";
    for (const auto& p : st.params) subtitle += " " + p.name + "=" + p.value;
  }
  subtitle += "   engine " + st.engine_version;
  return subtitle;
}
}  // namespace

std::string backtest_html(const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                          const model::BarSeries* bars) {
  return html_page("Backtest report: " + r.symbol, backtest_subtitle(r, st), backtest_json(r, m, bars));
}

Status write_backtest_html(const std::string& path, const BacktestResult& r, const Metrics& m, const ReportStamp& st,
                           const model::BarSeries* bars, const std::vector<MonthReturn>* monthly,
                           bool write_over) {
  // Streamed: the data block (megabytes for a long run) never exists whole.
  auto file = write_over ? OutputFile::create_over(path) : OutputFile::create(path);
  if (!file) return std::move(file).error();
  auto to_file = [&f = *file](std::string_view part) { f.append(part); };
  page_head("Backtest report: " + r.symbol, backtest_subtitle(r, st), to_file);
  ScriptDataEscaper<decltype(to_file)> data(to_file);
  JsonWriter j(0);
  j.set_sink([&data](std::string_view part) { data(part); });
  std::vector<MonthReturn> own_months;
  if (!monthly) own_months = monthly_returns(r);
  backtest_json(j, r, m, bars, monthly ? *monthly : own_months);
  j.flush();
  data.finish();
  page_tail(to_file);
  return file->close();
}

}  // namespace te::backtest
