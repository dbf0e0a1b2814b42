#pragma once
// The small blocks of one Lua state: size classes of 16 bytes up to 256, each a
// free list, carved from one region reserved for the pool. Why: a Lua state
// allocates and frees small objects (tables, strings, closures) all the time,
// and glibc's realloc/free cost ~200 and ~120 instructions a call on that path
// (callgrind: ~5 Lua allocations per entry attempt of sma_cross, ~1,700
// instructions). A pop from a free list is a few.
//
// A freed block is reused only by its own class, so the pool is capped: were it
// not, a strategy could fill one class, free it, fill the next, and so hold
// many times its memory budget while the budget (which counts live bytes) never
// trips. Past the cap the state's requests go to malloc, which coalesces.
// Blocks are told apart by address (owns()). One thread at a time, like the
// state it serves.
#include <cstddef>
#include <cstdint>

namespace te::script {

class SmallBlocks {
 public:
  static constexpr std::size_t kGranule = 16;  // also the blocks' alignment
  static constexpr std::size_t kMaxSmall = 256;
  // Bytes the pool may carve in all (address space is reserved up front, pages
  // are touched as blocks are carved).
  static constexpr std::size_t kDefaultCap = 8u * 1024 * 1024;

  explicit SmallBlocks(std::size_t cap = kDefaultCap) noexcept : cap_(cap - cap % kGranule) {}
  ~SmallBlocks();
  SmallBlocks(const SmallBlocks&) = delete;
  SmallBlocks& operator=(const SmallBlocks&) = delete;

  // Sizes served here: 1 to kMaxSmall bytes.
  static bool small(std::size_t n) noexcept { return n - 1 < kMaxSmall; }
  static bool same_class(std::size_t a, std::size_t b) noexcept { return (a - 1) / kGranule == (b - 1) / kGranule; }

  // Whether p is a block of this pool.
  bool owns(const void* p) const noexcept {
    return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(base_) < carved_;
  }

  // A block of at least n (small) bytes; nullptr once the cap is carved and the
  // class has no free block (or the region could not be reserved).
  void* allocate(std::size_t n) noexcept {
    const std::size_t c = (n - 1) / kGranule;
    if (Free* f = free_[c]) {
      free_[c] = f->next;
      return f;
    }
    return carve((c + 1) * kGranule);
  }
  // A free block of n's class, or nullptr (allocate() then carves).
  void* take(std::size_t n) noexcept {
    const std::size_t c = (n - 1) / kGranule;
    Free* f = free_[c];
    if (f != nullptr) free_[c] = f->next;
    return f;
  }
  // Gives back a block allocate(n) returned (n of the same class).
  void release(void* p, std::size_t n) noexcept {
    const std::size_t c = (n - 1) / kGranule;
    auto* f = static_cast<Free*>(p);
    f->next = free_[c];
    free_[c] = f;
  }

  // Bytes carved so far (at most the cap).
  std::size_t carved_bytes() const noexcept { return carved_; }
  std::size_t cap() const noexcept { return cap_; }

 private:
  struct Free {
    Free* next;
  };
  void* carve(std::size_t size) noexcept;

  Free* free_[kMaxSmall / kGranule] = {};
  char* base_ = nullptr;       // the region (reserved on the first carve)
  std::size_t carved_ = 0;     // bytes of it handed out, from its start
  std::size_t cap_;
  bool reserve_failed_ = false;
};

}  // namespace te::script
