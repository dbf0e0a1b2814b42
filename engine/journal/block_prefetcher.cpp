#include "engine/journal/block_prefetcher.hpp"

#include <utility>

#include "engine/core/assert.hpp"
#include "engine/journal/block_codec.hpp"

namespace te::journal {

BlockPrefetcher::BlockPrefetcher(const std::vector<BlockInfo>& blocks, ReadFn read, std::size_t depth)
    : blocks_(blocks), read_(std::move(read)), depth_(depth < 1 ? 1 : depth) {
  thread_ = std::thread([this] { run(); });
}

BlockPrefetcher::~BlockPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void BlockPrefetcher::restart(std::size_t b) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Item& it : queue_) pool_.push_back(std::move(it.raw));
    queue_.clear();
    ++generation_;
    next_ = b;
  }
  expect_ = b;
  work_.notify_all();
}

BlockPrefetcher::Loaded BlockPrefetcher::take(std::string& raw) {
  std::unique_lock<std::mutex> lock(mu_);
  // Blocks the reader loaded itself while the loader was on them.
  while (!queue_.empty() && queue_.front().block < expect_) {
    pool_.push_back(std::move(queue_.front().raw));
    queue_.pop_front();
  }
  if (queue_.empty()) {
    // Not loaded yet: load it here rather than wait. The loader may not get a
    // core for a while on a busy machine, and waiting for a thread that was
    // preempted mid-block costs a scheduler slice; if it is loading this block
    // its copy is dropped above when it arrives. It goes on after this block.
    if (next_ <= expect_) next_ = expect_ + 1;
    lock.unlock();
    work_.notify_all();
    Loaded result = load(expect_, stored_, raw);
    ++expect_;
    return result;
  }
  Item it = std::move(queue_.front());
  queue_.pop_front();
  // The loader fills the queue in block order, so the front is the block the
  // reader expects.
  TE_ASSERT(it.block == expect_, "block prefetcher: loaded block %zu, reader expects %zu", it.block, expect_);
  raw.swap(it.raw);
  pool_.push_back(std::move(it.raw));
  lock.unlock();
  work_.notify_all();  // room in the queue
  ++expect_;
  return std::move(it.result);
}

BlockPrefetcher::Loaded BlockPrefetcher::load(std::size_t block, std::string& stored, std::string& raw) const {
  const BlockInfo& b = blocks_[block];
  Loaded result;
  stored.resize(b.header.stored_size);
  result.read = read_(b.offset + kBlockHeaderSize, b.header.stored_size, stored.data());
  if (result.read) result.opened = open_block(b.header, stored, raw);
  return result;
}

void BlockPrefetcher::run() {
  try {
    load_ahead();
  } catch (...) {
    // Out of memory (or a throwing read) on this thread: it stops loading, and
    // the reader, which never waits for it, loads every block itself from now
    // on (where an error it meets is its own, as without a prefetcher).
  }
}

void BlockPrefetcher::load_ahead() {
  std::string stored;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_.wait(lock, [this] { return stop_ || (next_ < blocks_.size() && queue_.size() < depth_); });
    if (stop_) return;
    Item it;
    it.block = next_++;
    const std::uint64_t generation = generation_;
    if (!pool_.empty()) {
      it.raw = std::move(pool_.back());
      pool_.pop_back();
    }
    lock.unlock();
    it.result = load(it.block, stored, it.raw);
    lock.lock();
    if (generation == generation_) {
      queue_.push_back(std::move(it));
    } else {
      pool_.push_back(std::move(it.raw));  // loaded for a position the reader left
    }
  }
}

}  // namespace te::journal
