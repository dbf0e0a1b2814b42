// SmallBlocks (engine/script/small_blocks.hpp), the small-object pool behind
// every Lua state's allocator: blocks never overlap, keep 16-byte alignment,
// are reused by class, the pool stays within its cap; and Lua data keeps its
// contents through every move the allocator makes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <random>
#include <vector>

#include "engine/backtest/backtest_engine.hpp"
#include "engine/core/sha256.hpp"
#include "engine/script/small_blocks.hpp"
#include "tests/support/flat_series.hpp"

using namespace te;
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
  // reused, so the pool carved far less than everything ever allocated
  // (200,000 x 45 % x ~136 bytes average = ~12 MB).
  CHECK(blocks.carved_bytes() < 4u * 1024 * 1024);
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
  // take(), LuaVm::allocate's fast path: a free block of the class or
  // nothing, never a carve (the general path carves).
  SmallBlocks fresh;
  CHECK(fresh.take(24) == nullptr);
  CHECK(fresh.carved_bytes() == 0);
  void* c = fresh.allocate(24);
  fresh.release(c, 24);
  CHECK(fresh.take(40) == nullptr);
  CHECK(fresh.take(17) == c);
  CHECK(fresh.take(17) == nullptr);
}

TEST_CASE("SmallBlocks: the pool carves at most its cap, and owns only its blocks", "[unit][script]") {
  // The cap is what bounds the memory a strategy can park in free lists of
  // classes it no longer uses (the budget counts live bytes only).
  SmallBlocks blocks(64 * 1024);
  std::vector<void*> got;
  for (;;) {
    void* p = blocks.allocate(1 + got.size() % SmallBlocks::kMaxSmall);
    if (p == nullptr) break;
    got.push_back(p);
    REQUIRE(got.size() < 100000);
  }
  CHECK(blocks.carved_bytes() <= blocks.cap());
  CHECK(blocks.carved_bytes() > blocks.cap() - SmallBlocks::kMaxSmall);
  for (void* p : got) CHECK(blocks.owns(p));
  int on_stack = 0;
  CHECK_FALSE(blocks.owns(&on_stack));
  void* heap = std::malloc(32);
  CHECK_FALSE(blocks.owns(heap));
  std::free(heap);
  // Full: a freed block still serves its own class, and only that.
  blocks.release(got[0], 1);  // class 1..16
  CHECK(blocks.allocate(200) == nullptr);
  CHECK(blocks.allocate(16) == got[0]);
  SmallBlocks none(0);
  CHECK(none.allocate(8) == nullptr);
  CHECK_FALSE(none.owns(&on_stack));
}

TEST_CASE("a Lua state's tables, strings and buffers keep their contents through the allocator", "[unit][script]") {
  // Every kind of move LuaVm::allocate makes: new blocks, growth within a
  // class, into another class, from the pool to malloc (array parts past 256
  // bytes), buffers grown by realloc; a wrong copy or a block handed out twice
  // shows as a wrong sum or length, and the runner faults.
  const std::string code = R"(
local rounds = 0
function detect_opportunity(bar, ctx, ind)
  rounds = rounds + 1
  local t = {}
  for i = 1, 300 do t[i] = i * rounds end
  local s = 0
  for i = 1, 300 do s = s + t[i] end
  if s ~= rounds * 45150 then error("array sum " .. s) end
  local h = {}
  for i = 1, 40 do h["k" .. i] = i end
  for i = 1, 40 do if h["k" .. i] ~= i then error("hash " .. i) end end
  for n = 1, 600, 7 do
    local x = string.rep("a", n) .. rounds
    if #x ~= n + #tostring(rounds) then error("string length " .. n) end
  end
  local parts = {}
  for i = 1, 100 do parts[i] = tostring(i) end
  local joined = table.concat(parts, ",")
  if #joined ~= 291 then error("concat " .. #joined) end
  ctx.keep = ctx.keep or {}
  ctx.keep[#ctx.keep % 50 + 1] = { rounds, tostring(rounds) }
end
function filter_commitment() end
function manage_position() end
)";
  const script::StrategySource src{"strategies/churn.lua", code, sha256_hex(code)};
  backtest::BacktestConfig cfg;
  auto r = backtest::run_backtest(cfg, test::flat_series(3000), src);
  REQUIRE(r);
  INFO((r->fault ? r->fault->message : std::string()));
  CHECK_FALSE(r->fault);
  CHECK(r->bars == 3000);
}
