// The trusted Lua files ship as LuaJIT bytecode compiled at build time
// (cmake/lua_bytecode.lua), with their debug information: a VM loads them
// without parsing, and errors, tracebacks and the [jit] check still name
// "lua/<file>.lua:<line>".
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "engine/script/embedded.hpp"

namespace {

// LuaJIT's dump header (lj_bcdump.h): ESC 'L' 'J' version, ULEB128 flags, then,
// unless stripped, the ULEB128 length and bytes of the chunk name.
constexpr unsigned kFlagStrip = 0x02;

unsigned read_uleb(std::string_view s, std::size_t& i) {
  unsigned v = 0;
  for (unsigned shift = 0; i < s.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(s[i++]);
    v |= (b & 0x7fu) << shift;
    if (b < 0x80) break;
  }
  return v;
}

}  // namespace

TEST_CASE("the trusted Lua files are embedded as unstripped bytecode named after their source", "[script]") {
  int trusted = 0;
  for (const auto& f : te::script::embedded_files()) {
    const bool is_trusted = f.path.rfind("lua/", 0) == 0 && f.path.rfind("lua/templates/", 0) != 0;
    INFO(std::string(f.path));
    if (!is_trusted) {
      // Templates are copied out for users and indicator files run in the
      // sandbox as text: never bytecode.
      CHECK(f.bytecode.empty());
      continue;
    }
    ++trusted;
    REQUIRE(f.bytecode.size() > 8);
    CHECK(f.bytecode.substr(0, 3) == std::string_view("\x1bLJ", 3));
    std::size_t i = 4;
    const unsigned flags = read_uleb(f.bytecode, i);
    CHECK((flags & kFlagStrip) == 0);
    const unsigned len = read_uleb(f.bytecode, i);
    REQUIRE(i + len <= f.bytecode.size());
    std::string chunkname(1, '@');  // (not "@" + ...: GCC 12 misreports -Wrestrict there)
    chunkname.append(f.path);
    CHECK(f.bytecode.substr(i, len) == chunkname);
    CHECK_FALSE(f.text.empty());
  }
  CHECK(trusted == 7);  // prelude, views, indicators, actions, sandbox, lua_indicators, static_scan
}
