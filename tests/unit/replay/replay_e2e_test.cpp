// Event sourcing end to end on real data (issue 7): record a backtest of
// ../shared/data/nvda-1999-2014.txt, then everything a user does with the
// session — seek by sequence and by time, step both ways, replay, inspect-event,
// compare, export — and the determinism proof: `rerun` of an unchanged session
// writes a byte-identical events file, under a non-default configuration
// (slippage, per-share commission, volume cap, latency, risk limits) that only
// reproduces if meta.json restores all of it. Then a what-if rerun with a
// changed parameter, a refused rerun on changed data, and crash recovery of
// the real journal (truncated and corrupted tails).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/value_json.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/record_format.hpp"
#include "engine/journal/replay_cursor.hpp"
#include "engine/journal/session_dir.hpp"
#include "engine/journal/session_meta.hpp"
#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;
using te::test::write_file;
namespace j = te::journal;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A recorded session directory with one or more sessions in it.
struct Sessions {
  TempDir dir;
  std::string base = dir.file("sessions");
  std::string args(const std::string& cmd) const { return cmd + " --sessions-dir " + base; }
  std::string journal(const std::string& id) const { return base + "/" + id + "/events.msgpack.lz4"; }
  std::string meta(const std::string& id) const { return base + "/" + id + "/meta.json"; }

  CliRun record(const std::string& id, const std::string& strategy, const std::string& data,
                const std::string& extra = "") {
    return run_cli(dir, "backtest -q --no-html --strategy " + strategy + " --data " + data + " --out " +
                            dir.file("out-" + id) + " --record --sessions-dir " + base + " --session-id " + id + " " +
                            extra);
  }
};

// Execution and risk settings far from the defaults: a rerun that forgot any
// of them would fill, cost or refuse differently.
const char* kUnusualExecution =
    "--slippage percent:0.0007 --commission-model per_share:0.004:1.25 --max-volume-fraction 0.02 "
    "--latency-bars 1 --tick-size 0.01 --lot-size 5 --cash 250000 --seed 99";

std::string risk_config(const TempDir& dir) {
  const std::string path = dir.file("risk.toml");
  write_file(path,
             "[risk]\n"
             "max_open_positions = 1\n"
             "price_band = 0.2\n"
             "[risk.strategy]\n"
             "max_position_fraction = 0.9\n"
             "max_orders = 3\n"
             "order_window_s = 86400\n");
  return path;
}

j::SessionMeta load_meta(const std::string& path) {
  auto m = j::meta_from_json(read_file(path));
  REQUIRE(m.ok());
  return *m;
}

}  // namespace

TEST_CASE("a recorded real backtest can be sought, stepped, replayed, inspected and exported", "[replay]") {
  Sessions s;
  const CliRun rec = s.record("nvda", "strategies/sma_cross.lua", kNvda, "--record-mode full");
  INFO(rec.err);
  REQUIRE(rec.code == 0);
  const std::string report = read_file(s.dir.file("out-nvda/report.json"));
  REQUIRE(!report.empty());

  j::CountingReporter rep;
  auto cursor = j::ReplayCursor::open(s.journal("nvda"), rep);
  REQUIRE(cursor.ok());
  CHECK(rep.corruptions == 0);
  j::JournalReader& reader = (*cursor)->reader();
  REQUIRE(reader.first_sequence() == 1);
  const std::uint64_t last = reader.last_sequence();
  REQUIRE(last > 4000);  // at least one market_data per bar, plus states and orders

  // Everything in file order, for the linear-scan reference.
  std::vector<j::Event> all;
  {
    j::NullReporter quiet;
    auto r = j::JournalReader::open(s.journal("nvda"), quiet);
    REQUIRE(r.ok());
    j::Event e;
    while (*(*r)->next(e)) all.push_back(e);
  }
  REQUIRE(all.size() == last);
  std::size_t bars = 0, fills = 0, transitions = 0;
  for (const auto& e : all) {
    bars += e.get<j::MarketData>() != nullptr;
    fills += e.get<j::FillEvent>() != nullptr;
    transitions += e.get<j::Transition>() != nullptr;
  }
  CHECK(bars == 4012);  // every line of the file
  CHECK(fills > 50);
  CHECK(transitions > 50);
  CHECK(report.find("\"fills\": " + std::to_string(fills) + ",") != std::string::npos);

  SECTION("seek by sequence lands on that event") {
    for (std::uint64_t seq : {std::uint64_t{1}, std::uint64_t{2}, last / 3, last / 2, last - 1, last}) {
      auto ok = (*cursor)->seek(seq);
      REQUIRE(ok.ok());
      REQUIRE(*ok);
      CHECK((*cursor)->current().sequence == seq);
      CHECK(j::identical((*cursor)->current(), all[seq - 1]));
    }
    auto past = (*cursor)->seek(last + 1);
    REQUIRE(past.ok());
    CHECK_FALSE(*past);
  }

  SECTION("seek by time equals a linear scan, for every bar's time and between them") {
    std::vector<std::int64_t> times;
    for (std::size_t i = 0; i < all.size(); i += 37) {
      times.push_back(all[i].ts_event_ns);
      times.push_back(all[i].ts_event_ns + 1);
      times.push_back(all[i].ts_event_ns - 1);
    }
    times.push_back(all.front().ts_event_ns - 86'400'000'000'000);
    times.push_back(all.back().ts_event_ns + 1);
    for (std::int64_t t : times) {
      std::uint64_t expected = 0;
      for (const auto& e : all) {
        if (e.ts_event_ns >= t) {
          expected = e.sequence;
          break;
        }
      }
      auto ok = (*cursor)->seek_time(t);
      REQUIRE(ok.ok());
      INFO("t = " << t);
      if (expected == 0) {
        CHECK_FALSE(*ok);
      } else {
        REQUIRE(*ok);
        CHECK((*cursor)->current().sequence == expected);
      }
    }
  }

  SECTION("stepping forward then backward visits the same events in reverse") {
    const std::uint64_t from = last / 2;
    REQUIRE(*(*cursor)->seek(from));
    std::vector<std::uint64_t> forward{(*cursor)->current().sequence};
    for (int i = 0; i < 300; ++i) {
      auto ok = (*cursor)->step_forward();
      REQUIRE(ok.ok());
      REQUIRE(*ok);
      forward.push_back((*cursor)->current().sequence);
      REQUIRE(j::identical((*cursor)->current(), all[forward.back() - 1]));
    }
    for (std::size_t i = forward.size() - 1; i-- > 0;) {
      auto ok = (*cursor)->step_backward();
      REQUIRE(ok.ok());
      REQUIRE(*ok);
      REQUIRE((*cursor)->current().sequence == forward[i]);
      REQUIRE(j::identical((*cursor)->current(), all[forward[i] - 1]));
    }
    REQUIRE(*(*cursor)->seek(1));
    auto before_first = (*cursor)->step_backward();
    REQUIRE(before_first.ok());
    CHECK_FALSE(*before_first);
    CHECK((*cursor)->current().sequence == 1);
  }

  SECTION("the runner's state at a fill shows the position the fill opened") {
    auto fill_it = std::find_if(all.begin(), all.end(), [](const j::Event& e) { return e.get<j::FillEvent>() != nullptr; });
    REQUIRE(fill_it != all.end());
    // The state recorded after that bar's update.
    auto state_it = std::find_if(fill_it, all.end(), [](const j::Event& e) {
      const auto* st = e.get<j::RunnerState>();
      return st != nullptr && st->phase == j::StatePhase::After;
    });
    REQUIRE(state_it != all.end());
    auto view = (*cursor)->runner_view(0, state_it->sequence);
    REQUIRE(view.ok());
    REQUIRE(view->state.has_value());
    const auto* st = view->state->get<j::RunnerState>();
    REQUIRE(st != nullptr);
    const te::Value* qty = st->context.find("position") ? st->context.find("position")->find("qty") : nullptr;
    REQUIRE(qty != nullptr);
    CHECK(qty->as_double() == fill_it->get<j::FillEvent>()->fill.qty);
    REQUIRE(view->bar.has_value());
    CHECK(view->bar->sequence < state_it->sequence);
  }

  SECTION("replay prints the timeline, filtered and bounded") {
    const CliRun fills_only = run_cli(s.dir, s.args("replay --session nvda --filter fills"));
    INFO(fills_only.err);
    REQUIRE(fills_only.code == 0);
    CHECK(count_of(fills_only.out, " fill ") == fills);
    CHECK(fills_only.err.find(std::to_string(fills) + " events shown") != std::string::npos);

    const CliRun window = run_cli(s.dir, s.args("replay --session nvda --from 100 --to 149"));
    REQUIRE(window.code == 0);
    const auto lines = split_lines(window.out);
    REQUIRE(lines.size() == 1 + 50);  // the session line, then one per event
    CHECK(lines[1].find("     100  ") == 0);
    CHECK(lines[50].find("     149  ") == 0);

    const CliRun from_time = run_cli(s.dir, s.args("replay --session nvda --from-time 2008-01-02 --to " +
                                                     std::to_string(last)));
    REQUIRE(from_time.code == 0);
    CHECK(split_lines(from_time.out).at(1).find("2008-01-02") != std::string::npos);
  }

  SECTION("inspect-event shows state before/after and the changes of a fill's update") {
    auto fill_it = std::find_if(all.begin(), all.end(), [](const j::Event& e) { return e.get<j::FillEvent>() != nullptr; });
    const CliRun r = run_cli(s.dir, s.args("inspect-event --session nvda --sequence " + std::to_string(fill_it->sequence)));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("event " + std::to_string(fill_it->sequence) + " of session nvda") != std::string::npos);
    CHECK(r.out.find("fill") != std::string::npos);
    CHECK(r.out.find("changes (before -> after):") != std::string::npos);
    CHECK(r.out.find("position.qty") != std::string::npos);

    const CliRun js = run_cli(s.dir, s.args("inspect-event --json --session nvda --sequence " +
                                            std::to_string(fill_it->sequence)));
    REQUIRE(js.code == 0);
    CHECK(te::parse_json(js.out).ok());

    const CliRun missing = run_cli(s.dir, s.args("inspect-event --session nvda --sequence " + std::to_string(last + 5)));
    CHECK(missing.code != 0);
    CHECK(missing.err.find(std::to_string(last + 5)) != std::string::npos);
  }

  SECTION("export writes every selected event as CSV or JSON") {
    const CliRun csv = run_cli(s.dir, s.args("export --session nvda --format csv --filter fills --out " +
                                             s.dir.file("fills.csv")));
    INFO(csv.err);
    REQUIRE(csv.code == 0);
    const auto rows = split_lines(read_file(s.dir.file("fills.csv")));
    REQUIRE(rows.size() == 1 + fills);
    CHECK(rows[0] == "sequence,time,ts_event_ns,runner,type,summary,fields");
    for (std::size_t i = 1; i < rows.size(); ++i) CHECK(rows[i].find(",fill,") != std::string::npos);

    const CliRun json = run_cli(s.dir, s.args("export --session nvda --format json --from 1 --to 500 --out " +
                                              s.dir.file("head.json")));
    REQUIRE(json.code == 0);
    auto doc = te::parse_json(read_file(s.dir.file("head.json")));
    REQUIRE(doc.ok());
    const te::Value* events = doc->is_array() ? &*doc : doc->find("events");
    REQUIRE(events != nullptr);
    CHECK(events->as_array().size() == 500);
  }

  SECTION("sessions lists it with its result") {
    const CliRun r = run_cli(s.dir, s.args("sessions"));
    REQUIRE(r.code == 0);
    CHECK(r.out.find("nvda") != std::string::npos);
    CHECK(r.out.find("backtest") != std::string::npos);
    CHECK(r.out.find("completed") != std::string::npos);
  }
}

TEST_CASE("compare: identical recordings say so, a changed parameter is found at its first event", "[replay]") {
  Sessions s;
  REQUIRE(s.record("a", "strategies/sma_cross.lua", kNvda).code == 0);
  REQUIRE(s.record("b", "strategies/sma_cross.lua", kNvda).code == 0);
  REQUIRE(s.record("c", "strategies/sma_cross.lua", kNvda, "--param fast=12").code == 0);

  const CliRun same = run_cli(s.dir, s.args("compare --session1 a --session2 b"));
  INFO(same.out << same.err);
  CHECK(same.code == 0);
  CHECK(same.out.find("identical") != std::string::npos);
  // Only the session ids differ in the files: different sizes would mean more.
  CHECK(read_file(s.journal("a")).size() == read_file(s.journal("b")).size());

  const CliRun diff = run_cli(s.dir, s.args("compare --session1 a --session2 c"));
  INFO(diff.out);
  CHECK(diff.code == 1);
  CHECK(diff.out.find("identical") == std::string::npos);
  CHECK(diff.out.find("params") != std::string::npos);  // the setup difference
  // The first divergence is the first event whose recorded values differ:
  // find it independently.
  j::NullReporter q1, q2;
  auto ra = j::JournalReader::open(s.journal("a"), q1);
  auto rc = j::JournalReader::open(s.journal("c"), q2);
  REQUIRE(ra.ok());
  REQUIRE(rc.ok());
  j::Event ea, ec;
  std::uint64_t first_diff = 0;
  REQUIRE(*(*ra)->next(ea));  // session_start: compared apart
  REQUIRE(*(*rc)->next(ec));
  while (true) {
    const bool ha = *(*ra)->next(ea), hc = *(*rc)->next(ec);
    if (!ha || !hc) {
      first_diff = ha ? ea.sequence : ec.sequence;
      break;
    }
    if (!j::identical(ea, ec)) {
      first_diff = ea.sequence;
      break;
    }
  }
  REQUIRE(first_diff > 1);
  CHECK(diff.out.find("first divergence: sequence " + std::to_string(first_diff) + " in ") != std::string::npos);
  CHECK(diff.out.find("sessions differ") != std::string::npos);

  const CliRun nope = run_cli(s.dir, s.args("compare --session1 a --session2 no-such-session"));
  CHECK(nope.code == 2);
  CHECK(nope.err.find("no-such-session") != std::string::npos);
}

TEST_CASE("rerun reproduces a session byte for byte under its whole recorded configuration", "[replay]") {
  Sessions s;
  const std::string risk = risk_config(s.dir);
  const std::string mode = GENERATE(std::string("full"), std::string("delta"));
  INFO("record mode " << mode);
  const CliRun rec = s.record("orig", "strategies/bracket_trend.lua", kNvda,
                              std::string(kUnusualExecution) + " --config " + risk + " --record-mode " + mode +
                                  " --record-indicators --param stop_atr=3");
  INFO(rec.err);
  REQUIRE(rec.code == 0);

  // meta.json carries every setting and hash a rerun needs.
  const j::SessionMeta meta = load_meta(s.meta("orig"));
  const te::Value& cfg = meta.config;
  REQUIRE(cfg.find("execution") != nullptr);
  const te::Value& ex = *cfg.find("execution");
  CHECK(ex.find("slippage")->find("kind")->as_string() == "percent");
  CHECK(ex.find("slippage")->find("value")->as_double() == 0.0007);
  CHECK(ex.find("commission")->find("kind")->as_string() == "per_share");
  CHECK(ex.find("commission")->find("minimum")->as_double() == 1.25);
  CHECK(ex.find("max_volume_fraction")->as_double() == 0.02);
  CHECK(ex.find("latency_bars")->as_int() == 1);
  CHECK(ex.find("lot_size")->as_double() == 5);
  CHECK(cfg.find("risk")->find("account")->find("max_open_positions")->as_int() == 1);
  CHECK(cfg.find("risk")->find("strategy")->find("max_orders")->as_int() == 3);
  CHECK(cfg.find("sandbox")->find("memory_limit_bytes")->as_int() > 0);
  CHECK(cfg.find("seed")->as_int() == 99);
  CHECK(cfg.find("warmup_bars")->as_int() == 0);
  CHECK(cfg.find("params")->find("stop_atr")->as_string() == "3");
  REQUIRE(meta.strategies.size() == 1);
  auto dir = j::SessionDir::open(s.base, "orig");
  REQUIRE(dir.ok());
  CHECK(dir->load_source(meta.strategies[0].sha256).ok());
  REQUIRE(!cfg.find("indicator_files")->as_array().empty());
  for (const auto& f : cfg.find("indicator_files")->as_array()) {
    INFO(f.find("path")->as_string());
    CHECK(dir->load_source(f.find("sha256")->as_string()).ok());
  }
  REQUIRE(meta.data.size() == 1);
  CHECK(meta.data[0].sha256.size() == 64);
  CHECK(meta.data[0].bars_sha256.size() == 64);
  CHECK(meta.data[0].bars == 4012);

  SECTION("from the data file, then from the journal alone") {
    const CliRun re = run_cli(s.dir, s.args("rerun --session orig --session-id again"));
    INFO(re.out << re.err);
    REQUIRE(re.code == 0);
    CHECK(re.out.find("reproduces session orig exactly") != std::string::npos);
    const std::string original = read_file(s.journal("orig"));
    REQUIRE(original.size() > 10000);
    REQUIRE(read_file(s.journal("again")) == original);  // the determinism proof
    const j::SessionMeta again = load_meta(s.meta("again"));
    CHECK(again.mode == "rerun");
    CHECK(again.parent_session == "orig");
    CHECK(again.config_sha256 == meta.config_sha256);

    // With the data file gone, the bars stored in the journal are proven equal
    // (bars_sha256) and used: still byte-identical.
    const std::string moved = s.dir.file("elsewhere.csv");
    write_file(moved, read_file(kNvda));
    const CliRun from_journal =
        run_cli(s.dir, s.args("rerun --recorded-bars --session orig --session-id again2"));
    INFO(from_journal.out << from_journal.err);
    REQUIRE(from_journal.code == 0);
    CHECK(from_journal.out.find("bars recorded in the session's journal") != std::string::npos);
    REQUIRE(read_file(s.journal("again2")) == original);

    // A copy of the same data under another path is accepted (same hash).
    const CliRun copy = run_cli(s.dir, s.args("rerun --data " + moved + " --session orig --session-id again3"));
    REQUIRE(copy.code == 0);
    REQUIRE(read_file(s.journal("again3")) == original);
  }

  SECTION("a data file whose hash differs is refused with a clear error") {
    std::string data = read_file(kNvda);
    const auto at = data.rfind("2014-");
    REQUIRE(at != std::string::npos);
    data.insert(data.find(',', at) + 1, "0");  // one price changes in the last rows
    const std::string changed = s.dir.file("nvda-changed.csv");
    write_file(changed, data);
    const CliRun re = run_cli(s.dir, s.args("rerun --data " + changed + " --session orig --session-id bad"));
    CHECK(re.code != 0);
    CHECK(re.err.find("is not the data session orig ran on") != std::string::npos);
    CHECK(re.err.find(meta.data[0].sha256) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(s.base + "/bad"));
  }
}

TEST_CASE("a what-if rerun with a changed parameter reports per-trade differences", "[replay]") {
  Sessions s;
  REQUIRE(s.record("base", "strategies/sma_cross.lua", kNvda).code == 0);
  const CliRun re = run_cli(s.dir, s.args("rerun --session base --param fast=5 --session-id fast5"));
  INFO(re.out << re.err);
  REQUIRE(re.code == 0);
  CHECK(re.out.find("reproduces") == std::string::npos);
  CHECK(re.out.find("first divergence: sequence ") != std::string::npos);
  CHECK(re.out.find("sessions differ") != std::string::npos);
  const std::string text = read_file(s.base + "/fast5/comparison.txt");
  CHECK(re.out.find(text) != std::string::npos);
  CHECK(text.find("setup differences") != std::string::npos);
  auto json = te::parse_json(read_file(s.base + "/fast5/comparison.json"));
  REQUIRE(json.ok());
  CHECK_FALSE(json->find("identical")->as_bool());
  const te::Value* trades = json->find("trades");
  REQUIRE(trades != nullptr);
  // The trade lists differ, and the report says how, trade by trade: a faster
  // average enters earlier, so trades change or exist on one side only.
  const auto& rows = trades->find("differences")->as_array();
  REQUIRE(!rows.empty());
  CHECK(trades->find("changed")->as_int() + trades->find("only_a")->as_int() + trades->find("only_b")->as_int() ==
        static_cast<std::int64_t>(rows.size()));
  for (const auto& row : rows) {
    const std::string kind = row.find("kind")->as_string();
    CHECK((kind == "changed" || kind == "only_a" || kind == "only_b"));
    if (kind == "changed") CHECK(!row.find("changed")->as_array().empty());
  }
  CHECK(trades->find("pnl_a")->as_double() != trades->find("pnl_b")->as_double());
  CHECK(text.find("trades: ") != std::string::npos);

  const j::SessionMeta m = load_meta(s.meta("fast5"));
  CHECK(m.config.find("params")->find("fast")->as_string() == "5");
  // The what-if journal names itself, not the original.
  j::NullReporter q;
  auto r = j::JournalReader::open(s.journal("fast5"), q);
  REQUIRE(r.ok());
  j::Event first;
  REQUIRE(*(*r)->next(first));
  CHECK(first.get<j::SessionStart>()->session_id == "fast5");
  CHECK(first.get<j::SessionStart>()->mode == "rerun");

  const CliRun compare = run_cli(s.dir, s.args("compare --session1 base --session2 fast5"));
  CHECK(compare.code == 1);
}

TEST_CASE("crash recovery of a real journal: truncated and corrupted tails keep everything before", "[replay]") {
  Sessions s;
  // Every bar's state, delta-encoded: many blocks, and states to rebuild after the cut.
  REQUIRE(s.record("crash", "strategies/sma_cross.lua", kNvda, "--record-mode delta --record-states every_bar").code == 0);
  const std::string path = s.journal("crash");
  const std::string full = read_file(path);
  std::vector<j::BlockInfo> blocks;
  std::vector<j::Event> all;
  {
    j::CountingReporter rep;
    auto r = j::JournalReader::open(path, rep);
    REQUIRE(r.ok());
    REQUIRE(rep.corruptions == 0);
    blocks = (*r)->blocks();
    j::Event e;
    while (*(*r)->next(e)) all.push_back(e);
  }
  REQUIRE(blocks.size() >= 3);
  const auto block_end = [&](std::size_t i) { return blocks[i].offset + j::kBlockHeaderSize + blocks[i].header.stored_size; };

  SECTION("truncated at byte offsets across the last two blocks") {
    const std::string cut_path = s.dir.file("cut.lz4");
    const std::uint64_t from = blocks[blocks.size() - 2].offset;
    std::vector<std::uint64_t> cuts;
    for (std::uint64_t c = from; c < full.size(); c += 61) cuts.push_back(c);
    for (std::size_t b = blocks.size() - 2; b < blocks.size(); ++b)
      for (std::uint64_t d = 0; d < 80; ++d) cuts.push_back(blocks[b].offset + d);  // around each header
    for (std::uint64_t d = 1; d < 40; ++d) cuts.push_back(full.size() - d);
    for (const std::uint64_t cut : cuts) {
      write_file(cut_path, full.substr(0, cut));
      std::size_t complete = 0;
      std::uint64_t records = 0;
      while (complete < blocks.size() && block_end(complete) <= cut) records += blocks[complete++].header.record_count;
      const std::uint64_t valid_end = complete == 0 ? j::kFileHeaderSize : block_end(complete - 1);
      INFO("cut at " << cut << " of " << full.size());
      j::CountingReporter rep;
      auto r = j::JournalReader::open(cut_path, rep);
      REQUIRE(r.ok());
      REQUIRE((*r)->record_count() == records);
      REQUIRE(rep.bytes_dropped == cut - valid_end);
      if (cut > valid_end) {
        REQUIRE(rep.corruptions == 1);
        if (cut - blocks[complete].offset >= j::kBlockHeaderSize) {
          REQUIRE(rep.records_dropped == blocks[complete].header.record_count);
        } else {
          REQUIRE(rep.unknown_record_losses == 1);
        }
      }
      // Everything kept reads back equal to the intact journal, states rebuilt.
      j::Event e;
      std::uint64_t n = 0;
      while (*(*r)->next(e)) {
        REQUIRE(j::identical(e, all[n]));
        ++n;
      }
      REQUIRE(n == records);
    }
  }

  SECTION("a corrupted byte inside the last block loses that block only, and says so") {
    const std::size_t b = blocks.size() - 1;
    std::string bad = full;
    bad[blocks[b].offset + j::kBlockHeaderSize + blocks[b].header.stored_size / 2] ^= 0x20;
    write_file(s.dir.file("bad.lz4"), bad);
    j::CountingReporter rep;
    auto r = j::JournalReader::open(s.dir.file("bad.lz4"), rep);
    REQUIRE(r.ok());
    CHECK(rep.corruptions == 1);
    CHECK(rep.records_dropped == blocks[b].header.record_count);
    CHECK(rep.bytes_dropped == j::kBlockHeaderSize + blocks[b].header.stored_size);
    CHECK((*r)->record_count() == all.size() - blocks[b].header.record_count);
    CHECK((*r)->last_sequence() == blocks[b].header.first_sequence - 1);

    // The commands report the loss and carry on with what is intact.
    const std::string id_dir = s.base + "/crash";
    write_file(id_dir + "/events.msgpack.lz4", bad);
    const CliRun replay = run_cli(s.dir, s.args("replay --session crash --filter fills"));
    CHECK(replay.code == 0);
    CHECK(replay.err.find(std::to_string(blocks[b].header.record_count) + " events") != std::string::npos);
  }
}

TEST_CASE("bad input to the session commands gets a clear error", "[replay]") {
  Sessions s;
  REQUIRE(s.record("ok", "strategies/sma_cross.lua", kNvda).code == 0);

  const CliRun missing = run_cli(s.dir, s.args("replay --session nope"));
  CHECK(missing.code != 0);
  CHECK(missing.err.find("nope") != std::string::npos);

  // Not a journal.
  std::filesystem::create_directories(s.base + "/text");
  write_file(s.base + "/text/events.msgpack.lz4", "Date,Open,High\n1,2,3\n");
  const CliRun text = run_cli(s.dir, s.args("replay --session text"));
  CHECK(text.code != 0);
  CHECK(text.err.find("not a") != std::string::npos);

  // A newer major format version.
  std::string newer = read_file(s.journal("ok"));
  newer[8] = 9;
  std::filesystem::create_directories(s.base + "/newer");
  write_file(s.base + "/newer/events.msgpack.lz4", newer);
  const CliRun future = run_cli(s.dir, s.args("inspect-event --session newer --sequence 1"));
  CHECK(future.code != 0);
  CHECK(future.err.find("newer") != std::string::npos);

  const CliRun rerun_missing = run_cli(s.dir, s.args("rerun --session nope"));
  CHECK(rerun_missing.code != 0);
  CHECK(rerun_missing.err.find("nope") != std::string::npos);

  // meta.json is a file anyone can edit: escape sequences in it are not printed raw.
  std::string meta = read_file(s.meta("ok"));
  const std::string mode = "\"mode\": \"backtest\"";
  REQUIRE(meta.find(mode) != std::string::npos);
  meta.replace(meta.find(mode), mode.size(), "\"mode\": \"back\\u001b[2Jtest\"");
  write_file(s.meta("ok"), meta);
  for (const char* cmd : {"sessions", "replay --session ok --to 3", "compare --session1 ok --session2 ok"}) {
    const CliRun r = run_cli(s.dir, s.args(cmd));
    INFO(cmd);
    CHECK(r.code == 0);
    CHECK(r.out.find("back\\x1b[2Jtest") != std::string::npos);
    CHECK(r.out.find('\x1b') == std::string::npos);
  }
}
