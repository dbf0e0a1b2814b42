// SmallBlocks (engine/script/small_blocks.hpp), the small-object pool behind
// every Lua state's allocator: blocks never overlap, keep 16-byte alignment,
// are reused by class, and a chunk's tail is not lost when a new one starts.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/script/small_blocks.hpp"

using te::script::SmallBlocks;

namespace {

struct Held {
  unsigned char* p;
  std::size_t n;
  unsigned char tag;
};

bool intact(const Held& h) {
  for (std::size_t i = 0; i < h.n; ++i)
    if (h.p[i] != h.tag) return false;
  return true;
}

}  // namespace

TEST_CASE("SmallBlocks: live blocks never overlap, stay aligned and are reused", "[unit][script]") {
  SmallBlocks blocks;
  std::mt19937_64 rng(7);
  std::vector<Held> held;
  std::size_t broken = 0, misaligned = 0;
  for (int step = 0; step < 200000; ++step) {
    if (!held.empty() && rng() % 100 < 45) {  // free a random live block, checking its bytes first
      const std::size_t k = rng() % held.size();
      if (!intact(held[k])) ++broken;
      blocks.release(held[k].p, held[k].n);
      held[k] = held.back();
      held.pop_back();
      continue;
    }
    const std::size_t n = 1 + rng() % SmallBlocks::kMaxSmall;
    auto* p = static_cast<unsigned char*>(blocks.allocate(n));
    REQUIRE(p != nullptr);
    if (reinterpret_cast<std::uintptr_t>(p) % SmallBlocks::kGranule != 0) ++misaligned;
    const auto tag = static_cast<unsigned char>(step);
    std::memset(p, tag, n);
    held.push_back({p, n, tag});
  }
  for (const Held& h : held)
    if (!intact(h)) ++broken;
  CHECK(broken == 0);
  CHECK(misaligned == 0);
  // About 1/10 of the steps' blocks are alive at the end; what was freed was
  // reused, so the chunks hold far less than everything ever allocated
  // (200,000 x 45 % x ~136 bytes average = ~12 MB).
  CHECK(blocks.chunk_bytes() < 4u * 1024 * 1024);
}

TEST_CASE("SmallBlocks: a freed block comes back for the next request of its class", "[unit][script]") {
  SmallBlocks blocks;
  void* a = blocks.allocate(40);  // class 33..48
  blocks.release(a, 40);
  CHECK(blocks.allocate(33) == a);
  void* b = blocks.allocate(48);
  CHECK(b != a);
  CHECK(SmallBlocks::same_class(33, 48));
  CHECK_FALSE(SmallBlocks::same_class(32, 33));
  CHECK(SmallBlocks::small(1));
  CHECK(SmallBlocks::small(SmallBlocks::kMaxSmall));
  CHECK_FALSE(SmallBlocks::small(SmallBlocks::kMaxSmall + 1));
  CHECK_FALSE(SmallBlocks::small(0));
}

TEST_CASE("SmallBlocks: the tail of a full chunk goes to the free lists", "[unit][script]") {
  SmallBlocks blocks;
  // The first chunk is 4 KB with a 16-byte header: 15 blocks of 256 bytes fit
  // (3,840), leaving a 240-byte tail when the 16th needs a new chunk.
  std::vector<void*> big;
  for (int i = 0; i < 15; ++i) big.push_back(blocks.allocate(256));
  const std::size_t first = blocks.chunk_bytes();
  big.push_back(blocks.allocate(256));  // does not fit the tail: a second chunk
  CHECK(blocks.chunk_bytes() > first);
  const std::size_t second = blocks.chunk_bytes();
  // The 240-byte tail serves a 240-byte request without a new chunk, and it
  // lies right after the 15th block of the first chunk.
  void* tail = blocks.allocate(240);
  CHECK(blocks.chunk_bytes() == second);
  CHECK(static_cast<char*>(tail) == static_cast<char*>(big[14]) + 256);
}
