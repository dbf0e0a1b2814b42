#pragma once
// Copying a short byte string (a code, a tag, a reason, an enum's name) on a
// hot path: up to 32 bytes as two overlapping fixed-size moves, which the
// compiler turns into a few loads and stores, where a memcpy call of an
// unknown size costs a call and its dispatch (≈ 20–40 instructions; the
// journal recorder and writer copy a few such strings per event).
#include <cstddef>
#include <cstring>

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

}  // namespace te
