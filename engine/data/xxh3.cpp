#include "engine/data/xxh3.hpp"

#include "engine/core/cpu_features.hpp"
#include "engine/data/xxh3_kernel.hpp"

// xxHash stays inside this file and xxh3_avx2.cpp (header-only use).
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace te::data {
namespace {

using xxh3_detail::Kernel;

std::uint64_t hash_portable(const void* data, std::size_t size) noexcept { return XXH3_64bits(data, size); }

void update_portable(void* state, const void* data, std::size_t size) noexcept {
  (void)XXH3_64bits_update(static_cast<XXH3_state_t*>(state), data, size);
}

constexpr Kernel kPortableKernel = {&hash_portable, &update_portable};

const Kernel& kernel() noexcept {
#if defined(__x86_64__)
  static const Kernel& k = cpu_avx2() ? xxh3_detail::kAvx2Kernel : kPortableKernel;  // (TE_NO_AVX2=1: portable)
  return k;
#else
  return kPortableKernel;
#endif
}

}  // namespace

std::uint64_t xxh3_64(const void* data, std::size_t size) noexcept { return kernel().hash(data, size); }

struct Xxh3Stream::State {
  XXH3_state_t s;
};

Xxh3Stream::Xxh3Stream() : state_(std::make_unique<State>()) { (void)XXH3_64bits_reset(&state_->s); }
Xxh3Stream::~Xxh3Stream() = default;

void Xxh3Stream::update(const void* data, std::size_t size) noexcept { kernel().update(&state_->s, data, size); }

std::uint64_t Xxh3Stream::digest() const noexcept { return XXH3_64bits_digest(&state_->s); }

bool xxh3_uses_avx2() noexcept { return &kernel() != &kPortableKernel; }

}  // namespace te::data
