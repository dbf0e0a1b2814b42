#include <set>

#include <fmt/core.h>

#include "engine/config/sections.hpp"
#include "engine/core/labels.hpp"

namespace te::config::detail {

void read_data_source(TableReader& t, DataSourceSection& out) {
  t.read_choice("type", out.type, {"live", "historical", "simulated"});
  t.read("source", out.source);
  t.read("interval", out.interval);
  t.read("path", out.path);
  t.read("simulate_realtime", out.simulate_realtime);
  t.read("speed", out.speed, 1e-3, 1e6);
  t.read("seed", out.seed);
  t.read("volatility", out.volatility, 0, 100);
  t.read("start_price", out.start_price, 1e-12, 1e15);
  t.read("bars_per_second", out.bars_per_second, 0, 1e6);
  t.read("bars", out.bars);
  t.read("start", out.start);
  if (!t.has("type")) t.problem("type", "missing: live, historical or simulated");
  if (out.type == "historical" && out.path.empty()) t.problem("path", "a historical data source needs a data file path");
  if (out.type == "live" && out.source != "binance")
    t.problem("source", "live data comes from binance, was \"" + out.source + "\"");
  // Keys that mean nothing for the chosen type are mistakes, not no-ops.
  struct Applies {
    const char* key;
    const char* type;
  };
  static constexpr Applies only[] = {{"source", "live"},          {"path", "historical"},
                                     {"simulate_realtime", "historical"}, {"speed", "historical"},
                                     {"seed", "simulated"},       {"volatility", "simulated"},
                                     {"start_price", "simulated"}, {"bars_per_second", "simulated"},
                                     {"bars", "simulated"},       {"start", "simulated"}};
  if (!out.type.empty())
    for (const auto& a : only)
      if (t.has(a.key) && out.type != a.type)
        t.problem(a.key, fmt::format("applies only to type = \"{}\" data sources, this one is \"{}\"", a.type, out.type));
  if (out.type == "historical" && t.has("speed") && !out.simulate_realtime)
    t.problem("speed", "speed paces a real-time replay: set simulate_realtime = true, or remove speed to replay "
                       "immediately");
}

namespace {

// A runner's data source and execution must make sense together.
void check_runner(TableReader& t, const RunnerSection& r) {
  if (r.symbol.empty()) {
    t.problem("symbol", "missing: the instrument this runner trades");
  } else if (auto why = symbol_problem(r.symbol)) {
    t.problem("symbol", *why);
  }
  if (r.strategy.empty()) {
    t.problem("strategy", "missing: path of the strategy's .lua file");
  } else if (auto why = name_problem(r.strategy)) {
    t.problem("strategy", "the path " + *why);  // it is printed, and names the runner by default
  }
  if (r.execution.type == "paper" && r.data_source.type != "live" && !r.data_source.type.empty())
    t.problem("execution.type",
              "paper execution needs live data (it simulates fills on a live feed); " + r.data_source.type +
                  " data runs with execution.type = \"simulated\"");
  if (r.execution.type == "simulated" && r.execution.type_given && r.data_source.type == "live")
    t.problem("execution.type",
              "live data trades with execution.type = \"paper\" (simulated fills on the live feed); live order "
              "execution is not available");
}

void read_runner_body(TableReader& t, const Config& cfg, RunnerSection& r) {
  r.execution = cfg.execution;
  t.read("name", r.name);
  // Names head the status table and log lines, and name report folders.
  if (t.has("name"))
    if (auto why = name_problem(r.name)) t.problem("name", *why);
  t.read("strategy", r.strategy);
  t.read_params("params", r.params, &r.param_at);
  t.read("closewatch_timeout_bars", r.closewatch_timeout_bars, 0, 1'000'000'000);
  t.table("data_source", [&](TableReader& d) { read_data_source(d, r.data_source); });
  if (!t.has("data_source")) t.problem("data_source", "missing: [runners.data_source] with a type");
  t.table("execution", [&](TableReader& e) { read_execution(e, r.execution); });
  // Live data without an explicit execution type trades on paper.
  if (!r.execution.type_given && r.data_source.type == "live") r.execution.type = "paper";
  r.risk = cfg.risk.strategy;
  t.table("risk", [&](TableReader& e) { read_strategy_risk(e, r.risk); });
}

}  // namespace

void read_runners(TableReader& root, Config& cfg) {
  root.tables("runners", [&](TableReader& t, std::size_t) {
    RunnerSection r;
    r.key_path = t.path();
    t.read("symbol", r.symbol);
    read_runner_body(t, cfg, r);
    check_runner(t, r);
    cfg.runners.push_back(std::move(r));
  });
  // [[strategies]]: one definition, one runner per symbol.
  root.tables("strategies", [&](TableReader& t, std::size_t) {
    std::vector<std::string> symbols;
    t.read_strings("symbols", symbols);
    if (symbols.empty()) t.problem("symbols", "missing or empty: the symbols this strategy trades");
    RunnerSection proto;
    proto.key_path = t.path();
    read_runner_body(t, cfg, proto);
    if (proto.strategy.empty()) {
      t.read("script", proto.strategy);
    } else if (t.has("script")) {
      t.problem("script", "give either script or strategy, not both");
    }
    std::string name = proto.name;
    for (const auto& s : symbols) {
      RunnerSection r = proto;
      r.symbol = s;
      r.name = name.empty() ? "" : name + ":" + s;
      check_runner(t, r);
      cfg.runners.push_back(std::move(r));
    }
  });
  std::set<std::string> names;
  for (auto& r : cfg.runners) {
    if (r.name.empty()) r.name = r.strategy + ":" + r.symbol;
    if (!names.insert(r.name).second)
      root.problem("runners", fmt::format("two runners are named \"{}\"; give them distinct names", printable(r.name)));
  }
}

}  // namespace te::config::detail
