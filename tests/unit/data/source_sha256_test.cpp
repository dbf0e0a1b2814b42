// load_bars can report the SHA-256 of the source file (the backtest report's
// data_sha256): hashed while a CSV is parsed, recorded in the cache written from
// it, and read back from that cache on later loads so a cached run does not
// rehash. Also: the cache checksums (XXH3) give the same value whichever kernel
// (AVX2 or portable) computes them, in one piece or streamed.
#include <catch2/catch.hpp>

#include <sys/time.h>

#include <string>

#include "engine/core/sha256.hpp"
#include "engine/data/bar_cache.hpp"
#include "engine/data/bar_generator.hpp"
#include "engine/data/load_bars.hpp"
#include "engine/data/xxh3.hpp"
#include "tests/unit/data/data_test_support.hpp"

using namespace te;
using namespace te::data;

namespace {

struct Source {
  test::TempDir dir;
  std::string csv = dir.file("bars.csv");
  LoadOptions options;
  Source() {
    REQUIRE(generate_csv(GeneratorOptions{}, 3000, csv).ok());
    options.cache.min_source_bytes = 0;
    options.source_sha256 = true;
  }
  LoadReport load() {
    LoadReport rep;
    auto s = load_bars(csv, options, &rep);
    if (!s) FAIL(s.error().message);
    CHECK(s->size() == 3000);
    return rep;
  }
};

}  // namespace

TEST_CASE("load_bars reports the source SHA-256 when parsing and from the cache", "[unit][data]") {
  Source f;
  const std::string expected = sha256_hex(test::read_file(f.csv));
  LoadReport rep = f.load();
  CHECK(rep.source == LoadSource::csv);
  CHECK(rep.cache_status == "written");
  CHECK(rep.source_sha256 == expected);
  auto hd = read_bar_cache_header(f.csv + ".tebars");
  REQUIRE(hd);
  CHECK(hd->source.sha256 == expected);

  rep = f.load();
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(rep.source_sha256 == expected);

  // Touched (new mtime, same bytes): the content hash keeps the cache, and
  // with it the digest, valid.
  struct timeval tv[2] = {{1'700'000'000, 0}, {1'700'000'000, 0}};
  REQUIRE(::utimes(f.csv.c_str(), tv) == 0);
  rep = f.load();
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(rep.source_sha256 == expected);

  // Changed bytes: the stale cache is not used, the new file is hashed.
  test::write_file(f.csv, test::read_file(f.csv) + "2020-01-03T02:00:00Z,1,1,1,1,1\n");
  LoadReport grown;
  auto s = load_bars(f.csv, f.options, &grown);
  REQUIRE(s);
  CHECK(s->size() == 3001);
  rep = grown;
  CHECK(rep.source == LoadSource::csv);
  CHECK(rep.source_sha256 == sha256_hex(test::read_file(f.csv)));
  CHECK(rep.source_sha256 != expected);

  // Not asked: nothing reported (and no hashing).
  f.options.source_sha256 = false;
  REQUIRE(load_bars(f.csv, f.options, &rep));
  CHECK(rep.source_sha256.empty());
}

TEST_CASE("a cache without a recorded SHA-256 reports none, and --no-cache loads still hash", "[unit][data]") {
  Source f;
  // A cache written without a digest (as builds before the field existed did).
  f.options.source_sha256 = false;
  LoadReport rep = f.load();
  REQUIRE(rep.cache_status == "written");
  auto hd = read_bar_cache_header(f.csv + ".tebars");
  REQUIRE(hd);
  CHECK(hd->source.sha256.empty());
  f.options.source_sha256 = true;
  rep = f.load();
  CHECK(rep.source == LoadSource::csv_cache);
  CHECK(rep.source_sha256.empty());  // unknown: the caller hashes the file itself

  f.options.cache.read = f.options.cache.write = false;
  rep = f.load();
  CHECK(rep.source == LoadSource::csv);
  CHECK(rep.source_sha256 == sha256_hex(test::read_file(f.csv)));
}

TEST_CASE("convert-data's cache records the source SHA-256", "[unit][data]") {
  Source f;
  auto built = build_bar_cache(f.csv, "");
  REQUIRE(built);
  auto hd = read_bar_cache_header(built->cache_path);
  REQUIRE(hd);
  CHECK(hd->source.sha256 == sha256_hex(test::read_file(f.csv)));
}

TEST_CASE("XXH3 gives the same value in one piece, streamed, and on every kernel", "[unit][data]") {
  std::string bytes(1 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  // Reference values of xxHash's XXH3_64bits (seed 0).
  CHECK(xxh3_64("", 0) == 0x2D06800538D394C2ULL);
  CHECK(xxh3_64("a", 1) == 0xE6C632B61E964E1FULL);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{17}, std::size_t{240}, std::size_t{241},
                        std::size_t{1024}, std::size_t{100000}, bytes.size()}) {
    INFO(n << " bytes");
    const std::uint64_t whole = xxh3_64(bytes.data(), n);
    CHECK(whole == hash_bytes(std::string_view(bytes.data(), n)));
    Xxh3Stream s;
    for (std::size_t at = 0; at < n; at += 333) s.update(bytes.data() + at, std::min<std::size_t>(333, n - at));
    CHECK(s.digest() == whole);
  }
  INFO("AVX2 kernel in use: " << xxh3_uses_avx2());
  SUCCEED();
}
