#include "engine/script/context_codec.hpp"

#include <lua.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/core.h>

namespace te::script {

std::uint64_t next_loop_export_serial() noexcept {
  static std::atomic<std::uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) + 1;  // never 0
}

namespace {

// Where a value sits ("ctx.a[2].b"), built only when an error names it: a
// journal export walks the context after every active bar, and formatting a
// path per key cost more than the walk.
struct Path {
  const Path* parent = nullptr;
  std::string_view root;  // the root's text (parent == nullptr)
  const char* key = nullptr;
  std::size_t key_len = 0;
  std::size_t index = 0;  // array element (key == nullptr)

  std::string str() const {
    if (parent == nullptr) return std::string(root);
    std::string p = parent->str();
    if (key != nullptr) return p + "." + std::string(key, key_len);
    return fmt::format("{}[{}]", p, index);
  }
};

struct Walker {
  lua_State* L;
  const ContextLimits& limits;
  const char* const* skip = nullptr;  // top-level string keys left out
  std::size_t nodes = 0;
  std::size_t bytes = 0;  // the loop export's size so far (ContextLimits::max_bytes)
  std::vector<const void*> open_tables;  // for cycle detection

  bool skipped(int depth) const {
    if (skip == nullptr || depth != 0 || lua_type(L, -2) != LUA_TSTRING) return false;
    const char* k = lua_tostring(L, -2);
    for (const char* const* s = skip; *s; ++s)
      if (k[0] == (*s)[0] && std::strcmp(k, *s) == 0) return true;
    return false;
  }

  // Counts `n` more bytes of the export; false past the limit.
  bool add_bytes(std::size_t n) {
    bytes += n;
    return bytes <= limits.max_bytes;
  }
  Error too_big(const Path& path) const {
    return make_error(Errc::limit, fmt::format("{}: the context is more than {} bytes as data", path.str(),
                                               limits.max_bytes));
  }

  Result<Value> convert(int idx, const Path& path, int depth) {
    if (++nodes > limits.max_nodes)
      return make_error(Errc::limit, fmt::format("{}: the context has more than {} values", path.str(), limits.max_nodes));
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        if (!add_bytes(1)) return too_big(path);
        return Value();
      case LUA_TBOOLEAN:
        if (!add_bytes(1)) return too_big(path);
        return Value(lua_toboolean(L, idx) != 0);
      case LUA_TNUMBER:
        if (!add_bytes(9)) return too_big(path);
        return Value(static_cast<double>(lua_tonumber(L, idx)));
      case LUA_TSTRING: {
        std::size_t len = 0;
        const char* s = lua_tolstring(L, idx, &len);
        if (!add_bytes(5 + len)) return too_big(path);
        return Value(std::string(s, len));
      }
      case LUA_TTABLE:
        if (!add_bytes(5)) return too_big(path);
        return table(idx, path, depth);
      default:
        return make_error(Errc::invalid_argument,
                          fmt::format("{} is a {}: the context may hold only plain data (numbers, strings, "
                                      "booleans and tables)",
                                      path.str(), lua_typename(L, lua_type(L, idx))));
    }
  }

  Result<Value> table(int idx, const Path& path, int depth) {
    if (depth >= limits.max_depth)
      return make_error(Errc::limit, fmt::format("{}: tables nested deeper than {}", path.str(), limits.max_depth));
    const void* id = lua_topointer(L, idx);
    for (const void* t : open_tables)
      if (t == id) return make_error(Errc::invalid_argument, fmt::format("{} refers back to itself (a cycle)", path.str()));
    if (!lua_checkstack(L, 4)) return make_error(Errc::limit, path.str() + ": out of Lua stack");
    open_tables.push_back(id);
    // Decide array or map: an array has exactly the keys 1..n (skipped keys
    // are strings, so they never change n).
    const auto n = static_cast<std::size_t>(lua_objlen(L, idx));
    if (n == 0) {
      // No array part (a ctx and most tables in it): a map or empty, read in
      // one pass. Any key that is not a string makes it the "mixes keys"
      // error below, as the two-pass path would.
      Value::Map map;
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {  // stack: ... key value
        if (skipped(depth)) {
          lua_pop(L, 1);
          continue;
        }
        if (lua_type(L, -2) != LUA_TSTRING) {
          lua_pop(L, 2);
          open_tables.pop_back();
          return mixed_keys(path);
        }
        std::size_t len = 0;
        const char* k = lua_tolstring(L, -2, &len);
        const Path child{&path, {}, k, len, 0};
        if (!add_bytes(4 + len)) {
          lua_pop(L, 2);
          open_tables.pop_back();
          return too_big(child);
        }
        auto v = convert(lua_gettop(L), child, depth + 1);
        if (!v) {
          lua_pop(L, 2);
          open_tables.pop_back();
          return v;
        }
        map.emplace_back(std::string(k, len), std::move(*v));
        lua_pop(L, 1);
      }
      open_tables.pop_back();
      if (map.empty()) return Value::empty_map();
      return Value(std::move(map));
    }
    // n > 0: key n is a number, so this is an array or mixes keys (a map of
    // string keys only was read above).
    std::size_t count = 0;
    lua_pushnil(L);  // stack: ... nil
    while (lua_next(L, idx) != 0) {
      if (!skipped(depth)) ++count;
      lua_pop(L, 1);
    }
    if (count != n) {
      open_tables.pop_back();
      return mixed_keys(path);
    }
    Value::Array arr;
    arr.reserve(n);
    for (std::size_t i = 1; i <= n; ++i) {
      lua_rawgeti(L, idx, static_cast<int>(i));
      const Path child{&path, {}, nullptr, 0, i};
      auto v = convert(lua_gettop(L), child, depth + 1);
      lua_pop(L, 1);
      if (!v) {
        open_tables.pop_back();
        return v;
      }
      arr.push_back(std::move(*v));
    }
    open_tables.pop_back();
    return Value(std::move(arr));
  }

  static Error mixed_keys(const Path& path) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} mixes keys: the context's tables must be arrays (keys 1..n) or have only "
                                  "string keys",
                                  path.str()));
  }
};

// Reader of the loop export (context_codec.hpp); every read is bounds-checked.
// With a null `out` it only checks the layout (loop_export_well_formed: the
// same rules, nothing allocated).
struct LoopExportReader {
  const std::uint8_t* p;
  const std::uint8_t* end;
  int depth = 0;

  bool u32(std::uint32_t& out) {
    if (end - p < 4) return false;
    std::memcpy(&out, p, 4);
    p += 4;
    return true;
  }
  bool str(std::string* out) {
    std::uint32_t n = 0;
    if (!u32(n) || static_cast<std::size_t>(end - p) < n) return false;
    if (out) out->assign(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
  bool value(Value* out) {
    if (p == end || depth > 64) return false;
    const std::uint8_t tag = *p++;
    switch (tag) {
      case 0:
        if (out) *out = Value();
        return true;
      case 1:
      case 2:
        if (out) *out = Value(tag == 2);
        return true;
      case 3: {
        if (end - p < 8) return false;
        if (out) {
          double d;
          std::memcpy(&d, p, 8);
          *out = Value(d);
        }
        p += 8;
        return true;
      }
      case 4: {
        if (!out) return str(nullptr);
        std::string s;
        if (!str(&s)) return false;
        *out = Value(std::move(s));
        return true;
      }
      case 5:
      case 6: {
        std::uint32_t n = 0;
        if (!u32(n) || (tag == 6) != (n == 0) || static_cast<std::size_t>(end - p) / 5 < n) return false;
        if (tag == 6) {
          if (out) *out = Value::empty_map();
          return true;
        }
        Value::Map map;
        if (out) map.reserve(n);
        ++depth;
        for (std::uint32_t i = 0; i < n; ++i) {
          std::string k;
          Value v;
          if (!str(out ? &k : nullptr) || !value(out ? &v : nullptr)) return false;
          if (out) map.emplace_back(std::move(k), std::move(v));
        }
        --depth;
        if (out) *out = Value(std::move(map));
        return true;
      }
      case 7: {
        std::uint32_t n = 0;
        if (!u32(n) || n == 0 || static_cast<std::size_t>(end - p) < n) return false;
        Value::Array arr;
        if (out) arr.reserve(n);
        ++depth;
        for (std::uint32_t i = 0; i < n; ++i) {
          Value v;
          if (!value(out ? &v : nullptr)) return false;
          if (out) arr.push_back(std::move(v));
        }
        --depth;
        if (out) *out = Value(std::move(arr));
        return true;
      }
      default: return false;
    }
  }
};

}  // namespace

bool loop_export_well_formed(const std::uint8_t* data, std::size_t size) noexcept {
  LoopExportReader c{data, data + size};
  return c.value(nullptr) && c.p == c.end;
}

Result<Value> decode_loop_export(const std::uint8_t* data, std::size_t size) {
  LoopExportReader r{data, data + size};
  Value v;
  if (!r.value(&v) || r.p != r.end)
    return make_error(Errc::internal, fmt::format("the prelude's ctx export is malformed near byte {}", r.p - data));
  return v;
}

Result<Value> lua_to_value(lua_State* L, int idx, const std::string& path, const ContextLimits& limits,
                           const char* const* skip) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  if (lua_type(L, idx) != LUA_TTABLE) return make_error(Errc::invalid_argument, path + " is not a table");
  // `skip` leaves top-level keys out in place (no copy of the table).
  Walker w{L, limits, skip, 0, 0, {}};
  const Path root{nullptr, path, nullptr, 0, 0};
  return w.convert(idx, root, 0);
}

std::size_t export_size(const Value& v) noexcept {
  switch (v.kind()) {
    case Value::Kind::Nil:
    case Value::Kind::Bool: return 1;
    case Value::Kind::Int:
    case Value::Kind::Double: return 9;
    case Value::Kind::String: return 5 + v.as_string().size();
    case Value::Kind::Array: {
      std::size_t n = 5;
      for (const Value& e : v.as_array()) n += export_size(e);
      return n;
    }
    case Value::Kind::Map: {
      std::size_t n = 5;
      for (const auto& [k, e] : v.as_map()) n += 4 + k.size() + export_size(e);
      return n;
    }
  }
  return 0;
}

void push_value(lua_State* L, const Value& v) {
  luaL_checkstack(L, 3, "context too deep");
  switch (v.kind()) {
    case Value::Kind::Nil: lua_pushnil(L); break;
    case Value::Kind::Bool: lua_pushboolean(L, v.as_bool() ? 1 : 0); break;
    case Value::Kind::Int: lua_pushnumber(L, static_cast<lua_Number>(v.as_int())); break;
    case Value::Kind::Double: lua_pushnumber(L, v.as_double()); break;
    case Value::Kind::String: lua_pushlstring(L, v.as_string().data(), v.as_string().size()); break;
    case Value::Kind::Array: {
      const auto& a = v.as_array();
      lua_createtable(L, static_cast<int>(a.size()), 0);
      for (std::size_t i = 0; i < a.size(); ++i) {
        push_value(L, a[i]);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
      break;
    }
    case Value::Kind::Map: {
      const auto& m = v.as_map();
      lua_createtable(L, 0, static_cast<int>(m.size()));
      for (const auto& [k, item] : m) {
        lua_pushlstring(L, k.data(), k.size());
        push_value(L, item);
        lua_rawset(L, -3);
      }
      break;
    }
  }
}

}  // namespace te::script
