#include "engine/app/strategy_validation.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <optional>
#include <set>

#include <fmt/core.h>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/runner/bar_history.hpp"
#include "engine/runner/runner_indicators.hpp"
#include "engine/runner/state_machine.hpp"
#include "engine/script/static_scan.hpp"

namespace te::app {

std::string ValidationProblem::text() const {
  if (line > 0) return fmt::format("{}:{}: {}", file, line, message);
  return fmt::format("{}: {}", file, message);
}

std::size_t ValidationReport::errors() const {
  return static_cast<std::size_t>(std::count_if(problems.begin(), problems.end(), [](const auto& p) { return !p.warning; }));
}
std::size_t ValidationReport::warnings() const { return problems.size() - errors(); }
bool ValidationReport::ok(bool strict) const { return errors() == 0 && (!strict || warnings() == 0); }

namespace {

// Lines of the generated data per series: a calm drift, a strong up-trend and a
// volatile down-trend, so that trend, reversal and breakout rules all fire.
struct Shape {
  const char* name;
  double drift, volatility;
};
constexpr Shape kShapes[] = {{"drift", 0.05, 0.25}, {"up-trend", 1.5, 0.35}, {"volatile down-trend", -1.2, 0.8}};

// "path:12: message" -> file, line, message (the message keeps the location
// prefix off). Text that does not start with the path keeps line 0.
ValidationProblem located(const std::string& text, const std::string& path, std::string check) {
  ValidationProblem p;
  p.file = path;
  p.check = std::move(check);
  p.message = text;
  if (text.rfind(path, 0) == 0 && text.size() > path.size() && text[path.size()] == ':') {
    std::size_t i = path.size() + 1;
    int line = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && line < 100'000'000) line = line * 10 + (text[i++] - '0');
    if (i < text.size() && text[i] == ':' && line > 0) {
      p.line = line;
      p.message = text.substr(i + 1);
    } else {
      p.message = text.substr(path.size() + 1);
    }
    while (!p.message.empty() && p.message[0] == ' ') p.message.erase(0, 1);
  }
  return p;
}

// A load error may list several problems ("missing callback a; b must be a
// function"): one problem each.
std::vector<ValidationProblem> load_problems(const std::string& text, const std::string& path) {
  std::vector<ValidationProblem> out;
  ValidationProblem first = located(text, path, "load");
  if (first.line == 0 && first.message.find("; ") != std::string::npos) {
    std::size_t pos = 0;
    const std::string& m = first.message;
    while (pos <= m.size()) {
      std::size_t end = m.find("; ", pos);
      if (end == std::string::npos) end = m.size();
      ValidationProblem p = first;
      p.message = m.substr(pos, end - pos);
      p.check = p.message.find("callback") != std::string::npos || p.message.find("must be a function") != std::string::npos
                    ? "callbacks"
                    : "load";
      out.push_back(std::move(p));
      pos = end + 2;
    }
    return out;
  }
  if (first.message.find("missing callback") != std::string::npos ||
      first.message.find("must be a function") != std::string::npos)
    first.check = "callbacks";
  else if (first.message.find("--param") != std::string::npos || first.message.find("params") != std::string::npos)
    first.check = "params";
  out.push_back(std::move(first));
  return out;
}

const char* action_name(int kind) {
  static const char* const names[] = {"none", "setup", "abandon", "enter_long", "enter_short", "exit", "adjust",
                                      "cancel_entry"};
  return kind >= 0 && kind < 8 ? names[kind] : "?";
}

std::string describe_action(script::Callback cb, int kind, const te_action& a, std::string_view reason) {
  std::string s = fmt::format("{}: {}", script::to_string(cb), action_name(kind));
  auto field = [&](const char* name, double v) {
    if (v == v) s += fmt::format(" {}={}", name, format_double(v));
  };
  field("qty", a.qty);
  field("fraction", a.fraction);
  field("risk", a.risk);
  field("limit", a.limit);
  field("stop_entry", a.stop_trigger);
  field("stop", a.stop);
  field("target", a.target);
  field("trail", a.trail);
  field("trail_pct", a.trail_pct);
  field("bars", a.tif_bars);
  field("breakeven", a.breakeven);
  field("max_bars", a.max_bars);
  if (a.order_type) s += fmt::format(" order_type={}", a.order_type);
  if (a.tif) s += fmt::format(" tif={}", a.tif);
  if (a.flags) s += fmt::format(" flags={}", a.flags);
  if (!reason.empty()) s += fmt::format(" reason=\"{}\"", reason);
  return s;
}

// Records decisions (and, for the dry run, coverage and a hot-reload probe).
class DecisionRecorder final : public runner::RunnerObserver {
 public:
  DecisionLog log;
  std::size_t bar = 0;  // index of the bar being handled
  bool started = false;

  // Hot-reload probe: at the end of bar `reload_at`, ask the runner to reload
  // `reload_source` (applied at the next bar boundary, as under `run`).
  std::size_t reload_at = static_cast<std::size_t>(-1);
  const script::StrategySource* reload_source = nullptr;
  std::optional<runner::ReloadInfo> reload;
  bool on_reload_defined = false;

  std::vector<std::string> indicators;
  std::vector<std::string> callbacks;
  std::vector<script::ParamInfo> params;
  std::int64_t fills = 0, rejections = 0;

  void on_started(runner::SymbolRunner& r, bool) override {
    started = true;
    callbacks = r.host().callbacks();
    params = r.host().params();
  }
  void on_bar(const runner::SymbolRunner&, const model::Bar&) override {}
  void on_action(const runner::SymbolRunner&, script::Callback cb, int kind, const te_action& a,
                 std::string_view reason) override {
    log.emplace_back(bar, describe_action(cb, kind, a, reason));
  }
  void on_transition(const runner::SymbolRunner&, const runner::Transition& t) override {
    log.emplace_back(bar, fmt::format("{} -> {} ({})", runner::to_string(t.from), runner::to_string(t.to),
                                      runner::to_string(t.event)));
  }
  void on_fill(const runner::SymbolRunner&, const model::Fill&) override { ++fills; }
  void on_rejected(const runner::SymbolRunner&, const model::Rejection&) override { ++rejections; }
  void on_fault(const runner::SymbolRunner&, const script::StrategyError& e) override {
    log.emplace_back(bar, "fault: " + e.message);
  }
  void on_reload(runner::SymbolRunner&, const runner::ReloadInfo& info) override { reload = info; }
  void on_bar_end(runner::SymbolRunner& r, const model::Bar&) override {
    if (r.state() != runner::RunnerState::Faulted) {
      for (const auto& i : r.host().indicators_used())
        if (std::find(indicators.begin(), indicators.end(), i) == indicators.end()) indicators.push_back(i);
    }
    if (bar == reload_at && reload_source && r.state() != runner::RunnerState::Faulted) {
      on_reload_defined = r.host().defines("on_reload");
      r.request_reload(*reload_source);
    }
    ++bar;
  }
};

backtest::BacktestConfig dry_run_config(const ValidateOptions& o) {
  backtest::BacktestConfig cfg;
  cfg.params = o.overrides;
  cfg.initial_cash = 100000;
  cfg.exchange.commission.rate = 0.001;
  cfg.allow_short = true;
  cfg.close_at_end = true;  // the last exit's fill reaches on_fill too
  cfg.seed = o.seed;
  cfg.indicator_files = o.indicator_files;
  cfg.keep_transitions = false;
  cfg.keep_equity_curve = false;
  cfg.limits = o.limits;
  cfg.max_consecutive_errors = 1;  // every error is a finding
  return cfg;
}

Result<model::BarSeries> generated_series(std::size_t i, const ValidateOptions& o) {
  data::GeneratorOptions g;
  g.seed = o.seed + 1000 * (i + 1);
  g.interval_ns = kNsPerHour;
  const Shape& s = kShapes[i % std::size(kShapes)];
  g.drift = s.drift;
  g.volatility = s.volatility;
  g.quotes = true;
  g.mean_regime_bars = 400;
  return data::generate_bars(g, o.bars, "VALIDATE");
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// The names every strategy can read, and the forbidden ones with the reason,
// from a host built over an empty strategy (the environment does not depend
// on the strategy).
Result<script::StrategyHost::Environment> sandbox_environment(const ValidateOptions& o) {
  auto src = script::make_strategy_source("validate-environment.lua",
                                          "function detect_opportunity() end\n"
                                          "function filter_commitment() end\nfunction manage_position() end\n");
  if (!src) return std::move(src).error();
  runner::GrowingHistory history;
  runner::RunnerIndicators indicators(history);
  script::HostOptions ho;
  ho.limits = o.limits;
  ho.indicator_files = o.indicator_files;
  auto host = script::StrategyHost::create(*src, ho, indicators, nullptr);
  if (!host) return std::move(host).error();
  return (*host)->environment();
}

void check_globals(const std::vector<script::GlobalUse>& uses, const script::StrategyHost::Environment& env,
                   const std::string& path, ValidationReport& rep, std::size_t& flagged) {
  std::set<std::string> provided(env.names.begin(), env.names.end());
  provided.insert("params");  // the sandbox provides an empty one when the file declares none
  std::map<std::string, std::string> forbidden(env.forbidden.begin(), env.forbidden.end());
  std::set<std::string> declared;
  for (const auto& u : uses)
    if (u.write && u.top_level) declared.insert(u.name);
  const std::size_t first = rep.problems.size();
  std::set<std::pair<std::string, int>> seen;
  auto add = [&](const script::GlobalUse& u, std::string message, bool warning) {
    if (!seen.insert({u.name, u.line}).second) return;
    ValidationProblem p;
    p.file = path;
    p.line = u.line;
    p.check = "globals";
    p.message = std::move(message);
    p.warning = warning;
    rep.problems.push_back(std::move(p));
    ++flagged;
  };
  for (const auto& u : uses) {
    if (declared.count(u.name)) {
      if (u.write && !u.top_level && u.name != "params")
        add(u,
            fmt::format("global {} is changed inside a function: it is lost on a hot reload and shared by every "
                        "call; keep changing state in ctx (ctx.{} = ...)",
                        u.name, u.name),
            true);
      continue;
    }
    if (u.write) {
      if (!u.top_level)
        add(u,
            fmt::format("assignment to undeclared global \"{}\" inside a function (fails at run time); keep state in "
                        "ctx, use a local, or declare it at the top of the file",
                        u.name),
            false);
      continue;
    }
    if (auto f = forbidden.find(u.name); f != forbidden.end()) {
      add(u, fmt::format("{} is not available: {}", u.name, f->second), false);
      continue;
    }
    if (provided.count(u.name) == 0)
      add(u, fmt::format("undeclared global \"{}\" (misspelt? declare it at the top of the file, or use local)", u.name),
          false);
  }
  // Functions are listed innermost first: report in file order.
  std::stable_sort(rep.problems.begin() + static_cast<std::ptrdiff_t>(first), rep.problems.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
}

void check_params(const std::vector<script::ParamInfo>& params, bool declares_params, const std::string& path,
                  ValidationReport& rep) {
  if (!declares_params) {
    ValidationProblem p;
    p.file = path;
    p.check = "params";
    p.warning = true;
    p.message = "no params table: declare tunable values as params = { name = default, ... } so --param, configs "
                "and `optimize` can set them";
    rep.problems.push_back(std::move(p));
  }
  for (const auto& pi : params) {
    auto bad = [&](std::string message) {
      ValidationProblem p;
      p.file = path;
      p.check = "params";
      p.message = std::move(message);
      rep.problems.push_back(std::move(p));
    };
    if (!is_identifier(pi.name))
      bad(fmt::format("params key \"{}\" is not a plain name: --param and config files cannot set it", pi.name));
    if (pi.type == "number") {
      double v = 0;
      if (!parse_double(pi.value, v) || !std::isfinite(v))
        bad(fmt::format("params.{} is {}: defaults must be finite numbers", pi.name, pi.value));
    }
  }
}

}  // namespace

Result<DecisionLog> record_decisions(backtest::BacktestConfig config, const model::BarSeries& data,
                                     const script::StrategySource& strategy) {
  DecisionRecorder rec;
  config.observer = &rec;
  config.progress = {};
  auto r = backtest::run_backtest(config, data, strategy);
  if (!r) return std::move(r).error();
  return std::move(rec.log);
}

Result<LookaheadFinding> probe_lookahead(const model::BarSeries& data, const DecisionRunner& run,
                                         std::span<const std::size_t> cuts) {
  LookaheadFinding f;
  auto full = run(data);
  if (!full) return std::move(full).error();
  for (std::size_t cut : cuts) {
    if (cut == 0 || cut >= data.size()) continue;
    auto part = run(data.slice(0, cut));
    if (!part) return std::move(part).error();
    ++f.cuts_checked;
    // Decisions at bars < cut, in order, must be the same.
    auto end_full = std::find_if(full->begin(), full->end(), [&](const auto& d) { return d.first >= cut; });
    auto end_part = std::find_if(part->begin(), part->end(), [&](const auto& d) { return d.first >= cut; });
    const auto n_full = static_cast<std::size_t>(end_full - full->begin());
    const auto n_part = static_cast<std::size_t>(end_part - part->begin());
    for (std::size_t i = 0; i < std::max(n_full, n_part); ++i) {
      const bool has_f = i < n_full, has_p = i < n_part;
      if (has_f && has_p && (*full)[i] == (*part)[i]) {
        ++f.decisions_compared;
        continue;
      }
      f.ok = false;
      f.cut = cut;
      f.bar = std::min(has_f ? (*full)[i].first : cut, has_p ? (*part)[i].first : cut);
      f.full = has_f && (*full)[i].first == f.bar ? (*full)[i].second : "(nothing)";
      f.truncated = has_p && (*part)[i].first == f.bar ? (*part)[i].second : "(nothing)";
      return f;
    }
  }
  return f;
}

ValidationReport validate_strategy(const ValidateOptions& o) {
  ValidationReport rep;
  rep.path = o.path;
  auto row = [&](std::string check, std::string result, std::string detail) {
    rep.rows.push_back({std::move(check), std::move(result), std::move(detail)});
  };
  auto problems_of = [&](const char* check) {
    std::size_t e = 0, w = 0;
    for (const auto& p : rep.problems)
      if (p.check == check) (p.warning ? w : e)++;
    return std::pair{e, w};
  };
  auto status_of = [&](const char* check) -> std::string {
    auto [e, w] = problems_of(check);
    return e ? "FAILED" : w ? "warning" : "ok";
  };

  // 1. The file.
  auto source = script::read_strategy(o.path);
  if (!source) {
    ValidationProblem p;
    p.file = o.path;
    p.check = "file";
    p.message = source.error().message;
    if (p.message.rfind(o.path + ": ", 0) == 0) p.message.erase(0, o.path.size() + 2);
    rep.problems.push_back(std::move(p));
    row("file", "FAILED", "cannot be read");
    return rep;
  }
  rep.sha256 = source->sha256;

  // 2. Syntax and the static scan (compiled, never run).
  auto uses = script::scan_globals(*source);
  if (!uses) {
    auto p = located(uses.error().message, o.path, "syntax");
    rep.problems.push_back(std::move(p));
    row("syntax", "FAILED", "the file does not compile; nothing else can be checked");
    return rep;
  }
  row("syntax", "ok", fmt::format("compiles as Lua text ({} bytes, sha256 {})", source->code.size(),
                                  source->sha256.substr(0, 12)));
  auto env = sandbox_environment(o);
  if (!env) {
    ValidationProblem p;
    p.file = o.path;
    p.check = "globals";
    p.message = "internal error preparing the sandbox: " + env.error().message;
    rep.problems.push_back(std::move(p));
    return rep;
  }
  std::size_t flagged = 0;
  check_globals(*uses, *env, o.path, rep, flagged);
  {
    std::set<std::string> names;
    for (const auto& u : *uses) names.insert(u.name);
    auto [e, w] = problems_of("globals");
    row("globals", status_of("globals"),
        e + w ? fmt::format("{} problem{} in {} global uses", e + w, e + w == 1 ? "" : "s", uses->size())
              : fmt::format("{} names used, all declared or provided by the sandbox", names.size()));
  }
  const bool declares_params = std::any_of(uses->begin(), uses->end(),
                                           [](const auto& u) { return u.write && u.top_level && u.name == "params"; });

  // 3. Load in the sandbox + dry run over generated series. Runs:
  //    series (dry run) + 1 (lookahead full) + cuts.
  const std::size_t total_runs = o.series + 1 + o.lookahead_cuts;
  std::size_t runs_done = 0;
  auto progressed = [&] {
    ++runs_done;
    if (o.progress) o.progress(runs_done, total_runs);
  };
  const backtest::BacktestConfig base = dry_run_config(o);
  // The same code with a trailing comment: a new version as far as the runner
  // can tell (another SHA-256), with every line where it was.
  script::StrategySource reload_source = *source;
  if (auto s = script::make_strategy_source(source->path, source->code + "\n-- (validate: hot-reload probe)\n"))
    reload_source = std::move(*s);
  bool loaded = false;
  bool faulted = false;
  std::int64_t calls[3] = {0, 0, 0};
  std::int64_t fills = 0, rejections = 0, orders = 0;
  std::optional<runner::ReloadInfo> reload;
  bool on_reload_defined = false;
  std::size_t reload_bar = 0;
  std::size_t series_run = 0;
  std::vector<std::string> shapes_run;
  for (std::size_t i = 0; i < o.series && !faulted; ++i) {
    auto bars = generated_series(i, o);
    if (!bars) {
      ValidationProblem p;
      p.file = o.path;
      p.check = "dry run";
      p.message = "internal error generating bars: " + bars.error().message;
      rep.problems.push_back(std::move(p));
      break;
    }
    DecisionRecorder rec;
    if (i == 0) {
      rec.reload_at = bars->size() / 2;
      rec.reload_source = &reload_source;
      reload_bar = rec.reload_at;
    }
    backtest::BacktestConfig cfg = base;
    cfg.observer = &rec;
    auto result = backtest::run_backtest(cfg, *bars, *source);
    progressed();
    if (!result) {
      for (auto& p : load_problems(result.error().message, o.path)) rep.problems.push_back(std::move(p));
      break;
    }
    loaded = true;
    ++series_run;
    shapes_run.emplace_back(kShapes[i % std::size(kShapes)].name);
    if (i == 0) {
      rep.callbacks = rec.callbacks;
      rep.params = result->params;
      reload = rec.reload;
      on_reload_defined = rec.on_reload_defined;
    }
    for (const auto& ind : rec.indicators)
      if (std::find(rep.indicators.begin(), rep.indicators.end(), ind) == rep.indicators.end())
        rep.indicators.push_back(ind);
    for (int k = 0; k < 3; ++k) calls[k] += result->stats.callback_calls[k];
    fills += rec.fills;
    rejections += rec.rejections;
    orders += result->stats.orders;
    rep.bars_run += result->bars;
    rep.trades += result->trades.size();
    if (result->fault) {
      faulted = true;
      const auto& f = *result->fault;
      ValidationProblem p = located(f.message, o.path, "dry run");
      if (p.line == 0 && f.line > 0) p.line = f.line;
      const char* what = f.kind == script::ErrorKind::Timeout       ? "broke the CPU deadline"
                         : f.kind == script::ErrorKind::OutOfMemory ? "broke the memory budget"
                                                                    : "raised an error";
      p.message = fmt::format("{} ({} {} at bar {} of the {} series)", p.message, f.callback, what,
                              result->bars > 0 ? result->bars - 1 : 0, kShapes[i % std::size(kShapes)].name);
      p.detail = f.traceback;
      rep.problems.push_back(std::move(p));
    }
  }

  if (!loaded) {
    for (const char* c : {"callbacks", "params"})
      if (problems_of(c).first) row(c, "FAILED", "see the problems below");
    row("load", status_of("load") == "ok" ? "FAILED" : status_of("load"), "the strategy does not load in the sandbox");
    return rep;
  }
  row("load", "ok", "loads in the sandbox (strict globals, text only)");

  // Callbacks and params (the sandbox already refused malformed ones at load).
  {
    std::string list;
    for (const auto& c : rep.callbacks) list += (list.empty() ? "" : ", ") + c;
    row("callbacks", "ok", list);
  }
  check_params(rep.params, declares_params, o.path, rep);
  {
    std::string list;
    for (const auto& p : rep.params) list += fmt::format("{}{}={} ({})", list.empty() ? "" : ", ", p.name, p.value, p.type);
    row("params", status_of("params"), list.empty() ? "none" : list);
  }

  // Coverage of the dry run.
  const char* kCallbacks[] = {"detect_opportunity", "filter_commitment", "manage_position"};
  for (int k = 0; k < 3; ++k) rep.calls[kCallbacks[k]] = calls[k];
  auto defined = [&](std::string_view name) {
    return std::find(rep.callbacks.begin(), rep.callbacks.end(), name) != rep.callbacks.end();
  };
  if (defined("on_start")) rep.calls["on_start"] = static_cast<std::int64_t>(series_run);
  if (defined("on_fill")) rep.calls["on_fill"] = fills;
  if (defined("on_order_rejected")) rep.calls["on_order_rejected"] = rejections;
  if (defined("on_reload")) rep.calls["on_reload"] = reload && reload->ok ? 1 : 0;
  if (!faulted) {
    static const char* const why[] = {
        "", "detect_opportunity never returned a setup",
        "no entry was ever filled (filter_commitment never entered, or every entry was refused)"};
    for (int k = 1; k < 3; ++k) {
      if (calls[k] > 0) continue;
      ValidationProblem p;
      p.file = o.path;
      p.check = "dry run";
      p.warning = true;
      p.message = fmt::format("{} never ran in {} generated bars ({}): {}; that code is only checked statically",
                              kCallbacks[k], rep.bars_run, fmt::format("{} series", series_run), why[k]);
      rep.problems.push_back(std::move(p));
    }
  }
  {
    std::string shapes;
    for (const auto& s : shapes_run) shapes += (shapes.empty() ? "" : ", ") + s;
    row("dry run", status_of("dry run"),
        fmt::format("{} bars ({}): {} detect, {} filter, {} manage calls; {} orders, {} trades", rep.bars_run, shapes,
                    calls[0], calls[1], calls[2], orders, rep.trades));
  }

  // Hot reload (first series, mid-run).
  if (faulted && !reload) {
    row("hot reload", "skipped", "the dry run faulted first");
  } else if (!reload) {
    row("hot reload", "skipped", "the dry run ended before the probe");
  } else if (reload->ok) {
    row("hot reload", "ok",
        fmt::format("ctx carried over to a fresh VM after bar {}{}", reload_bar,
                    on_reload_defined ? "; on_reload ran" : " (no on_reload)"));
  } else {
    ValidationProblem p = located(reload->message, o.path, "hot reload");
    const auto nl = p.message.find('\n');
    if (nl != std::string::npos) {
      p.detail = p.message.substr(nl + 1);
      p.message.erase(nl);
    }
    p.message = "a hot reload would be refused: " + p.message;
    rep.problems.push_back(std::move(p));
    row("hot reload", "FAILED", fmt::format("refused after bar {}", reload_bar));
  }

  // Lookahead: decisions on bars [0, t) must not change when bars t.. exist.
  if (faulted) {
    row("lookahead", "skipped", "the dry run faulted");
  } else if (o.lookahead_cuts == 0) {
    row("lookahead", "skipped", "--lookahead-cuts 0");
  } else if (auto bars = generated_series(0, o); bars) {
    std::vector<std::size_t> cuts;
    for (std::size_t k = 1; k <= o.lookahead_cuts; ++k) cuts.push_back(bars->size() * k / (o.lookahead_cuts + 1));
    backtest::BacktestConfig cfg = base;
    cfg.close_at_end = false;  // a forced close at the cut is not a decision
    auto probe = probe_lookahead(
        *bars,
        [&](const model::BarSeries& d) {
          auto r = record_decisions(cfg, d, *source);
          progressed();
          return r;
        },
        cuts);
    if (!probe) {
      for (auto& p : load_problems(probe.error().message, o.path)) rep.problems.push_back(std::move(p));
      row("lookahead", "FAILED", "a probe run did not start");
    } else if (probe->ok) {
      row("lookahead", "ok",
          fmt::format("{} truncations ({}..{} bars): {} decisions identical to the full run", probe->cuts_checked,
                      cuts.front(), cuts.back(), probe->decisions_compared));
    } else {
      ValidationProblem p;
      p.file = o.path;
      p.check = "lookahead";
      p.message = fmt::format(
          "decisions at bar {} ({}) change when later bars are added: with bars 0..{} the strategy did \"{}\", with "
          "all {} bars \"{}\". A decision may only depend on bars up to its own (look for values computed from the "
          "whole data set, or hidden inputs such as pairs() order over table keys)",
          probe->bar, format_iso8601(bars->ts_ns()[probe->bar]), probe->cut - 1, probe->truncated, bars->size(),
          probe->full);
      rep.problems.push_back(std::move(p));
      row("lookahead", "FAILED", fmt::format("differs at bar {} (cut at {})", probe->bar, probe->cut));
    }
  }

  return rep;
}

}  // namespace te::app
