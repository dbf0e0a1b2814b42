#include "engine/backtest/optimizer.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "engine/backtest/stats.hpp"
#include "engine/core/numbers.hpp"

namespace te::backtest {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t kMaxAxisValues = 1'000'000;
constexpr std::uint64_t kMaxCombinations = 1ULL << 53;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

int decimals(std::string_view num) {
  const auto dot = num.find('.');
  if (dot == std::string_view::npos) return 0;
  std::size_t end = num.find_first_of("eE", dot);
  if (end == std::string_view::npos) end = num.size();
  return static_cast<int>(end - dot - 1);
}

bool is_integer_text(std::string_view s) { return s.find_first_of(".eE") == std::string_view::npos; }

// lo + i * step printed with the inputs' decimals, so 0.1:0.5:0.1 gives 0.3, not 0.30000000000000004.
std::string lattice_value(double lo, double step, std::uint64_t i, int digits) {
  const double v = lo + static_cast<double>(i) * step;
  if (digits == 0) return format_double(std::round(v));
  std::string s = fmt::format("{:.{}f}", v, digits);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A seeded bijection of [0, n): a balanced Feistel network over the smallest
// even power of two >= n, walked until it lands inside [0, n). Random search
// over a lattice samples without replacement in O(1) memory, and any index can
// be computed alone (shards, resume).
std::uint64_t permute(std::uint64_t i, std::uint64_t n, std::uint64_t seed) {
  int bits = 2;
  while (bits < 64 && (1ULL << bits) < n) ++bits;
  if (bits % 2) ++bits;
  const int half = bits / 2;
  const std::uint64_t mask = half >= 64 ? ~0ULL : (1ULL << half) - 1;
  std::uint64_t x = i;
  do {
    std::uint64_t l = x >> half, r = x & mask;
    for (std::uint64_t round = 0; round < 4; ++round) {
      const std::uint64_t f = mix64(r ^ (seed * 0x9e3779b97f4a7c15ULL) ^ (round * 0xd6e8feb86659fd93ULL)) & mask;
      const std::uint64_t nl = r;
      r = l ^ f;
      l = nl;
    }
    x = (l << half) | r;
  } while (x >= n);
  return x;
}

bool all_lattice(const SearchSpace& s) {
  return std::none_of(s.axes.begin(), s.axes.end(), [](const ParamAxis& a) { return a.continuous; });
}

std::uint64_t grid_size(const SearchSpace& s) {
  std::uint64_t n = 1;
  for (const auto& a : s.axes) {
    if (a.values.empty()) return 0;
    if (n > kMaxCombinations / a.values.size()) return kMaxCombinations + 1;
    n *= a.values.size();
  }
  return n;
}

std::vector<std::string> grid_values(const SearchSpace& s, std::uint64_t index) {
  std::vector<std::string> out(s.axes.size());
  for (std::size_t k = s.axes.size(); k-- > 0;) {  // the last axis varies fastest
    const auto& v = s.axes[k].values;
    out[k] = v[index % v.size()];
    index /= v.size();
  }
  return out;
}

const std::string* value_of(const SearchSpace& s, const std::vector<std::string>& values, const std::string& name) {
  for (std::size_t k = 0; k < s.axes.size(); ++k)
    if (s.axes[k].name == name) return &values[k];
  return nullptr;
}

void num(std::string& out, double v) {
  if (std::isfinite(v)) append_double(out, v);
}

std::string csv_quote(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The metric columns of a results row, after combo, the parameters, status,
// objective and valid.
constexpr const char* kMetricColumns[] = {
    "trades",     "open_trades", "total_return", "annualized_return", "sharpe",        "sortino",
    "calmar",     "max_drawdown", "profit_factor", "win_rate",        "expectancy",    "exposure",
    "final_equity", "sharpe_per_bar", "skewness", "kurtosis",          "probabilistic_sharpe", "bars"};

std::vector<double> metric_values(const Metrics& m) {
  return {static_cast<double>(m.trades), static_cast<double>(m.open_trades), m.total_return, m.annualized_return,
          m.sharpe, m.sortino, m.calmar, m.max_drawdown, m.profit_factor, m.win_rate, m.expectancy, m.exposure,
          m.final_equity, m.sharpe_per_bar, m.skewness, m.kurtosis, m.psr, static_cast<double>(m.bars)};
}

void set_metric_values(Metrics& m, const std::vector<double>& v) {
  m.trades = static_cast<std::size_t>(v[0]);
  m.open_trades = static_cast<std::size_t>(v[1]);
  m.total_return = v[2];
  m.annualized_return = v[3];
  m.sharpe = v[4];
  m.sortino = v[5];
  m.calmar = v[6];
  m.max_drawdown = v[7];
  m.profit_factor = v[8];
  m.win_rate = v[9];
  m.expectancy = v[10];
  m.exposure = v[11];
  m.final_equity = v[12];
  m.sharpe_per_bar = v[13];
  m.skewness = v[14];
  m.kurtosis = v[15];
  m.psr = v[16];
  m.bars = static_cast<std::size_t>(v[17]);
}

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= line.size()) {
    if (i < line.size() && line[i] == '"') {  // quoted: only the error column
      std::size_t j = i + 1;
      while (j < line.size() && !(line[j] == '"' && (j + 1 >= line.size() || line[j + 1] != '"'))) j += line[j] == '"' ? 2 : 1;
      out.push_back(line.substr(i, std::min(line.size(), j + 1) - i));
      i = j + 2;
      continue;
    }
    const std::size_t j = line.find(',', i);
    if (j == std::string_view::npos) {
      out.push_back(line.substr(i));
      break;
    }
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != '"') return std::string(s);
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    out += s[i];
    if (s[i] == '"') ++i;
  }
  return out;
}

bool better(const ComboResult& a, const ComboResult& b) {  // a beats b
  if (a.valid != b.valid) return a.valid;
  if (!a.valid) return a.index < b.index;
  if (a.objective != b.objective) return a.objective > b.objective;
  return a.index < b.index;
}

}  // namespace

Result<ParamAxis> parse_axis(std::string_view spec) {
  const auto eq = spec.find('=');
  ParamAxis a;
  a.name = std::string(trim(spec.substr(0, eq == std::string_view::npos ? 0 : eq)));
  if (eq == std::string_view::npos || !is_identifier(a.name))
    return make_error(Errc::invalid_argument, "parameter space " + std::string(spec) +
                                                  ": expected name=values, e.g. fast=5:50:5 or slow=20,30,50");
  const std::string_view body = trim(spec.substr(eq + 1));
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "parameter space " + std::string(spec) + ": " + why);
  };
  if (body.empty()) return bad("no values");
  if (body.find(',') != std::string_view::npos) {
    std::size_t start = 0;
    while (start <= body.size()) {
      const std::size_t end = std::min(body.find(',', start), body.size());
      const std::string_view v = trim(body.substr(start, end - start));
      if (v.empty()) return bad("empty value in the list");
      if (v.find('"') != std::string_view::npos) return bad("values may not contain quotes");
      a.values.emplace_back(v);
      start = end + 1;
    }
  } else if (body.find(':') != std::string_view::npos) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
      const std::size_t end = body.find(':', start);
      parts.push_back(trim(body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    if (parts.size() > 3) return bad("expected lo:hi:step or lo:hi");
    double lo = 0, hi = 0, step = 0;
    if (!parse_double(parts[0], lo) || !parse_double(parts[1], hi)) return bad("range ends must be numbers");
    if (hi < lo) return bad("the range's upper end is below its lower end");
    if (parts.size() == 2) {
      a.continuous = true;
      a.integer = is_integer_text(parts[0]) && is_integer_text(parts[1]);
      a.lo = lo;
      a.hi = hi;
      return a;
    }
    if (!parse_double(parts[2], step) || !(step > 0)) return bad("the step must be a number > 0");
    const double count = std::floor((hi - lo) / step + 1e-9) + 1;
    if (count > static_cast<double>(kMaxAxisValues)) return bad(fmt::format("more than {} values", kMaxAxisValues));
    const int digits = std::max(decimals(parts[0]), decimals(parts[2]));
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(count); ++i) a.values.push_back(lattice_value(lo, step, i, digits));
  } else {
    a.values.emplace_back(body);
  }
  return a;
}

Result<Constraint> parse_constraint(std::string_view text, const SearchSpace& space) {
  Constraint c;
  c.text = std::string(trim(text));
  for (const char* op : {"<=", ">=", "!=", "==", "<", ">"}) {
    const auto at = c.text.find(op);
    if (at == std::string::npos) continue;
    c.op = op;
    c.left = std::string(trim(std::string_view(c.text).substr(0, at)));
    c.right = std::string(trim(std::string_view(c.text).substr(at + c.op.size())));
    break;
  }
  auto known = [&](const std::string& side) {
    double v;
    if (parse_double(side, v)) return true;
    return std::any_of(space.axes.begin(), space.axes.end(), [&](const ParamAxis& a) { return a.name == side; });
  };
  if (c.op.empty() || c.left.empty() || c.right.empty())
    return make_error(Errc::invalid_argument,
                      "constraint " + c.text + ": expected <param> <op> <param or number> with op one of < <= > >= == !=");
  if (!known(c.left) || !known(c.right))
    return make_error(Errc::invalid_argument, "constraint " + c.text + ": each side must be a number or a searched parameter");
  return c;
}

Status validate_space(const SearchSpace& s) {
  if (s.axes.empty()) return make_error(Errc::invalid_argument, "the parameter space is empty: give --grid name=values");
  for (std::size_t i = 0; i < s.axes.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (s.axes[i].name == s.axes[k].name)
        return make_error(Errc::invalid_argument, "parameter " + s.axes[i].name + " is given twice");
  return {};
}

Result<SearchMethod> parse_search_method(std::string_view s) {
  if (s == "grid") return SearchMethod::Grid;
  if (s == "random") return SearchMethod::Random;
  return make_error(Errc::invalid_argument, "unknown search method " + std::string(s) + " (grid, random, walk-forward)");
}

std::string_view to_string(SearchMethod m) noexcept { return m == SearchMethod::Grid ? "grid" : "random"; }

Result<Objective> parse_objective(std::string_view s) {
  static constexpr std::pair<std::string_view, Objective> kNames[] = {
      {"sharpe", Objective::Sharpe},
      {"sortino", Objective::Sortino},
      {"calmar", Objective::Calmar},
      {"total_return", Objective::TotalReturn},
      {"annualized_return", Objective::AnnualizedReturn},
      {"profit_factor", Objective::ProfitFactor},
      {"expectancy", Objective::Expectancy},
      {"psr", Objective::Psr}};
  for (const auto& [name, o] : kNames)
    if (s == name) return o;
  return make_error(Errc::invalid_argument,
                    "unknown objective " + std::string(s) +
                        " (sharpe, sortino, calmar, total_return, annualized_return, profit_factor, expectancy, psr)");
}

std::string_view to_string(Objective o) noexcept {
  switch (o) {
    case Objective::Sharpe: return "sharpe";
    case Objective::Sortino: return "sortino";
    case Objective::Calmar: return "calmar";
    case Objective::TotalReturn: return "total_return";
    case Objective::AnnualizedReturn: return "annualized_return";
    case Objective::ProfitFactor: return "profit_factor";
    case Objective::Expectancy: return "expectancy";
    case Objective::Psr: return "psr";
  }
  return "?";
}

double objective_value(const Metrics& m, Objective o) noexcept {
  switch (o) {
    case Objective::Sharpe: return m.sharpe;
    case Objective::Sortino: return m.sortino;
    case Objective::Calmar: return m.calmar;
    case Objective::TotalReturn: return m.total_return;
    case Objective::AnnualizedReturn: return m.annualized_return;
    case Objective::ProfitFactor: return m.profit_factor;
    case Objective::Expectancy: return m.expectancy;
    case Objective::Psr: return m.psr;
  }
  return kNaN;
}

Result<std::uint64_t> space_size(const SearchPlan& plan) {
  TE_TRY(validate_space(plan.space));
  const bool lattice = all_lattice(plan.space);
  if (plan.method == SearchMethod::Grid) {
    for (const auto& a : plan.space.axes)
      if (a.continuous)
        return make_error(Errc::invalid_argument, "parameter " + a.name +
                                                      " is a continuous range (lo:hi): a grid needs a step (lo:hi:step) "
                                                      "or a list; continuous ranges are for --method random");
    const std::uint64_t n = grid_size(plan.space);
    if (n > kMaxCombinations) return make_error(Errc::limit, "the grid has more than 2^53 combinations");
    return n;
  }
  if (plan.samples == 0) return make_error(Errc::invalid_argument, "--samples must be > 0");
  if (lattice) return std::min<std::uint64_t>(plan.samples, grid_size(plan.space));
  return plan.samples;
}

std::vector<std::string> combination(const SearchPlan& plan, std::uint64_t index) {
  if (plan.method == SearchMethod::Grid) return grid_values(plan.space, index);
  if (all_lattice(plan.space)) return grid_values(plan.space, permute(index, grid_size(plan.space), plan.seed));
  data::Xoshiro256 rng = stream_rng(plan.seed, index);
  std::vector<std::string> out;
  for (const auto& a : plan.space.axes) {
    if (!a.continuous) {
      out.push_back(a.values[uniform_below(rng, a.values.size())]);
    } else if (a.integer) {
      const auto lo = static_cast<std::int64_t>(a.lo), hi = static_cast<std::int64_t>(a.hi);
      out.push_back(std::to_string(lo + static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(hi - lo) + 1))));
    } else {
      out.push_back(format_double(a.lo + rng.uniform() * (a.hi - a.lo)));
    }
  }
  return out;
}

std::uint64_t shard_size(std::uint64_t total, const SearchPlan& plan) noexcept {
  if (plan.shards <= 1) return total;
  return total > plan.shard ? (total - plan.shard + plan.shards - 1) / plan.shards : 0;
}

bool satisfies(const SearchSpace& space, const std::vector<std::string>& values) noexcept {
  for (const auto& c : space.constraints) {
    auto side = [&](const std::string& s) -> std::string {
      const std::string* v = value_of(space, values, s);
      return v ? *v : s;
    };
    const std::string l = side(c.left), r = side(c.right);
    double a = 0, b = 0;
    const bool numeric = parse_double(l, a) && parse_double(r, b);
    bool ok;
    if (c.op == "==") ok = numeric ? a == b : l == r;
    else if (c.op == "!=") ok = numeric ? a != b : l != r;
    else if (!numeric) ok = false;
    else if (c.op == "<") ok = a < b;
    else if (c.op == "<=") ok = a <= b;
    else if (c.op == ">") ok = a > b;
    else ok = a >= b;
    if (!ok) return false;
  }
  return true;
}

std::string results_header(const SearchSpace& space) {
  std::string h = "combo";
  for (const auto& a : space.axes) h += "," + a.name;
  h += ",status,objective,valid";
  for (const char* c : kMetricColumns) h += std::string(",") + c;
  h += ",blocks,error\n";
  return h;
}

std::string format_row(const ComboResult& r) {
  std::string s = std::to_string(r.index);
  for (const auto& v : r.values) s += "," + v;
  s += "," + r.status + ",";
  const bool has_metrics = r.status == "ok" || r.status == "faulted";
  if (has_metrics) num(s, r.objective);
  s += r.valid ? ",1" : ",0";
  for (const double v : metric_values(r.metrics)) {
    s += ',';
    if (has_metrics) num(s, v);
  }
  s += ',';
  for (std::size_t b = 0; b < r.blocks.sum.size(); ++b) {
    if (b) s += ' ';
    append_double(s, r.blocks.sum[b]);
    s += ':';
    append_double(s, r.blocks.sum_sq[b]);
    s += ':';
    s += std::to_string(r.blocks.count[b]);
  }
  s += ',' + csv_quote(r.error) + '\n';
  return s;
}

Result<ComboResult> parse_row(std::string_view line, std::size_t axes) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  const auto f = split_csv(line);
  const std::size_t expected = 1 + axes + 3 + std::size(kMetricColumns) + 2;
  if (f.size() != expected)
    return make_error(Errc::parse, fmt::format("expected {} columns, found {}", expected, f.size()));
  ComboResult r;
  std::int64_t idx = 0;
  if (!parse_int64(f[0], idx) || idx < 0) return make_error(Errc::parse, "bad combo index " + std::string(f[0]));
  r.index = static_cast<std::uint64_t>(idx);
  for (std::size_t k = 0; k < axes; ++k) r.values.emplace_back(f[1 + k]);
  std::size_t c = 1 + axes;
  r.status = std::string(f[c++]);
  auto number = [](std::string_view t) {
    double v = kNaN;
    if (!t.empty() && !parse_double(t, v)) v = kNaN;
    return v;
  };
  r.objective = number(f[c++]);
  r.valid = f[c++] == "1";
  std::vector<double> mv;
  for (std::size_t k = 0; k < std::size(kMetricColumns); ++k) mv.push_back(number(f[c++]));
  if (!std::isfinite(mv[0])) mv[0] = 0;
  if (!std::isfinite(mv[1])) mv[1] = 0;
  if (!std::isfinite(mv[17])) mv[17] = 0;
  set_metric_values(r.metrics, mv);
  std::string_view blocks = f[c++];
  while (!blocks.empty()) {
    const std::size_t sp = std::min(blocks.find(' '), blocks.size());
    const std::string_view tok = blocks.substr(0, sp);
    const auto c1 = tok.find(':'), c2 = tok.rfind(':');
    double s = 0, q = 0;
    std::int64_t n = 0;
    if (c1 == std::string_view::npos || c1 == c2 || !parse_double(tok.substr(0, c1), s) ||
        !parse_double(tok.substr(c1 + 1, c2 - c1 - 1), q) || !parse_int64(tok.substr(c2 + 1), n))
      return make_error(Errc::parse, "bad blocks cell");
    r.blocks.sum.push_back(s);
    r.blocks.sum_sq.push_back(q);
    r.blocks.count.push_back(static_cast<std::uint64_t>(n));
    blocks.remove_prefix(std::min(blocks.size(), sp + 1));
  }
  r.error = unquote(f[c]);
  return r;
}

SearchWorker::SearchWorker(const SearchJob& job)
    : job_(job), pool_(std::make_unique<script::VmPool>(job.base.limits)), base_(job.base) {
  // The axes' names are set per combination: drop any fixed value for them once.
  for (const auto& axis : job.plan.space.axes)
    std::erase_if(base_.params, [&](const auto& p) { return p.first == axis.name; });
  base_params_ = base_.params.size();
  base_.keep_equity_curve = false;
  base_.keep_transitions = false;
  base_.keep_activity = false;
  base_.indicator_cache = job.indicator_cache;
  base_.progress = nullptr;
  base_.warmup_bars = job.warmup_bars;
  base_.vm_pool = pool_.get();
  traded_bars_ = job.data->size() > job.warmup_bars ? job.data->size() - job.warmup_bars : 0;
}

SearchWorker::~SearchWorker() = default;

ComboResult SearchWorker::evaluate(std::uint64_t index) {
  ComboResult r;
  r.index = index;
  r.values = combination(job_.plan, index);
  if (!satisfies(job_.plan.space, r.values)) {
    r.status = "skipped";
    return r;
  }
  base_.params.resize(base_params_);
  for (std::size_t k = 0; k < r.values.size(); ++k) base_.params.emplace_back(job_.plan.space.axes[k].name, r.values[k]);
  MetricsAccumulator acc(base_.initial_cash, traded_bars_, job_.blocks, false);
  base_.equity_listener = &acc;
  auto res = run_backtest(base_, *job_.data, *job_.strategy);
  base_.equity_listener = nullptr;
  if (!res) {
    r.status = "error";
    r.error = res.error().message;
    return r;
  }
  r.metrics = acc.finish(*res);
  r.blocks = acc.blocks();
  r.status = res->fault ? "faulted" : "ok";
  if (res->fault) r.error = res->fault->message;
  r.objective = objective_value(r.metrics, job_.objective);
  r.valid = r.status == "ok" && std::isfinite(r.objective) && r.metrics.trades >= job_.min_trades;
  return r;
}

ComboResult evaluate_combination(const SearchJob& job, std::uint64_t index) {
  SearchWorker worker(job);
  return worker.evaluate(index);
}

namespace {

// Reads an existing results file: checks the header, drops a torn last line
// (interrupted mid-write), returns the complete rows' count and best row.
Result<std::uint64_t> resume_file(const SearchJob& job, const std::string& header, std::optional<ComboResult>& best) {
  std::FILE* f = std::fopen(job.results_path.c_str(), "rb");
  if (!f) return std::uint64_t{0};
  std::string line;
  std::uint64_t rows = 0, good_bytes = 0, pos = 0;
  bool header_ok = false;
  char buf[1 << 16];
  std::size_t got;
  std::string err;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && err.empty()) {
    for (std::size_t i = 0; i < got && err.empty(); ++i) {
      line += buf[i];
      ++pos;
      if (buf[i] != '\n') continue;
      if (!header_ok) {
        if (line != header) err = "header";
        header_ok = true;
      } else {
        auto row = parse_row(line, job.plan.space.axes.size());
        const std::uint64_t expect = job.plan.shard + rows * std::max<std::uint32_t>(1, job.plan.shards);
        if (!row || row->index != expect) {
          err = fmt::format("row {} is not combination {}", rows + 1, expect);
        } else {
          if (!best || better(*row, *best)) best = std::move(*row);
          ++rows;
        }
      }
      if (err.empty()) good_bytes = pos;
      line.clear();
    }
  }
  std::fclose(f);
  if (err == "header" || (!header_ok && pos > 0 && !line.empty() && header.rfind(line, 0) != 0))
    return make_error(Errc::invalid_argument, job.results_path +
                                                  " holds the results of another search (its header differs); "
                                                  "choose another --out or remove it");
  if (!err.empty()) return make_error(Errc::parse, job.results_path + ": " + err + "; remove the file to start over");
  if (!header_ok) good_bytes = 0;  // not even a complete header: start afresh
  std::error_code ec;
  std::filesystem::resize_file(job.results_path, good_bytes, ec);
  if (ec) return make_error(Errc::io, "truncate " + job.results_path + ": " + ec.message());
  return rows;
}

}  // namespace

Result<SearchOutcome> run_search(const SearchJob& job_in) {
  TE_ASSERT(job_in.data && job_in.strategy, "run_search without data or strategy");
  // One store of shared indicator series for the whole search (unless the
  // caller brought its own, e.g. walk-forward windows over the same data).
  std::optional<ta::SeriesCache> own_cache;
  SearchJob job = job_in;
  if (!job.indicator_cache && job.indicator_cache_bytes > 0) {
    own_cache.emplace(*job.data, job.indicator_cache_bytes);
    job.indicator_cache = &*own_cache;
  }
  auto total_all = space_size(job.plan);
  if (!total_all) return std::move(total_all).error();
  if (job.plan.shards == 0 || job.plan.shard >= job.plan.shards)
    return make_error(Errc::invalid_argument, "--shard i/N needs 0 <= i < N");
  const std::uint32_t stride = std::max<std::uint32_t>(1, job.plan.shards);
  SearchOutcome out;
  out.total = shard_size(*total_all, job.plan);

  const std::string header = results_header(job.plan.space);
  auto resumed = resume_file(job, header, out.best);
  if (!resumed) return std::move(resumed).error();
  out.resumed = *resumed;

  // A bad parameter value fails every combination the same way: report it
  // once, before any work, instead of writing a file of errors.
  {
    const std::uint64_t first = job.plan.shard;
    if (first < *total_all) {
      SearchJob probe = job;
      const model::BarSeries none = job.data->slice(0, 0);
      probe.data = &none;
      probe.warmup_bars = 0;
      ComboResult r = evaluate_combination(probe, first);
      if (r.status == "error") {
        std::string values;
        for (std::size_t k = 0; k < r.values.size(); ++k)
          values += (k ? " " : "") + job.plan.space.axes[k].name + "=" + r.values[k];
        return make_error(Errc::invalid_argument, "combination " + std::to_string(first) + " (" + values + "): " + r.error);
      }
    }
  }

  std::FILE* f = std::fopen(job.results_path.c_str(), out.resumed == 0 ? "wb" : "ab");
  if (!f) return make_error(Errc::io, "write " + job.results_path + ": " + std::strerror(errno));
  if (out.resumed == 0 && std::fwrite(header.data(), 1, header.size(), f) != header.size()) {
    std::fclose(f);
    return make_error(Errc::io, "write " + job.results_path + ": " + std::strerror(errno));
  }
  std::fflush(f);

  const std::uint64_t pending = out.total - std::min(out.total, out.resumed);
  const std::uint64_t budget = job.limit ? std::min(job.limit, pending) : pending;
  const unsigned threads = static_cast<unsigned>(std::max<std::uint64_t>(1, std::min<std::uint64_t>(std::max(1u, job.threads), budget)));
  // Workers may run ahead of the oldest unwritten row by this much, which
  // bounds the reorder buffer whatever the spread of run times.
  const std::uint64_t window = 16ULL * threads;

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::uint64_t, ComboResult> ready;  // position -> result, waiting for its turn
  std::uint64_t next_take = out.resumed, next_write = out.resumed;
  const std::uint64_t end_take = out.resumed + budget;
  bool io_failed = false;
  int io_errno = 0;

  auto worker = [&] {
    SearchWorker evaluator(job);  // per-worker set-up, once
    while (true) {
      std::uint64_t pos;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return next_take >= end_take || io_failed || next_take < next_write + window ||
                                   (job.stop && job.stop->load()); });
        if (next_take >= end_take || io_failed || (job.stop && job.stop->load())) return;
        pos = next_take++;
      }
      ComboResult r = evaluator.evaluate(job.plan.shard + pos * stride);
      std::unique_lock lock(mu);
      ready.emplace(pos, std::move(r));
      bool wrote = false;
      for (auto it = ready.find(next_write); it != ready.end(); it = ready.find(next_write)) {
        const std::string row = format_row(it->second);
        if (!io_failed && std::fwrite(row.data(), 1, row.size(), f) != row.size()) {
          io_failed = true;
          io_errno = errno;
        }
        if (!out.best || better(it->second, *out.best)) out.best = it->second;
        ready.erase(it);
        ++next_write;
        wrote = true;
      }
      if (wrote) {
        if (std::fflush(f) != 0 && !io_failed) {
          io_failed = true;
          io_errno = errno;
        }
        if (job.progress) job.progress(next_write, out.total, out.best ? &*out.best : nullptr);
        cv.notify_all();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  // Rows computed beyond a gap left by an interruption are dropped: the file
  // stays a prefix of the final one.
  const bool close_ok = std::fclose(f) == 0;
  if (io_failed || !close_ok)
    return make_error(Errc::io, "write " + job.results_path + ": " + std::strerror(io_failed ? io_errno : errno));
  out.done = next_write;
  out.complete = out.done == out.total;
  if (job.indicator_cache) out.indicator_cache = job.indicator_cache->stats();
  return out;
}

}  // namespace te::backtest
