// The report files are streamed to disk through a small buffer (output_file.hpp)
// and a JSON writer that hands its text over in pieces; the bytes must be
// exactly those of the one-string functions (report_json, trades_csv,
// equity_csv, backtest_html), on a real run with real trades.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/backtest/equity_stream.hpp"
#include "engine/backtest/metrics.hpp"
#include "engine/backtest/output_file.hpp"
#include "engine/backtest/report.hpp"
#include "engine/backtest/report_html.hpp"
#include "engine/core/json_writer.hpp"
#include "engine/core/utf8.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/script/strategy_host.hpp"
#include "tests/support/temp_files.hpp"

using namespace te;
using te::test::read_file;
using te::test::write_file;
using te::test::TempDir;

namespace {

struct Run {
  model::BarSeries bars;
  backtest::BacktestResult result;
  backtest::Metrics metrics;
  backtest::ReportStamp stamp;
};

Run run(const std::string& data, const std::string& strategy, const std::string& symbol, bool date_only_expected) {
  data::LoadOptions lo;
  lo.cache.read = lo.cache.write = false;
  lo.symbol = symbol;
  auto bars = data::load_bars(data, lo);
  REQUIRE(bars);
  REQUIRE(bars->date_only() == date_only_expected);
  auto src = script::read_strategy(strategy);
  REQUIRE(src);
  backtest::BacktestConfig cfg;
  cfg.exchange.commission.rate = 0.001;
  cfg.keep_transitions = false;
  auto r = backtest::run_backtest(cfg, *bars, *src);
  REQUIRE(r);
  REQUIRE_FALSE(r->fault);
  REQUIRE(r->trades.size() > 10);
  Run out{*bars, std::move(*r), {}, {}};
  out.metrics = backtest::compute_metrics(out.result);
  out.stamp.engine_version = "test";
  out.stamp.strategy_path = strategy;
  out.stamp.data_path = data;
  out.stamp.strategy_sha256 = src->sha256;
  out.stamp.data_sha256 = std::string(64, 'a');
  out.stamp.config_sha256 = std::string(64, 'b');
  out.stamp.params = out.result.params;
  out.stamp.fill_model = "next_open";
  out.stamp.elapsed_s = 0.25;
  return out;
}

}  // namespace

TEST_CASE("streamed report files are byte-identical to the in-memory reports", "[report][backtest]") {
  struct Case {
    std::string data, strategy, symbol;
    bool date_only;
  };
  // The second symbol puts "</" into the page's data block, which must be escaped.
  const Case cases[] = {
      {TE_SHARED_DIR "/data/nvda-1999-2014.txt", TE_SOURCE_DIR "/strategies/sma_cross.lua", "NVDA", true},
      {TE_SHARED_DIR "/data/orcl-1995-2014.txt", TE_SOURCE_DIR "/strategies/sma_cross.lua", "ORCL</b>",
       true},
  };
  for (const Case& c : cases) {
    INFO(c.strategy << " on " << c.data);
    const Run r = run(c.data, c.strategy, c.symbol, c.date_only);
    TempDir dir;
    backtest::ReportFileTimes times;
    backtest::ReportOptions options;
    options.bars = &r.bars;
    options.times = &times;
    REQUIRE(backtest::write_report(dir.path().string(), r.result, r.metrics, r.stamp, options));
    CHECK(read_file(dir.file("report.json")) == backtest::report_json(r.result, r.metrics, r.stamp));
    CHECK(read_file(dir.file("trades.csv")) == backtest::trades_csv(r.result));
    const std::string equity = read_file(dir.file("equity.csv"));
    CHECK(equity == backtest::equity_csv(r.result));
    CHECK(equity.rfind("time,cash,position_value,equity,drawdown\n", 0) == 0);
    CHECK(static_cast<std::size_t>(std::count(equity.begin(), equity.end(), '\n')) == r.result.bars + 1);
    const std::string html = read_file(dir.file("report.html"));
    CHECK(html == backtest::backtest_html(r.result, r.metrics, r.stamp, &r.bars));
    if (c.symbol.find("</") != std::string::npos) CHECK(html.find("ORCL<\\/b>") != std::string::npos);
    CHECK(times.equity.wall_ms > 0);
    CHECK(times.html.cpu_ms > 0);
  }
}

TEST_CASE("equity.csv and metrics produced during the run equal those of the finished result", "[report][backtest]") {
  for (const char* name : {"nvda-1999-2014.txt", "orcl-1995-2014.txt"}) {
    INFO(name);
    data::LoadOptions lo;
    lo.cache.read = lo.cache.write = false;
    auto bars = data::load_bars(std::string(TE_SHARED_DIR) + "/data/" + name, lo);
    REQUIRE(bars);
    auto src = script::read_strategy(TE_SOURCE_DIR "/strategies/sma_cross.lua");
    REQUIRE(src);
    TempDir dir;
    const std::string path = dir.file("equity.csv");
    backtest::BacktestConfig cfg;
    cfg.initial_cash = 50000;
    cfg.exchange.commission.rate = 0.002;
    // Sized as the backtest command sizes it: the worker keeps the columns the
    // reports read.
    auto stream = backtest::EquityStream::open(path, cfg.initial_cash, bars->date_only(), bars->size());
    REQUIRE(stream);
    cfg.equity_listener = stream->get();
    auto r = backtest::run_backtest(cfg, *bars, *src);
    REQUIRE(r);
    REQUIRE(r->trades.size() > 10);
    CHECK_FALSE(std::filesystem::exists(path));  // only the .partial file until finish()
    REQUIRE((*stream)->finish());
    CHECK((*stream)->rows() == r->bars);
    CHECK(read_file(path) == backtest::equity_csv(*r));
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    // The same metrics and months, bit for bit (compared through the report's text).
    const backtest::Metrics streamed = (*stream)->accumulator().finish(*r);
    const backtest::Metrics replayed = backtest::compute_metrics(*r);
    backtest::ReportStamp st;
    CHECK(backtest::report_json(*r, streamed, st) == backtest::report_json(*r, replayed, st));
    const auto months = (*stream)->accumulator().monthly();
    const auto expected = backtest::monthly_returns(*r);
    REQUIRE(months.size() == expected.size());
    for (std::size_t i = 0; i < months.size(); ++i) {
      CHECK(months[i].year == expected[i].year);
      CHECK(months[i].month == expected[i].month);
      CHECK(months[i].ret == expected[i].ret);
    }
    // The kept columns equal the run's own, bit for bit, and the reports the
    // command writes from them (report.json, report.html, the summary) are the same.
    backtest::ReportOptions ro;  // as the command writes them
    ro.bars = &*bars;
    ro.equity_csv = false;
    ro.monthly = &months;
    st.data_path = name;
    const std::string from_kept = dir.file("kept"), from_full = dir.file("full");
    std::filesystem::create_directories(from_kept);
    std::filesystem::create_directories(from_full);
    REQUIRE(backtest::write_report(from_full, *r, streamed, st, ro));
    const std::string summary = backtest::format_summary(*r, streamed, st);
    backtest::EquityCurve full = std::move(r->equity);
    r->equity = (*stream)->take_curve();
    const backtest::EquityCurve& kept = r->equity;
    REQUIRE(kept.ts_ns.size() == r->bars);
    REQUIRE(kept.equity.size() == r->bars);
    REQUIRE(kept.drawdown.size() == r->bars);
    CHECK(kept.cash.empty());
    CHECK(kept.position_value.empty());
    CHECK(std::equal(kept.ts_ns.begin(), kept.ts_ns.end(), full.ts_ns.begin()));
    CHECK(std::memcmp(kept.equity.data(), full.equity.data(), r->bars * sizeof(double)) == 0);
    CHECK(std::memcmp(kept.drawdown.data(), full.drawdown.data(), r->bars * sizeof(double)) == 0);
    REQUIRE(backtest::write_report(from_kept, *r, streamed, st, ro));
    for (const char* f : {"/report.json", "/report.html", "/trades.csv"}) {
      INFO(f);
      CHECK(read_file(from_kept + f) == read_file(from_full + f));
    }
    CHECK(backtest::format_summary(*r, streamed, st) == summary);
  }
}

TEST_CASE("an equity stream keeps no more rows than it was sized for", "[report][backtest]") {
  TempDir dir;
  auto stream = backtest::EquityStream::open(dir.file("equity.csv"), 1000, false, 10000);
  REQUIRE(stream);
  for (int i = 0; i < 20000; ++i) (*stream)->on_equity(i * 60'000'000'000LL, 1000 - i, i, 1000.0 - (i % 7));
  REQUIRE((*stream)->finish());
  CHECK((*stream)->rows() == 20000);
  const backtest::EquityCurve c = (*stream)->take_curve();
  REQUIRE(c.ts_ns.size() == 10000);
  REQUIRE(c.equity.size() == 10000);
  REQUIRE(c.drawdown.size() == 10000);
  CHECK(c.ts_ns.back() == 9999 * 60'000'000'000LL);
  CHECK(c.equity.back() == 1000.0 - (9999 % 7));
  CHECK(c.drawdown[6] == 6.0 / 1000);
}

// Files are preallocated from their first rows (OutputFile::preallocate) and
// cut back to what was written: the same bytes whether the guess was short,
// long or never made.
TEST_CASE("a preallocated equity.csv holds exactly the rows written", "[report][backtest]") {
  TempDir dir;
  auto write = [&](const std::string& name, std::size_t sized_for, int rows) {
    auto stream = backtest::EquityStream::open(dir.file(name), 1000, false, sized_for);
    REQUIRE(stream);
    for (int i = 0; i < rows; ++i) (*stream)->on_equity(i * 60'000'000'000LL, 1000 - i, i * 0.25, 1000.0 - (i % 13) * 1.5);
    REQUIRE((*stream)->finish());
    return read_file(dir.file(name));
  };
  const std::string plain = write("plain.csv", 0, 30000);  // no size known: no preallocation
  CHECK(write("long.csv", 200000, 30000) == plain);       // guessed far too long: cut back
  CHECK(write("short.csv", 10000, 30000) == plain);       // too short: the rest grows as usual
  CHECK(write("right.csv", 30000, 30000) == plain);
  CHECK(std::filesystem::file_size(dir.file("long.csv")) == plain.size());
  // The file itself.
  auto f = backtest::OutputFile::create(dir.file("small.txt"));
  REQUIRE(f);
  f->preallocate(1 << 20);
  f->append("twelve bytes");
  CHECK(f->bytes() == 12);
  REQUIRE(f->close());
  CHECK(read_file(dir.file("small.txt")) == "twelve bytes");
  {
    // Destroyed without close() (an exception on the way): no preallocated
    // tail of NUL bytes is left (before: a 1 MiB file of them).
    auto dropped = backtest::OutputFile::create(dir.file("dropped.txt"));
    REQUIRE(dropped);
    dropped->preallocate(1 << 20);
    dropped->append("never drained");
  }
  CHECK(std::filesystem::file_size(dir.file("dropped.txt")) == 0);
  {
    // While it is written (a process killed now leaves this file): its size is
    // what was written, with no preallocated tail of NUL bytes (was 1 MiB).
    auto open = backtest::OutputFile::create(dir.file("open.txt"));
    REQUIRE(open);
    open->preallocate(1 << 20);
    open->append(std::string(backtest::OutputFile::kBufferSize + 100, 'x'));  // one buffer drained
    CHECK(std::filesystem::file_size(dir.file("open.txt")) == backtest::OutputFile::kBufferSize);
  }
  // Past 4 MiB a file is preallocated ahead of its writes: 6 MiB and a bit.
  std::string text;
  for (int i = 0; text.size() < (std::size_t{6} << 20) + 12345; ++i) text += std::to_string(i) + ",";
  auto big = backtest::OutputFile::create(dir.file("big.txt"));
  REQUIRE(big);
  for (std::size_t at = 0; at < text.size(); at += 1000) big->append(std::string_view(text).substr(at, 1000));
  REQUIRE(big->close());
  CHECK(std::filesystem::file_size(dir.file("big.txt")) == text.size());
  CHECK(read_file(dir.file("big.txt")) == text);
}

// A new file past 4 MiB is preallocated 16 MiB ahead of its writes; one written
// over an old file is not (it grows past the old end by a little: a rerun's
// report, and the reserve was freed again by close(), which waits for the
// device's discard on ext4 mounted with `discard`).
TEST_CASE("a file written over an old one is not preallocated ahead of its writes", "[report][backtest]") {
  TempDir dir;
  const std::string text(std::size_t{5} << 20, 'n');
  auto reserved = [](const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
  };
  const std::string fresh = dir.file("fresh.json");
  auto f = backtest::OutputFile::create(fresh);
  REQUIRE(f);
  f->append(text);
  f->append(std::string(2 * backtest::OutputFile::kBufferSize, 'm'));  // past 5 MiB, drained
  const std::uint64_t fresh_blocks = reserved(fresh);
  REQUIRE(f->close());
  const std::string path = dir.file("report.json");
  write_file(path, std::string(std::size_t{5} << 20, 'o'));
  auto over = backtest::OutputFile::create_over(path);
  REQUIRE(over);
  over->append(text);
  over->append(std::string(2 * backtest::OutputFile::kBufferSize, 'm'));
  const std::uint64_t over_blocks = reserved(backtest::OutputFile::aside_name(path));
  REQUIRE(over->close());
  CHECK(read_file(path) == read_file(fresh));
  // Where the file system preallocates at all (ext4 here; tmpfs too), the new
  // file holds the 16 MiB ahead; the written-over one only what it was written.
  if (fresh_blocks > (std::uint64_t{16} << 20)) CHECK(over_blocks < (std::uint64_t{7} << 20));
}

// A report written over the old file it replaces (OutputFile::create with a
// storage file): exactly the new bytes, under the new name, in the old inode;
// never over a file with another name, and never half written under its name.
TEST_CASE("an output file written over an old one holds exactly the new text", "[report][backtest]") {
  TempDir dir;
  const auto inode = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
  };
  std::string text;
  for (int i = 0; text.size() < 3 * backtest::OutputFile::kBufferSize + 777; ++i) text += std::to_string(i * 7) + ";";
  const auto write_over = [&](const std::string& name, std::size_t old_size) {
    const std::string old = dir.file("." + name + ".old");
    write_file(old, std::string(old_size, '#'));
    const auto old_inode = inode(old);
    auto f = backtest::OutputFile::create(dir.file(name), old);
    REQUIRE(f);
    CHECK_FALSE(std::filesystem::exists(dir.file(name)));  // not under its name until complete
    // Pieces of every size, so the buffer drains at arbitrary fill levels.
    for (std::size_t at = 0, k = 1; at < text.size(); at += k, k = k * 3 % 5001 + 1)
      f->room(5001), f->append(std::string_view(text).substr(at, k));
    REQUIRE(f->close());
    CHECK(read_file(dir.file(name)) == text);
    CHECK(inode(dir.file(name)) == old_inode);
    CHECK_FALSE(std::filesystem::exists(old));
  };
  write_over("longer.txt", 5 * backtest::OutputFile::kBufferSize);  // cut back
  write_over("shorter.txt", 1000);                                   // grows
  write_over("empty.txt", 0);

  // A hard-linked old file is not written over: the other name keeps its text.
  const std::string linked = dir.file(".linked.old");
  write_file(linked, "keep me");
  REQUIRE(::link(linked.c_str(), dir.file("other-name").c_str()) == 0);
  auto f = backtest::OutputFile::create(dir.file("linked.txt"), linked);
  REQUIRE(f);
  f->append("new text");
  REQUIRE(f->close());
  CHECK(read_file(dir.file("linked.txt")) == "new text");
  CHECK(read_file(dir.file("other-name")) == "keep me");
  CHECK_FALSE(std::filesystem::exists(linked));

  // Gone before close() (an exception on the way): neither name is left with
  // a mixture of old and new text.
  const std::string dropped = dir.file(".dropped.old");
  write_file(dropped, std::string(2 * backtest::OutputFile::kBufferSize, '#'));
  {
    auto g = backtest::OutputFile::create(dir.file("dropped.txt"), dropped);
    REQUIRE(g);
    g->append(std::string(backtest::OutputFile::kBufferSize + 10, 'n'));
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("dropped.txt")));
  CHECK_FALSE(std::filesystem::exists(dropped));
  // A request for a whole buffer of room while a whole-page drain's tail is
  // in the buffer: the tail is written out first, never overrun.
  {
    constexpr std::size_t kBuf = backtest::OutputFile::kBufferSize;
    auto full = backtest::OutputFile::create(dir.file("full.txt"));
    REQUIRE(full);
    full->append(std::string(5000, 'a'));
    (void)full->room(kBuf - 4000);  // drains one page, keeps 904 bytes
    char* p = full->room(kBuf);
    std::memset(p, 'b', kBuf);
    full->commit(p + kBuf);
    REQUIRE(full->close());
    CHECK(read_file(dir.file("full.txt")) == std::string(5000, 'a') + std::string(kBuf, 'b'));
  }
  // create_over: the file under the name itself, written over in place of a
  // new one; one with set-id bits or another owner is replaced by a new file.
  const auto over = [&](const std::string& name, mode_t mode, bool other_owner) {
    const std::string path = dir.file(name);
    write_file(path, std::string(3 * backtest::OutputFile::kBufferSize, '#'));
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    if (other_owner && ::geteuid() == 0) REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    // Held open: the old file itself, whatever becomes of its name.
    const int old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(old_fd >= 0);
    auto written = backtest::OutputFile::create_over(path);
    REQUIRE(written);
    written->append("replaced");
    REQUIRE(written->close());
    CHECK(read_file(path) == "replaced");
    char head[8] = {};
    const bool overwritten = ::pread(old_fd, head, sizeof head, 0) == sizeof head && std::memcmp(head, "replaced", 8) == 0;
    ::close(old_fd);
    return overwritten;
  };
  CHECK(over("plain.json", 0644, false));
  CHECK_FALSE(over("setuid.json", 04755, false));
  if (::geteuid() == 0) CHECK_FALSE(over("others.json", 0644, true));
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".replaced-") == std::string::npos);
  // A storage file that is missing: a new file as usual.
  auto h = backtest::OutputFile::create(dir.file("fresh.txt"), dir.file(".missing.old"));
  REQUIRE(h);
  h->append("fresh");
  REQUIRE(h->close());
  CHECK(read_file(dir.file("fresh.txt")) == "fresh");
}

// equity.csv of a rerun is written over the old file's storage, but only once
// the caller says the old file may go (EquityStream::replace_old: the data
// passed its checks); until then the old file stays as it was and the rows
// wait in memory, up to a bound, past which a new file is written as before.
TEST_CASE("an output file that cannot take the old one over leaves both names as they were", "[report][backtest]") {
  TempDir dir;
  const std::string old = dir.file("equity.csv"), partial = dir.file("equity.csv.partial");
  write_file(old, "the old rows\n");
  SECTION("the partial name cannot be replaced (a directory): the old file goes back under its name") {
    std::filesystem::create_directory(partial);
    REQUIRE_FALSE(backtest::OutputFile::take_over(old, partial).has_value());
    CHECK(read_file(old) == "the old rows\n");
    CHECK(std::filesystem::is_directory(partial));
    CHECK_FALSE(std::filesystem::exists(backtest::OutputFile::aside_name(old)));
  }
  SECTION("taken over: the partial file the stream made is replaced by the old one") {
    write_file(partial, "");
    auto f = backtest::OutputFile::take_over(old, partial);
    REQUIRE(f.has_value());
    CHECK_FALSE(std::filesystem::exists(old));
    CHECK_FALSE(std::filesystem::exists(backtest::OutputFile::aside_name(old)));
    f->append("new\n");
    REQUIRE(f->close());
    CHECK(read_file(partial) == "new\n");
  }
}

TEST_CASE("an equity stream writes over the old file only once it may", "[report][backtest]") {
  TempDir dir;
  auto feed = [](backtest::EquityStream& s, int from, int to) {
    for (int i = from; i < to; ++i) s.on_equity(i * 60'000'000'000LL, 1000 - i * 0.5, i * 0.25, 1000.0 - (i % 11) * 1.5);
  };
  std::string expected;  // the rows written to a new file, no old file involved
  {
    auto plain = backtest::EquityStream::open(dir.file("plain.csv"), 1000, false, 50000);
    REQUIRE(plain);
    feed(**plain, 0, 50000);
    REQUIRE((*plain)->finish());
    expected = read_file(dir.file("plain.csv"));
  }
  const std::string old_text(3 << 20, 'o');  // longer than the new file: cut to length
  const auto held = [](const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return fd;
  };
  const auto contents = [](int fd) {
    std::string text(std::size_t{4} << 20, '\0');
    const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    ::close(fd);
    return text;
  };

  SECTION("allowed after two blocks: the old file's storage holds the new rows") {
    const std::string path = dir.file("a.csv");
    write_file(path, old_text);
    const int old_fd = held(path);
    auto s = backtest::EquityStream::open(path, 1000, false, 50000);
    REQUIRE(s);
    int asked = 0;
    (*s)->replace_old([&asked] { return ++asked > 2; });
    feed(**s, 0, 2 * 8192 + 10);  // two blocks handed over: still waiting
    CHECK((*s)->waiting_for_old());
    CHECK(read_file(path) == old_text);
    feed(**s, 2 * 8192 + 10, 50000);
    CHECK_FALSE((*s)->waiting_for_old());
    CHECK_FALSE(std::filesystem::exists(path));  // renamed to the partial name while written
    REQUIRE((*s)->finish());
    CHECK((*s)->wrote_over());
    CHECK(read_file(path) == expected);
    CHECK(contents(old_fd) == expected);  // the same file
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  }
  SECTION("a shorter old file grows; a run shorter than a block is written over at finish()") {
    for (int rows : {50000, 100}) {
      const std::string path = dir.file("short.csv");
      write_file(path, "short old text\n");
      const int old_fd = held(path);
      auto s = backtest::EquityStream::open(path, 1000, false, rows);
      REQUIRE(s);
      (*s)->replace_old([rows] { return rows == 50000; });
      feed(**s, 0, rows);
      REQUIRE((*s)->finish());
      CHECK((*s)->wrote_over());
      const std::string text = read_file(path);
      CHECK(text == expected.substr(0, text.size()));
      CHECK(std::count(text.begin(), text.end(), '\n') == rows + 1);
      CHECK(contents(old_fd) == text);
    }
  }
  SECTION("destroyed while waiting (a discarded run): the old file as it was, no partial file") {
    const std::string path = dir.file("kept.csv");
    write_file(path, old_text);
    {
      auto s = backtest::EquityStream::open(path, 1000, false, 50000);
      REQUIRE(s);
      (*s)->replace_old([] { return false; });
      feed(**s, 0, 50000);
    }
    CHECK(read_file(path) == old_text);
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  }
  SECTION("never allowed: past its bound of blocks the stream writes a new file; the old one stays until finish()") {
    const std::string path = dir.file("bound.csv");
    write_file(path, old_text);
    const int old_fd = held(path);
    auto s = backtest::EquityStream::open(path, 1000, false, 1'100'000);
    REQUIRE(s);
    (*s)->replace_old([] { return false; });
    feed(**s, 0, 127 * 8192);  // 127 blocks handed over: the pool at its bound (kMaxBlocks, 128)
    CHECK((*s)->waiting_for_old());
    feed(**s, 127 * 8192, 1'100'000);
    CHECK_FALSE((*s)->waiting_for_old());
    CHECK(read_file(path) == old_text);
    REQUIRE((*s)->finish());
    CHECK_FALSE((*s)->wrote_over());
    CHECK(contents(old_fd) == old_text);  // a new file replaced it
    const std::string text = read_file(path);
    CHECK(text.substr(0, expected.size()) == expected);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1'100'001);
  }
  SECTION("a file that is not ours to write over (another link) is replaced by a new one") {
    const std::string path = dir.file("linked.csv");
    write_file(path, old_text);
    std::filesystem::create_hard_link(path, dir.file("other-name.csv"));
    auto s = backtest::EquityStream::open(path, 1000, false, 50000);
    REQUIRE(s);
    (*s)->replace_old([] { return true; });
    CHECK_FALSE((*s)->waiting_for_old());  // nothing to wait for
    feed(**s, 0, 50000);
    REQUIRE((*s)->finish());
    CHECK_FALSE((*s)->wrote_over());
    CHECK(read_file(path) == expected);
    CHECK(read_file(dir.file("other-name.csv")) == old_text);
  }
  SECTION("no old file: a new one, without waiting") {
    const std::string path = dir.file("none.csv");
    auto s = backtest::EquityStream::open(path, 1000, false, 50000);
    REQUIRE(s);
    (*s)->replace_old([] { return false; });
    CHECK_FALSE((*s)->waiting_for_old());  // a first run: its rows are written at once
    feed(**s, 0, 50000);
    REQUIRE((*s)->finish());
    CHECK_FALSE((*s)->wrote_over());
    CHECK(read_file(path) == expected);
  }
}

TEST_CASE("an equity stream that is not finished leaves no file behind", "[report][backtest]") {
  TempDir dir;
  const std::string path = dir.file("equity.csv");
  {
    auto stream = backtest::EquityStream::open(path, 1000, false);
    REQUIRE(stream);
    for (int i = 0; i < 20000; ++i) (*stream)->on_equity(i * 60'000'000'000LL, 1000, 0, 1000);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(path + ".partial"));
  auto bad = backtest::EquityStream::open(dir.file("missing/dir/equity.csv"), 1000, false);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("missing/dir/equity.csv.partial") != std::string::npos);
}

TEST_CASE("a JSON writer with a sink streams the same text in pieces", "[report][backtest]") {
  auto build = [](JsonWriter& j) {
    j.begin_object();
    j.field("name", "a \"quoted\"\n</script> value\x01");
    j.key("values").begin_array();
    for (int i = 0; i < 2000; ++i) {
      j.value(i * 0.25);
      j.value(static_cast<std::int64_t>(-i));
      j.value(static_cast<std::uint64_t>(static_cast<std::uint64_t>(i) * 1000000007ULL));
    }
    j.end_array();
    j.key("empty").begin_object().end_object();
    j.end_object();
  };
  for (int indent : {0, 2}) {
    JsonWriter whole(indent);
    build(whole);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      std::string streamed;
      std::size_t pieces = 0;
      JsonWriter j(indent);
      j.set_sink(
          [&](std::string_view part) {
            streamed += part;
            ++pieces;
          },
          chunk);
      build(j);
      j.flush();
      CHECK(j.str().empty());
      CHECK(streamed == whole.str());
      CHECK(pieces > 1);
    }
  }
  // Escapes are unchanged by the run-at-a-time copy.
  JsonWriter e(0);
  e.value("tab\there \\ \"q\" \x1f end");
  CHECK(e.str() == "\"tab\\there \\\\ \\\"q\\\" \\u001f end\"");
}

TEST_CASE("JSON string escapes are found wherever they sit in a long string", "[report][backtest]") {
  // The escape scan reads 8 bytes at a time: put each kind of escape at every
  // offset of a 40-byte string of plain, UTF-8 and 0x7f bytes.
  // Bytes that are not well-formed UTF-8 become U+FFFD (utf8_sequence_length
  // is checked against Unicode's table in tests/unit/core/json_utf8_test.cpp).
  auto one_by_one = [](std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char ch = s[i];
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x80) {
        const std::size_t n = te::utf8_sequence_length(s, i);
        if (n == 0) {
          out += "\\ufffd";
        } else {
          out += s.substr(i, n);
          i += n - 1;
        }
      } else if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20) out += "\\u00" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
      else out += ch;
    }
    return out + "\"";
  };
  const std::string base = "price \xc3\xa9t\xc3\xa9 \x7f ~ plain text of forty bytes or more";
  REQUIRE(base.size() >= 40);
  for (const char special : {'"', '\\', '\n', '\r', '\t', '\x01', '\x1f', ' ', '\x80', '\xff'}) {
    for (std::size_t at = 0; at < base.size(); ++at) {
      std::string s = base;
      s[at] = special;
      std::string out;
      JsonWriter::append_escaped(out, s);
      INFO("byte " << static_cast<int>(static_cast<unsigned char>(special)) << " at " << at);
      REQUIRE(out == one_by_one(s));
      // is_plain (the activity rows' shortcut) only says yes for text copied as is.
      if (JsonWriter::is_plain(s)) REQUIRE(out == "\"" + s + "\"");
    }
  }
  // ASCII without escapes is plain at any length; any one escape or non-ASCII
  // byte at any offset is not.
  const std::string ascii = "buy 1000 at 100.16 costs 100160 with commission, cash is 100000 ~";
  for (std::size_t len = 0; len <= ascii.size(); ++len) REQUIRE(JsonWriter::is_plain(ascii.substr(0, len)));
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x80', '\xff'}) {
    for (std::size_t at = 0; at < ascii.size(); ++at) {
      std::string s = ascii;
      s[at] = special;
      INFO("byte " << static_cast<int>(static_cast<unsigned char>(special)) << " at " << at);
      REQUIRE(JsonWriter::is_plain(s) == (special == '\x7f'));
    }
  }
}

// The backtest command's cache check hands rows out as they pass
// (BacktestConfig::bar_gate): a run never reads a bar past what the gate
// allowed, and a gate that allows everything changes nothing.
TEST_CASE("a bar gate bounds the bars a run reads", "[report][backtest]") {
  data::LoadOptions lo;
  lo.cache.read = lo.cache.write = false;
  auto bars = data::load_bars(TE_SHARED_DIR "/data/nvda-1999-2014.txt", lo);
  REQUIRE(bars);
  auto src = script::read_strategy(TE_SOURCE_DIR "/strategies/sma_cross.lua");
  REQUIRE(src);
  struct Gate final : backtest::BarGate {
    std::size_t limit, step, asked = 0, calls = 0;
    Gate(std::size_t l, std::size_t s) : limit(l), step(s) {}
    std::size_t ready(std::size_t bars) noexcept override {
      ++calls;
      asked = std::max(asked, bars);
      // Hands out `step` rows at a time, never past `limit` (a bad block there).
      return std::min(limit, ((bars + step - 1) / step) * step);
    }
  };
  backtest::BacktestConfig cfg;
  auto plain = backtest::run_backtest(cfg, *bars, *src);
  REQUIRE(plain);
  Gate all(bars->size(), 100);
  cfg.bar_gate = &all;
  auto gated = backtest::run_backtest(cfg, *bars, *src);
  REQUIRE(gated);
  CHECK(gated->bars == plain->bars);
  CHECK(backtest::trades_csv(*gated) == backtest::trades_csv(*plain));
  CHECK(backtest::equity_csv(*gated) == backtest::equity_csv(*plain));
  CHECK(all.calls == (bars->size() + 99) / 100 + 1);  // the first 64 bars before the run, then every 100
  Gate stop(1000, 100);
  cfg.bar_gate = &stop;
  auto stopped = backtest::run_backtest(cfg, *bars, *src);
  REQUIRE(stopped);
  CHECK(stopped->bars == 1000);
  CHECK_FALSE(stopped->fault);
  CHECK(stop.asked == 1001);
}
