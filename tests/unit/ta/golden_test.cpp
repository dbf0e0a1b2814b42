// TA-Lib golden values on NVDA 1999-2014 (../shared/golden/nvda, manifest.json):
// every column of every file must match to 1e-9 (relative, absolute near zero)
// with the same first valid index, through IndicatorSet updates and through the
// batch CSV of `indicators --compute`.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/ta/batch.hpp"
#include "engine/ta/indicator_set.hpp"
#include "tests/support/yahoo_csv.hpp"

using namespace te;
using namespace te::ta;

namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<std::string> keys;             // first column
  std::vector<std::vector<double>> columns;  // NaN for empty cells
};

Table read_table(const std::string& text) {
  Table t;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const auto f = test::split_csv_line(line);
    if (first) {
      for (auto s : f) t.header.emplace_back(s);
      t.columns.resize(f.size() - 1);
      first = false;
      continue;
    }
    REQUIRE(f.size() == t.header.size());
    t.keys.emplace_back(f[0]);
    for (std::size_t c = 1; c < f.size(); ++c) {
      double v = std::nan("");
      if (!f[c].empty()) REQUIRE(parse_double(f[c], v));
      t.columns[c - 1].push_back(v);
    }
  }
  return t;
}

std::ptrdiff_t first_valid(const std::vector<double>& v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isnan(v[i])) return static_cast<std::ptrdiff_t>(i);
  return -1;
}

bool close_enough(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  const double diff = std::fabs(got - want);
  return diff <= 1e-9 || diff <= 1e-9 * std::max(std::fabs(got), std::fabs(want));
}

void require_matches(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.size() == want.size());
  REQUIRE(first_valid(got) == first_valid(want));
  std::size_t bad = 0, first_bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!close_enough(got[i], want[i]) && bad++ == 0) first_bad = i;
  INFO("first mismatch at row " << first_bad << ": got " << format_double(got[first_bad]) << ", want "
                                << format_double(want[first_bad]));
  REQUIRE(bad == 0);
}

struct GoldenFile {
  const char* file;
  const char* spec;
  std::vector<std::string> golden_columns;  // in the indicator's output order
};

const std::vector<GoldenFile>& golden_files() {
  static const std::vector<GoldenFile> files = {
      {"sma_20.csv", "sma(20)", {"sma_20"}},
      {"ema_20.csv", "ema(20)", {"ema_20"}},
      {"rsi_14.csv", "rsi(14)", {"rsi_14"}},
      {"macd_12_26_9.csv", "macd(12,26,9)", {"macd", "macd_signal", "macd_hist"}},
      {"bbands_20_2_2.csv", "bbands(20,2,2)", {"bb_upper", "bb_middle", "bb_lower"}},
      {"atr_14.csv", "atr(14)", {"atr_14"}},
      {"stoch_14_3_3.csv", "stoch(14,3,3)", {"slowk", "slowd"}},
      {"willr_14.csv", "willr(14)", {"willr_14"}},
      {"cci_20.csv", "cci(20)", {"cci_20"}},
      {"adx_14.csv", "adx(14)", {"adx_14"}},
      {"obv.csv", "obv()", {"obv"}},
      {"vwap_cum_typical.csv", "vwap()", {"vwap_cum_typical_NOT_TALIB"}},
  };
  return files;
}

const model::BarSeries& nvda() {
  static const model::BarSeries s = test::load_yahoo_csv(test::shared_path("data/nvda-1999-2014.txt"));
  return s;
}

std::vector<double> golden_column(const Table& t, const std::string& name) {
  for (std::size_t c = 1; c < t.header.size(); ++c)
    if (t.header[c] == name) return t.columns[c - 1];
  FAIL("golden column " << name << " missing");
  return {};
}

}  // namespace

TEST_CASE("golden: every TA-Lib column through IndicatorSet updates", "[golden][ta]") {
  const model::BarSeries& bars = nvda();
  REQUIRE(bars.size() == 4012);
  for (const GoldenFile& g : golden_files()) {
    const Table want = read_table(test::read_text_file(test::shared_path(std::string("golden/nvda/") + g.file)));
    REQUIRE(want.keys.size() == bars.size());
    auto spec = parse_spec(g.spec);
    REQUIRE(spec.ok());
    IndicatorSet set;
    auto slot = set.add(*spec);
    REQUIRE(slot.ok());
    std::vector<std::vector<double>> got(g.golden_columns.size());
    for (std::size_t i = 0; i < bars.size(); ++i) {
      set.update(bars.at(i));
      for (std::size_t k = 0; k < got.size(); ++k) got[k].push_back(set.value(*slot + static_cast<int>(k)));
    }
    for (std::size_t k = 0; k < got.size(); ++k)
      require_matches(got[k], golden_column(want, g.golden_columns[k]), std::string(g.file) + " " + g.golden_columns[k]);
  }
}

TEST_CASE("golden: every TA-Lib column through the indicators CSV", "[golden][ta]") {
  const model::BarSeries& bars = nvda();
  const std::string list = "sma(20),ema(20),rsi(14),macd(12,26,9),bbands(20,2,2),atr(14),stoch(14,3,3),willr(14),"
                           "cci(20),adx(14),obv(),vwap()";
  auto csv = indicators_csv(bars, list);
  REQUIRE(csv.ok());
  const Table got = read_table(*csv);
  REQUIRE(got.header.front() == "date");
  const std::vector<std::string> expected_header = {
      "date",          "sma_20",        "ema_20",       "rsi_14",       "macd_12_26_9_macd",
      "macd_12_26_9_signal", "macd_12_26_9_hist", "bbands_20_2_2_upper", "bbands_20_2_2_middle",
      "bbands_20_2_2_lower", "atr_14",  "stoch_14_3_3_slowk", "stoch_14_3_3_slowd", "willr_14",
      "cci_20",        "adx_14",        "obv",          "vwap"};
  REQUIRE(got.header == expected_header);
  std::size_t col = 0;
  for (const GoldenFile& g : golden_files()) {
    const Table want = read_table(test::read_text_file(test::shared_path(std::string("golden/nvda/") + g.file)));
    REQUIRE(got.keys == want.keys);  // same dates, same format
    for (const std::string& name : g.golden_columns)
      require_matches(got.columns[col++], golden_column(want, name), std::string("csv ") + g.file + " " + name);
  }
  REQUIRE(col == got.columns.size());
}
