// report.html shows what report.json (and trades.csv) say: the page's data
// block is parsed and every number it shows is compared with the JSON report,
// at the precision the page displays it. A metric row the test does not know
// fails the test, so a new row cannot be added without being checked here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/core/value_json.hpp"
#include "tests/support/temp_files.hpp"

using te::Value;
using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";

Value parse(const std::string& text, const std::string& what) {
  auto v = te::parse_json(text);
  INFO(what << ": " << (v ? "" : v.error().message));
  REQUIRE(v.ok());
  return std::move(*v);
}

// The JSON block of the page, with the "<\/" escape undone.
Value page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"te-data\">";
  const auto a = html.find(open);
  REQUIRE(a != std::string::npos);
  const auto b = html.find("</script>", a);
  REQUIRE(b != std::string::npos);
  std::string json = html.substr(a + open.size(), b - a - open.size());
  for (auto at = json.find("<\\/"); at != std::string::npos; at = json.find("<\\/", at)) json.erase(at + 1, 1);
  return parse(json, "report.html data");
}

double num(const Value& report, const std::string& key) {
  const Value* v = report.find(key);
  INFO("report.json key " << key);
  REQUIRE(v != nullptr);
  if (v->is_nil()) return std::nan("");  // JSON null: not finite
  REQUIRE(v->is_number());
  return v->as_double();
}

// How the page formats a metric: fixed decimals, a percentage with two
// decimals, an integer, or a "closed / open" pair.
enum class Fmt { Fixed2, Fixed3, Fixed1, Pct, Int, Pair, PctPair };
struct Row {
  std::vector<std::string> keys;
  Fmt fmt;
};

const std::map<std::string, Row>& known_rows() {
  static const std::map<std::string, Row> rows = {
      {"Initial cash", {{"initial_cash"}, Fmt::Fixed2}},
      {"Final equity", {{"final_equity"}, Fmt::Fixed2}},
      {"Net profit", {{"net_profit"}, Fmt::Fixed2}},
      {"Total return", {{"total_return"}, Fmt::Pct}},
      {"Annualized return", {{"annualized_return"}, Fmt::Pct}},
      {"Volatility (ann.)", {{"volatility"}, Fmt::Pct}},
      {"Sharpe", {{"sharpe"}, Fmt::Fixed3}},
      {"Sortino", {{"sortino"}, Fmt::Fixed3}},
      {"Calmar", {{"calmar"}, Fmt::Fixed3}},
      {"Probabilistic Sharpe", {{"probabilistic_sharpe"}, Fmt::Pct}},
      {"Max drawdown", {{"max_drawdown"}, Fmt::Pct}},
      {"Max drawdown (money)", {{"max_drawdown_money"}, Fmt::Fixed2}},
      {"Max DD duration (bars)", {{"max_drawdown_duration"}, Fmt::Int}},
      {"Max DD duration (days)", {{"max_drawdown_duration_days"}, Fmt::Fixed1}},
      {"Recovery factor", {{"recovery_factor"}, Fmt::Fixed3}},
      {"Exposure", {{"exposure"}, Fmt::Pct}},
      {"Bars", {{"bars"}, Fmt::Int}},
      {"Trades (closed / open)", {{"trades", "open_trades"}, Fmt::Pair}},
      {"Win rate", {{"win_rate"}, Fmt::Pct}},
      {"Profit factor", {{"profit_factor"}, Fmt::Fixed3}},
      {"Expectancy / trade", {{"expectancy"}, Fmt::Fixed2}},
      {"Expectancy ratio", {{"expectancy_ratio"}, Fmt::Fixed3}},
      {"Avg win", {{"avg_win"}, Fmt::Fixed2}},
      {"Avg loss", {{"avg_loss"}, Fmt::Fixed2}},
      {"Best trade", {{"best_trade"}, Fmt::Fixed2}},
      {"Worst trade", {{"worst_trade"}, Fmt::Fixed2}},
      {"Best / worst trade %", {{"best_trade_return", "worst_trade_return"}, Fmt::PctPair}},
      {"Max consecutive wins", {{"max_consecutive_wins"}, Fmt::Int}},
      {"Max consecutive losses", {{"max_consecutive_losses"}, Fmt::Int}},
      {"Avg holding (bars)", {{"avg_bars_held"}, Fmt::Fixed1}},
      {"Avg holding (days)", {{"avg_holding_days"}, Fmt::Fixed2}},
      {"Commission paid", {{"commission_paid"}, Fmt::Fixed2}},
      {"Fills", {{"fills"}, Fmt::Int}},
  };
  return rows;
}

// `shown` (one number as the page prints it, "n/a" for undefined) against the
// report's value at `decimals` digits after the point (scaled by `scale`).
void check_shown(const std::string& label, std::string shown, double value, int decimals, double scale) {
  INFO(label << ": page shows '" << shown << "', report.json has " << te::format_double(value));
  if (!std::isfinite(value)) {
    CHECK(shown == "n/a");
    return;
  }
  if (shown.size() > 2 && shown.substr(shown.size() - 2) == " %") shown.resize(shown.size() - 2);
  double v = 0;
  REQUIRE(te::parse_double(shown, v));
  // The page rounds to `decimals`: the report's value must round to the same text.
  const double unit = std::pow(10.0, -decimals);
  CHECK(std::fabs(v - value * scale) <= unit / 2 + 1e-9 * std::max(1.0, std::fabs(value * scale)));
}

void check_metrics(const Value& html, const Value& report) {
  const auto& rows = html.find("metrics")->as_array();
  REQUIRE(rows.size() == known_rows().size());
  for (const Value& r : rows) {
    const std::string label = r.as_array()[0].as_string();
    const std::string text = r.as_array()[1].as_string();
    const auto it = known_rows().find(label);
    INFO("metric row " << label);
    REQUIRE(it != known_rows().end());
    const Row& row = it->second;
    auto halves = [&](const std::string& sep) {
      const auto at = text.find(sep);
      REQUIRE(at != std::string::npos);
      return std::pair{text.substr(0, at), text.substr(at + sep.size())};
    };
    switch (row.fmt) {
      case Fmt::Fixed1: check_shown(label, text, num(report, row.keys[0]), 1, 1); break;
      case Fmt::Fixed2: check_shown(label, text, num(report, row.keys[0]), 2, 1); break;
      case Fmt::Fixed3: check_shown(label, text, num(report, row.keys[0]), 3, 1); break;
      case Fmt::Pct: check_shown(label, text, num(report, row.keys[0]), 2, 100); break;
      case Fmt::Int: CHECK(text == std::to_string(static_cast<long long>(num(report, row.keys[0])))); break;
      case Fmt::Pair: {
        const auto [a, b] = halves(" / ");
        CHECK(a == std::to_string(static_cast<long long>(num(report, row.keys[0]))));
        CHECK(b == std::to_string(static_cast<long long>(num(report, row.keys[1]))));
        break;
      }
      case Fmt::PctPair: {
        const auto [a, b] = halves(" / ");
        check_shown(label, a, num(report, row.keys[0]), 2, 100);
        check_shown(label, b, num(report, row.keys[1]), 2, 100);
        break;
      }
    }
  }
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t start = 0;
    while (true) {
      const auto comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    out.push_back(std::move(cells));
  }
  return out;
}

double cell(const std::string& s) {
  double v = 0;
  REQUIRE(te::parse_double(s, v));
  return v;
}

// Every trade of the page against trades.csv: exact prices and quantities,
// net pnl to the cent, bars held and exit reason.
void check_trades(const Value& html, const std::string& trades_csv) {
  const auto rows = csv_rows(trades_csv);
  const auto& trades = html.find("trades")->as_array();
  REQUIRE(trades.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& t = trades[i].as_array();
    const auto& c = rows[i];
    INFO("trade " << c[0]);
    CHECK(t[0].as_int() == std::stoll(c[0]));
    CHECK((t[1].as_int() > 0 ? "long" : "short") == c[2]);
    CHECK(t[3].as_double() == cell(c[4]));
    if (c[5].empty()) {
      CHECK(t[4].is_nil());
    } else {
      CHECK(t[5].as_double() == cell(c[6]));
    }
    CHECK(t[6].as_double() == cell(c[7]));
    CHECK(t[7].as_double() == Approx(std::round(cell(c[11]) * 100) / 100).margin(1e-9));
    CHECK(t[9].as_int() == std::stoll(c[12]));
    CHECK((c[5].empty() ? std::string("open") : c[13]) == t[10].as_string());
  }
}

void check_report(const std::string& dir) {
  const Value report = parse(read_file(dir + "/report.json"), "report.json");
  const Value html = page_data(read_file(dir + "/report.html"));
  CHECK(html.find("kind")->as_string() == "backtest");
  CHECK(num(html, "bars") == num(report, "bars"));
  CHECK(num(html, "initial_cash") == num(report, "initial_cash"));
  check_metrics(html, report);

  // Monthly returns: the same months, the same values.
  const auto& hm = html.find("monthly")->as_array();
  const auto& rm = report.find("monthly_returns")->as_array();
  REQUIRE(hm.size() == rm.size());
  for (std::size_t i = 0; i < hm.size(); ++i) {
    const auto& m = hm[i].as_array();
    char key[16];
    std::snprintf(key, sizeof key, "%04lld-%02lld", static_cast<long long>(m[0].as_int()), static_cast<long long>(m[1].as_int()));
    CHECK(rm[i].find("month")->as_string() == key);
    CHECK(m[2] == *rm[i].find("return"));
  }

  // By-symbol rows.
  const auto& hs = html.find("symbols")->as_array();
  const auto& rs = report.find("by_symbol")->as_array();
  REQUIRE(hs.size() == rs.size());
  for (std::size_t i = 0; i < hs.size(); ++i) {
    const auto& s = hs[i].as_array();
    const Value& r = rs[i];
    CHECK(s[0].as_string() == r.find("symbol")->as_string());
    CHECK(s[1] == *r.find("trades"));
    CHECK(s[2] == *r.find("open_trades"));
    CHECK(s[3] == *r.find("net_pnl"));
    CHECK(s[4] == *r.find("win_rate"));
    CHECK(s[5] == *r.find("profit_factor"));
    CHECK(s[6] == *r.find("avg_trade"));
    CHECK(s[7] == *r.find("commission"));
  }

  // The equity pane ends at the final equity (to the cent) and its deepest
  // drawdown is the reported one (the page keeps 6 decimals).
  const Value& series = *html.find("series");
  const auto& ec = series.find("ec")->as_array();
  REQUIRE_FALSE(ec.empty());
  CHECK(ec.back().as_double() == Approx(std::round(num(report, "final_equity") * 100) / 100).margin(1e-9));
  double dd = 0;
  for (const Value& v : series.find("dd")->as_array()) dd = std::max(dd, v.as_double());
  CHECK(dd == Approx(std::round(num(report, "max_drawdown") * 1e6) / 1e6).margin(1e-12));

  check_trades(html, read_file(dir + "/trades.csv"));

  // Orders, rejections, risk events and strategy errors: the same rows.
  const Value* ha = html.find("activity");
  const Value* ra = report.find("activity");
  REQUIRE(ha != nullptr);
  REQUIRE(ra != nullptr);
  CHECK(*ha == *ra);
  // ... and they agree with the report's counters.
  std::int64_t exchange = 0, runner = 0, risk = 0;
  for (const Value& r : ra->find("rejections")->as_array()) {
    const std::string& src = r.find("source")->as_string();
    (src == "exchange" ? exchange : src == "runner" ? runner : risk) += 1;
  }
  CHECK(exchange + runner == report.find("rejections_total")->as_int());
  CHECK(risk == report.find("risk_rejections_total")->as_int());
  std::int64_t storm = 0;
  for (const Value& e : ra->find("risk_events")->as_array()) storm += e.find("kind")->as_string() == "stormguard";
  CHECK(storm == report.find("stormguard_changes")->as_int());
  std::int64_t filled = 0;
  for (const Value& o : ra->find("orders")->as_array()) filled += o.find("status")->as_string() == "filled";
  CHECK(filled <= report.find("fills")->as_int());
}

}  // namespace

TEST_CASE("report.html's chart buckets are the extremes of the bars and of equity.csv", "[report][backtest]") {
  // 210,001 bars: buckets of 9 (the page keeps at most 25,000 points), so the
  // four-lane extremes (report_html.cpp) meet full lanes, a tail and a short
  // last bucket; the reference is the plain loop over the files' rows.
  TempDir dir;
  const std::string data = dir.file("bars.csv");
  REQUIRE(run_cli(dir, "generate-data --bars 210001 --seed 11 --out " + data).code == 0);
  const CliRun r = run_cli(dir, "backtest -q --strategy strategies/sma_cross.lua --data " + data +
                                    " --no-cache --out " + dir.file("out"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const Value html = page_data(read_file(dir.file("out/report.html")));
  const auto bars = csv_rows(read_file(data));
  const auto equity = csv_rows(read_file(dir.file("out/equity.csv")));
  REQUIRE(bars.size() == 210001);
  REQUIRE(equity.size() == bars.size());
  const std::size_t k = 9;
  REQUIRE(html.find("bucket")->as_int() == static_cast<std::int64_t>(k));
  const Value& series = *html.find("series");
  auto column = [&](const char* name) { return series.find(name)->as_array(); };
  const auto h = column("h"), l = column("l"), eh = column("eh"), el = column("el"), dd = column("dd");
  REQUIRE(h.size() == (bars.size() + k - 1) / k);
  auto cents = [](double v) { return std::round(v * 100) / 100; };
  std::size_t moved = 0;
  for (std::size_t b = 0; b < h.size(); ++b) {
    double hi = -HUGE_VAL, lo = HUGE_VAL, ehi = -HUGE_VAL, elo = HUGE_VAL, ddm = 0;
    for (std::size_t i = b * k; i < std::min(bars.size(), (b + 1) * k); ++i) {
      hi = std::max(hi, cell(bars[i][2]));  // time,open,high,low,close,volume
      lo = std::min(lo, cell(bars[i][3]));
      ehi = std::max(ehi, cell(equity[i][3]));  // time,cash,position_value,equity,drawdown
      elo = std::min(elo, cell(equity[i][3]));
      ddm = std::max(ddm, cell(equity[i][4]));
    }
    INFO("bucket " << b);
    CHECK(h[b].as_double() == hi);
    CHECK(l[b].as_double() == lo);
    CHECK(eh[b].as_double() == cents(ehi));
    CHECK(el[b].as_double() == cents(elo));
    CHECK(dd[b].as_double() == std::round(ddm * 1e6) / 1e6);
    moved += ehi != elo;
  }
  CHECK(moved > 1000);  // the equity moves inside many buckets
}

TEST_CASE("report.html shows the numbers of report.json and trades.csv", "[report][backtest]") {
  TempDir dir;
  // A plain run: backtrader's SMA cross rules on NVDA.
  CliRun r = run_cli(dir, "backtest -q --strategy strategies/sma_cross.lua --data " + kNvda +
                              " --cash 100000 --commission 0.001 --param stake=1000 --out " + dir.file("plain"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  check_report(dir.file("plain"));
  const Value plain = parse(read_file(dir.file("plain/report.json")), "report.json");
  const Value& pa = *plain.find("activity");
  // 73 round trips: 146 market orders, each accepted then filled.
  REQUIRE(pa.find("orders")->as_array().size() == 146);
  for (const Value& o : pa.find("orders")->as_array()) {
    CHECK(o.find("status")->as_string() == "filled");
    const auto& steps = o.find("steps")->as_array();
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].as_array()[1].as_string() == "accepted");
    CHECK(steps[1].as_array()[1].as_string() == "filled");
  }

  // Brackets, trailing stops, expiring stop entries, a risk engine with
  // StormGuard and a kill switch: every kind of row.
  write_file(dir.file("risk.toml"), R"([execution]
fill = "ohlc"
tick_size = 0.01

[risk]
kill_switch_at = "2011-01-03"
[risk.stormguard]
enabled = true
warm = 0.02
storm = 0.04
halt = 0.08
cooldown_bars = 10
)");
  r = run_cli(dir, "backtest -q --strategy strategies/bracket_trend.lua --data " + kNvda + " --config " +
                       dir.file("risk.toml") + " --cash 100000 --min-notional 2000 --out " + dir.file("risk"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  check_report(dir.file("risk"));
  const Value risky = parse(read_file(dir.file("risk/report.json")), "report.json");
  const Value& ra = *risky.find("activity");
  std::map<std::string, int> status, kinds;
  for (const Value& o : ra.find("orders")->as_array()) ++status[o.find("status")->as_string()];
  for (const Value& e : ra.find("risk_events")->as_array()) ++kinds[e.find("kind")->as_string()];
  CHECK(status["filled"] > 0);
  CHECK(status["cancelled"] > 0);  // OCO legs and expired-by-bars entries
  CHECK(kinds["stormguard"] > 0);
  CHECK(kinds["kill_switch"] == 1);
  CHECK(kinds["denied"] > 0);  // entries after the kill switch

  // A strategy that raises on its 300th bar: the fatal error is listed.
  write_file(dir.file("boom.lua"), R"LUA(params = { stake = 100 }
local n = 0
function detect_opportunity(bar, ctx, ind)
  n = n + 1
  if n == 300 then error("boom on bar " .. n) end
  if ind.crossover("sma(5)", "sma(20)") == 1 then return { reason = "up" } end
end
function filter_commitment(bar, ctx, ind) return enter_long { qty = params.stake, reason = "go" } end
function manage_position(bar, ctx, ind)
  if ind.crossover("sma(5)", "sma(20)") == -1 then return exit_position("down") end
end
)LUA");
  r = run_cli(dir, "backtest -q --strategy " + dir.file("boom.lua") + " --data " + kNvda + " --out " + dir.file("boom"));
  CHECK(r.code == 1);
  check_report(dir.file("boom"));
  const Value boom = parse(read_file(dir.file("boom/report.json")), "report.json");
  const auto& errors = boom.find("activity")->find("strategy_errors")->as_array();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("fatal")->as_bool());
  CHECK(errors[0].find("callback")->as_string() == "detect_opportunity");
  CHECK(errors[0].find("message")->as_string().find("boom on bar 300") != std::string::npos);
}
