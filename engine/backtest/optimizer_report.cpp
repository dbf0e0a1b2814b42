#include "engine/backtest/optimizer_report.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>

#include <fmt/core.h>

#include "engine/backtest/report_html.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/numbers.hpp"

namespace te::backtest {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kMaxCells = 60;  // per heatmap side
constexpr std::size_t kMaxMaps = 6;
constexpr std::size_t kMaxMarginals = 8;

Status write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return make_error(Errc::io, "write " + path + ": " + std::strerror(errno));
  return {};
}

// The level of a value on an axis, binned to at most kMaxCells levels.
struct AxisLevels {
  std::vector<std::string> labels;
  std::map<std::string, std::size_t, std::less<>> index;  // lattice value -> level
  bool continuous = false;
  double lo = 0, hi = 0;

  explicit AxisLevels(const ParamAxis& a) {
    if (a.continuous) {
      continuous = true;
      lo = a.lo;
      hi = a.hi;
      const std::size_t bins = a.integer ? std::min<std::size_t>(kMaxCells / 3, static_cast<std::size_t>(hi - lo) + 1) : 12;
      for (std::size_t b = 0; b < bins; ++b) {
        const double mid = lo + (hi - lo) * (static_cast<double>(b) + 0.5) / static_cast<double>(bins);
        labels.push_back(fmt::format("{:.4g}", mid));
      }
      return;
    }
    const std::size_t n = a.values.size();
    const std::size_t bins = std::min(n, kMaxCells);
    for (std::size_t i = 0; i < n; ++i) index.emplace(a.values[i], i * bins / n);
    for (std::size_t b = 0; b < bins; ++b) {
      const std::size_t first = (b * n + bins - 1) / bins;  // first value falling in bin b
      labels.push_back(bins == n ? a.values[b] : a.values[std::min(first, n - 1)] + "+");
    }
  }
  std::size_t size() const { return labels.size(); }
  std::size_t level(const std::string& v) const {
    if (continuous) {
      double x = 0;
      parse_double(v, x);
      const double f = hi > lo ? (x - lo) / (hi - lo) : 0;
      return std::min(size() - 1, static_cast<std::size_t>(std::max(0.0, f) * static_cast<double>(size())));
    }
    const auto it = index.find(v);
    return it == index.end() ? 0 : it->second;
  }
};

void json_param_value(JsonWriter& j, const std::string& v) {
  double d = 0;
  if (parse_double(v, d))
    j.value(d);
  else if (v == "true" || v == "false")
    j.value(v == "true");
  else
    j.value(v);
}

void json_combo(JsonWriter& j, const SearchPlan& plan, const ComboResult& r, bool with_metrics) {
  j.begin_object();
  j.field("combo", r.index);
  j.key("params").begin_object();
  for (std::size_t k = 0; k < r.values.size(); ++k) {
    j.key(plan.space.axes[k].name);
    json_param_value(j, r.values[k]);
  }
  j.end_object();
  j.field("status", r.status);
  j.field("valid", r.valid);
  if (with_metrics && (r.status == "ok" || r.status == "faulted")) {
    const Metrics& m = r.metrics;
    j.field("objective", r.objective);
    j.key("metrics").begin_object();
    j.field("trades", m.trades);
    j.field("open_trades", m.open_trades);
    j.field("total_return", m.total_return);
    j.field("annualized_return", m.annualized_return);
    j.field("sharpe", m.sharpe);
    j.field("sortino", m.sortino);
    j.field("calmar", m.calmar);
    j.field("max_drawdown", m.max_drawdown);
    j.field("profit_factor", m.profit_factor);
    j.field("win_rate", m.win_rate);
    j.field("expectancy", m.expectancy);
    j.field("exposure", m.exposure);
    j.field("final_equity", m.final_equity);
    j.field("sharpe_per_bar", m.sharpe_per_bar);
    j.field("skewness", m.skewness);
    j.field("kurtosis", m.kurtosis);
    j.field("probabilistic_sharpe", m.psr);
    j.field("bars", m.bars);
    j.end_object();
  }
  if (!r.error.empty()) j.field("error", r.error);
  j.end_object();
}

std::string sig(double v) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.4g}", v);
}
std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.1f} %", v * 100) : "n/a"; }

}  // namespace

Result<SearchSummary> summarize_search(const SearchPlan& plan, Objective, const std::string& results_path,
                                       const SummaryOptions& opt) {
  std::FILE* f = std::fopen(results_path.c_str(), "rb");
  if (!f) return make_error(Errc::io, "read " + results_path + ": " + std::strerror(errno));
  std::FILE* jf = nullptr;
  if (!opt.json_path.empty()) {
    jf = std::fopen(opt.json_path.c_str(), "wb");
    if (!jf) {
      std::fclose(f);
      return make_error(Errc::io, "write " + opt.json_path + ": " + std::strerror(errno));
    }
    std::fputs("{\n  \"rows\": [\n", jf);
  }
  SearchSummary s;
  const std::size_t axes = plan.space.axes.size();
  std::vector<AxisLevels> levels;
  for (const auto& a : plan.space.axes) levels.emplace_back(a);
  // Axes with several levels take part in heatmaps and marginals.
  std::vector<std::size_t> varied;
  for (std::size_t k = 0; k < axes; ++k)
    if (levels[k].size() > 1) varied.push_back(k);
  for (std::size_t a = 0; a < varied.size() && s.maps.size() < kMaxMaps; ++a)
    for (std::size_t b = a + 1; b < varied.size() && s.maps.size() < kMaxMaps; ++b) {
      StabilityMap m;
      m.x = varied[b];
      m.y = varied[a];
      m.xs = levels[m.x].labels;
      m.ys = levels[m.y].labels;
      m.z.assign(m.ys.size(), std::vector<double>(m.xs.size(), kNaN));
      s.maps.push_back(std::move(m));
    }
  std::vector<std::vector<double>> marg_sum;
  std::vector<std::vector<std::uint64_t>> marg_n;
  for (std::size_t a = 0; a < varied.size() && a < kMaxMarginals; ++a) {
    Marginal m;
    m.axis = varied[a];
    m.values = levels[m.axis].labels;
    m.best.assign(m.values.size(), kNaN);
    m.mean.assign(m.values.size(), kNaN);
    marg_sum.emplace_back(m.values.size(), 0.0);
    marg_n.emplace_back(m.values.size(), 0);
    s.marginals.push_back(std::move(m));
  }

  std::vector<double> srs;
  std::vector<ReturnBlocks> blocks;
  bool keep_blocks = true;
  std::string line, err;
  bool header = true;
  char buf[1 << 16];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && err.empty()) {
    for (std::size_t i = 0; i < got && err.empty(); ++i) {
      if (buf[i] != '\n') {
        line += buf[i];
        continue;
      }
      if (header) {
        header = false;
        line.clear();
        continue;
      }
      auto row = parse_row(line, axes);
      line.clear();
      if (!row) {
        err = fmt::format("{}: row {}: {}", results_path, s.rows + 1, row.error().message);
        break;
      }
      ComboResult& r = *row;
      ++s.rows;
      if (r.status == "ok") ++s.ok;
      else if (r.status == "skipped") ++s.skipped;
      else if (r.status == "faulted") ++s.faulted;
      else ++s.errors;
      if (jf) {
        JsonWriter j(0);
        json_combo(j, plan, r, true);
        std::fputs(s.rows > 1 ? ",\n    " : "    ", jf);
        std::fputs(j.str().c_str(), jf);
      }
      if (!r.valid) continue;
      ++s.valid;
      srs.push_back(r.metrics.sharpe_per_bar);
      if (keep_blocks) {
        if (blocks.size() >= opt.pbo_max_combinations) {
          keep_blocks = false;
          blocks.clear();
          blocks.shrink_to_fit();
        } else {
          blocks.push_back(r.blocks);
        }
      }
      std::vector<std::size_t> lv(axes);
      for (std::size_t k = 0; k < axes; ++k) lv[k] = levels[k].level(r.values[k]);
      for (StabilityMap& m : s.maps) {
        double& cell = m.z[lv[m.y]][lv[m.x]];
        if (!(cell >= r.objective)) cell = r.objective;
      }
      for (std::size_t a = 0; a < s.marginals.size(); ++a) {
        Marginal& m = s.marginals[a];
        const std::size_t l = lv[m.axis];
        if (!(m.best[l] >= r.objective)) m.best[l] = r.objective;
        marg_sum[a][l] += r.objective;
        ++marg_n[a][l];
      }
      const bool is_best = !s.best || r.objective > s.best->objective;
      r.blocks = ReturnBlocks{};
      if (is_best) s.best = r;
      s.top.push_back(std::move(r));
      if (s.top.size() > 4 * opt.top + 64) {
        std::sort(s.top.begin(), s.top.end(), [](const ComboResult& a, const ComboResult& b) {
          return a.objective != b.objective ? a.objective > b.objective : a.index < b.index;
        });
        s.top.resize(opt.top);
      }
    }
  }
  std::fclose(f);
  if (jf) {
    std::fputs("\n  ]\n}\n", jf);
    if (std::fclose(jf) != 0 && err.empty()) err = "write " + opt.json_path + ": " + std::strerror(errno);
  }
  if (!err.empty()) return make_error(Errc::parse, err);
  std::sort(s.top.begin(), s.top.end(), [](const ComboResult& a, const ComboResult& b) {
    return a.objective != b.objective ? a.objective > b.objective : a.index < b.index;
  });
  if (s.top.size() > opt.top) s.top.resize(opt.top);
  for (std::size_t a = 0; a < s.marginals.size(); ++a)
    for (std::size_t l = 0; l < marg_n[a].size(); ++l)
      if (marg_n[a][l]) s.marginals[a].mean[l] = marg_sum[a][l] / static_cast<double>(marg_n[a][l]);

  if (s.best) {
    const Metrics& m = s.best->metrics;
    s.dsr = deflated_sharpe(srs, m.sharpe_per_bar, static_cast<double>(m.bars), m.skewness, m.kurtosis);
    std::vector<std::size_t> lv(axes);
    for (std::size_t k = 0; k < axes; ++k) lv[k] = levels[k].level(s.best->values[k]);
    for (StabilityMap& mp : s.maps) {
      mp.best_x = static_cast<int>(lv[mp.x]);
      mp.best_y = static_cast<int>(lv[mp.y]);
    }
  }
  if (!keep_blocks) {
    s.pbo_note = fmt::format("not computed: more than {} valid combinations", opt.pbo_max_combinations);
  } else if (blocks.size() < 2) {
    s.pbo_note = "not computed: fewer than two valid combinations";
  } else if (blocks[0].sum.size() < 4) {
    s.pbo_note = "not computed: fewer than 4 return blocks per combination";
  } else {
    std::vector<const ReturnBlocks*> ptrs;
    for (const auto& b : blocks) ptrs.push_back(&b);
    s.pbo = probability_of_overfitting(ptrs, opt.pbo_max_splits, opt.seed);
  }
  return s;
}

std::string dsr_verdict(const DeflatedSharpe& d) {
  if (!std::isfinite(d.dsr)) return "undefined (needs a best combination with variance)";
  if (d.dsr >= 0.95) return fmt::format("{:.1f} %: the best Sharpe ratio is unlikely to be luck from {} trials", d.dsr * 100, d.trials);
  if (d.dsr >= 0.5) return fmt::format("{:.1f} %: weak evidence of skill after {} trials", d.dsr * 100, d.trials);
  return fmt::format("{:.1f} %: the best Sharpe ratio is what {} skill-less trials would produce", d.dsr * 100, d.trials);
}

std::string pbo_verdict(const PboResult& p) {
  if (p.pbo <= 0.1) return fmt::format("{:.1f} %: the in-sample winner usually stays above the median out of sample", p.pbo * 100);
  if (p.pbo <= 0.5) return fmt::format("{:.1f} %: the selection is somewhat overfitted", p.pbo * 100);
  return fmt::format("{:.1f} %: the selection is overfitted (the in-sample winner is below the median out of sample more often than not)", p.pbo * 100);
}

Status write_search_reports(const std::string& dir, const SearchReportInput& in, const SearchSummary& s) {
  const SearchPlan& plan = *in.plan;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "create output directory " + dir + ": " + ec.message());

  // optimization.json
  JsonWriter j;
  j.begin_object();
  j.field("method", to_string(plan.method));
  j.field("objective", to_string(in.objective));
  j.field("min_trades", static_cast<std::uint64_t>(in.min_trades));
  j.key("settings").begin_object();
  for (const auto& [k, v] : in.settings) j.field(k, v);
  j.end_object();
  j.key("space").begin_array();
  for (const auto& a : plan.space.axes) {
    j.begin_object();
    j.field("name", a.name);
    if (a.continuous) {
      j.field("lo", a.lo);
      j.field("hi", a.hi);
      j.field("integer", a.integer);
    } else {
      j.key("values").begin_array();
      for (const auto& v : a.values) json_param_value(j, v);
      j.end_array();
    }
    j.end_object();
  }
  j.end_array();
  j.key("constraints").begin_array();
  for (const auto& c : plan.space.constraints) j.value(c.text);
  j.end_array();
  j.field("combinations", s.rows);
  j.field("ok", s.ok);
  j.field("valid", s.valid);
  j.field("skipped", s.skipped);
  j.field("faulted", s.faulted);
  j.field("errors", s.errors);
  j.key("best");
  if (s.best) json_combo(j, plan, *s.best, true);
  else j.null();
  j.key("deflated_sharpe").begin_object();
  j.field("trials", s.dsr.trials);
  j.field("sharpe_variance_per_bar", s.dsr.sr_variance);
  j.field("expected_max_sharpe_per_bar", s.dsr.expected_max_sr);
  j.field("best_sharpe_per_bar", s.dsr.best_sr);
  j.field("probability", s.dsr.dsr);
  j.end_object();
  j.key("pbo");
  if (s.pbo) {
    j.begin_object();
    j.field("probability", s.pbo->pbo);
    j.field("combinations", static_cast<std::uint64_t>(s.pbo->combinations));
    j.field("blocks", static_cast<std::uint64_t>(s.pbo->blocks));
    j.field("splits", static_cast<std::uint64_t>(s.pbo->splits));
    j.field("sampled_splits", s.pbo->sampled);
    j.field("probability_oos_loss", s.pbo->prob_oos_loss);
    j.field("degradation_slope", s.pbo->degradation_slope);
    j.field("mean_is_sharpe_per_bar", s.pbo->mean_is_sr);
    j.field("mean_oos_sharpe_per_bar", s.pbo->mean_oos_sr);
    j.end_object();
  } else {
    j.begin_object();
    j.field("probability", kNaN);
    j.field("note", s.pbo_note);
    j.end_object();
  }
  j.key("top").begin_array();
  for (const auto& r : s.top) json_combo(j, plan, r, true);
  j.end_array();
  j.end_object();
  TE_TRY(write_text(dir + "/optimization.json", j.str()));

  // report.html
  JsonWriter h(0);
  h.begin_object();
  h.field("kind", "optimize");
  h.field("objective", to_string(in.objective));
  h.field("date_only", in.best_run ? in.best_run->date_only : true);
  auto pairs = [&h](const char* key, const std::vector<std::pair<std::string, std::string>>& rows) {
    h.key(key).begin_array();
    for (const auto& [k, v] : rows) {
      h.begin_array();
      h.value(k);
      h.value(v);
      h.end_array();
    }
    h.end_array();
  };
  std::vector<std::pair<std::string, std::string>> summary = {
      {"Method", std::string(to_string(plan.method))},
      {"Objective", std::string(to_string(in.objective))},
      {"Minimum trades", std::to_string(in.min_trades)},
      {"Combinations", std::to_string(s.rows)},
      {"Valid / skipped / faulted", fmt::format("{} / {} / {}", s.valid, s.skipped, s.faulted + s.errors)},
  };
  for (const auto& kv : in.settings) summary.push_back(kv);
  if (s.best) {
    std::string params;
    for (std::size_t k = 0; k < s.best->values.size(); ++k)
      params += (k ? " " : "") + plan.space.axes[k].name + "=" + s.best->values[k];
    summary.emplace_back("Best combination", "#" + std::to_string(s.best->index) + "  " + params);
    summary.emplace_back("Best " + std::string(to_string(in.objective)), sig(s.best->objective));
    summary.emplace_back("Best total return", pct(s.best->metrics.total_return));
    summary.emplace_back("Best max drawdown", pct(s.best->metrics.max_drawdown));
    summary.emplace_back("Best trades", std::to_string(s.best->metrics.trades));
  }
  pairs("summary", summary);
  std::vector<std::pair<std::string, std::string>> guards = {
      {"Deflated Sharpe ratio", dsr_verdict(s.dsr)},
      {"Trials (valid combinations)", fmt::format("{}", s.dsr.trials)},
      {"Best Sharpe (per bar)", sig(s.dsr.best_sr)},
      {"Expected max Sharpe of luck (per bar)", sig(s.dsr.expected_max_sr)},
  };
  if (s.pbo) {
    guards.emplace_back("Probability of backtest overfitting", pbo_verdict(*s.pbo));
    guards.emplace_back("CSCV splits", fmt::format("{} ({} blocks{})", s.pbo->splits, s.pbo->blocks, s.pbo->sampled ? ", sampled" : ""));
    guards.emplace_back("P(out-of-sample loss) of the winner", pct(s.pbo->prob_oos_loss));
    guards.emplace_back("IS -> OOS Sharpe slope", sig(s.pbo->degradation_slope));
  } else {
    guards.emplace_back("Probability of backtest overfitting", s.pbo_note);
  }
  pairs("guards", guards);
  h.field("guard_note",
          "The deflated Sharpe ratio discounts the best result for the number of combinations tried; the probability "
          "of backtest overfitting (CSCV) measures how often the in-sample winner falls below the median out of "
          "sample. See docs/optimization.md.");
  h.key("pbo_logits").begin_array();
  if (s.pbo)
    for (const double l : s.pbo->logits) h.value(std::isfinite(l) ? std::round(l * 1e4) / 1e4 : l);
  h.end_array();
  h.key("heatmaps").begin_array();
  for (const StabilityMap& m : s.maps) {
    h.begin_object();
    h.field("x", plan.space.axes[m.x].name);
    h.field("y", plan.space.axes[m.y].name);
    h.key("xs").begin_array();
    for (const auto& v : m.xs) h.value(v);
    h.end_array();
    h.key("ys").begin_array();
    for (const auto& v : m.ys) h.value(v);
    h.end_array();
    h.key("z").begin_array();
    for (const auto& row : m.z) {
      h.begin_array();
      for (const double v : row) h.value(v);
      h.end_array();
    }
    h.end_array();
    h.key("best");
    if (m.best_x >= 0) {
      h.begin_array();
      h.value(m.best_x);
      h.value(m.best_y);
      h.end_array();
    } else {
      h.null();
    }
    h.end_object();
  }
  h.end_array();
  h.key("marginals").begin_array();
  for (const Marginal& m : s.marginals) {
    h.begin_object();
    h.field("name", plan.space.axes[m.axis].name);
    h.key("values").begin_array();
    for (const auto& v : m.values) h.value(v);
    h.end_array();
    h.key("best").begin_array();
    for (const double v : m.best) h.value(v);
    h.end_array();
    h.key("mean").begin_array();
    for (const double v : m.mean) h.value(v);
    h.end_array();
    h.end_object();
  }
  h.end_array();
  if (in.best_run && !in.best_run->equity.equity.empty()) {
    h.field("initial_cash", in.best_run->initial_cash);
    h.key("best_equity");
    write_curve_json(h, in.best_run->equity.ts_ns, in.best_run->equity.equity, 2000);
  }
  h.field("param_count", static_cast<std::uint64_t>(plan.space.axes.size()));
  h.key("top_columns").begin_array();
  h.value("combo");
  for (const auto& a : plan.space.axes) h.value(a.name);
  for (const char* c : {"objective", "trades", "total return", "sharpe", "sortino", "calmar", "max drawdown", "profit factor", "win rate", "PSR"})
    h.value(c);
  h.end_array();
  h.key("top_formats").begin_array();
  h.value("int");
  for (std::size_t k = 0; k < plan.space.axes.size(); ++k) h.value("text");
  for (const char* f : {"num", "int", "pct", "num", "num", "num", "pct", "num", "pct", "pct"}) h.value(f);
  h.end_array();
  h.key("top").begin_array();
  for (const auto& r : s.top) {
    h.begin_array();
    h.value(r.index);
    for (const auto& v : r.values) h.value(v);
    const Metrics& m = r.metrics;
    for (const double v : {r.objective, static_cast<double>(m.trades), m.total_return, m.sharpe, m.sortino, m.calmar,
                           m.max_drawdown, m.profit_factor, m.win_rate, m.psr})
      h.value(v);
    h.end_array();
  }
  h.end_array();
  h.end_object();
  return write_html_page(dir + "/report.html", in.title, in.subtitle, h.str());
}

}  // namespace te::backtest
