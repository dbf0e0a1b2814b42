#pragma once
// Lua sources compiled into the binary (cmake/embed_lua.cmake): the trusted
// prelude and the shipped indicator wrappers; the trusted files also as LuaJIT
// bytecode compiled at build time (load them with load_embedded_chunk).
#include <span>
#include <string_view>

namespace te::script {

struct EmbeddedFile {
  std::string_view path;  // repository-relative, e.g. "lua/prelude.lua"
  std::string_view text;
  std::string_view bytecode;  // empty unless built as bytecode (trusted files only)
};

std::span<const EmbeddedFile> embedded_files();

// Errors: none; returns an empty view when `path` is not embedded.
inline std::string_view find_embedded(std::string_view path) {
  for (const auto& f : embedded_files())
    if (f.path == path) return f.text;
  return {};
}

}  // namespace te::script
