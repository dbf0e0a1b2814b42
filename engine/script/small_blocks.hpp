#pragma once
// The small blocks of one Lua state: size classes of 16 bytes up to 256, each a
// free list, carved from chunks that live as long as the pool. Why: a Lua state
// allocates and frees small objects (tables, strings, closures) all the time,
// and glibc's realloc/free cost ~200 and ~120 instructions a call on that path
// (callgrind: ~5 Lua allocations per entry attempt of sma_cross, ~1,700
// instructions). A pop from a free list is a few. One thread at a time, like
// the state it serves.
#include <cstddef>

namespace te::script {

class SmallBlocks {
 public:
  static constexpr std::size_t kGranule = 16;  // also the blocks' alignment
  static constexpr std::size_t kMaxSmall = 256;

  SmallBlocks() = default;
  ~SmallBlocks();
  SmallBlocks(const SmallBlocks&) = delete;
  SmallBlocks& operator=(const SmallBlocks&) = delete;

  // Sizes served here: 1 to kMaxSmall bytes.
  static bool small(std::size_t n) noexcept { return n - 1 < kMaxSmall; }
  static bool same_class(std::size_t a, std::size_t b) noexcept { return (a - 1) / kGranule == (b - 1) / kGranule; }

  // A block of at least n (small) bytes; nullptr when no chunk can be had.
  void* allocate(std::size_t n) noexcept {
    const std::size_t c = (n - 1) / kGranule;
    if (Free* f = free_[c]) {
      free_[c] = f->next;
      return f;
    }
    return carve((c + 1) * kGranule);
  }
  // Gives back a block allocate(n) returned (n of the same class).
  void release(void* p, std::size_t n) noexcept {
    const std::size_t c = (n - 1) / kGranule;
    auto* f = static_cast<Free*>(p);
    f->next = free_[c];
    free_[c] = f;
  }

  // Bytes taken from the system for chunks (for tests and figures).
  std::size_t chunk_bytes() const noexcept { return chunk_bytes_; }

 private:
  struct Free {
    Free* next;
  };
  struct Chunk {
    Chunk* next;
    std::size_t size;
  };
  void* carve(std::size_t size) noexcept;

  Free* free_[kMaxSmall / kGranule] = {};
  char* bump_ = nullptr;
  char* end_ = nullptr;
  Chunk* chunks_ = nullptr;
  std::size_t next_chunk_ = 4096;  // doubles up to kMaxChunk: an idle state stays small
  std::size_t chunk_bytes_ = 0;
};

}  // namespace te::script
