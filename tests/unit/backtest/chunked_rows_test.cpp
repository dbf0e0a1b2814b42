// ChunkedRows (engine/backtest/chunked_rows.hpp): the activity log's row list
// keeps rows in order, in place (pointers stay valid while it grows), finds
// them by position across the geometric and the fixed-size chunks, and a copy
// keeps the layout so positions still work after appending to the copy.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "engine/backtest/chunked_rows.hpp"

using te::backtest::ChunkedRows;

TEST_CASE("chunked rows keep order, positions and addresses", "[activity]") {
  ChunkedRows<std::string> rows;
  CHECK(rows.empty());
  CHECK(rows.begin() == rows.end());
  constexpr std::size_t n = 20000;  // past the geometric chunks (8,176 rows) into the fixed ones
  std::vector<const std::string*> where;
  for (std::size_t i = 0; i < n; ++i) where.push_back(&rows.push_back("row " + std::to_string(i)));
  REQUIRE(rows.size() == n);
  CHECK(rows.back() == "row 19999");
  std::size_t i = 0;
  for (const std::string& r : rows) {
    REQUIRE(r == "row " + std::to_string(i));
    REQUIRE(&r == where[i]);  // never moved
    REQUIRE(&rows[i] == where[i]);
    ++i;
  }
  CHECK(i == n);

  ChunkedRows<std::string> copy = rows;
  copy.push_back("one more");
  REQUIRE(copy.size() == n + 1);
  CHECK(copy[n] == "one more");
  for (std::size_t k : {std::size_t{0}, std::size_t{15}, std::size_t{16}, std::size_t{8175}, std::size_t{8176},
                        std::size_t{12271}, std::size_t{12272}, n - 1})
    CHECK(copy[k] == "row " + std::to_string(k));

  // Filling a chunk exactly, then the next row starts a new one; a moved-from
  // list is empty and takes rows again (the free-row count moves with the rows).
  ChunkedRows<std::string> exact;
  for (std::size_t k = 0; k < 16 + 32; ++k) exact.push_back(std::to_string(k));
  const std::string* last_of_second = &exact[47];
  exact.push_back("48");
  CHECK(&exact[47] == last_of_second);
  CHECK(exact[48] == "48");
  ChunkedRows<std::string> moved = std::move(exact);
  REQUIRE(moved.size() == 49);
  CHECK(&moved[47] == last_of_second);
  CHECK(exact.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  exact.push_back("again");
  REQUIRE(exact.size() == 1);
  CHECK(exact[0] == "again");
  moved.push_back("49");
  CHECK(moved[49] == "49");

  rows = {"a", "b"};
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == "a");
  CHECK(rows[1] == "b");
  rows.clear();
  CHECK(rows.empty());
  CHECK(rows.begin() == rows.end());
}
