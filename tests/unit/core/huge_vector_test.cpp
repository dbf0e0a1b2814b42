// HugeVector keeps released huge-page mappings for the next arrays of about
// their size (engine/core/huge_vector.cpp: fresh pages are slow on VMs), within
// bounds, and an array on a reused mapping behaves like a fresh one.
#include <catch2/catch.hpp>

#include <cstdint>

#include "engine/core/huge_vector.hpp"

namespace {

constexpr std::size_t kBig = std::size_t{1} << 20;  // 8 MiB of doubles: huge-page sized

}  // namespace

TEST_CASE("a released huge array's mapping serves the next array of its size", "[unit][core][huge_vector]") {
  const double* first = nullptr;
  {
    te::HugeVector<double> a(kBig);
    double* w = a.writable();
    for (std::size_t i = 0; i < kBig; i += 512) w[i] = static_cast<double>(i);
    a.set_size(kBig);
    first = a.data();
  }
  te::HugeVector<double> b(kBig);
  CHECK(b.data() == first);
  CHECK(b.size() == 0);
  CHECK(b.capacity() == kBig);
  // Written and read back like a fresh array.
  double* w = b.writable();
  for (std::size_t i = 0; i < kBig; ++i) w[i] = 0.5 * static_cast<double>(i);
  b.set_size(kBig);
  CHECK(b[kBig - 1] == 0.5 * static_cast<double>(kBig - 1));
  CHECK(b.back() == b[kBig - 1]);
}

TEST_CASE("a much larger or a small array does not take a kept mapping", "[unit][core][huge_vector]") {
  const void* kept = nullptr;
  {
    te::HugeVector<double> a(kBig);
    kept = a.data();
  }
  {
    te::HugeVector<double> big(4 * kBig);  // more than the kept mapping holds
    CHECK(static_cast<const void*>(big.data()) != kept);
    te::HugeVector<double> small(16);  // small arrays use their own 4 KiB pages
    CHECK(static_cast<const void*>(small.data()) != kept);
  }
  te::HugeVector<double> again(kBig / 2 + 1);  // at most twice the size asked: still served
  CHECK(static_cast<const void*>(again.data()) == kept);
}
