// The AVX2 kernel of the journal's block checksum (XXH3-64, record_format.cpp's
// checksum64): this file alone is compiled with -mavx2, and nothing here is
// reached unless the CPU reports AVX2. A 64 KiB block's hash with the SSE2
// kernel the baseline build gets was about 19,000 instructions on the journal
// writer's thread (and again on the reader's); the kernels give the same hash,
// bit for bit. Only C headers are included, so no inline C++ library function
// is emitted with AVX2 code that the linker could pick for the rest of the
// program (as engine/data/xxh3_avx2.cpp).
#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace te::journal::detail {

uint64_t checksum64_avx2(const void* data, size_t size) noexcept { return XXH3_64bits(data, size); }

}  // namespace te::journal::detail
