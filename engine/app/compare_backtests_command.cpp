// `compare-backtests DIR1 DIR2 ...`: key metrics of backtest outputs side by side
// on stdout, and an HTML page with their equity curves and drawdowns overlaid.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/backtest/report_html.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/core/value_json.hpp"

namespace te::app {
namespace {

struct CompareArgs {
  std::vector<std::string> dirs;
  std::vector<std::string> names;
  std::string out = "comparison.html";
  bool quiet = false;
};

struct Run {
  std::string name, dir;
  Value report;
  std::vector<std::int64_t> ts;
  std::vector<double> equity, drawdown;
};

enum class Fmt { Pct, Num, Int, Money, Text, Days };
struct Key {
  const char* key;
  const char* label;
  Fmt fmt;
};
constexpr Key kKeys[] = {
    {"total_return", "Total return", Fmt::Pct},        {"annualized_return", "Annualized return", Fmt::Pct},
    {"volatility", "Volatility", Fmt::Pct},            {"sharpe", "Sharpe", Fmt::Num},
    {"sortino", "Sortino", Fmt::Num},                  {"calmar", "Calmar", Fmt::Num},
    {"probabilistic_sharpe", "Probabilistic Sharpe", Fmt::Pct},
    {"max_drawdown", "Max drawdown", Fmt::Pct},        {"max_drawdown_duration_days", "Max DD duration (days)", Fmt::Days},
    {"recovery_factor", "Recovery factor", Fmt::Num},  {"trades", "Trades", Fmt::Int},
    {"win_rate", "Win rate", Fmt::Pct},                {"profit_factor", "Profit factor", Fmt::Num},
    {"expectancy", "Expectancy / trade", Fmt::Money},  {"avg_bars_held", "Avg bars held", Fmt::Days},
    {"exposure", "Exposure", Fmt::Pct},                {"commission_paid", "Commission", Fmt::Money},
    {"final_equity", "Final equity", Fmt::Money},      {"bars", "Bars", Fmt::Int},
    {"start", "Start", Fmt::Text},                     {"end", "End", Fmt::Text},
    {"symbol", "Symbol", Fmt::Text},                   {"strategy", "Strategy", Fmt::Text},
};

std::string cell(const Value& report, const Key& k) {
  const Value* v = report.find(k.key);
  if (!v || v->is_nil()) return "n/a";
  if (k.fmt == Fmt::Text) return v->is_string() ? v->as_string() : "n/a";
  if (!v->is_number()) return "n/a";
  const double d = v->as_double();
  switch (k.fmt) {
    case Fmt::Pct: return fmt::format("{:.2f} %", d * 100);
    case Fmt::Num: return fmt::format("{:.3f}", d);
    case Fmt::Int: return fmt::format("{:.0f}", d);
    case Fmt::Money: return fmt::format("{:.2f}", d);
    case Fmt::Days: return fmt::format("{:.1f}", d);
    case Fmt::Text: break;
  }
  return "n/a";
}

Status load_run(Run& r) {
  std::ifstream rj(r.dir + "/report.json", std::ios::binary);
  if (!rj) return make_error(Errc::io, r.dir + "/report.json: cannot be read (is it a backtest output directory?)");
  std::ostringstream ss;
  ss << rj.rdbuf();
  auto v = parse_json(ss.str());
  if (!v) return make_error(Errc::parse, r.dir + "/report.json: " + v.error().message);
  r.report = std::move(*v);
  std::ifstream eq(r.dir + "/equity.csv", std::ios::binary);
  if (!eq) return make_error(Errc::io, r.dir + "/equity.csv: cannot be read");
  std::string line;
  std::getline(eq, line);
  if (line != "time,cash,position_value,equity,drawdown")
    return make_error(Errc::parse, r.dir + "/equity.csv:1: expected the header time,cash,position_value,equity,drawdown");
  std::size_t n = 1;
  while (std::getline(eq, line)) {
    ++n;
    std::string_view l = line;
    std::string_view f[5];
    for (int k = 0; k < 5; ++k) {
      const auto c = l.find(',');
      f[k] = l.substr(0, c);
      l = c == std::string_view::npos ? std::string_view() : l.substr(c + 1);
    }
    const auto t = parse_iso8601_ns(f[0]);
    double e = 0, d = 0;
    if (!t || !parse_double(f[3], e) || !parse_double(f[4], d))
      return make_error(Errc::parse, fmt::format("{}/equity.csv:{}: bad row", r.dir, n));
    r.ts.push_back(*t);
    r.equity.push_back(e);
    r.drawdown.push_back(d);
  }
  return {};
}

int run_compare(const CompareArgs& a) {
  if (a.dirs.size() < 1) return print_error("compare-backtests needs at least one backtest output directory"), 1;
  if (!a.names.empty() && a.names.size() != a.dirs.size())
    return print_error(fmt::format("--name is given {} times for {} directories", a.names.size(), a.dirs.size())), 1;
  std::vector<Run> runs(a.dirs.size());
  for (std::size_t i = 0; i < a.dirs.size(); ++i) {
    runs[i].dir = a.dirs[i];
    std::string name = std::filesystem::path(a.dirs[i]).filename().string();
    if (name.empty()) name = std::filesystem::path(a.dirs[i]).parent_path().filename().string();
    runs[i].name = a.names.empty() ? name : a.names[i];
    if (auto st = load_run(runs[i]); !st) return print_error(st.error().message), 1;
  }
  for (std::size_t i = 0; i < runs.size(); ++i)  // equal names: fall back to the path
    for (std::size_t k = 0; k < runs.size(); ++k)
      if (i != k && runs[i].name == runs[k].name && a.names.empty()) runs[i].name = runs[i].dir;

  if (!a.quiet) {
    std::size_t w = 10;
    for (const auto& r : runs) w = std::max(w, std::min<std::size_t>(r.name.size(), 28));
    std::string head = fmt::format("{:<24}", "");
    for (const auto& r : runs) head += fmt::format("  {:>{}}", r.name.substr(0, 28), w);
    std::puts(head.c_str());
    for (const Key& k : kKeys) {
      std::string row = fmt::format("{:<24}", k.label);
      for (const auto& r : runs) row += fmt::format("  {:>{}}", cell(r.report, k), w);
      std::puts(row.c_str());
    }
  }

  JsonWriter j(0);
  j.begin_object();
  j.field("kind", "compare");
  bool date_only = true;
  for (const auto& r : runs)
    for (const std::int64_t t : r.ts)
      if (t % kNsPerDay != 0) {
        date_only = false;
        break;
      }
  j.field("date_only", date_only);
  j.key("keys").begin_array();
  for (const Key& k : kKeys) j.value(k.label);
  j.end_array();
  j.key("runs").begin_array();
  for (const auto& r : runs) {
    j.begin_object();
    j.field("name", r.name);
    j.key("text").begin_array();
    for (const Key& k : kKeys) j.value(cell(r.report, k));
    j.end_array();
    const double initial = r.report.find("initial_cash") && r.report.find("initial_cash")->is_number()
                               ? r.report.find("initial_cash")->as_double()
                               : (r.equity.empty() ? 1.0 : r.equity[0]);
    std::vector<double> growth(r.equity.size());
    for (std::size_t i = 0; i < r.equity.size(); ++i) growth[i] = initial > 0 ? r.equity[i] / initial : 0;
    const std::size_t k = std::max<std::size_t>(1, (r.ts.size() + 1999) / 2000);
    j.key("t").begin_array();
    for (std::size_t i = 0; i < r.ts.size(); i += k) j.value(static_cast<double>(r.ts[i] / kNsPerMs));
    j.end_array();
    j.key("v").begin_array();
    for (std::size_t i = 0; i < r.ts.size(); i += k) j.value(std::round(growth[std::min(r.ts.size(), i + k) - 1] * 1e6) / 1e6);
    j.end_array();
    j.key("dd").begin_array();
    for (std::size_t i = 0; i < r.ts.size(); i += k) {
      double worst = 0;
      for (std::size_t x = i; x < std::min(r.ts.size(), i + k); ++x) worst = std::max(worst, r.drawdown[x]);
      j.value(std::round(worst * 1e6) / 1e6);
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  std::string subtitle;
  for (const auto& r : runs) subtitle += (subtitle.empty() ? "" : "  vs  ") + r.dir;
  const std::string html = backtest::html_page("Backtest comparison", subtitle, j.str());
  const auto parent = std::filesystem::path(a.out).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
  out << html;
  out.close();
  if (!out) return print_error("write " + a.out), 1;
  if (!a.quiet) std::printf("comparison written to %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void register_compare_backtests(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare-backtests", "Compare backtest outputs: metrics side by side, equity curves overlaid");
  cmd->footer(
      "Reads report.json and equity.csv of each backtest output directory, prints the key metrics side by side\n"
      "and writes an HTML page with the equity curves (as growth of 1) and drawdowns overlaid.\n\n"
      "Example:\n"
      "  trading-engine compare-backtests out/sma out/ema --out out/sma-vs-ema.html");
  cmd->add_option("dirs", a->dirs, "Backtest output directories")->required();
  cmd->add_option("--name", a->names, "Display name of each directory, in order (repeatable)");
  cmd->add_option("--out", a->out, "HTML file to write")->capture_default_str();
  cmd->add_flag("-q,--quiet", a->quiet, "Print nothing on success");
  cmd->callback([a, &ctx] { ctx.exit_code = run_compare(*a); });
}

}  // namespace te::app
