// The Lua VM's small-block pool (engine/script/small_block_pool.hpp) and the
// allocator that uses it (LuaVm::allocate): blocks are aligned, distinct and
// reused by size class; a used-up range falls back to malloc; a VM whose blocks
// move between the pool and malloc (tables growing past 256 bytes, shrinking
// back) keeps its contents and its byte count.
#include <catch2/catch.hpp>

#include <lua.hpp>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/script/lua_vm.hpp"
#include "engine/script/small_block_pool.hpp"

using te::script::LuaVm;
using te::script::SmallBlockPool;

TEST_CASE("small-block pool: aligned, distinct, reused by class, bounded", "[sandbox][pool]") {
  SmallBlockPool pool;
  std::set<void*> seen;
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t n = 1; n <= SmallBlockPool::kMaxBlock; ++n) {
    void* p = pool.take(n);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 16 == 0);
    CHECK(pool.owns(p));
    CHECK(seen.insert(p).second);
    std::memset(p, 0xab, n);  // the whole request is usable
    blocks.emplace_back(p, n);
  }
  int x = 0;
  CHECK_FALSE(pool.owns(&x));
  // A freed block comes back for any request of its class, last freed first.
  pool.give(blocks[40].first, 41);  // class of 33..48 bytes
  CHECK(pool.take(33) == blocks[40].first);
  pool.give(blocks[40].first, 48);
  CHECK(pool.take(49) != blocks[40].first);  // the next class does not take it
  CHECK(pool.take(48) == blocks[40].first);
  // The reserved range is finite: then the caller goes to malloc.
  std::size_t big = 0, small = 0;
  while (pool.take(SmallBlockPool::kMaxBlock) != nullptr) ++big;
  while (pool.take(1) != nullptr) ++small;  // the tail of the range
  CHECK(big > 0);
  CHECK(small < SmallBlockPool::kMaxBlock / SmallBlockPool::kGranule);
  std::size_t first = 0;
  for (std::size_t n = 1; n <= SmallBlockPool::kMaxBlock; ++n) first += (SmallBlockPool::size_class(n) + 1) * 16;
  CHECK(first + big * SmallBlockPool::kMaxBlock + small * SmallBlockPool::kGranule <= SmallBlockPool::kReserveBytes);
  CHECK(pool.take(1) == nullptr);
  CHECK(pool.take(SmallBlockPool::kMaxBlock) == nullptr);
  pool.give(blocks[0].first, 1);
  CHECK(pool.take(16) == blocks[0].first);  // free lists still serve
}

TEST_CASE("Lua allocations move between the pool and malloc intact", "[sandbox][pool]") {
  LuaVm vm;
  lua_State* L = vm.state();
  luaL_openlibs(L);
  lua_gc(L, LUA_GCCOLLECT, 0);
  const std::size_t before = vm.memory_bytes();
  // Tables grow through every size class and past it (hash and array parts
  // reallocated from pool blocks into malloc blocks), strings of every length
  // around the 256-byte edge, then everything is dropped and shrunk again.
  const char* code = R"(
    local keep = {}
    for round = 1, 3 do
      local t = {}
      for i = 1, 300 do
        t[i] = string.rep("s", i)
        t["k" .. i] = { i, i * 2, name = "n" .. i }
      end
      for i = 1, 300 do
        assert(t[i] == string.rep("s", i))
        local v = t["k" .. i]
        assert(v[1] == i and v[2] == i * 2 and v.name == "n" .. i)
      end
      for i = 300, 1, -1 do t[i] = nil; t["k" .. i] = nil end
      collectgarbage()
      keep[round] = t
    end
    local sum = 0
    for i = 1, 1000 do local s = tostring(i) .. string.rep("x", i % 300); sum = sum + #s end
    return sum
  )";
  REQUIRE(luaL_loadstring(L, code) == 0);
  REQUIRE(lua_pcall(L, 0, 1, 0) == 0);
  double expected = 0;
  for (int i = 1; i <= 1000; ++i) expected += static_cast<double>(std::to_string(i).size() + static_cast<std::size_t>(i % 300));
  CHECK(lua_tonumber(L, -1) == expected);
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  lua_gc(L, LUA_GCCOLLECT, 0);
  // Everything the chunk made is garbage now: the count is back where it was
  // (within what the collector and interned strings keep).
  CHECK(vm.memory_bytes() < before + 64 * 1024);
  CHECK(vm.peak_memory_bytes() > before + 64 * 1024);
}
