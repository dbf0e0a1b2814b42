#include "engine/core/value.hpp"

#include <algorithm>
#include <bit>

namespace te {

namespace {

auto map_lower_bound(const Value::Map& m, std::string_view key) {
  return std::lower_bound(m.begin(), m.end(), key,
                          [](const auto& entry, std::string_view k) { return key_less(entry.first, k); });
}

auto map_lower_bound(Value::Map& m, std::string_view key) {
  return std::lower_bound(m.begin(), m.end(), key,
                          [](const auto& entry, std::string_view k) { return key_less(entry.first, k); });
}

}  // namespace

Value::Value(Map m) {
  // Decoded journals and diffs produce already canonical maps: take them as they are.
  bool canonical = true;
  for (std::size_t i = 1; i < m.size() && canonical; ++i) canonical = key_less(m[i - 1].first, m[i].first);
  if (canonical) {
    v_ = std::move(m);
    return;
  }
  // Stable sort, then keep the last of equal keys, so "last one wins" like a
  // sequence of set() calls.
  std::stable_sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
  Map out;
  out.reserve(m.size());
  for (auto& entry : m) {
    if (!out.empty() && out.back().first == entry.first) {
      out.back().second = std::move(entry.second);
    } else {
      out.push_back(std::move(entry));
    }
  }
  v_ = std::move(out);
}

bool Value::as_bool() const {
  TE_ASSERT(is_bool(), "journal value: as_bool on a %s", to_string(kind()).data());
  return std::get<bool>(v_);
}

std::int64_t Value::as_int() const {
  TE_ASSERT(is_int(), "journal value: as_int on a %s", to_string(kind()).data());
  return std::get<std::int64_t>(v_);
}

double Value::as_double() const {
  if (is_int()) return static_cast<double>(std::get<std::int64_t>(v_));
  TE_ASSERT(is_double(), "journal value: as_double on a %s", to_string(kind()).data());
  return std::get<double>(v_);
}

const std::string& Value::as_string() const {
  TE_ASSERT(is_string(), "journal value: as_string on a %s", to_string(kind()).data());
  return std::get<std::string>(v_);
}

const Value::Array& Value::as_array() const {
  TE_ASSERT(is_array(), "journal value: as_array on a %s", to_string(kind()).data());
  return std::get<Array>(v_);
}

Value::Array& Value::as_array() {
  TE_ASSERT(is_array(), "journal value: as_array on a %s", to_string(kind()).data());
  return std::get<Array>(v_);
}

const Value::Map& Value::as_map() const {
  TE_ASSERT(is_map(), "journal value: as_map on a %s", to_string(kind()).data());
  return std::get<Map>(v_);
}

Value::Map Value::take_map() {
  TE_ASSERT(is_map(), "journal value: take_map on a %s", to_string(kind()).data());
  Map m = std::move(std::get<Map>(v_));
  v_ = std::monostate{};
  return m;
}

const Value* Value::find(std::string_view key) const noexcept {
  if (!is_map()) return nullptr;
  const Map& m = std::get<Map>(v_);
  auto it = map_lower_bound(m, key);
  if (it == m.end() || it->first != key) return nullptr;
  return &it->second;
}

Value& Value::set(std::string_view key, Value value) {
  if (is_nil()) v_ = Map{};
  TE_ASSERT(is_map(), "journal value: set(\"%.*s\") on a %s", static_cast<int>(key.size()), key.data(),
            to_string(kind()).data());
  Map& m = std::get<Map>(v_);
  auto it = map_lower_bound(m, key);
  if (it != m.end() && it->first == key) {
    it->second = std::move(value);
    return it->second;
  }
  it = m.emplace(it, std::string(key), std::move(value));
  return it->second;
}

bool Value::erase(std::string_view key) {
  if (!is_map()) return false;
  Map& m = std::get<Map>(v_);
  auto it = map_lower_bound(m, key);
  if (it == m.end() || it->first != key) return false;
  m.erase(it);
  return true;
}

void Value::push_back(Value value) {
  if (is_nil()) v_ = Array{};
  TE_ASSERT(is_array(), "journal value: push_back on a %s", to_string(kind()).data());
  std::get<Array>(v_).push_back(std::move(value));
}

std::size_t Value::size() const noexcept {
  if (is_array()) return std::get<Array>(v_).size();
  if (is_map()) return std::get<Map>(v_).size();
  return 0;
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.v_.index() != b.v_.index()) return false;
  switch (a.kind()) {
    case Value::Kind::Nil: return true;
    case Value::Kind::Bool: return std::get<bool>(a.v_) == std::get<bool>(b.v_);
    case Value::Kind::Int: return std::get<std::int64_t>(a.v_) == std::get<std::int64_t>(b.v_);
    case Value::Kind::Double:
      return std::bit_cast<std::uint64_t>(std::get<double>(a.v_)) ==
             std::bit_cast<std::uint64_t>(std::get<double>(b.v_));
    case Value::Kind::String: return std::get<std::string>(a.v_) == std::get<std::string>(b.v_);
    case Value::Kind::Array: return std::get<Value::Array>(a.v_) == std::get<Value::Array>(b.v_);
    case Value::Kind::Map: return std::get<Value::Map>(a.v_) == std::get<Value::Map>(b.v_);
  }
  return false;
}

std::string_view to_string(Value::Kind k) noexcept {
  switch (k) {
    case Value::Kind::Nil: return "nil";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Double: return "double";
    case Value::Kind::String: return "string";
    case Value::Kind::Array: return "array";
    case Value::Kind::Map: return "map";
  }
  return "unknown";
}

}  // namespace te
