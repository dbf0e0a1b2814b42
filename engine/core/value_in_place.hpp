#pragma once
// Writing a Value's map where it is, for the journal reader's hot paths: the
// decoder overwriting the tree of the state before (MsgpackCursor::read_value)
// and a delta patching the values of existing keys (apply_map_patch). Going
// through take_map() and Value(Map) instead moved the entries out and wrapped
// them back in a new Value per map of every state read.
//
// Value has no mutable map accessor (its keys must stay sorted and unique),
// so these cast the const one: legal, since the value itself is not const.
// The caller keeps the promise instead: the keys are sorted and unique again
// before anything else looks at the value (sort_entries() restores that when
// a caller cannot keep them so). Candidate for a member of Value the next
// time engine/core/value.hpp changes anyway (that rebuilds everything).
#include <utility>

#include "engine/core/value.hpp"

namespace te {

// The entries of a map (aborts unless `v` is one).
inline Value::Map& map_entries(Value& v) { return const_cast<Value::Map&>(v.as_map()); }

// The entries of `v` after making it an empty map unless it already is a map.
inline Value::Map& become_map(Value& v) {
  if (!v.is_map()) v = Value(Value::Map{}, Value::sorted_keys);
  return map_entries(v);
}

// Sorts the entries written through the functions above; on duplicate keys
// the last one wins, as Value(Map).
inline void sort_entries(Value& v) { v = Value(v.take_map()); }

}  // namespace te
