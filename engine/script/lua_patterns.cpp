// A step-counting port of the pattern matcher in LuaJIT's lib_string.c (itself
// Lua 5.1's lstrlib.c): same structure, same error messages, plus a budget.
// Only plain data lives on these C++ frames, because Lua errors unwind through
// them.
#include "engine/script/lua_patterns.hpp"

#include "engine/script/c_stack.hpp"

#include <lua.hpp>

#include <cstddef>
#include <cstring>
#include <string_view>

namespace te::script {
namespace {

constexpr int kCapUnfinished = -1;
constexpr int kCapPosition = -2;
constexpr int kMaxCaptures = LUA_MAXCAPTURES;
constexpr int kMaxDepth = 200;  // LuaJIT's LJ_MAX_XLEVEL: bounds the C stack
constexpr char kEsc = '%';

struct MatchState {
  const char* src_init;
  const char* src_end;
  lua_State* L;
  int level;
  int depth;
  std::uint64_t steps;
  std::uint64_t max_steps;
  const char* fname;
  struct {
    const char* init;
    std::ptrdiff_t len;
  } capture[kMaxCaptures];
};

unsigned char uchar(char c) { return static_cast<unsigned char>(c); }

[[noreturn]] void fail(MatchState* ms, const char* msg) {
  luaL_error(ms->L, "%s", msg);
  __builtin_unreachable();
}

[[noreturn]] void too_complex(MatchState* ms) {
  luaL_error(ms->L,
             "%s: pattern too complex for a subject of %d bytes (more than %d matching steps; see "
             "docs/sandbox.md)",
             ms->fname, static_cast<int>(ms->src_end - ms->src_init), static_cast<int>(ms->max_steps));
  __builtin_unreachable();
}

inline void step(MatchState* ms, std::uint64_t n = 1) {
  ms->steps += n;
  if (__builtin_expect(ms->steps > ms->max_steps, 0)) too_complex(ms);
}

// LuaJIT's character classes are ASCII only (lj_char.c), independent of locale.
bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
bool is_upper(int c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_alpha(int c) { return is_lower(c) || is_upper(c); }
bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }
bool is_graph(int c) { return c >= 33 && c <= 126; }

int match_class(int c, int cl) {
  if ((cl & 0xc0) == 0x40) {
    int t = -1;
    switch (cl | 0x20) {
      case 'a': t = is_alpha(c); break;
      case 'c': t = c < 32 || c == 127; break;
      case 'd': t = is_digit(c); break;
      case 'g': t = is_graph(c); break;
      case 'l': t = is_lower(c); break;
      case 'p': t = is_graph(c) && !is_alnum(c); break;
      case 's': t = c == ' ' || (c >= 9 && c <= 13); break;
      case 'u': t = is_upper(c); break;
      case 'w': t = is_alnum(c); break;
      case 'x': t = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); break;
      default: break;
    }
    if (t >= 0) return (cl & 0x20) ? t : !t;
    if (cl == 'z') return c == 0;
    if (cl == 'Z') return c != 0;
  }
  return cl == c;
}

int check_capture(MatchState* ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == kCapUnfinished) fail(ms, "invalid capture index");
  return l;
}

int capture_to_close(MatchState* ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == kCapUnfinished) return level;
  fail(ms, "invalid pattern capture");
}

const char* classend(MatchState* ms, const char* p) {
  switch (*p++) {
    case kEsc:
      if (*p == '\0') fail(ms, "malformed pattern (ends with '%')");
      return p + 1;
    case '[':
      if (*p == '^') p++;
      do {
        if (*p == '\0') fail(ms, "malformed pattern (missing ']')");
        if (*(p++) == kEsc && *p != '\0') p++;
      } while (*p != ']');
      return p + 1;
    default:
      return p;
  }
}

int matchbracketclass(int c, const char* p, const char* ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == kEsc) {
      p++;
      if (match_class(c, uchar(*p))) return sig;
    } else if ((*(p + 1) == '-') && (p + 2 < ec)) {
      p += 2;
      if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
    } else if (uchar(*p) == c) {
      return sig;
    }
  }
  return !sig;
}

int singlematch(int c, const char* p, const char* ep) {
  switch (*p) {
    case '.': return 1;
    case kEsc: return match_class(c, uchar(*(p + 1)));
    case '[': return matchbracketclass(c, p, ep - 1);
    default: return uchar(*p) == c;
  }
}

const char* match(MatchState* ms, const char* s, const char* p);

const char* matchbalance(MatchState* ms, const char* s, const char* p) {
  if (*p == 0 || *(p + 1) == 0) fail(ms, "unbalanced pattern");
  if (*s != *p) return nullptr;
  const int b = *p;
  const int e = *(p + 1);
  int cont = 1;
  const char* const start = s;
  while (++s < ms->src_end) {
    if (*s == e) {
      if (--cont == 0) {
        step(ms, static_cast<std::uint64_t>(s - start));
        return s + 1;
      }
    } else if (*s == b) {
      cont++;
    }
  }
  step(ms, static_cast<std::uint64_t>(s - start));
  return nullptr;
}

const char* max_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  std::ptrdiff_t i = 0;
  while ((s + i) < ms->src_end && singlematch(uchar(*(s + i)), p, ep)) i++;
  step(ms, static_cast<std::uint64_t>(i));
  while (i >= 0) {
    const char* res = match(ms, s + i, ep + 1);
    if (res) return res;
    i--;
  }
  return nullptr;
}

const char* min_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  for (;;) {
    const char* res = match(ms, s, ep + 1);
    if (res != nullptr) return res;
    if (s < ms->src_end && singlematch(uchar(*s), p, ep))
      s++;
    else
      return nullptr;
  }
}

const char* start_capture(MatchState* ms, const char* s, const char* p, int what) {
  const int level = ms->level;
  if (level >= kMaxCaptures) fail(ms, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char* res = match(ms, s, p);
  if (res == nullptr) ms->level--;
  return res;
}

const char* end_capture(MatchState* ms, const char* s, const char* p) {
  const int l = capture_to_close(ms);
  ms->capture[l].len = s - ms->capture[l].init;
  const char* res = match(ms, s, p);
  if (res == nullptr) ms->capture[l].len = kCapUnfinished;
  return res;
}

const char* match_capture(MatchState* ms, const char* s, int l) {
  l = check_capture(ms, l);
  const auto len = static_cast<std::size_t>(ms->capture[l].len);
  step(ms, len);
  if (static_cast<std::size_t>(ms->src_end - s) >= len && std::memcmp(ms->capture[l].init, s, len) == 0)
    return s + len;
  return nullptr;
}

const char* match(MatchState* ms, const char* s, const char* p) {
  if (++ms->depth > kMaxDepth) fail(ms, "pattern too complex");
init:
  step(ms);
  switch (*p) {
    case '(':
      if (*(p + 1) == ')')
        s = start_capture(ms, s, p + 2, kCapPosition);
      else
        s = start_capture(ms, s, p + 1, kCapUnfinished);
      break;
    case ')':
      s = end_capture(ms, s, p + 1);
      break;
    case kEsc:
      switch (*(p + 1)) {
        case 'b':
          s = matchbalance(ms, s, p + 2);
          if (s == nullptr) break;
          p += 4;
          goto init;
        case 'f': {
          p += 2;
          if (*p != '[') fail(ms, "missing '[' after '%f' in pattern");
          const char* ep = classend(ms, p);
          const char previous = (s == ms->src_init) ? '\0' : *(s - 1);
          if (matchbracketclass(uchar(previous), p, ep - 1) || !matchbracketclass(uchar(*s), p, ep - 1)) {
            s = nullptr;
            break;
          }
          p = ep;
          goto init;
        }
        default:
          if (is_digit(uchar(*(p + 1)))) {
            s = match_capture(ms, s, uchar(*(p + 1)));
            if (s == nullptr) break;
            p += 2;
            goto init;
          }
          goto dflt;
      }
      break;
    case '\0':
      break;
    case '$':
      if (*(p + 1) != '\0') goto dflt;
      if (s != ms->src_end) s = nullptr;
      break;
    default:
    dflt: {
      const char* ep = classend(ms, p);
      const int m = s < ms->src_end && singlematch(uchar(*s), p, ep);
      switch (*ep) {
        case '?': {
          const char* res;
          if (m && ((res = match(ms, s + 1, ep + 1)) != nullptr)) {
            s = res;
            break;
          }
          p = ep + 1;
          goto init;
        }
        case '*':
          s = max_expand(ms, s, p, ep);
          break;
        case '+':
          s = m ? max_expand(ms, s + 1, p, ep) : nullptr;
          break;
        case '-':
          s = min_expand(ms, s, p, ep);
          break;
        default:
          if (m) {
            s++;
            p = ep;
            goto init;
          }
          s = nullptr;
          break;
      }
      break;
    }
  }
  ms->depth--;
  return s;
}

void push_onecapture(MatchState* ms, int i, const char* s, const char* e) {
  if (i >= ms->level) {
    if (i == 0)
      lua_pushlstring(ms->L, s, static_cast<std::size_t>(e - s));
    else
      fail(ms, "invalid capture index");
  } else {
    const std::ptrdiff_t l = ms->capture[i].len;
    if (l == kCapUnfinished) fail(ms, "unfinished capture");
    if (l == kCapPosition)
      lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
    else
      lua_pushlstring(ms->L, ms->capture[i].init, static_cast<std::size_t>(l));
  }
}

int push_captures(MatchState* ms, const char* s, const char* e) {
  const int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (int i = 0; i < nlevels; i++) push_onecapture(ms, i, s, e);
  return nlevels;
}

bool has_pattern_chars(const char* p, std::size_t len) {
  for (std::size_t i = 0; i < len; ++i)
    if (std::strchr("^$*+?.([%-", p[i]) != nullptr && p[i] != '\0') return true;
  return false;
}

std::uint64_t budget(lua_State* L) {
  return static_cast<std::uint64_t>(lua_tonumber(L, lua_upvalueindex(1)));
}

void init_state(MatchState& ms, lua_State* L, const char* s, std::size_t len, std::uint64_t max_steps,
                const char* fname) {
  ms.L = L;
  ms.src_init = s;
  ms.src_end = s + len;
  ms.level = 0;
  ms.depth = 0;
  ms.steps = 0;
  ms.max_steps = max_steps;
  ms.fname = fname;
}

int find_aux(lua_State* L, int find) {
  std::size_t ls = 0, lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  lua_Integer start = luaL_optinteger(L, 3, 1);
  if (start < 0)
    start += static_cast<lua_Integer>(ls);
  else
    start--;
  if (start < 0) start = 0;
  auto st = static_cast<std::size_t>(start);
  if (st > ls) st = ls;
  if (find && (lua_toboolean(L, 4) || !has_pattern_chars(p, lp))) {
    const std::size_t at = std::string_view(s, ls).find(std::string_view(p, lp), st);
    if (at != std::string_view::npos) {
      lua_pushinteger(L, static_cast<lua_Integer>(at) + 1);
      lua_pushinteger(L, static_cast<lua_Integer>(at + lp));
      return 2;
    }
  } else {
    MatchState ms;
    init_state(ms, L, s, ls, budget(L), find ? "string.find" : "string.match");
    const char* sstr = s + st;
    int anchor = 0;
    if (*p == '^') {
      p++;
      anchor = 1;
    }
    do {
      ms.level = ms.depth = 0;
      const char* q = match(&ms, sstr, p);
      if (q) {
        if (find) {
          lua_pushinteger(L, sstr - s + 1);
          lua_pushinteger(L, q - s);
          return push_captures(&ms, nullptr, nullptr) + 2;
        }
        return push_captures(&ms, sstr, q);
      }
    } while (sstr++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);
  return 1;
}

int str_find(lua_State* L) { return find_aux(L, 1); }
int str_match(lua_State* L) { return find_aux(L, 0); }

// upvalues: budget, subject, pattern, position
int gmatch_aux(lua_State* L) {
  std::size_t ls = 0;
  const char* s = lua_tolstring(L, lua_upvalueindex(2), &ls);
  const char* p = lua_tostring(L, lua_upvalueindex(3));
  const auto pos = static_cast<std::size_t>(lua_tointeger(L, lua_upvalueindex(4)));
  MatchState ms;
  init_state(ms, L, s, ls, budget(L), "string.gmatch");
  for (const char* src = s + pos; src <= ms.src_end; src++) {
    ms.level = ms.depth = 0;
    const char* e = match(&ms, src, p);
    if (e != nullptr) {
      std::size_t next = static_cast<std::size_t>(e - s);
      if (e == src) next++;  // ensure progress after an empty match
      lua_pushinteger(L, static_cast<lua_Integer>(next));
      lua_replace(L, lua_upvalueindex(4));
      return push_captures(&ms, src, e);
    }
  }
  return 0;
}

int str_gmatch(lua_State* L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);  // stack: budget s p
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatch_aux, 4);
  return 1;
}

void add_s(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  std::size_t l = 0;
  const char* news = lua_tolstring(ms->L, 3, &l);
  for (std::size_t i = 0; i < l; i++) {
    if (news[i] != kEsc) {
      luaL_addchar(b, news[i]);
    } else {
      i++;
      if (!is_digit(uchar(news[i]))) {
        luaL_addchar(b, news[i]);
      } else if (news[i] == '0') {
        luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
      } else {
        push_onecapture(ms, news[i] - '1', s, e);
        luaL_addvalue(b);
      }
    }
  }
}

void add_value(MatchState* ms, luaL_Buffer* b, const char* s, const char* e) {
  lua_State* L = ms->L;
  switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
      add_s(ms, b, s, e);
      return;
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      const int n = push_captures(ms, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      push_onecapture(ms, 0, s, e);
      lua_gettable(L, 3);
      break;
    default:
      break;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    lua_pushlstring(L, s, static_cast<std::size_t>(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

int str_gsub(lua_State* L) {
  // A replacement function may call gsub again: each level holds a
  // luaL_Buffer (8 KB) on the native stack.
  check_c_stack(L, "string.gsub");
  std::size_t srcl = 0;
  const char* src = luaL_checklstring(L, 1, &srcl);
  const char* p = luaL_checkstring(L, 2);
  const int tr = lua_type(L, 3);
  const int max_s = luaL_optint(L, 4, static_cast<int>(srcl + 1));
  const int anchor = (*p == '^') ? (p++, 1) : 0;
  int n = 0;
  if (!(tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE))
    luaL_argerror(L, 3, "string/function/table expected");
  MatchState ms;
  init_state(ms, L, src, srcl, budget(L), "string.gsub");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (n < max_s) {
    ms.level = ms.depth = 0;
    const char* e = match(&ms, src, p);
    if (e) {
      n++;
      add_value(&ms, &b, src, e);
    }
    if (e && e > src)
      src = e;
    else if (src < ms.src_end)
      luaL_addchar(&b, *src++);
    else
      break;
    if (anchor) break;
  }
  luaL_addlstring(&b, src, static_cast<std::size_t>(ms.src_end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

}  // namespace

void install_guarded_patterns(lua_State* L, std::uint64_t max_steps) {
  // stack: -> string
  lua_getglobal(L, "string");
  const struct {
    const char* name;
    lua_CFunction fn;
  } fns[] = {{"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub}};
  for (const auto& f : fns) {
    lua_pushnumber(L, static_cast<lua_Number>(max_steps));
    lua_pushcclosure(L, f.fn, 1);
    lua_setfield(L, -2, f.name);
  }
  lua_pop(L, 1);
}

}  // namespace te::script
