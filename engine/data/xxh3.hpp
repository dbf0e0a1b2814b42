#pragma once
// XXH3-64 for the bar cache's checksums, with the widest vector code the CPU
// runs. The portable build targets baseline x86-64, where xxHash compiles to its
// SSE2 kernel; on a checksummed cache load that kernel was the whole cost
// (160 ms of CPU for a 10M-row, 480 MB cache against 31 ms with AVX2), so the
// AVX2 kernel is compiled separately (xxh3_avx2.cpp, -mavx2) and chosen at run
// time when the CPU has it. Both kernels give the same hash, bit for bit.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace te::data {

std::uint64_t xxh3_64(const void* data, std::size_t size) noexcept;

// The same hash over data given in pieces.
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;

  void update(const void* data, std::size_t size) noexcept;
  std::uint64_t digest() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// True when xxh3_64 and Xxh3Stream use the AVX2 kernel (for logs and benches).
bool xxh3_uses_avx2() noexcept;

}  // namespace te::data
