#include "engine/journal/msgpack_cursor.hpp"

#include <cstring>

#include "engine/core/value_in_place.hpp"

namespace te::journal::detail {

namespace {

// a == b for a map key about to be overwritten: keys are short, so compared
// with a few loads instead of a memcmp call per key.
bool same_key(const std::string& a, std::string_view b) noexcept {
  const std::size_t n = b.size();
  if (a.size() != n) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8 && n <= 16) {
    std::uint64_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 8);
    std::memcpy(&y0, y, 8);
    std::memcpy(&x1, x + n - 8, 8);
    std::memcpy(&y1, y + n - 8, 8);
    return x0 == y0 && x1 == y1;
  }
  if (n >= 4 && n < 8) {
    std::uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 4);
    std::memcpy(&y0, y, 4);
    std::memcpy(&x1, x + n - 4, 4);
    std::memcpy(&y1, y + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  return std::memcmp(x, y, n) == 0;
}

}  // namespace

// Decodes into `out` in place: a reader decodes event after event into the
// same trees, and a runner state has the shape of the one before it, so the
// vectors and key strings of `out` are reused (no allocation) and a map whose
// keys are those `out` already had, in the same places, is known to be sorted
// without comparing them again. The value that comes out is the same as when
// decoded into a nil `out`.
bool MsgpackCursor::read_value(Value& out, int depth) {
  if (depth > kMaxDepth) return fail("value nested too deeply");
  std::uint8_t b;
  if (!peek(b)) return fail("record ends early");
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
    std::int64_t i = 0;
    if (!read_int(i)) return false;
    out.assign_int(i);
    return true;
  }
  if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)) {
    std::string_view s;
    if (!read_str(s)) return false;
    out.assign_string(s);
    return true;
  }
  if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd) {
    std::uint32_t n = 0;
    if (!read_array(n)) return false;
    // Every element takes at least one byte: a lying count cannot make us
    // reserve more than the record holds.
    if (n > remaining()) return fail("array count runs past the record");
    if (!out.is_array()) out = Value(Value::Array{});
    Value::Array& a = out.as_array();
    a.resize(n);
    for (auto& e : a) {
      if (!read_value(e, depth + 1)) return false;
    }
    return true;
  }
  if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf) {
    std::uint32_t n = 0;
    if (!read_map(n)) return false;
    if (n > remaining() / 2) return fail("map count runs past the record");
    // Overwritten where it is; a decode that fails leaves `out` nil, so no
    // half-written map (keys perhaps out of order) is left behind.
    Value::Map& m = become_map(out);
    const std::size_t had = m.size();
    m.resize(n);
    // Keys already in place were sorted; only a key written here is compared
    // with its neighbours.
    bool sorted = true, prev_written = false;
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view k;
      if (!read_str(k)) {
        out.assign_nil();
        return fail("map key is not a string");
      }
      std::string& key = m[i].first;
      const bool written = !(i < had && same_key(key, k));
      if (written) key.assign(k.data(), k.size());
      if (i > 0 && (written || prev_written) && !key_less(m[i - 1].first, key)) sorted = false;
      prev_written = written;
      if (!read_value(m[i].second, depth + 1)) {
        out.assign_nil();
        return false;
      }
    }
    if (!sorted) sort_entries(out);  // the writer did not sort them (or wrote a key twice)
    return true;
  }
  switch (b) {
    case 0xc0: ++p_; out.assign_nil(); return true;
    case 0xc2: ++p_; out.assign_bool(false); return true;
    case 0xc3: ++p_; out.assign_bool(true); return true;
    case 0xca:
    case 0xcb: {
      double d = 0;
      if (!read_double(d)) return false;
      out.assign_double(d);
      return true;
    }
    default: return fail("unsupported msgpack type in a value (binary or extension)");
  }
}

bool MsgpackCursor::skip(int depth) noexcept {
  if (depth > kMaxDepth) return fail("value nested too deeply");
  std::uint8_t b;
  if (!byte(b)) return false;
  auto skip_bytes = [this](std::uint64_t n) {
    if (remaining() < n) return fail("value runs past the record");
    p_ += n;
    return true;
  };
  auto skip_items = [this, depth](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!skip(depth + 1)) return false;
    }
    return true;
  };
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) return true;
  if ((b & 0xe0) == 0xa0) return skip_bytes(b & 0x1f);
  if ((b & 0xf0) == 0x90) return skip_items(b & 0x0f);
  if ((b & 0xf0) == 0x80) return skip_items(2u * (b & 0x0f));
  std::uint32_t n = 0;
  switch (b) {
    case 0xcc: case 0xd0: return skip_bytes(1);
    case 0xcd: case 0xd1: return skip_bytes(2);
    case 0xce: case 0xd2: case 0xca: return skip_bytes(4);
    case 0xcf: case 0xd3: case 0xcb: return skip_bytes(8);
    case 0xd9: case 0xc4: return be(n, 1) && skip_bytes(n);
    case 0xda: case 0xc5: return be(n, 2) && skip_bytes(n);
    case 0xdb: case 0xc6: return be(n, 4) && skip_bytes(n);
    case 0xdc: return be(n, 2) && skip_items(n);
    case 0xdd: return be(n, 4) && skip_items(n);
    case 0xde: return be(n, 2) && skip_items(2ull * n);
    case 0xdf: return be(n, 4) && skip_items(2ull * n);
    case 0xd4: return skip_bytes(2);
    case 0xd5: return skip_bytes(3);
    case 0xd6: return skip_bytes(5);
    case 0xd7: return skip_bytes(9);
    case 0xd8: return skip_bytes(17);
    case 0xc7: return be(n, 1) && skip_bytes(1ull + n);
    case 0xc8: return be(n, 2) && skip_bytes(1ull + n);
    case 0xc9: return be(n, 4) && skip_bytes(1ull + n);
    default: return fail("invalid msgpack byte");  // 0xc1 is never used
  }
}

}  // namespace te::journal::detail
