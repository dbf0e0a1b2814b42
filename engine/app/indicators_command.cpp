#include <fmt/core.h>

#include <cstdio>
#include <memory>
#include <utility>
#include <vector>
#include <string>

#include "engine/app/command.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/script/frame_bar.hpp"
#include "engine/script/strategy_host.hpp"
#include "engine/ta/batch.hpp"
#include "engine/ta/listing.hpp"
#include "engine/ta/registry.hpp"
#include "engine/ta/spec.hpp"
#include "engine/core/time.hpp"

namespace te::app {
namespace {

struct IndicatorsOptions {
  bool list = false;
  std::string indicators_dir;  // Lua indicators; empty: ./indicators, else the built-in ones
  std::string data;
  std::string compute;
  std::string out;  // empty or "-": stdout
};

// A sandboxed VM holding the indicators written in Lua, as a strategy would see
// them: the files are loaded exactly as for a backtest (so a broken file fails
// here with the same message), behind a probe strategy that does nothing.
struct LuaIndicators {
  runner::SeriesHistory history;
  runner::RunnerIndicators indicators{history};
  std::unique_ptr<script::StrategyHost> host;
  std::vector<script::LuaIndicatorInfo> infos;

  explicit LuaIndicators(model::BarSeries bars) : history(std::move(bars)) {}
};

Result<std::unique_ptr<LuaIndicators>> load_lua_indicators(const std::string& dir, model::BarSeries bars = {}) {
  auto files = script::find_indicator_files(dir);
  if (!files) return std::move(files).error();
  script::HostOptions ho;
  ho.symbol = bars.symbol().empty() ? "INDICATORS" : bars.symbol();
  auto lua = std::make_unique<LuaIndicators>(std::move(bars));
  ho.indicator_files = std::move(*files);
  ho.limits = script::make_limits(script::RunMode::Backtest);
  auto probe = script::make_strategy_source("(indicators)",
                                            "function detect_opportunity() end\n"
                                            "function filter_commitment() end\n"
                                            "function manage_position() end\n");
  if (!probe) return std::move(probe).error();
  auto host = script::StrategyHost::create(*probe, ho, lua->indicators, nullptr);
  if (!host) return std::move(host).error();
  lua->host = std::move(*host);
  lua->infos = lua->host->lua_indicators();
  return lua;
}

Result<std::vector<ta::ListingRow>> lua_listing_rows(const std::string& dir) {
  auto lua = load_lua_indicators(dir);
  if (!lua) return std::move(lua).error();
  std::vector<ta::ListingRow> rows;
  for (const auto& info : (*lua)->infos) {
    ta::ListingRow r;
    r.name = info.name;
    r.params = info.params.empty() ? "-" : info.params;
    r.outputs = info.outputs;
    r.warmup = info.warmup.empty() ? "?" : info.warmup;
    r.summary = info.summary + " [" + info.path + "]";
    rows.push_back(std::move(r));
  }
  return rows;
}

// A Lua indicator described as a ta::IndicatorInfo, so that its specs parse,
// validate and name their columns exactly like native ones. The views point
// into `lua`; entries live behind unique_ptr and never move.
struct LuaSpecInfo {
  script::LuaIndicatorInfo lua;
  std::vector<ta::ParamInfo> params;
  std::vector<std::string_view> outputs;
  ta::IndicatorInfo info{};
};

int no_lookback(const double*) noexcept { return 0; }
std::string_view no_check(const double*) noexcept { return {}; }

std::unique_ptr<LuaSpecInfo> describe_lua(const script::LuaIndicatorInfo& lua) {
  auto d = std::make_unique<LuaSpecInfo>();
  d->lua = lua;
  for (const auto& p : d->lua.param_list)
    d->params.push_back(ta::ParamInfo{p.name, p.default_value, p.min, p.max, p.integer, false, ""});
  for (const auto& o : d->lua.output_list) d->outputs.emplace_back(o);
  d->info.name = d->lua.name;
  d->info.summary = d->lua.summary;
  d->info.params = d->params;
  d->info.outputs = d->outputs;
  d->info.takes_source = d->lua.takes_source;
  d->info.default_source = ta::parse_source(d->lua.default_source).value_or(ta::Source::close);
  d->info.warmup = d->lua.warmup;
  d->info.lookback = &no_lookback;
  d->info.check = &no_check;
  d->info.make = nullptr;
  return d;
}

// The --compute list split into native specs and Lua ones (validated against
// the Lua definitions); `lua` is loaded only when a name is not native.
struct ComputePlan {
  std::vector<ta::ColumnGroup> groups;
  std::vector<std::unique_ptr<LuaSpecInfo>> lua_infos;                          // per Lua group
  std::vector<std::pair<ta::IndicatorSpec, const LuaSpecInfo*>> lua_specs;      // in list order
};

Result<ComputePlan> plan_compute(const std::string& list, const std::string& dir,
                                 std::unique_ptr<LuaIndicators>& lua) {
  auto items = ta::split_spec_list(list);
  if (!items) return std::move(items).error();
  ComputePlan plan;
  std::vector<std::unique_ptr<LuaSpecInfo>> described;
  // The same indicator twice would write two columns with one name.
  std::vector<std::pair<std::string, std::string>> keys;  // canonical key, as written
  auto once = [&](const std::string& key, const std::string& item) -> Status {
    for (const auto& [k, first] : keys)
      if (k == key)
        return make_error(Errc::invalid_argument,
                          "--compute lists the same indicator twice: " + first + " and " + item + " (remove one)");
    keys.emplace_back(key, item);
    return {};
  };
  for (const std::string& item : *items) {
    const std::string name = ta::spec_name(item);
    if (ta::find_indicator(name) != nullptr || name.empty()) {
      auto spec = ta::parse_spec(item);
      if (!spec) return std::move(spec).error();
      TE_TRY(once(ta::spec_key(*spec), item));
      plan.groups.push_back(ta::ColumnGroup{std::move(*spec), {}});
      continue;
    }
    if (!lua) {
      auto loaded = load_lua_indicators(dir);
      if (!loaded) return make_error(Errc::invalid_argument, "indicators written in Lua: " + loaded.error().message);
      lua = std::move(*loaded);
      for (const auto& info : lua->infos) described.push_back(describe_lua(info));
    }
    const LuaSpecInfo* found = nullptr;
    for (const auto& d : described)
      if (d->lua.name == name) found = d.get();
    if (!found) {
      std::string names;
      for (const auto& d : described) names += (names.empty() ? "" : ", ") + d->lua.name;
      auto native = ta::parse_spec(item);  // its message lists the native names
      return make_error(Errc::invalid_argument,
                        native.error().message + "; written in Lua (" + (dir.empty() ? "indicators/" : dir) +
                            "): " + (names.empty() ? "none" : names));
    }
    auto spec = ta::parse_spec_as(item, found->info);
    if (!spec) return std::move(spec).error();
    TE_TRY(once(ta::spec_key(*spec, found->info), item));
    plan.groups.push_back(ta::ColumnGroup{std::nullopt, ta::output_columns(*spec, found->info)});
    plan.lua_specs.emplace_back(std::move(*spec), found);
  }
  plan.lua_infos = std::move(described);
  return plan;
}

// The Lua columns of `plan`, registered in a VM that walks `bars`.
Result<ta::ExternalColumns> lua_columns(const ComputePlan& plan, const std::string& dir, const model::BarSeries& bars,
                                        std::unique_ptr<LuaIndicators>& lua) {
  auto loaded = load_lua_indicators(dir, bars);  // a fresh VM whose history is this data
  if (!loaded) return std::move(loaded).error();
  lua = std::move(*loaded);
  for (const auto& [spec, d] : plan.lua_specs) {
    const std::string source = d->info.takes_source ? std::string(ta::source_name(spec.source)) : std::string();
    auto n = lua->host->add_indicator_column(d->lua.name, spec.params, source, spec.timeframe.to_string());
    if (!n) return std::move(n).error();
  }
  LuaIndicators* l = lua.get();
  return ta::ExternalColumns([l](std::size_t index, const model::Bar& bar, std::vector<double>& out) -> Status {
    l->history.push(bar);
    l->indicators.update(bar);
    te_frame& f = l->host->frame();
    script::copy_bar(bar, f.bar);
    f.bar_index = static_cast<double>(index);
    return l->host->read_indicator_columns(out);
  });
}

int run_indicators(const IndicatorsOptions& o, const BarLoader& load_bars) {
  if (o.list) {
    auto rows = ta::native_listing_rows();
    auto lua_rows = lua_listing_rows(o.indicators_dir);
    if (!lua_rows) {
      fmt::print(stderr, "indicators --list: Lua indicators: {}\n", lua_rows.error().message);
      return 1;
    }
    rows.insert(rows.end(), lua_rows->begin(), lua_rows->end());
    fmt::print("{}", ta::format_listing(rows));
    return 0;
  }
  if (o.data.empty() || o.compute.empty()) {
    fmt::print(stderr, "indicators: give --list, or --data FILE with --compute \"sma(20),rsi(14),...\"\n");
    return 2;
  }
  // Validate the list before reading a possibly large file.
  std::unique_ptr<LuaIndicators> lua;
  auto plan = plan_compute(o.compute, o.indicators_dir, lua);
  if (!plan) {
    fmt::print(stderr, "indicators --compute: {}\n", plan.error().message);
    return 1;
  }
  if (!load_bars) {
    fmt::print(stderr, "indicators --data {}: no bar loader was given to this command (an embedding error: cli.cpp passes engine/data's)\n", o.data);
    return 1;
  }
  auto bars = load_bars(o.data);
  if (!bars) {
    fmt::print(stderr, "indicators: {}\n", bars.error().message);
    return 1;
  }
  const std::int64_t spacing = model::smallest_gap_ns(*bars);
  std::vector<const ta::IndicatorSpec*> specs;
  for (const auto& g : plan->groups)
    if (g.native) specs.push_back(&*g.native);
  for (const auto& [spec, info] : plan->lua_specs) specs.push_back(&spec);
  for (const ta::IndicatorSpec* spec : specs)
    if (auto st = ta::check_not_finer(spec->timeframe, spacing); !st) {
      fmt::print(stderr, "indicators --compute: {} on {}: {}\n", spec->name, spec->timeframe.to_string(), st.error().message);
      return 1;
    }
  ta::ExternalColumns external;
  if (!plan->lua_specs.empty()) {
    auto cols = lua_columns(*plan, o.indicators_dir, *bars, lua);
    if (!cols) {
      fmt::print(stderr, "indicators --compute: {}\n", cols.error().message);
      return 1;
    }
    external = std::move(*cols);
  }
  const bool to_stdout = o.out.empty() || o.out == "-";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(to_stdout ? nullptr : std::fopen(o.out.c_str(), "wb"), &std::fclose);
  if (!to_stdout && !file) {
    fmt::print(stderr, "indicators --out {}: cannot open for writing\n", o.out);
    return 1;
  }
  std::FILE* sink_file = to_stdout ? stdout : file.get();
  const Status st = ta::write_indicators_csv(*bars, plan->groups, external, [sink_file](std::string_view chunk) {
    return std::fwrite(chunk.data(), 1, chunk.size(), sink_file) == chunk.size();
  });
  if (!st) {
    fmt::print(stderr, "indicators{}: {}\n", to_stdout ? "" : " --out " + o.out, st.error().message);
    return 1;
  }
  if (!to_stdout) {
    std::FILE* f = file.release();
    if (std::fclose(f) != 0) {
      fmt::print(stderr, "indicators --out {}: write failed\n", o.out);
      return 1;
    }
  }
  return 0;
}

}  // namespace

void register_indicators(CLI::App& app, CommandContext& ctx, BarLoader load_bars) {
  auto opts = std::make_shared<IndicatorsOptions>();
  auto* cmd = app.add_subcommand("indicators", "List the indicators (native and Lua), or compute indicator columns over a data file");
  cmd->add_flag("--list", opts->list,
                "Print every indicator (native and written in Lua) with its parameters, outputs and warm-up");
  cmd->add_option("--indicators-dir", opts->indicators_dir,
                  "Folder of indicators written in Lua for --list and --compute (default: ./indicators, else the "
                  "built-in ones)");
  cmd->add_option("--data", opts->data, "Bar data file (CSV)");
  cmd->add_option("--compute", opts->compute,
                  "Comma-separated specs, native or written in Lua, e.g. \"sma(20),rsi(14)@1w,macd(12,26,9),hma(10)\"");
  cmd->add_option("--out", opts->out, "Output CSV (default: standard output)");
  cmd->callback([&ctx, opts, load = std::move(load_bars)] { ctx.exit_code = run_indicators(*opts, load); });
}

}  // namespace te::app
