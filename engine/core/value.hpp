#pragma once
// A self-describing value tree (nil, bool, int, double, string, array, map): the
// journal's representation of a strategy context, action parameters and other
// data whose shape the engine does not know. Maps keep their keys sorted
// (byte-wise), so two equal trees always encode to the same bytes; the journal's
// determinism proof relies on that.
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/core/assert.hpp"

namespace te {

class Value {
 public:
  enum class Kind : std::uint8_t { Nil, Bool, Int, Double, String, Array, Map };

  using Array = std::vector<Value>;
  // Sorted by key, keys unique. Kept as a flat vector: contexts are small, and
  // iteration order must be deterministic.
  using Map = std::vector<std::pair<std::string, Value>>;

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}  // NOLINT(implicit): nil
  Value(bool b) noexcept : v_(b) {}  // NOLINT(implicit)
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I i) noexcept : v_(static_cast<std::int64_t>(i)) {  // NOLINT(implicit)
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      TE_ASSERT(i <= static_cast<I>(INT64_MAX), "value: integer %llu exceeds int64",
                static_cast<unsigned long long>(i));
    }
  }
  Value(double d) noexcept : v_(d) {}                   // NOLINT(implicit)
  Value(std::string s) noexcept : v_(std::move(s)) {}   // NOLINT(implicit)
  Value(std::string_view s) : v_(std::string(s)) {}     // NOLINT(implicit)
  Value(const char* s) : v_(std::string(s)) {}          // NOLINT(implicit)
  Value(Array a) noexcept : v_(std::move(a)) {}         // NOLINT(implicit)
  // Sorts the entries; on duplicate keys the last one wins.
  Value(Map m);  // NOLINT(implicit)
  // Takes entries the caller knows to be sorted by key_less with unique keys
  // (a decoder that checked them as it read them), without checking again.
  struct SortedKeys {};
  static constexpr SortedKeys sorted_keys{};
  Value(Map m, SortedKeys) noexcept : v_(std::move(m)) {}

  // Overwrite with a scalar in place: no temporary Value, and no variant visit
  // when the value already is of that kind (a decoder overwriting the tree of
  // the value before, which mostly has the same shape).
  void assign_nil() noexcept {
    if (!is_nil()) v_.emplace<std::monostate>();
  }
  void assign_bool(bool b) noexcept { set_scalar(b); }
  void assign_int(std::int64_t i) noexcept { set_scalar(i); }
  void assign_double(double d) noexcept { set_scalar(d); }
  void assign_string(std::string_view s) {
    if (auto* p = std::get_if<std::string>(&v_)) {
      if (*p != s) p->assign(s.data(), s.size());
    } else {
      v_.emplace<std::string>(s);
    }
  }

  static Value array(std::initializer_list<Value> items) { return Value(Array(items)); }
  static Value map(std::initializer_list<std::pair<std::string, Value>> entries) { return Value(Map(entries)); }
  static Value empty_array() { return Value(Array{}); }
  static Value empty_map() { return Value(Map{}); }

  Kind kind() const noexcept { return static_cast<Kind>(v_.index()); }
  bool is_nil() const noexcept { return kind() == Kind::Nil; }
  bool is_bool() const noexcept { return kind() == Kind::Bool; }
  bool is_int() const noexcept { return kind() == Kind::Int; }
  bool is_double() const noexcept { return kind() == Kind::Double; }
  bool is_number() const noexcept { return is_int() || is_double(); }
  bool is_string() const noexcept { return kind() == Kind::String; }
  bool is_array() const noexcept { return kind() == Kind::Array; }
  bool is_map() const noexcept { return kind() == Kind::Map; }

  // Aborts: the accessors below abort when the kind does not match (a
  // programming error; check kind() first for data of unknown shape).
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;  // ints convert
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Map& as_map() const;
  // Mutable map access is deliberately absent so keys stay sorted: use set()/erase(),
  // or take_map() (moves the entries out, leaving nil) and rebuild with Value(Map).
  Map take_map();

  // Map helpers. find() returns nullptr when the key is absent or this is not a map.
  const Value* find(std::string_view key) const noexcept;
  // Inserts or replaces, keeping keys sorted; a nil value becomes an empty map first.
  Value& set(std::string_view key, Value value);
  bool erase(std::string_view key);
  // Array helper; a nil value becomes an empty array first.
  void push_back(Value value);

  std::size_t size() const noexcept;  // elements of an array or map, else 0

  // Structural identity: same kinds, same contents, doubles compared by bit pattern
  // (so NaN equals the same NaN and -0.0 differs from 0.0). An int never equals a
  // double. This is what "round-trips exactly" means for the journal.
  friend bool operator==(const Value& a, const Value& b) noexcept;

 private:
  template <class T>
  void set_scalar(T x) noexcept {
    if (auto* p = std::get_if<T>(&v_)) {
      *p = x;
    } else {
      v_.template emplace<T>(x);
    }
  }

  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Map> v_;
};

std::string_view to_string(Value::Kind k) noexcept;

// Canonical ordering of map keys (byte-wise, as std::string compares).
inline bool key_less(std::string_view a, std::string_view b) noexcept { return a < b; }

}  // namespace te
