// The AVX2 kernel of XXH3 (this file alone is compiled with -mavx2; nothing
// here is reached unless the CPU reports AVX2, see xxh3.cpp). Only C headers are
// included so no inline C++ library function is emitted with AVX2 code that the
// linker could pick for the rest of the program.
#include "engine/data/xxh3_kernel.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace te::data::xxh3_detail {
namespace {

std::uint64_t hash_avx2(const void* data, std::size_t size) noexcept { return XXH3_64bits(data, size); }

void update_avx2(void* state, const void* data, std::size_t size) noexcept {
  (void)XXH3_64bits_update(static_cast<XXH3_state_t*>(state), data, size);
}

}  // namespace

const Kernel kAvx2Kernel = {&hash_avx2, &update_avx2};

}  // namespace te::data::xxh3_detail
