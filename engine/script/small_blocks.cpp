#include "engine/script/small_blocks.hpp"

#include <cstdlib>

namespace te::script {
namespace {

constexpr std::size_t kMaxChunk = 256 * 1024;
// The chunk header, rounded up so the blocks after it keep the 16-byte alignment.
constexpr std::size_t kHeader = 16;

}  // namespace

SmallBlocks::~SmallBlocks() {
  while (chunks_ != nullptr) {
    Chunk* next = chunks_->next;
    std::free(chunks_);
    chunks_ = next;
  }
}

void* SmallBlocks::carve(std::size_t size) noexcept {
  if (static_cast<std::size_t>(end_ - bump_) < size) {
    // The rest of the current chunk goes to the free lists in pieces of the
    // largest classes that fit, so nothing carved is lost.
    while (static_cast<std::size_t>(end_ - bump_) >= kGranule) {
      std::size_t piece = static_cast<std::size_t>(end_ - bump_);
      if (piece > kMaxSmall) piece = kMaxSmall;
      piece -= piece % kGranule;
      release(bump_, piece);
      bump_ += piece;
    }
    static_assert(sizeof(Chunk) <= kHeader);
    void* raw = std::aligned_alloc(kGranule, next_chunk_);
    if (raw == nullptr) return nullptr;
    auto* chunk = static_cast<Chunk*>(raw);
    chunk->next = chunks_;
    chunk->size = next_chunk_;
    chunks_ = chunk;
    chunk_bytes_ += next_chunk_;
    bump_ = static_cast<char*>(raw) + kHeader;
    end_ = static_cast<char*>(raw) + next_chunk_;
    if (next_chunk_ < kMaxChunk) next_chunk_ *= 2;
  }
  void* p = bump_;
  bump_ += size;
  return p;
}

}  // namespace te::script
