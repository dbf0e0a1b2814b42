#pragma once
// Internal to engine/journal: a bounds-checked, allocation-free msgpack reader
// over one record. The reading side is hand-written because decoding straight
// into our structs (no msgpack::object zone in between) is what makes the
// 5M events/s read target; writing uses msgpack-cxx's packer.
//
// Every read_* returns false on malformed or unexpected input and leaves a
// reason in error(); after the first failure the cursor stays failed.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/core/value.hpp"

namespace te::journal::detail {

class MsgpackCursor {
 public:
  static constexpr int kMaxDepth = 64;

  explicit MsgpackCursor(std::string_view data) noexcept : p_(data.data()), end_(data.data() + data.size()) {}

  bool ok() const noexcept { return error_ == nullptr; }
  const char* error() const noexcept { return error_ ? error_ : ""; }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  bool at_end() const noexcept { return p_ == end_; }

  bool peek(std::uint8_t& b) const noexcept {
    if (p_ >= end_) return false;
    b = static_cast<std::uint8_t>(*p_);
    return true;
  }
  bool next_is_nil() const noexcept { return p_ < end_ && static_cast<std::uint8_t>(*p_) == 0xc0; }

  bool read_array(std::uint32_t& n) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    if ((b & 0xf0) == 0x90) {
      n = b & 0x0f;
      return true;
    }
    if (b == 0xdc) return be(n, 2);
    if (b == 0xdd) return be(n, 4);
    return fail("expected an array");
  }

  bool read_map(std::uint32_t& n) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    if ((b & 0xf0) == 0x80) {
      n = b & 0x0f;
      return true;
    }
    if (b == 0xde) return be(n, 2);
    if (b == 0xdf) return be(n, 4);
    return fail("expected a map");
  }

  bool read_nil() noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    return b == 0xc0 ? true : fail("expected nil");
  }

  bool read_bool(bool& v) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    if (b == 0xc2 || b == 0xc3) {
      v = b == 0xc3;
      return true;
    }
    return fail("expected a bool");
  }

  bool read_int(std::int64_t& v) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    return int_body(b, v);
  }

  bool read_uint(std::uint64_t& v) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    if (b == 0xcf) return be(v, 8);
    std::int64_t i = 0;
    if (!int_body(b, i)) return false;
    if (i < 0) return fail("expected an unsigned integer");
    v = static_cast<std::uint64_t>(i);
    return true;
  }

  template <class T>
  bool read_small_uint(T& v, std::uint64_t max) noexcept {
    std::uint64_t u = 0;
    if (!read_uint(u)) return false;
    if (u > max) return fail("integer out of range");
    v = static_cast<T>(u);
    return true;
  }

  // Doubles are written as float64; float32 and integers are accepted from
  // other writers.
  bool read_double(double& v) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    if (b == 0xcb) {
      std::uint64_t bits;
      if (!be(bits, 8)) return false;
      v = std::bit_cast<double>(bits);
      return true;
    }
    if (b == 0xca) {
      std::uint32_t bits;
      if (!be(bits, 4)) return false;
      v = static_cast<double>(std::bit_cast<float>(bits));
      return true;
    }
    std::int64_t i = 0;
    if (!int_body(b, i)) return fail("expected a number");
    v = static_cast<double>(i);
    return true;
  }

  // The view points into the record; valid while the record buffer is.
  bool read_str(std::string_view& s) noexcept {
    std::uint8_t b;
    if (!byte(b)) return false;
    std::uint32_t n = 0;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
    } else if (b == 0xd9) {
      if (!be(n, 1)) return false;
    } else if (b == 0xda) {
      if (!be(n, 2)) return false;
    } else if (b == 0xdb) {
      if (!be(n, 4)) return false;
    } else {
      return fail("expected a string");
    }
    if (remaining() < n) return fail("string runs past the record");
    s = std::string_view(p_, n);
    p_ += n;
    return true;
  }

  bool read_str(std::string& s) noexcept {
    std::string_view v;
    if (!read_str(v)) return false;
    s.assign(v.data(), v.size());
    return true;
  }

  bool read_value(Value& out, int depth = 0);

  // Skips one complete value of any type.
  bool skip(int depth = 0) noexcept;

  bool fail(const char* why) noexcept {
    if (error_ == nullptr) error_ = why;
    p_ = end_;
    return false;
  }

 private:
  bool byte(std::uint8_t& b) noexcept {
    if (p_ >= end_) return fail("record ends early");
    b = static_cast<std::uint8_t>(*p_++);
    return true;
  }

  // Big-endian fields of 1, 2, 4 or 8 bytes: one load and a byte swap (the
  // reader decodes millions of doubles a second).
  static_assert(std::endian::native == std::endian::little, "the byte swaps below assume a little-endian host");
  template <class T>
  bool be(T& v, int n) noexcept {
    if (remaining() < static_cast<std::size_t>(n)) return fail("record ends early");
    std::uint64_t x = 0;
    switch (n) {
      case 1: x = static_cast<std::uint8_t>(*p_); break;
      case 2: { std::uint16_t t; std::memcpy(&t, p_, 2); x = __builtin_bswap16(t); break; }
      case 4: { std::uint32_t t; std::memcpy(&t, p_, 4); x = __builtin_bswap32(t); break; }
      default: { std::uint64_t t; std::memcpy(&t, p_, 8); x = __builtin_bswap64(t); break; }
    }
    p_ += n;
    v = static_cast<T>(x);
    return true;
  }

  bool int_body(std::uint8_t b, std::int64_t& v) noexcept {
    if (b <= 0x7f) {
      v = b;
      return true;
    }
    if (b >= 0xe0) {
      v = static_cast<std::int8_t>(b);
      return true;
    }
    switch (b) {
      case 0xcc: { std::uint8_t x; if (!be(x, 1)) return false; v = x; return true; }
      case 0xcd: { std::uint16_t x; if (!be(x, 2)) return false; v = x; return true; }
      case 0xce: { std::uint32_t x; if (!be(x, 4)) return false; v = x; return true; }
      case 0xcf: {
        std::uint64_t x;
        if (!be(x, 8)) return false;
        if (x > static_cast<std::uint64_t>(INT64_MAX)) return fail("integer exceeds int64");
        v = static_cast<std::int64_t>(x);
        return true;
      }
      case 0xd0: { std::uint8_t x; if (!be(x, 1)) return false; v = static_cast<std::int8_t>(x); return true; }
      case 0xd1: { std::uint16_t x; if (!be(x, 2)) return false; v = static_cast<std::int16_t>(x); return true; }
      case 0xd2: { std::uint32_t x; if (!be(x, 4)) return false; v = static_cast<std::int32_t>(x); return true; }
      case 0xd3: { std::uint64_t x; if (!be(x, 8)) return false; v = static_cast<std::int64_t>(x); return true; }
      default: return fail("expected an integer");
    }
  }

  const char* p_;
  const char* end_;
  const char* error_ = nullptr;
};

}  // namespace te::journal::detail
