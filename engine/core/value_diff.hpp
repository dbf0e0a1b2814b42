#pragma once
// Differences between two Value trees, for the journal's delta storage mode.
//
// A delta is itself a Value (so it is stored, printed and compared like any
// other), with this shape (docs/journal-format.md, "Delta documents"):
//   nil                               no change
//   [0, v]                            replace the whole value with v
//   [1, {key: delta, ...}, [key...]]  patch a map: apply each nested delta to the
//                                     entry of that key (a missing entry counts
//                                     as nil), then remove the listed keys
//   [2, n, [[i, delta], ...]]         patch an array: resize to n (new slots are
//                                     nil), then apply each nested delta to
//                                     element i (ascending, i < n)
// diff() produces the smallest of these it finds cheaply; apply() accepts any
// well-formed delta and checks it against the base.
#include "engine/core/result.hpp"
#include "engine/core/value.hpp"

namespace te {

// A delta that turns `from` into `to`: apply(from, diff(from, to)) == to, for all
// values (doubles bit-exact).
Value diff(const Value& from, const Value& to);

// Applies `delta` to `base` and returns the result.
// Errors: Errc::parse when the delta is malformed or does not fit the base (a
// map patch on a non-map, an index past the new size).
Result<Value> apply(const Value& base, const Value& delta);
// Same, in place; on error `value` is left in an unspecified but valid state.
Status apply_in_place(Value& value, const Value& delta);

}  // namespace te
