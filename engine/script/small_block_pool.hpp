#pragma once
// Small blocks for one Lua VM's allocator (LuaVm::allocate): free lists by
// size class over one reserved address range, so the common allocation (a
// table, its hash part, a short string: a strategy's `return { reason = ... }`
// or `enter_long { ... }`) is a list pop or a pointer bump instead of a trip
// through malloc/realloc/free (callgrind of the sma_cross backtest: ~240
// instructions per allocation and free pair through glibc; docs/performance.md,
// "Profile-driven changes").
//
// Blocks are classes of 16 bytes up to 256. The range is reserved once
// (kReserveBytes of address space, no memory until touched) and never given
// back before the VM closes; when it is used up, or for larger blocks, the
// caller uses malloc. Whether a block is pooled is decided by its address, so
// the caller needs no record of where a block came from. Not thread-safe: a
// VM is used by one thread at a time. The memory budget counts what Lua asks
// for (LuaVm::used_), independent of this.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace te::script {

class SmallBlockPool {
 public:
  static constexpr std::size_t kGranule = 16;
  static constexpr std::size_t kMaxBlock = 256;
  static constexpr std::size_t kClasses = kMaxBlock / kGranule;
  // Address space only: pages cost memory once touched by a block.
  static constexpr std::size_t kReserveBytes = std::size_t{8} << 20;

  SmallBlockPool() noexcept {
    void* p = ::mmap(nullptr, kReserveBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;  // every block then comes from malloc
    base_ = static_cast<char*>(p);
    top_ = base_;
    end_ = base_ + kReserveBytes;
  }
  ~SmallBlockPool() {
    if (base_ != nullptr) ::munmap(base_, kReserveBytes);
  }
  SmallBlockPool(const SmallBlockPool&) = delete;
  SmallBlockPool& operator=(const SmallBlockPool&) = delete;

  // n in 1..kMaxBlock
  static bool fits(std::size_t n) noexcept { return n - 1 < kMaxBlock; }
  static std::size_t size_class(std::size_t n) noexcept { return (n - 1) / kGranule; }

  bool owns(const void* p) const noexcept {
    const char* c = static_cast<const char*>(p);
    return c >= base_ && c < end_;
  }

  // A block of at least n (fits(n)) bytes, 16-byte aligned; nullptr when the
  // range is used up.
  void* take(std::size_t n) noexcept {
    const std::size_t c = size_class(n);
    if (Block* b = free_[c]) {
      free_[c] = b->next;
      return b;
    }
    const std::size_t bytes = (c + 1) * kGranule;
    if (static_cast<std::size_t>(end_ - top_) < bytes) return nullptr;
    void* p = top_;
    top_ += bytes;
    return p;
  }

  // Returns a block this pool handed out for a request of n bytes (any n of
  // the same class, or smaller: a block keeps at least the size it was asked for).
  void give(void* p, std::size_t n) noexcept {
    const std::size_t c = size_class(n);
    auto* b = static_cast<Block*>(p);
    b->next = free_[c];
    free_[c] = b;
  }

 private:
  struct Block {
    Block* next;
  };
  Block* free_[kClasses] = {};
  char* base_ = nullptr;
  char* top_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace te::script
