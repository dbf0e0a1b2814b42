#include "engine/core/huge_heap.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace te {

void reserve_huge_heap(std::size_t bytes) noexcept {
  static bool done = false;
  if (done) return;
  done = true;
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const int pad = static_cast<int>(bytes);
  // The heap grows by at least `bytes` when it next needs to, and is not
  // trimmed back below it; blocks up to 32 MiB come from it instead of from
  // their own (4 KiB-faulted) mappings.
  mallopt(M_TOP_PAD, pad);
  mallopt(M_TRIM_THRESHOLD, 2 * pad);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // Threads started later allocate from this heap too, not from arenas of
  // their own (64 MiB mappings faulted 4 KiB at a time); they allocate little
  // outside their setup, so sharing the lock costs nothing measurable.
  mallopt(M_ARENA_MAX, 1);
  // Force that growth now (a block larger than any free room), then advise the
  // new part of the heap.
  const auto before = reinterpret_cast<std::uintptr_t>(::sbrk(0));
  void* volatile p = std::malloc(bytes / 4);  // below the mmap threshold; volatile: the pair must not be optimised away
  std::free(p);
  const auto after = reinterpret_cast<std::uintptr_t>(::sbrk(0));
  const std::uintptr_t from = (before + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t to = after & ~(kHuge - 1);
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

}  // namespace te
