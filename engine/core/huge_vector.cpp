#include "engine/core/huge_vector.hpp"

#include <sys/mman.h>

namespace te::detail {

void* map_huge(std::size_t bytes, std::size_t& mapped) noexcept {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  constexpr std::size_t kPage = 4096;
  if (bytes == 0) bytes = 1;
  const bool huge = bytes >= 2 * kHuge;  // small arrays must not pin 2 MiB
  const std::size_t unit = huge ? kHuge : kPage;
  mapped = (bytes + unit - 1) / unit * unit;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TE_ASSERT(p != MAP_FAILED, "out of memory mapping %zu bytes", mapped);
  if (huge) ::madvise(p, mapped, MADV_HUGEPAGE);  // advice only
  return p;
}

void unmap_huge(void* p, std::size_t mapped) noexcept {
  if (p != nullptr) ::munmap(p, mapped);
}

}  // namespace te::detail
