#pragma once
// Copying (and comparing) a short byte string (a code, a tag, a reason, an enum's name) on a
// hot path: up to 32 bytes as two overlapping fixed-size moves, which the
// compiler turns into a few loads and stores, where a memcpy call of an
// unknown size costs a call and its dispatch (≈ 20–40 instructions; the
// journal recorder and writer copy a few such strings per event).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace te {

namespace detail {
// `n` bytes (w <= n <= 2w) as the first and the last w of them.
template <std::size_t w>
[[gnu::always_inline]] inline void copy_overlapping(char* to, const char* from, std::size_t n) noexcept {
  char a[w], b[w];
  std::memcpy(a, from, w);
  std::memcpy(b, from + n - w, w);
  std::memcpy(to, a, w);
  std::memcpy(to + n - w, b, w);
}
// Whether `n` bytes (w <= n <= 2w) are equal, as their first and last w.
template <std::size_t w>
[[gnu::always_inline]] inline bool equal_overlapping(const char* a, const char* b, std::size_t n) noexcept {
  static_assert(w == 4 || w == 8);
  using U = std::conditional_t<w == 8, std::uint64_t, std::uint32_t>;
  U a0, a1, b0, b1;
  std::memcpy(&a0, a, w);
  std::memcpy(&a1, a + n - w, w);
  std::memcpy(&b0, b, w);
  std::memcpy(&b1, b + n - w, w);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}
}  // namespace detail

// memcpy(to, from, n) for ranges that do not overlap.
[[gnu::always_inline]] inline void copy_short(char* to, const char* from, std::size_t n) noexcept {
  if (n >= 16 && n <= 32) {
    detail::copy_overlapping<16>(to, from, n);
  } else if (n >= 8 && n < 16) {
    detail::copy_overlapping<8>(to, from, n);
  } else if (n >= 4 && n < 8) {
    detail::copy_overlapping<4>(to, from, n);
  } else if (n != 0) {
    std::memcpy(to, from, n);
  }
}

// memcmp(a, b, n) == 0 the same way: up to 32 bytes by overlapping 8- or
// 4-byte loads, no call (a memcmp call and its dispatch was ≈ 25
// instructions per compared tag or export on the recorded trading thread).
[[gnu::always_inline]] inline bool equal_short(const char* a, const char* b, std::size_t n) noexcept {
  if (n >= 16 && n <= 32) {
    return detail::equal_overlapping<8>(a, b, 16) & detail::equal_overlapping<8>(a + n - 16, b + n - 16, 16);
  }
  if (n >= 8 && n < 16) return detail::equal_overlapping<8>(a, b, n);
  if (n >= 4 && n < 8) return detail::equal_overlapping<4>(a, b, n);
  return n == 0 || std::memcmp(a, b, n) == 0;
}

}  // namespace te
