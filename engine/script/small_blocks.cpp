#include "engine/script/small_blocks.hpp"

#include <sys/mman.h>

namespace te::script {

SmallBlocks::~SmallBlocks() {
  if (base_ != nullptr) munmap(base_, cap_);
}

void* SmallBlocks::carve(std::size_t size) noexcept {
  if (base_ == nullptr) {
    if (reserve_failed_ || cap_ == 0) return nullptr;
    // Reserved, not committed: an idle state touches only the pages it carves
    // (MAP_NORESERVE keeps the reservation out of the overcommit count).
    void* p = mmap(nullptr, cap_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      reserve_failed_ = true;
      return nullptr;
    }
    base_ = static_cast<char*>(p);
  }
  if (cap_ - carved_ < size) return nullptr;
  void* p = base_ + carved_;
  carved_ += size;
  return p;
}

}  // namespace te::script
