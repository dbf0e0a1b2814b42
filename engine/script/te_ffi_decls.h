/* The C view shared between the engine and the trusted Lua prelude.
 * This file is fed verbatim to ffi.cdef (so: plain C declarations only, no
 * preprocessor lines) and included by C++ through te_ffi.h. Strategy code never
 * sees any of these objects: the prelude keeps them in upvalues and hands out
 * plain numbers, strings and tables.
 * Layout is checked on both sides (static_asserts in te_ffi.h, ffi.offsetof in
 * tests/unit/script/ffi_layout_test.cpp). */

typedef struct te_bar {
  double time_ms;
  double open, high, low, close, volume;
  double bid, ask, bid_size, ask_size; /* NaN when the data has no quotes */
} te_bar;

typedef struct te_position_view {
  double qty;            /* signed: > 0 long, < 0 short, 0 flat */
  double avg_price;      /* average entry price, 0 when flat */
  double unrealized_pnl;
  double realized_pnl;   /* of the current trade so far (partial exits) */
  double entry_time_ms;  /* first entry fill of the current trade, 0 when flat */
  double bars_held;      /* bars since the first entry fill */
  double stop;           /* working protective stop price, NaN if none */
  double target;         /* working take-profit price, NaN if none */
  double pending_entry;  /* quantity of entry orders not yet filled */
  double pending_exit;   /* quantity of exit orders not yet filled */
} te_position_view;

typedef struct te_account_view {
  double cash;
  double equity;
  double initial_cash;
  double position_value;
  double commission_paid;
  double realized_pnl;   /* account-wide, closed trades */
  double trades;         /* closed round trips so far */
} te_account_view;

/* What a callback asked for; written by the prelude (lua/actions.lua), read by
 * the runner (engine/runner/order_flow.cpp). Unused numbers are NaN. */
typedef struct te_action {
  int32_t kind;          /* TE_ACT_* below (as plain numbers in Lua); written by
                            the per-call entry points (StrategyHost::call), not
                            by the batch loop, which hands the kind to step */
  int32_t order_type;    /* 0 market, 1 limit, 2 stop, 3 stop_limit */
  double qty;            /* entries and partial exits: quantity */
  double fraction;       /* entries: fraction of equity; exits: fraction of the position */
  double risk;           /* fraction of equity risked to the stop (or trailing distance) */
  double limit;          /* limit price (entry, exit, or the new entry limit in adjust) */
  double stop_trigger;   /* stop entry trigger (or the new one in adjust) */
  double stop;           /* protective stop */
  double target;         /* take profit */
  double trail;          /* trailing distance (absolute) */
  double trail_pct;      /* trailing distance (fraction) */
  double tif_bars;       /* good for N bars */
  double breakeven;      /* move the stop to the entry price after this favourable move */
  double max_bars;       /* close the trade after this many bars held (exit reason timeout) */
  int32_t tif;           /* 0 gtc, 1 ioc, 2 fok, 3 day, 4 bars */
  int32_t flags;         /* 1: move the stop to breakeven now */
  int32_t reason_len;
  char reason[120];
} te_action;

/* One per strategy host: the runner writes bar/position/account/state before
 * each callback, the prelude writes action after it. */
typedef struct te_frame {
  te_bar bar;
  te_position_view pos;
  te_account_view acct;
  double bar_index;      /* 0-based count of bars this runner has processed (a double: Lua reads it without boxing) */
  int32_t state;         /* 0 watch, 1 close_watch, 2 in_trade, 3 faulted */
  int32_t bars_in_state;
  int32_t phase;         /* 0 init, 1 bar, 2 reload */
  int32_t clear_setup;   /* 1: the runner left CloseWatch/InTrade; the prelude drops ctx.setup before Lua next runs */
  te_action action;
} te_frame;

/* Engine services for the prelude. Every function is noexcept on the C++ side,
 * returns quickly (no callback into Lua, no unbounded work) and reports errors as
 * negative codes; the message is then available from last_error. */
typedef struct te_api {
  int32_t (*ind_add)(void* host, const char* name, size_t name_len, const double* params, int32_t n_params,
                     const char* source, size_t source_len, const char* timeframe, size_t timeframe_len);
  const char* (*last_error)(void* host, size_t* len);
  void (*log)(void* host, int32_t level, const char* msg, size_t len);
  /* Copies bar `index` (0 = oldest) of the runner's history into *out; used to
   * warm up indicators written in Lua. Returns TE_OK or a negative code. */
  int32_t (*history_bar)(void* host, double index, te_bar* out);
  /* Higher-timeframe bars for indicators written in Lua (ind.tf("1w").hma(10)).
   * tf_feed opens the feed of closed bars of `timeframe` and returns its id
   * (>= 0) or a negative code; tf_closed is how many of its bars had closed by
   * history bar `bar_index` (inclusive); tf_bar copies closed bar `index`
   * (0 = oldest) into *out and returns TE_OK or a negative code. */
  int32_t (*tf_feed)(void* host, const char* timeframe, size_t timeframe_len);
  double (*tf_closed)(void* host, int32_t feed, double bar_index);
  int32_t (*tf_bar)(void* host, int32_t feed, double index, te_bar* out);
  /* The runner's per-bar driver for the prelude's batch loop (M.run_batch): called
   * with the action kind the last callback returned (0 before the first one);
   * returns the next callback to run (1..3), 4 to export ctx (below), or <= 0 to leave the loop (the
   * runner's code, see engine/runner/symbol_runner.hpp). Set by the host before
   * each batch; noexcept, never calls back into Lua. */
  int32_t (*step)(void* driver, int32_t result);
  void* driver;
  /* ind.crossover(a, b) of two native indicator slots, kept per bar by the
   * indicator set: returns the first of its two slots (value, look-back age;
   * engine/ta/indicator_set.hpp add_crossover) or a negative code. */
  int32_t (*ind_cross)(void* host, int32_t slot_a, int32_t slot_b);
  /* In-loop ctx export (step code 4, kStepExportCtx in te_ffi.h): the
   * prelude writes the strategy's ctx into ctx_buf (ctx_cap bytes, owned by the
   * host; the layout is engine/script/context_codec.hpp's "loop export") and
   * passes step the bytes written + 1, 0 when the ctx holds something only the
   * host's walker may judge, -1 when it did not fit. */
  uint8_t* ctx_buf;
  int32_t ctx_cap;
} te_api;
