// `optimize-merge --out DIR SHARD_DIR...`: the rows of complete shards of one
// search, merged into combination order (a streaming k-way merge: memory does
// not grow with the space), then reported exactly as the unsharded search is.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/optimize_setup.hpp"
#include "engine/app/options.hpp"
#include "engine/core/numbers.hpp"

namespace te::app {
namespace {

struct MergeArgs {
  std::vector<std::string> shards;
  std::string out;
  unsigned threads = 0;
  std::uint64_t monte_carlo = 1000;
  bool quiet = false, no_cache = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ShardReader {
  std::ifstream in;
  std::string line;
  std::uint64_t index = 0;
  bool live = false;
  std::string path;
  bool next() {
    live = static_cast<bool>(std::getline(in, line));
    if (!live) return false;
    line += '\n';
    std::int64_t i = 0;
    const auto comma = line.find(',');
    live = comma != std::string::npos && parse_int64(std::string_view(line).substr(0, comma), i);
    index = static_cast<std::uint64_t>(i);
    return live;
  }
};

int run_merge(const MergeArgs& a, const CommandContext& ctx) {
  if (a.shards.empty()) return print_error("optimize-merge needs the shard directories"), 1;
  std::vector<OptimizeSettings> settings;
  std::string identity;
  std::vector<bool> seen;
  for (const auto& dir : a.shards) {
    const std::string mpath = dir + "/manifest.json";
    if (!std::filesystem::exists(mpath)) return print_error(dir + " is not an optimize output (no manifest.json)"), 1;
    auto s = settings_from_manifest(mpath);
    if (!s) return print_error(s.error().message), 1;
    const std::string id = manifest_identity(read_text(mpath));
    if (identity.empty()) {
      identity = id;
      seen.assign(s->shards, false);
    } else if (id != identity) {
      return print_error(dir + " belongs to another search than " + a.shards[0] +
                         " (their manifests differ beyond the shard)"), 1;
    }
    if (s->shards != seen.size() || s->shard >= seen.size()) return print_error(dir + ": inconsistent shard count"), 1;
    if (seen[s->shard]) return print_error(fmt::format("{}: shard {}/{} is given twice", dir, s->shard, s->shards)), 1;
    seen[s->shard] = true;
    settings.push_back(std::move(*s));
  }
  for (std::size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) return print_error(fmt::format("shard {}/{} is missing", i, seen.size())), 1;

  OptimizeSettings s = settings[0];
  s.shard = 0;
  s.shards = 1;
  const std::string strategy_sha = s.strategy_sha256, data_sha = s.data_sha256, config_sha = s.config_sha256;
  const std::vector<std::string> indicator_files = s.indicator_files;
  auto in = load_search(s, !a.no_cache);
  if (!in) return print_error(in.error().message), 1;
  if (s.strategy_sha256 != strategy_sha || s.data_sha256 != data_sha)
    return print_error("the strategy or data file changed since the shards ran (" + s.strategy + ", " + s.data + ")"), 1;
  if (s.config_sha256 != config_sha || s.indicator_files != indicator_files)
    return print_error("the --config file or the Lua indicators changed since the shards ran"), 1;

  // Every shard must be complete: its row count is its slice of the space.
  const std::string header = backtest::results_header(in->plan.space);
  std::vector<ShardReader> readers(a.shards.size());
  for (std::size_t k = 0; k < a.shards.size(); ++k) {
    ShardReader& r = readers[k];
    r.path = a.shards[k] + "/results.csv";
    r.in.open(r.path, std::ios::binary);
    std::string h;
    if (!r.in || !std::getline(r.in, h) || h + "\n" != header)
      return print_error(r.path + ": missing, or not the results of this search"), 1;
    backtest::SearchPlan p = in->plan;
    p.shard = settings[k].shard;
    p.shards = settings[k].shards;
    const std::uint64_t want = backtest::shard_size(in->combinations, p);
    std::ifstream count(r.path, std::ios::binary);
    std::uint64_t lines = 0;
    for (std::string l; std::getline(count, l);) ++lines;
    if (lines - 1 != want)
      return print_error(fmt::format("{}: shard {}/{} is incomplete ({} of {} combinations); finish it by re-running its command",
                                     r.path, p.shard, p.shards, lines - 1, want)), 1;
    r.next();
  }

  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) return print_error("create output directory " + a.out + ": " + ec.message()), 1;
  {
    std::ofstream m(a.out + "/manifest.json", std::ios::binary | std::ios::trunc);
    m << manifest_json(s, in->combinations);
  }
  std::ofstream out(a.out + "/results.csv", std::ios::binary | std::ios::trunc);
  out << header;
  for (std::uint64_t want = 0; want < in->combinations; ++want) {
    ShardReader* r = nullptr;
    for (auto& x : readers)
      if (x.live && x.index == want) r = &x;
    if (!r) return print_error(fmt::format("combination {} is in no shard", want)), 1;
    out << r->line;
    r->next();
  }
  out.close();
  if (!out) return print_error("write " + a.out + "/results.csv"), 1;
  const unsigned threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  if (auto st = finish_search(a.out, s, *in, threads, a.monte_carlo, a.quiet, ctx.engine_version); !st)
    return print_error(st.error().message), 1;
  return 0;
}

}  // namespace

void register_optimize_merge(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("optimize-merge", "Merge the shards of an optimize --shard i/N search");
  cmd->footer(
      "Checks that the directories are all the shards of one search, each complete, then writes DIR with\n"
      "exactly what the unsharded search writes (results.csv, results.json, optimization.json, report.html, best/).\n\n"
      "Example:\n"
      "  trading-engine optimize-merge --out out/opt out/opt-0 out/opt-1 out/opt-2 out/opt-3");
  cmd->add_option("shards", a->shards, "Shard output directories")->required();
  cmd->add_option("--out", a->out, "Merged output directory")->required();
  cmd->add_option("--threads", a->threads, "Threads for Monte Carlo (default: all cores)");
  cmd->add_option("--monte-carlo", a->monte_carlo, "Monte Carlo simulations on the best combination (0: none)")
      ->capture_default_str();
  cmd->add_flag("--no-cache", a->no_cache, "Neither read nor write the binary cache of the data file");
  cmd->add_flag("-q,--quiet", a->quiet, "Print nothing on success");
  cmd->callback([a, &ctx] { ctx.exit_code = run_merge(*a, ctx); });
}

}  // namespace te::app
