#pragma once
// Asking for a cache line in the exclusive state ahead of the stores into it.
//
// Why: the journal writer's thread reads every recorder batch the trading
// thread fills, and the trading thread then refills the same memory. Each of
// its first stores into such a line waits for the other core's copy to be
// invalidated. On the 2-vCPU VMs we measure on, the host places the two vCPUs
// close (a cache-line round trip of ~90 ns) or far apart (~400 ns) and moves
// them every few minutes; far apart, those waits cost a recorded backtest's
// trading thread ~20 ns per bar (docs/performance.md, session 18). A write
// prefetch issued a record ahead overlaps the invalidation with the bars in
// between. A hint only: it never faults and changes no result.
namespace te {

[[gnu::always_inline]] inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
  // PREFETCHW is not in baseline x86-64 (CPUID PRFCHW: every AMD64 CPU, Intel
  // since Broadwell); without it, nothing is asked.
  if (__builtin_cpu_supports("prfchw")) asm volatile("prefetchw %0" ::"m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

// Every cache line of `n` bytes from `p` (a record about to be reused).
[[gnu::always_inline]] inline void prefetch_for_write(const void* p, unsigned long n) noexcept {
  const char* c = static_cast<const char*>(p);
  for (unsigned long off = 0; off < n; off += 64) prefetch_for_write(c + off);
}

}  // namespace te
