#pragma once
// Loads a journal's blocks ahead of a reader that goes through them in order:
// a thread of its own reads each block's payload, verifies its checksum and
// decompresses it (open_block) while the reader's thread decodes the records
// of the block before. Up to `depth` loaded blocks wait in a queue; their
// buffers come back through take() and are reused.
//
// The prefetcher only loads: it reports nothing. What loading a block gave
// (its bytes, or the read error, or why the block does not open) is handed to
// the reader, which reports damage and returns errors exactly as when it loads
// the block itself. A reader that jumps elsewhere restarts it (restart()), or
// stops it (pause()) until it reads in order again.
//
// One consumer thread (the reader's); the destructor stops the thread, waiting
// at most for the block it is loading. A loader thread that fails (an
// exception, e.g. bad_alloc) just stops: take() then loads every block itself.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/journal_reader.hpp"

namespace te::journal {

class BlockPrefetcher {
 public:
  // Reads n bytes at an offset of the journal (callable from any thread).
  using ReadFn = std::function<Status(std::uint64_t offset, std::size_t n, char* dst)>;

  // `blocks` (the reader's index) and `read` must outlive the prefetcher.
  BlockPrefetcher(const std::vector<BlockInfo>& blocks, ReadFn read, std::size_t depth);
  ~BlockPrefetcher();
  BlockPrefetcher(const BlockPrefetcher&) = delete;
  BlockPrefetcher& operator=(const BlockPrefetcher&) = delete;

  // The block take() hands out next (blocks().size() once past the last);
  // npos while paused.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t next_block() const noexcept { return expect_; }

  // Loads from block `b` on (dropping whatever was loaded for elsewhere).
  void restart(std::size_t b);
  // Loads nothing until the next restart().
  void pause() { restart(npos); }

  struct Loaded {
    Status read;    // the payload could not be read (Errc::io): the reader's error
    Status opened;  // open_block's verdict (damage to report) when read is ok
  };
  // Block next_block() (not npos, not past the last block): swaps its
  // decompressed bytes into `raw` (raw's old buffer is reused for a later
  // block) when the loader has it ready, else loads it here, without waiting
  // (the loader then goes on after it). Then next_block() is the block after it.
  Loaded take(std::string& raw);

 private:
  struct Item {
    std::size_t block = 0;
    Loaded result;
    std::string raw;
  };
  void run();
  void load_ahead();
  // The same steps as the reader's own load of a block.
  Loaded load(std::size_t block, std::string& stored, std::string& raw) const;

  const std::vector<BlockInfo>& blocks_;
  ReadFn read_;
  const std::size_t depth_;

  std::mutex mu_;
  std::condition_variable work_;   // the loader waits for room or a restart
  std::deque<Item> queue_;         // loaded, in block order (those before expect_ are dropped)
  std::vector<std::string> pool_;  // buffers to load into
  std::size_t next_ = npos;        // the next block the loader loads
  std::uint64_t generation_ = 0;   // bumped by restart(): a block loaded before is dropped
  bool stop_ = false;
  std::size_t expect_ = npos;      // the reader's next block (reader's thread only)
  std::string stored_;             // the reader's scratch when it loads a block itself
  std::thread thread_;
};

}  // namespace te::journal
