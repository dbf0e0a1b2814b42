// Bollinger Bands from exact sums over stretches whose length is not a
// multiple of the vector width: the square roots' scalar tails (the last
// value of an odd chunk in the baseline build, the last one to three in the
// AVX2 one) give update()'s bits. vector_loops_test's Bollinger case runs 150
// bars, chunks of 64, 64 and 22, all even: no tail of the baseline build ran.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/ta/vector_loops.hpp"
#include "engine/ta/volatility.hpp"
#include "tests/unit/ta/block_fixture.hpp"

using te::test::bits;
using te::test::edge_value;

TEST_CASE("Bollinger Bands from exact sums over odd stretches: both builds give update()'s bits", "[ta][ahead]") {
  INFO("dispatched loop: " << te::ta::vector_loops_isa());
  std::mt19937_64 rng(20261207);
  std::size_t mismatches = 0, valid = 0, odd_chunks = 0;
  for (std::size_t bars : {1, 2, 3, 5, 6, 7, 63, 65, 66, 67, 129, 130, 131, 149, 151})
    for (int period : {1, 2, 5, 20})
      for (int round = 0; round < 6; ++round) {
        te::ta::Bbands by_bar(period, 2.0, 1.5), by_chunk(period, 2.0, 1.5);
        std::vector<double> in(bars);
        double x = 100.0;
        for (double& v : in)
          v = x = round % 3 == 0 ? 100.0 + static_cast<double>(rng() % 1000) * 0.01 : edge_value(rng, x);
        std::vector<double> got(3 * bars), base(3 * bars);
        by_chunk.update_values(in.data(), bars, got.data(), bars);
        te::ta::RollingMoments m(period);
        std::vector<double> hi1(bars), lo1(bars), hi2(bars), lo2(bars);
        for (std::size_t done = 0; done < bars;) {
          const std::size_t c = std::min(te::ta::RollingMoments::kChunk, bars - done);
          odd_chunks += c % 2;
          te::ta::RollingMoments::ChunkSums sums;
          m.push_chunk(in.data() + done, c, sums);
          std::copy_n(sums.hi1, c, hi1.data() + done);
          std::copy_n(sums.lo1, c, lo1.data() + done);
          std::copy_n(sums.hi2, c, hi2.data() + done);
          std::copy_n(sums.lo2, c, lo2.data() + done);
          done += c;
        }
        te::ta::bbands_from_sums_baseline(hi1.data(), lo1.data(), hi2.data(), lo2.data(), bars,
                                          static_cast<double>(period), 2.0, 1.5, base.data(), bars);
        for (std::size_t i = 0; i < bars; ++i) {
          double want[3];
          by_bar.update(in[i]);
          by_bar.write(want);
          for (std::size_t o = 0; o < 3; ++o) {
            const double g = got[o * bars + i], b = base[o * bars + i];
            if (want[o] == want[o]) {
              ++valid;
              if (bits(g) != bits(want[o]) || bits(b) != bits(want[o])) ++mismatches;
            } else if (g == g) {
              ++mismatches;  // NaN (warming up, or from the data) in both (the sums' build writes warm-up bars too)
            }
          }
        }
      }
  CHECK(mismatches == 0);
  CHECK(valid > 5000);
  CHECK(odd_chunks > 100);
}
