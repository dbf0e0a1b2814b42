#pragma once
// Backs the main thread's malloc heap with transparent huge pages for one
// large batch job (a backtest). On virtual machines the first touch of each
// fresh 4 KiB page is a fault costing ~10 µs; a 1M-bar backtest's order log,
// strings and report buffers touched ~5,000 such pages, a quarter of the
// command's wall time. With the heap grown in one step and advised for huge
// pages, those become a few 2 MiB faults. glibc's own switch for this
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) is read from the environment at
// process start only, so the command cannot turn it on for itself.
#include <cstddef>

namespace te {

// Grows the heap by `bytes` (rounded to 2 MiB) at once, keeps it from being
// trimmed, sends allocations below 32 MiB to it, and advises it for huge
// pages. Memory that is never touched stays virtual. Call once, early, on the
// thread that will do the allocating; later calls do nothing. Advice only:
// where the kernel has huge pages disabled nothing changes but the layout.
void reserve_huge_heap(std::size_t bytes) noexcept;

}  // namespace te
