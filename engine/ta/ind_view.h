/* Read-only view of an IndicatorSet's values for the trusted Lua prelude (LuaJIT
 * FFI). Plain C, standard layout; the prelude ffi.cdef's the same struct
 * (TE_IND_VIEW_CDEF below) and reads it with pointer arithmetic. Untrusted
 * strategy code never sees this struct or its pointers, only closures over it.
 *
 * Layout (x86-64 / aarch64, 48 bytes):
 *   offset  0  const double* current      current[s * (history_mask + 1)] = newest value of slot s
 *   offset  8  const double* history      slot-major rings, see below
 *   offset 16  uint64_t      updates      bars processed by the set so far
 *   offset 24  uint32_t      history_mask ring length - 1 (length is a power of 2)
 *   offset 28  uint32_t      head         (updates - 1) & history_mask (0 before any update)
 *   offset 32  uint32_t      slot_count   slots in use (0 .. slot_capacity)
 *   offset 36  uint32_t      slot_capacity
 *   offset 40  uint32_t      history_max  the largest k kept (history length - 1)
 *   offset 44  uint32_t      reserved     0
 *
 * `current` is `history + head`: the newest values are the ring's entries at
 * head, so it moves with every update (read it again after one). The set
 * writes each update's values into the ring and nowhere else for the prelude
 * (a backtest's block pass has written them there ahead of time, so such an
 * update only moves head and this pointer).
 * The value of slot s, k bars ago (k = 0 is the newest) exists when
 *   s < slot_count  and  k < updates  and  k <= history_max
 * and is  history[s * (history_mask + 1) + ((head - k) & history_mask)].
 * The ring is longer than the history kept (history_max < history_mask): a
 * backtest's block pass writes the values of the bars still to come into the
 * ring's positions ahead of head, which no k <= history_max reaches
 * (IndicatorSet::set_ahead).
 * NaN means "no value" (warm-up, or no quote data); Lua wrappers return nil.
 *
 * Lifetime: the view and both arrays are owned by the IndicatorSet and live as
 * long as it does; adding indicators never moves them (capacity is reserved up
 * front). Values change only inside IndicatorSet::update / add, on the runner
 * thread that owns the set.
 */
#ifndef TE_TA_IND_VIEW_H
#define TE_TA_IND_VIEW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct te_ind_view {
  const double* current;
  const double* history;
  uint64_t updates;
  uint32_t history_mask;
  uint32_t head;
  uint32_t slot_count;
  uint32_t slot_capacity;
  uint32_t history_max;
  uint32_t reserved;
} te_ind_view;

#define TE_IND_VIEW_CDEF                                                                   \
  "typedef struct te_ind_view { const double* current; const double* history; "           \
  "uint64_t updates; uint32_t history_mask; uint32_t head; uint32_t slot_count; "         \
  "uint32_t slot_capacity; uint32_t history_max; uint32_t reserved; } te_ind_view;"

#ifdef __cplusplus
}
#endif

#endif /* TE_TA_IND_VIEW_H */
