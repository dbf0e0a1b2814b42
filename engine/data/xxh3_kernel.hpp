#pragma once
// Internal to xxh3.cpp and xxh3_avx2.cpp: one kernel's entry points. The state
// is xxHash's XXH3_state_t, whose layout does not depend on the kernel, so a
// stream reset by one kernel can be fed by the other.
#include <cstddef>
#include <cstdint>

namespace te::data::xxh3_detail {

struct Kernel {
  std::uint64_t (*hash)(const void* data, std::size_t size) noexcept;
  void (*update)(void* state, const void* data, std::size_t size) noexcept;
};

// Defined in xxh3_avx2.cpp (compiled with -mavx2); call only when the CPU has AVX2.
extern const Kernel kAvx2Kernel;

}  // namespace te::data::xxh3_detail
