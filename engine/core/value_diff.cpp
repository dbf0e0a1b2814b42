#include "engine/core/value_diff.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "engine/core/value_in_place.hpp"

namespace te {

namespace {

constexpr std::int64_t kOpReplace = 0;
constexpr std::int64_t kOpMapPatch = 1;
constexpr std::int64_t kOpArrayPatch = 2;

// Built by moving: Value::array({...}) would deep-copy every element out of the
// initializer_list.
Value tuple(Value a, Value b) {
  Value::Array v;
  v.reserve(2);
  v.push_back(std::move(a));
  v.push_back(std::move(b));
  return Value(std::move(v));
}

Value tuple(Value a, Value b, Value c) {
  Value::Array v;
  v.reserve(3);
  v.push_back(std::move(a));
  v.push_back(std::move(b));
  v.push_back(std::move(c));
  return Value(std::move(v));
}

Value replace_with(const Value& to) { return tuple(Value(kOpReplace), to); }

Value diff_map(const Value& from, const Value& to) {
  const Value::Map& a = from.as_map();
  const Value::Map& b = to.as_map();
  Value::Map changes;
  changes.reserve(b.size());
  Value::Array removed;
  std::size_t unchanged = 0;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && key_less(a[i].first, b[j].first))) {
      removed.emplace_back(a[i].first);
      ++i;
    } else if (i == a.size() || key_less(b[j].first, a[i].first)) {
      changes.emplace_back(b[j].first, replace_with(b[j].second));
      ++j;
    } else {
      Value d = diff(a[i].second, b[j].second);
      if (d.is_nil()) {
        ++unchanged;
      } else {
        changes.emplace_back(b[j].first, std::move(d));
      }
      ++i;
      ++j;
    }
  }
  if (changes.empty() && removed.empty()) return Value();
  // Nothing in common: a patch would only add per-key framing to a replacement.
  if (unchanged == 0 && !a.empty()) return replace_with(to);
  return tuple(Value(kOpMapPatch), Value(std::move(changes)), Value(std::move(removed)));
}

Value diff_array(const Value& from, const Value& to) {
  const Value::Array& a = from.as_array();
  const Value::Array& b = to.as_array();
  const std::size_t common = std::min(a.size(), b.size());
  std::size_t changed = 0;
  for (std::size_t i = 0; i < common; ++i) changed += a[i] == b[i] ? 0 : 1;
  if (changed == 0 && a.size() == b.size()) return Value();
  // A shifted window changes every element: replacing is smaller than patching.
  if (common > 0 && changed * 2 > common) return replace_with(to);
  Value::Array ops;
  ops.reserve(changed + (b.size() - common));
  for (std::size_t i = 0; i < common; ++i) {
    if (!(a[i] == b[i])) ops.push_back(tuple(Value(i), diff(a[i], b[i])));
  }
  for (std::size_t i = common; i < b.size(); ++i) ops.push_back(tuple(Value(i), replace_with(b[i])));
  return tuple(Value(kOpArrayPatch), Value(b.size()), Value(std::move(ops)));
}

// Where in the tree a delta applies; rendered only when reporting an error, so
// applying costs no string building.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;
  std::int64_t index = -1;  // >= 0: an array element
};

std::string render(const Path* p) {
  if (p == nullptr) return "<root>";
  std::string out = p->parent == nullptr ? std::string() : render(p->parent);
  if (p->index >= 0) {
    out += '[';
    out += std::to_string(p->index);
    out += ']';
  } else {
    if (!out.empty()) out += ".";
    out += p->key;
  }
  return out;
}

Error bad_delta(const Path* path, const std::string& what) {
  return make_error(Errc::parse, "apply delta at " + render(path) + ": " + what);
}

Status apply_at(Value& value, const Value& delta, const Path* path);

Status apply_map_patch(Value& value, const Value::Array& d, const Path* path) {
  if (d.size() != 3 || !d[1].is_map() || !d[2].is_array()) {
    return bad_delta(path, "map patch must be [1, {changes}, [removed keys]]");
  }
  if (!value.is_map()) return bad_delta(path, "map patch on a " + std::string(to_string(value.kind())));
  const Value::Map& changes = d[1].as_map();
  if (d[2].as_array().empty()) {
    // The common patch (a runner state from one bar to the next): values of
    // existing keys change, none is added or removed. Patched in place, keys
    // untouched: no new vector, no entry moved, the map not taken out of
    // `value` and wrapped back.
    Value::Map& cur = map_entries(value);
    bool in_place = true;
    for (std::size_t k = 0, j = 0; j < changes.size() && in_place; ++j, ++k) {
      while (k < cur.size() && key_less(cur[k].first, changes[j].first)) ++k;
      in_place = k < cur.size() && cur[k].first == changes[j].first;
    }
    if (in_place) {
      std::size_t k = 0;
      for (const auto& [key, change] : changes) {
        while (key_less(cur[k].first, key)) ++k;
        const Path child{path, key, -1};
        TE_TRY(apply_at(cur[k].second, change, &child));
        ++k;
      }
      return {};
    }
  }
  Value::Map old = value.take_map();
  Value::Map out;
  out.reserve(old.size() + changes.size());
  std::size_t i = 0;
  for (const auto& [key, change] : changes) {
    while (i < old.size() && key_less(old[i].first, key)) out.push_back(std::move(old[i++]));
    Value slot;
    if (i < old.size() && old[i].first == key) slot = std::move(old[i++].second);
    const Path child{path, key, -1};
    TE_TRY(apply_at(slot, change, &child));
    out.emplace_back(key, std::move(slot));
  }
  while (i < old.size()) out.push_back(std::move(old[i++]));
  for (const Value& k : d[2].as_array()) {
    if (!k.is_string()) return bad_delta(path, "removed key is a " + std::string(to_string(k.kind())));
    auto it = std::lower_bound(out.begin(), out.end(), k.as_string(),
                               [](const auto& e, const std::string& key) { return key_less(e.first, key); });
    if (it == out.end() || it->first != k.as_string()) {
      return bad_delta(path, "removes key \"" + k.as_string() + "\" which is absent");
    }
    out.erase(it);
  }
  value = Value(std::move(out));
  return {};
}

Status apply_array_patch(Value& value, const Value::Array& d, const Path* path) {
  if (d.size() != 3 || !d[1].is_int() || !d[2].is_array()) {
    return bad_delta(path, "array patch must be [2, size, [[index, delta], ...]]");
  }
  if (!value.is_array()) return bad_delta(path, "array patch on a " + std::string(to_string(value.kind())));
  Value::Array& arr = value.as_array();
  const Value::Array& ops = d[2].as_array();
  const std::int64_t n = d[1].as_int();
  // Every slot past the old end is written by an op, which bounds the size a
  // (possibly corrupt) delta can make us allocate.
  if (n < 0 || static_cast<std::uint64_t>(n) > arr.size() + ops.size()) {
    return bad_delta(path, "array size " + std::to_string(n) + " does not fit the base");
  }
  arr.resize(static_cast<std::size_t>(n));
  std::int64_t last = -1;
  for (const Value& op : ops) {
    if (!op.is_array() || op.size() != 2 || !op.as_array()[0].is_int()) {
      return bad_delta(path, "array op must be [index, delta]");
    }
    const std::int64_t idx = op.as_array()[0].as_int();
    if (idx <= last || idx >= n) {
      return bad_delta(path, "array index " + std::to_string(idx) + " out of order or past size " + std::to_string(n));
    }
    last = idx;
    const Path child{path, {}, idx};
    TE_TRY(apply_at(arr[static_cast<std::size_t>(idx)], op.as_array()[1], &child));
  }
  return {};
}

Status apply_at(Value& value, const Value& delta, const Path* path) {
  if (delta.is_nil()) return {};
  if (!delta.is_array() || delta.size() < 2 || !delta.as_array()[0].is_int()) {
    return bad_delta(path, "delta must be nil or [op, ...], was a " + std::string(to_string(delta.kind())));
  }
  const Value::Array& d = delta.as_array();
  switch (d[0].as_int()) {
    case kOpReplace:
      if (d.size() != 2) return bad_delta(path, "replace must be [0, value]");
      value = d[1];
      return {};
    case kOpMapPatch: return apply_map_patch(value, d, path);
    case kOpArrayPatch: return apply_array_patch(value, d, path);
    default: return bad_delta(path, "unknown delta op " + std::to_string(d[0].as_int()));
  }
}

}  // namespace

Value diff(const Value& from, const Value& to) {
  if (from.is_map() && to.is_map()) return diff_map(from, to);
  if (from.is_array() && to.is_array()) return diff_array(from, to);
  if (from == to) return Value();
  return replace_with(to);
}

Result<Value> apply(const Value& base, const Value& delta) {
  Value v = base;
  Status s = apply_at(v, delta, nullptr);
  if (!s) return std::move(s).error();
  return v;
}

Status apply_in_place(Value& value, const Value& delta) { return apply_at(value, delta, nullptr); }

}  // namespace te
