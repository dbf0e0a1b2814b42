// The binary cache: round trip, zero-copy loading, and every way a cache can be
// unusable (stale, truncated, other version, corrupt) being detected and rebuilt.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/time.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>

#include "engine/core/time.hpp"
#include "engine/data/bar_cache.hpp"
#include "engine/data/cache_check.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/csv_writer.hpp"
#include "engine/data/load_bars.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

void require_equal(const model::BarSeries& a, const model::BarSeries& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.has_quotes() == b.has_quotes());
  REQUIRE(a.has_quote_sizes() == b.has_quote_sizes());
  const auto& x = a.columns();
  const auto& y = b.columns();
  const std::size_t n = a.size() * 8;
  REQUIRE(std::memcmp(x.ts_ns, y.ts_ns, n) == 0);
  for (auto [p, q] : {std::pair{x.open, y.open}, {x.high, y.high}, {x.low, y.low}, {x.close, y.close},
                      {x.volume, y.volume}, {x.bid, y.bid}, {x.ask, y.ask}, {x.bid_size, y.bid_size},
                      {x.ask_size, y.ask_size}}) {
    REQUIRE((p == nullptr) == (q == nullptr));
    if (p) REQUIRE(std::memcmp(p, q, n) == 0);
  }
}

// A CSV of generated bars in a scratch directory.
struct Fixture {
  test::TempDir dir;
  std::string csv = dir.file("bars.csv");
  std::string cache = csv + ".tebars";
  std::vector<std::string> warnings;
  LoadOptions options;

  explicit Fixture(bool quotes = false, std::size_t bars = 5000) {
    GeneratorOptions g;
    g.quotes = quotes;
    REQUIRE(generate_csv(g, bars, csv).ok());
    options.on_warning = [this](const std::string& w) { warnings.push_back(w); };
    options.cache.min_source_bytes = 0;  // small fixtures, cached all the same
  }

  model::BarSeries load(LoadReport& rep) {
    auto r = load_bars(csv, options, &rep);
    if (!r.ok()) FAIL(r.error().message);
    return *r;
  }
};

void set_mtime(const std::string& path, std::int64_t sec) {
  struct timeval tv[2] = {{sec, 0}, {sec, 0}};
  REQUIRE(::utimes(path.c_str(), tv) == 0);
}

// Overwrites bytes of a file in place.
void poke(const std::string& path, std::size_t offset, const std::string& bytes) {
  std::string content = test::read_file(path);
  REQUIRE(offset + bytes.size() <= content.size());
  content.replace(offset, bytes.size(), bytes);
  test::write_file(path, content);
}

}  // namespace

TEST_CASE("cache: first load parses and writes the cache, the second maps it, both equal the CSV", "[unit][data]") {
  for (bool quotes : {false, true}) {
    Fixture f(quotes);
    auto direct = load_csv(f.csv, {});
    REQUIRE(direct.ok());
    LoadReport rep;
    const auto first = f.load(rep);
    CHECK(rep.source == LoadSource::csv);
    CHECK(rep.cache_status == "written");
    CHECK(rep.cache_path == f.cache);
    REQUIRE(std::filesystem::exists(f.cache));
    const auto second = f.load(rep);
    CHECK(rep.source == LoadSource::csv_cache);
    CHECK(rep.cache_status == "used");
    require_equal(*direct, first);
    require_equal(*direct, second);
    CHECK(second.symbol() == "bars");
    CHECK(f.warnings.empty());
    // Zero copy: the columns point into the mapped file, 64-byte aligned.
    CHECK(reinterpret_cast<std::uintptr_t>(second.columns().open) % 64 == 0);
  }
}

TEST_CASE("cache: file layout follows the documented header", "[unit][data]") {
  Fixture f(true, 1000);
  LoadReport rep;
  f.load(rep);
  auto hd = read_bar_cache_header(f.cache);
  REQUIRE(hd.ok());
  CHECK(hd->version == kBarCacheVersion);
  CHECK(hd->rows == 1000);
  CHECK(hd->flags == 3);
  CHECK(hd->file_size == std::filesystem::file_size(f.cache));
  CHECK(hd->file_size % 64 == 0);
  CHECK(hd->source.size == std::filesystem::file_size(f.csv));
  CHECK(hd->source.format == static_cast<std::uint32_t>(CsvFormat::generic));
  CHECK(hd->source.content_hash == hash_bytes(test::read_file(f.csv)));
  CHECK(hd->column_offsets[0] == 192);
  for (std::size_t i = 1; i < 10; ++i) CHECK(hd->column_offsets[i] == 192 + i * 8000);
  CHECK(test::read_file(f.cache).substr(0, 8) == "TEBARS\r\n");
}

TEST_CASE("cache: the time filter and identity apply to cached loads", "[unit][data]") {
  Fixture f;
  LoadReport rep;
  f.load(rep);
  f.options.start_ns = *parse_iso8601_ns("2020-01-01T01:00:00Z");
  f.options.end_ns = *parse_iso8601_ns("2020-01-01T02:00:00Z");
  f.options.symbol = "SIM";
  f.options.instrument = 3;
  const auto s = f.load(rep);
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(s.size() == 60);
  CHECK(s.symbol() == "SIM");
  CHECK(s.instrument() == 3);
  f.options.start_ns = *parse_iso8601_ns("2030-01-01");
  f.options.end_ns.reset();
  auto none = load_bars(f.csv, f.options, &rep);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message ==
        f.csv + ": no bars at or after 2030-01-01; the file covers 2020-01-01 to 2020-01-04T11:19:00Z");
}

TEST_CASE("cache: a changed source makes the cache stale and it is rebuilt", "[unit][data]") {
  Fixture f;
  LoadReport rep;
  f.load(rep);
  // Same size, different content and mtime: the content hash decides.
  std::string text = test::read_file(f.csv);
  const std::size_t pos = text.find("\n2020-01-01T00:00:00Z,") + 22;
  const std::size_t comma = text.find(',', pos);
  text.replace(pos, comma - pos, std::string(comma - pos, '1'));  // open becomes 111 (or 1111...)
  const std::size_t high_pos = comma + 1;
  text.replace(high_pos, text.find(',', high_pos) - high_pos, std::string(text.find(',', high_pos) - high_pos, '9'));
  test::write_file(f.csv, text);
  set_mtime(f.csv, 1'600'000'000);
  auto s = f.load(rep);
  CHECK(rep.source == LoadSource::csv);
  CHECK(rep.cache_status == "written");  // rebuilt after "stale: the source content changed"
  CHECK(s.open()[0] >= 111);
  f.load(rep);
  CHECK(rep.cache_status == "used");

  // Touched but unchanged: the hash matches, the cache is still used.
  set_mtime(f.csv, 1'700'000'000);
  auto t = f.load(rep);
  CHECK(rep.source == LoadSource::csv_cache);
  require_equal(s, t);

  // Grown: the size differs.
  test::write_file(f.csv, text + "2020-01-04T11:20:00Z,100,100,100,100,1\n");
  auto u = f.load(rep);
  CHECK(rep.source == LoadSource::csv);
  CHECK(u.size() == 5001);
  CHECK(f.warnings.empty());  // staleness is normal, not a warning

  // The status of a stale cache is visible when writing is off.
  test::write_file(f.csv, text);
  f.options.cache.write = false;
  f.load(rep);
  CHECK(rep.cache_status == "stale: the source size changed");
}

TEST_CASE("cache: truncated, other-version and corrupt caches are ignored with a warning and rebuilt",
          "[unit][data]") {
  struct Damage {
    const char* name;
    void (*apply)(const std::string& cache);
    const char* expected;  // in the warning
  };
  const Damage damages[] = {
      {"truncated", [](const std::string& c) { std::filesystem::resize_file(c, std::filesystem::file_size(c) - 64); },
       "truncated or padded: the header says"},
      {"header only", [](const std::string& c) { std::filesystem::resize_file(c, 100); },
       "truncated: 100 bytes, shorter than the 192-byte header"},
      {"version", [](const std::string& c) { poke(c, 8, std::string("\x02\0\0\0", 4)); },
       "format version 2, this build reads version 1"},
      {"header bit flip", [](const std::string& c) { poke(c, 20, "\x7f"); }, "header checksum mismatch"},
      {"data bit flip", [](const std::string& c) { poke(c, 5000, "\x55\x55"); }, "data checksum mismatch"},
      {"magic", [](const std::string& c) { poke(c, 0, "XX"); }, "not a bar cache (bad magic bytes)"},
  };
  for (const Damage& d : damages) {
    INFO(d.name);
    Fixture f;
    LoadReport rep;
    const auto good = f.load(rep);
    d.apply(f.cache);
    const auto again = f.load(rep);
    CHECK(rep.source == LoadSource::csv);
    CHECK(rep.cache_status == "written");
    REQUIRE(f.warnings.size() == 1);
    CHECK_THAT(f.warnings[0], Catch::StartsWith("ignoring cache " + f.cache + ": "));
    CHECK_THAT(f.warnings[0], Catch::Contains(d.expected));
    require_equal(good, again);
    f.load(rep);
    CHECK(rep.source == LoadSource::csv_cache);
  }
}

TEST_CASE("cache: a .tebars file can be loaded directly, and its damage is an error", "[unit][data]") {
  Fixture f(true, 2000);
  auto csv = load_csv(f.csv, {});
  REQUIRE(csv.ok());
  const std::string out = f.dir.file("direct.tebars");
  REQUIRE(write_bar_cache(*csv, out, CacheSource{}).ok());
  LoadReport rep;
  auto s = load_bars(out, {}, &rep);
  REQUIRE(s.ok());
  CHECK(rep.source == LoadSource::cache_file);
  CHECK(s->symbol() == "direct");
  require_equal(*csv, *s);

  std::filesystem::resize_file(out, 1000);
  auto bad = load_bars(out, {}, &rep);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::parse);
  CHECK(bad.error().message == "cache " + out + ": truncated or padded: the header says 160192 bytes, the file has 1000");
}

TEST_CASE("cache: a cache directory option and cache switches", "[unit][data]") {
  Fixture f;
  f.options.cache.dir = f.dir.file("cache/sub");
  LoadReport rep;
  f.load(rep);
  CHECK(rep.cache_status == "written");
  CHECK(rep.cache_path.rfind(f.options.cache.dir + "/bars.csv.", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(f.cache));
  f.load(rep);
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(cache_path_for("/a/x.csv", "/c") != cache_path_for("/b/x.csv", "/c"));
  CHECK(cache_path_for("data/x.csv", "") == "data/x.csv.tebars");

  f.options.cache.read = false;
  f.load(rep);
  CHECK(rep.source == LoadSource::csv);
  CHECK(rep.cache_status == "written");
  f.options.cache.write = false;
  f.load(rep);
  CHECK(rep.cache_status == "disabled");
}

TEST_CASE("cache: failing to write the cache only warns", "[unit][data]") {
  Fixture f;
  test::write_file(f.dir.file("blocker"), "a file where the cache directory should be");
  f.options.cache.dir = f.dir.file("blocker/cache");
  LoadReport rep;
  const auto s = f.load(rep);
  CHECK(s.size() == 5000);
  CHECK(rep.source == LoadSource::csv);
  CHECK_THAT(rep.cache_status, Catch::StartsWith("not written: cannot create cache directory"));
  REQUIRE(f.warnings.size() == 1);
  CHECK_THAT(f.warnings[0], Catch::StartsWith("could not write the bar cache for " + f.csv + " (loading continues"));

  // Read-only shared data: the sibling cache cannot be written, loading works.
  f.warnings.clear();
  f.options.cache.dir.clear();
  std::filesystem::create_directory(f.dir.file("ro"));
  const std::string ro_csv = f.dir.file("ro/bars.csv");
  std::filesystem::copy_file(f.csv, ro_csv);
  const std::string target = ro_csv + ".tebars";
  std::filesystem::create_directory(target);  // a directory in the way: rename must fail
  auto r = load_bars(ro_csv, f.options, &rep);
  REQUIRE(r.ok());
  CHECK_THAT(rep.cache_status, Catch::StartsWith("not written: cache " + target));
  CHECK(f.warnings.size() == 2);  // the unreadable "cache" (a directory) and the failed write
  CHECK(std::filesystem::is_directory(target));
  for (const auto& e : std::filesystem::directory_iterator(f.dir.file("ro")))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp file left behind
}

TEST_CASE("cache: load_bars reports CSV errors and missing files like load_csv", "[unit][data]") {
  test::TempDir dir;
  const std::string p = dir.file("bad.csv");
  test::write_file(p, "timestamp,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,x\n");
  auto r = load_bars(p, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == p + ":2:24: volume: expected a number, was 'x'");
  CHECK_FALSE(std::filesystem::exists(p + ".tebars"));
  auto m = load_bars(dir.file("missing.csv"), {});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Errc::not_found);
  CHECK(m.error().message == dir.file("missing.csv") + ": cannot open: No such file or directory");
}

// Checksums only prove a file is the one its writer wrote: a cache written with
// valid checksums around bars the CSV loader refuses (found by the audit: a
// forged .tebars with prices at 0, NaN or time going backwards ran silently)
// is refused when given directly, and rebuilt from the CSV when beside one.
// Caches without quote columns are checked a block of 4,096 rows at a time by
// a fast pass; a failing block is re-checked row by row for the message. A
// problem anywhere, including across a block boundary, names its own row.
TEST_CASE("cache: a bad row is found in any block of a long cache without quotes", "[unit][data][audit]") {
  Fixture f(false, 10000);
  auto csv = load_csv(f.csv, {});
  REQUIRE(csv.ok());
  REQUIRE_FALSE(csv->has_quotes());
  struct Damage {
    std::size_t row;  // 0-based
    const char* what;
    std::function<void(model::BarSeriesBuilder&, std::size_t)> apply;
  };
  const std::vector<Damage> damages = {
      {0, "prices must be above 0", [](model::BarSeriesBuilder& b, std::size_t i) { b.low_[i] = -1; }},
      {4095, "high is below low", [](model::BarSeriesBuilder& b, std::size_t i) { b.high_[i] = b.low_[i] / 2; }},
      {4096, "timestamps must increase from row to row",
       [](model::BarSeriesBuilder& b, std::size_t i) { b.ts_[i] = b.ts_[i - 1]; }},
      {8191, "prices must be finite numbers",
       [](model::BarSeriesBuilder& b, std::size_t i) { b.high_[i] = b.close_[i] = HUGE_VAL; }},
      {8192, "open is outside [low, high]", [](model::BarSeriesBuilder& b, std::size_t i) { b.open_[i] = b.high_[i] * 2; }},
      {9999, "volume must be a non-negative number",
       [](model::BarSeriesBuilder& b, std::size_t i) { b.volume_[i] = HUGE_VAL; }},
  };
  for (const auto& d : damages) {
    model::BarSeriesBuilder b;
    for (std::size_t i = 0; i < csv->size(); ++i) b.push(csv->at(i));
    d.apply(b, d.row);
    const auto bad = std::move(b).build("bars", 0);
    const std::string direct = f.dir.file("direct.tebars");
    REQUIRE(write_bar_cache(bad, direct, CacheSource{}).ok());
    auto s = load_bars(direct, {}, nullptr);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message,
               Catch::Contains(": row " + std::to_string(d.row + 1) + " (") && Catch::Contains(d.what));
  }
  // And the undamaged series loads.
  const std::string good = f.dir.file("good.tebars");
  REQUIRE(write_bar_cache(*csv, good, CacheSource{}).ok());
  auto ok = load_bars(good, {}, nullptr);
  REQUIRE(ok.ok());
  require_equal(*csv, *ok);
}

TEST_CASE("cache: bars the CSV loader would refuse are refused from a cache too", "[unit][data][audit]") {
  Fixture f(true, 50);
  auto csv = load_csv(f.csv, {});
  REQUIRE(csv.ok());
  struct Damage {
    const char* what;
    std::function<void(model::BarSeriesBuilder&)> apply;
  };
  const std::vector<Damage> damages = {
      {"prices must be above 0", [](model::BarSeriesBuilder& b) { b.open_[7] = b.high_[7] = b.low_[7] = b.close_[7] = 0; }},
      {"prices must be finite numbers", [](model::BarSeriesBuilder& b) { b.close_[7] = std::nan(""); }},
      {"close is outside [low, high]", [](model::BarSeriesBuilder& b) { b.close_[7] = b.high_[7] * 2; }},
      {"volume must be a non-negative number", [](model::BarSeriesBuilder& b) { b.volume_[7] = -1; }},
      {"timestamps must increase from row to row", [](model::BarSeriesBuilder& b) { b.ts_[7] = b.ts_[6]; }},
      {"bid and ask must be above 0 with bid <= ask", [](model::BarSeriesBuilder& b) { b.bid_[7] = b.ask_[7] + 1; }},
      {"bid and ask must both be given or both be absent", [](model::BarSeriesBuilder& b) { b.ask_[7] = std::nan(""); }},
  };
  for (const auto& d : damages) {
    SECTION(d.what) {
      model::BarSeriesBuilder b;
      for (std::size_t i = 0; i < csv->size(); ++i) b.push(csv->at(i));
      d.apply(b);
      const auto bad = std::move(b).build("bars", 0);
      const std::string direct = f.dir.file("direct.tebars");
      REQUIRE(write_bar_cache(bad, direct, CacheSource{}).ok());
      LoadReport rep;
      auto s = load_bars(direct, {}, &rep);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().code == Errc::parse);
      CHECK_THAT(s.error().message, Catch::Contains("cache " + direct + ": row 8 (") && Catch::Contains(d.what));

      // Beside its CSV, with the CSV's stamp: a warning, and the CSV is parsed.
      REQUIRE(f.load(rep).size() == csv->size());  // writes the genuine cache
      auto hd = read_bar_cache_header(f.cache);
      REQUIRE(hd.ok());
      REQUIRE(write_bar_cache(bad, f.cache, hd->source).ok());
      f.warnings.clear();
      const auto again = f.load(rep);
      CHECK(rep.source == LoadSource::csv);
      REQUIRE(f.warnings.size() == 1);
      CHECK_THAT(f.warnings[0], Catch::Contains(d.what));
      require_equal(*csv, again);
    }
  }
  SECTION("times past 2261") {
    model::BarSeriesBuilder b;
    for (std::size_t i = 0; i < csv->size(); ++i) b.push(csv->at(i));
    b.ts_.back() = 9'214'646'400'000LL * 1'000'000;  // 2262-01-01: the CSV loader refuses it
    const auto bad = std::move(b).build("bars", 0);
    const std::string direct = f.dir.file("late.tebars");
    REQUIRE(write_bar_cache(bad, direct, CacheSource{}).ok());
    auto s = load_bars(direct, {}, nullptr);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("times outside the years 1678 to 2261"));
  }
  SECTION("no rows") {
    const auto empty = model::BarSeriesBuilder{}.build("bars", 0);
    const std::string direct = f.dir.file("empty.tebars");
    REQUIRE(write_bar_cache(empty, direct, CacheSource{}).ok());
    auto s = load_bars(direct, {}, nullptr);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("no bars"));
  }
}

TEST_CASE("cache: a check deferred to its own thread hands out only rows that passed", "[unit][data][audit]") {
  Fixture f(false, 10000);
  auto csv = load_csv(f.csv, {});
  REQUIRE(csv.ok());
  // A bad bar at row 8192 (the third 4,096-row block), written with a matching
  // checksum: the rows of the first two blocks pass, nothing after them does.
  model::BarSeriesBuilder b;
  for (std::size_t i = 0; i < csv->size(); ++i) b.push(csv->at(i));
  b.open_[8192] = b.high_[8192] * 2;
  const std::string bad_path = f.dir.file("bad.tebars");
  REQUIRE(write_bar_cache(std::move(b).build("bars", 0), bad_path, CacheSource{}).ok());
  const auto refused = load_bars(bad_path, {}, nullptr);
  REQUIRE_FALSE(refused.ok());
  LoadOptions deferred;
  deferred.cache.defer_verify = true;
  LoadReport rep;
  auto s = load_bars(bad_path, deferred, &rep);
  REQUIRE(s.ok());  // opened; the data is being checked
  REQUIRE(rep.cache_check);
  CHECK(rep.cache_check->wait_rows(100) >= 100);
  CHECK(rep.cache_check->wait_rows(10000) == 8192);
  const Status st = rep.cache_check->result();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == refused.error().message);

  // A flipped byte in the data: every bar is plausible, the checksum is not.
  LoadReport rep2;
  const auto good = f.load(rep2);  // writes bars.csv.tebars
  poke(f.cache, 5000, "\x55\x55");
  f.options.cache.defer_verify = true;
  LoadReport rep3;
  auto flipped = load_bars(f.csv, f.options, &rep3);
  REQUIRE(flipped.ok());
  CHECK(rep3.source == LoadSource::csv_cache);
  REQUIRE(rep3.cache_check);
  CHECK(rep3.cache_check->wait_rows(10000) == 10000);
  const Status st3 = rep3.cache_check->result();
  REQUIRE_FALSE(st3.ok());
  CHECK_THAT(st3.error().message, Catch::Contains("data checksum mismatch"));

  // An intact cache, time-filtered: the check covers the whole cache and passes.
  CHECK(f.warnings.empty());  // a deferred check warns of nothing: its caller decides
  f.options.cache.defer_verify = false;  // checked up front: ignored with a warning, rebuilt
  LoadReport rep4;
  (void)f.load(rep4);
  CHECK(rep4.cache_status == "written");
  f.options.cache.defer_verify = true;
  f.options.start_ns = good.ts_ns()[3000];
  LoadReport rep5;
  auto part = load_bars(f.csv, f.options, &rep5);
  REQUIRE(part.ok());
  CHECK(part->size() == 7000);
  REQUIRE(rep5.cache_check);
  CHECK(rep5.cache_check->series().size() == 10000);
  CHECK(rep5.cache_check->result().ok());
  CHECK(rep5.cache_check->wait_rows(10000) == 10000);
  REQUIRE(f.warnings.size() == 1);
  CHECK_THAT(f.warnings[0], Catch::Contains("data checksum mismatch"));
}
