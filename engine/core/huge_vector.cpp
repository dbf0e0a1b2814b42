#include "engine/core/huge_vector.hpp"

#include <sys/mman.h>

#include <array>
#include <mutex>

namespace te::detail {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;
constexpr std::size_t kPage = 4096;

// Released huge-page mappings kept for the next arrays of about their size.
// Why: on this kind of VM the first touch of a fresh page costs ~10 µs (a host
// fault and a clear), so a run that fills new 8 MB equity columns spent a
// sizeable part of its time in the kernel's page clearing; a process that runs
// backtest after backtest (benchmarks, tests, walk-forward windows) now writes
// into pages it already owns, as malloc does with freed memory. Bounded: a few
// mappings and kKeepBytes in all; the contents are stale, which HugeVector's
// users never read (they write an element before its index is within size()).
constexpr std::size_t kKeepCount = 8;
constexpr std::size_t kKeepBytes = std::size_t{256} << 20;

struct Kept {
  void* p = nullptr;
  std::size_t mapped = 0;
};

struct Pool {
  std::mutex mutex;
  std::array<Kept, kKeepCount> kept{};
  std::size_t bytes = 0;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: arrays may be freed during static destruction
  return *p;
}

// A kept mapping of at least `mapped` bytes and at most twice that (a much
// larger one would pin memory the caller does not need), or null.
void* take_kept(std::size_t mapped, std::size_t& got) noexcept {
  Pool& pl = pool();
  std::lock_guard lock(pl.mutex);
  Kept* best = nullptr;
  for (Kept& k : pl.kept)
    if (k.p != nullptr && k.mapped >= mapped && k.mapped <= 2 * mapped && (best == nullptr || k.mapped < best->mapped))
      best = &k;
  if (best == nullptr) return nullptr;
  void* p = best->p;
  got = best->mapped;
  pl.bytes -= best->mapped;
  *best = Kept{};
  return p;
}

bool keep(void* p, std::size_t mapped) noexcept {
  Pool& pl = pool();
  std::lock_guard lock(pl.mutex);
  if (pl.bytes + mapped > kKeepBytes) return false;
  for (Kept& k : pl.kept)
    if (k.p == nullptr) {
      k = Kept{p, mapped};
      pl.bytes += mapped;
      return true;
    }
  return false;
}

}  // namespace

void* map_huge(std::size_t bytes, std::size_t& mapped) noexcept {
  if (bytes == 0) bytes = 1;
  const bool huge = bytes >= 2 * kHuge;  // small arrays must not pin 2 MiB
  const std::size_t unit = huge ? kHuge : kPage;
  mapped = (bytes + unit - 1) / unit * unit;
  if (huge) {
    std::size_t got = 0;
    if (void* p = take_kept(mapped, got)) {
      mapped = got;
      return p;
    }
  }
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TE_ASSERT(p != MAP_FAILED, "out of memory mapping %zu bytes", mapped);
  if (huge) ::madvise(p, mapped, MADV_HUGEPAGE);  // advice only
  return p;
}

void unmap_huge(void* p, std::size_t mapped) noexcept {
  if (p == nullptr) return;
  if (mapped >= 2 * kHuge && keep(p, mapped)) return;
  ::munmap(p, mapped);
}

}  // namespace te::detail
