#pragma once
// Hosts one strategy in its own LuaJIT VM: builds the sandboxed environment via
// the trusted prelude (lua/prelude.lua), loads the strategy as text, and runs
// its callbacks for the runner. Not thread-safe: one runner thread at a time.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/core/value.hpp"
#include "engine/model/bar.hpp"
#include "engine/script/context_codec.hpp"
#include "engine/script/jit_trace_log.hpp"
#include "engine/script/te_ffi.h"
#include "engine/script/vm_limits.hpp"
#include "engine/script/vm_pool.hpp"

namespace te::script {

struct StrategySource {
  std::string path;    // as the user gave it; also the chunk name in messages
  std::string code;
  std::string sha256;  // of `code`
};

inline constexpr std::size_t kMaxStrategyBytes = 16 * kMiB;

// Errors: Errc::io when the file cannot be read, Errc::invalid_argument when it
// is empty, larger than kMaxStrategyBytes or precompiled bytecode.
Result<StrategySource> read_strategy(const std::string& path);
// The same checks for source held in memory (path is the chunk name).
Result<StrategySource> make_strategy_source(std::string path, std::string code);

// Every *.lua file of `dir`, by name (a fixed order keeps runs deterministic).
// Errors: Errc::io when the directory or a file cannot be read.
Result<std::vector<StrategySource>> read_indicator_dir(const std::string& dir);
// The indicator files shipped in indicators/, as compiled into the binary.
std::vector<StrategySource> builtin_indicators();
// Where `backtest` and `run` look for indicator files: `dir` if given, else
// ./indicators when it exists, else the built-in ones.
Result<std::vector<StrategySource>> find_indicator_files(const std::string& dir);

// One indicator written in Lua, for `indicators --list`.
struct LuaIndicatorInfo {
  std::string name, summary, params, outputs, warmup, path;
  struct Param {
    std::string name;
    double default_value = 0, min = 0, max = 0;
    bool integer = false;
  };
  std::vector<Param> param_list;
  std::vector<std::string> output_list;
  bool takes_source = true;
  std::string default_source = "close";
};

// What the prelude needs to build ind.<name>(...) for a native indicator.
struct IndicatorDesc {
  std::string name;
  int nparams = 0;
  std::vector<double> defaults;  // nparams values
  int outputs = 1;
  bool takes_source = false;
};

// The engine side of `ind`: implemented by the runner over its indicator set.
class IndicatorProvider {
 public:
  virtual ~IndicatorProvider() = default;
  virtual std::vector<IndicatorDesc> catalogue() const = 0;
  // Pointer to a te_ind_view that stays valid for the provider's lifetime.
  virtual const void* view() const noexcept = 0;
  // Finds or creates an indicator (warmed up over the bars seen so far) and
  // returns its first output slot. Errors name what was wrong with the request.
  virtual Result<int> add(std::string_view name, std::span<const double> params, std::string_view source,
                          std::string_view timeframe) = 0;
  // ind.crossover(a, b) of two slots returned by add(), kept per bar (see
  // ta::IndicatorSet::add_crossover): returns the first of its two slots.
  virtual Result<int> crossover(int slot_a, int slot_b) = 0;
  // The bars the runner has seen so far, oldest first (warm-up of Lua indicators).
  virtual std::size_t history_size() const noexcept = 0;
  virtual model::Bar history_bar(std::size_t i) const noexcept = 0;
  // Higher-timeframe bars for indicators written in Lua (ind.tf("1w").hma(10)):
  // opens the feed of closed bars of `timeframe` (warmed over the bars seen so
  // far) and returns its id; feed_closed(id, i) is how many of its bars had
  // closed by history bar i (inclusive), feed_bar copies one of them.
  virtual Result<int> timeframe_feed(std::string_view timeframe) = 0;
  virtual std::size_t feed_closed(int id, std::size_t bar_index) const noexcept = 0;
  virtual bool feed_bar(int id, std::size_t i, model::Bar& out) const noexcept = 0;
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // level: 1 info, 2 warning. Called on the runner thread.
  virtual void strategy_log(int level, std::string_view message) = 0;
};

struct HostOptions {
  std::string symbol;
  // Indicators written in Lua (indicators/*.lua), loaded before the strategy.
  std::vector<StrategySource> indicator_files;
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> param_overrides;  // name, text
  std::size_t max_log_lines = 10000;  // then one "suppressed" line
  // Memory budget and CPU deadlines of the strategy's VM (docs/sandbox.md).
  VmLimits limits;
  // Where the VM comes from (and whose watchdog enforces the deadlines); must
  // outlive the host. Null: the host makes a private pool (one watchdog
  // thread per host; fine for tools and tests, not for 1000 runners).
  VmPool* pool = nullptr;
  // When set, every LuaJIT trace event of the VM (start, stop, abort) is
  // recorded here (the JIT-health check; docs/performance.md). Must outlive
  // the host. Not for production runs: a C call per trace event.
  JitTraceLog* jit_trace = nullptr;
};

enum class Callback : int { DetectOpportunity = 1, FilterCommitment = 2, ManagePosition = 3 };
std::string_view to_string(Callback cb) noexcept;

// Error: the strategy raised (or misused the API); the VM is still usable.
// Timeout / OutOfMemory: a budget was broken; the VM is poisoned and the
// runner must stop calling it.
enum class ErrorKind : std::uint8_t { Error, Timeout, OutOfMemory };
std::string_view to_string(ErrorKind k) noexcept;

struct StrategyError {
  std::string message;    // "strategies/x.lua:12: attempt to perform arithmetic on a nil value"
  std::string traceback;  // "stack traceback:" plus strategy frames
  std::string callback;   // "detect_opportunity", "on_start", ...
  ErrorKind kind = ErrorKind::Error;
  std::string file;       // where it was raised, when known ("strategies/x.lua")
  int line = 0;           // 0 when unknown
};

struct ParamInfo {
  std::string name;
  std::string type;   // "number", "boolean", "string"
  std::string value;  // effective value as text
};

// An order event for the strategy's optional callbacks on_fill(fill, ctx) and
// on_order_rejected(order, ctx) (docs/lua-api.md, "Order actions"). The views
// point into the caller's storage for the duration of notify().
struct OrderNotice {
  enum class Kind : std::uint8_t { Fill, Rejected };
  Kind kind = Kind::Fill;
  std::uint64_t order_id = 0;  // 0: refused before it became an order (risk, sizing, rules)
  std::string_view side;       // "buy" / "sell"
  std::string_view type;       // "market", "limit", ...
  std::string_view purpose;    // "entry", "signal", "stop", "target", "trailing", ...
  std::string_view source;     // rejections: "exchange", "risk" or "runner"
  std::string_view code;       // rejections: the reason code
  std::string_view message;
  std::string_view tag;        // the reason the order was sent with
  std::string_view liquidity;  // fills: "maker" / "taker"
  double qty = 0;              // fills: this fill; rejections: the order's quantity
  double price = 0;            // fills: the fill price; rejections: limit or stop price (0 for market)
  double commission = 0;
  double slippage = 0;
  double filled_qty = 0;       // of the order so far
  double time_ms = 0;
};

class StrategyHost {
 public:
  // Errors: syntax errors and load-time errors as "file:line: message";
  // missing callbacks; bad --param overrides (unknown name, wrong type).
  static Result<std::unique_ptr<StrategyHost>> create(const StrategySource& source, const HostOptions& options,
                                                      IndicatorProvider& indicators, LogSink* log);
  ~StrategyHost();
  StrategyHost(const StrategyHost&) = delete;
  StrategyHost& operator=(const StrategyHost&) = delete;

  // The runner writes bar, position, account and state here before a call.
  te_frame& frame() noexcept { return frame_; }
  const te_frame& frame() const noexcept { return frame_; }
  const te_action& action() const noexcept { return frame_.action; }
  std::string_view action_reason() const noexcept {
    return {frame_.action.reason, static_cast<std::size_t>(frame_.action.reason_len)};
  }

  // Runs a state callback. Returns the ActionKind (>= 0) with details in
  // action(), or -1 when the strategy raised an error (see last_error()).
  int call(Callback cb);
  bool has_vm() const noexcept { return static_cast<bool>(vm_) && !poisoned_; }
  // Runs on_start(ctx) when the strategy defines it (startup deadline).
  Status on_start();
  // After a hot reload, with this host's ctx already holding the old data
  // (import_context): runs on_reload(old_ctx, ctx) when the strategy defines
  // it; a table it returns replaces ctx. Startup deadline.
  // Errors: the strategy's error (see last_error()).
  Status on_reload(const Value& old_ctx);
  bool defines(std::string_view global) const;
  // Forgets the setup table when the runner leaves CloseWatch/InTrade. Runs no
  // Lua (it is called from the runner's step inside a batch): a flag in the
  // frame makes the prelude drop ctx.setup before any Lua code next sees ctx.
  void clear_setup() noexcept { frame_.clear_setup = 1; }

  // The batch loop (docs/performance.md, "The per-bar loop"): runs the
  // prelude's M.run_batch, which calls step(driver, result) through the FFI
  // and the callback it names, bar after bar, until step returns <= 0.
  // step must be noexcept and must not call into this VM. The runner marks
  // each callback with begin_callback()/end_callback() from step, so every
  // callback keeps its own CPU deadline. Returns step's final code (<= 0), or
  // kBatchFailed when a callback raised (last_error(), as from call(); the
  // callback's monitored call is closed).
  static constexpr int kBatchFailed = -1000;
  int run_batch(std::int32_t (*step)(void*, std::int32_t), void* driver);
  // From step only: the callback `cb` starts (deadline, name in messages) / ends.
  // Inline: called twice per bar from the runner's batch step (docs/performance.md).
  void begin_callback(Callback cb) noexcept {
    CallMonitor& m = vm_->monitor();
    m.callback = kCallbackNames[static_cast<int>(cb)];
    m.enter_bound();  // run_batch bound the monitor to this thread
  }
  void end_callback() noexcept {
    CallMonitor& m = vm_->monitor();
    if (m.inside()) [[likely]] m.leave();  // (laid out inline: the batch step's every bar)
  }
  // A callback's name in messages and for the watchdog, by Callback.
  static constexpr const char* kCallbackNames[] = {"", "detect_opportunity", "filter_commitment", "manage_position"};
  // Calls on_fill / on_order_rejected when the strategy defines it (its return
  // value is ignored). Returns 1 when called, 0 when not defined, -1 when the
  // strategy raised (see last_error()). Defined in order_notice.cpp.
  int notify(const OrderNotice& notice);
  // False when the strategy defines neither on_fill nor on_order_rejected;
  // then it never can (new globals are refused after loading), and notices
  // need no Lua at all.
  bool may_notify() const noexcept { return may_notify_; }

  // The strategy's ctx as plain data, without the host's views (position,
  // account, state, ...). Errors name the offending path, e.g. "ctx.f is a function".
  Result<Value> export_context();
  // The same, shared: while a loop export is accepted (below) every call
  // returns the one value decoded from it, and a loop export with the bytes of
  // the previous one returns the previous value (no Lua, no allocation).
  Result<std::shared_ptr<const Value>> export_context_shared();
  // The most bytes (as the loop export measures them: ContextLimits::
  // max_bytes) export_context_shared gives, for a recorder: a bigger ctx is
  // an Errc::limit error, found by writing at most this many bytes. A ctx
  // holding many references to one long string exports each of them whole
  // (1 MB of Lua memory was 70 MB a state, and a recording held thousands).
  // export_context, for a reload, stops at the VM's memory budget instead
  // (at most ContextLimits' default).
  void set_ctx_export_limit(std::size_t bytes) noexcept { ctx_export_limit_ = bytes; }
  std::size_t ctx_export_limit() const noexcept { return ctx_export_limit_; }
  static constexpr std::size_t kDefaultCtxExportLimit = std::size_t{4} << 20;
  // A recorded ctx must fit a journal record (journal::kMaxRecordSize, 64 MiB)
  // with the rest of its state.
  static constexpr std::size_t kMaxCtxExportLimit = std::size_t{32} << 20;
  // In-loop ctx export (the runner's end of bar inside run_batch, when the
  // only Lua its observers need is export_context): step returns
  // kStepExportCtx, the prelude writes ctx into te_api.ctx_buf and passes its
  // result to step, which hands it here. True: until end_loop_export(),
  // export_context and export_context_shared serve those bytes (running Lua
  // from step is not allowed). False: the bar's end must run outside the loop
  // (a ctx the prelude leaves to lua_to_value, or a buffer too small, which
  // is grown for the next time).
  bool accept_loop_export(std::int32_t result);
  void end_loop_export() noexcept { loop_ctx_ready_ = false; }
  // While a loop export is accepted: its bytes (the previous object when the
  // bytes did not change), for a recorder that decodes them elsewhere
  // (decode_loop_export). Null otherwise. A reference, not a copy: a
  // recorder that already holds this export takes no count (each copy was a
  // locked increment and decrement on the trading thread).
  // Exports up to this size are kept among the recent ones for their return
  // (a ctx alternates between a few small values); a bigger one only while
  // it is current. A recorder holding exports follows the same rule.
  static constexpr std::size_t kRecentCtxMaxBytes = 4096;
  const std::shared_ptr<const LoopExport>& loop_export() const noexcept {
    return loop_ctx_ready_ ? ctx_slots_[loop_ctx_at_] : kNoLoopExport;
  }
  // Replaces the ctx data with `ctx` (a map); the host views stay.
  Status import_context(const Value& ctx);

  // The indicators loaded from Lua files (for listings).
  std::vector<LuaIndicatorInfo> lua_indicators();
  // `indicators --compute` for indicators written in Lua (defined in
  // lua_indicator_columns.cpp): add_indicator_column registers name(params,
  // source)@timeframe (checked like ind.<name>(...)) and returns its output
  // count; read_indicator_columns, with frame() holding the next bar, updates
  // the Lua indicators and appends every column's outputs to `out` (NaN while
  // warming up). Same VM, budgets and deadlines as a strategy callback.
  Result<int> add_indicator_column(std::string_view name, std::span<const double> params, std::string_view source,
                                   std::string_view timeframe);
  Status read_indicator_columns(std::vector<double>& out);

  const StrategyError& last_error() const noexcept { return error_; }
  // True once a budget was broken (or the VM ran out of memory): every later
  // call fails with the same error and the VM is discarded with the host.
  bool poisoned() const noexcept { return poisoned_; }
  // Destroys the VM now (a faulted runner never calls its strategy again; a
  // replaced one is done). The host keeps its description (params, source,
  // last error); every Lua-side method becomes a no-op or an error.
  void discard_vm(Discard why) noexcept;
  // Indicators the strategy asked for so far, as "sma(10)", "ema(12,high)@1h".
  const std::vector<std::string>& indicators_used() const noexcept { return indicators_used_; }
  // Names a strategy can read from its environment, and the forbidden ones
  // with the reason (for `validate`'s static scan).
  struct Environment {
    std::vector<std::string> names;
    std::vector<std::pair<std::string, std::string>> forbidden;
  };
  Environment environment() const;
  const std::vector<ParamInfo>& params() const noexcept { return params_; }
  const std::vector<std::string>& callbacks() const noexcept { return callbacks_; }
  const StrategySource& source() const noexcept { return source_; }
  std::size_t memory_bytes() const noexcept;
  std::size_t peak_memory_bytes() const noexcept;
  const VmLimits& limits() const noexcept { return limits_; }

 private:
  StrategyHost() = default;
  Status init(const HostOptions& options, IndicatorProvider& indicators);
  Status load_prelude(const HostOptions& options, IndicatorProvider& indicators, int handler_idx);
  void seal();
  // A monitored call of the function below `nargs` arguments on the stack
  // (startup deadline). stack: fn args... -> results... (or nothing on error)
  bool pcall(int nargs, int nresults, const char* callback);
  int fail_call(int rc, std::uint64_t epoch, int base, const char* callback);
  void set_error(std::string_view lua_message, const char* callback);

  // te_api entry points (noexcept; see te_ffi_decls.h)
  static std::int32_t api_ind_add(void* host, const char* name, std::size_t name_len, const double* params,
                                  std::int32_t n_params, const char* source, std::size_t source_len,
                                  const char* timeframe, std::size_t timeframe_len) noexcept;
  static const char* api_last_error(void* host, std::size_t* len) noexcept;
  static void api_log(void* host, std::int32_t level, const char* msg, std::size_t len) noexcept;
  static std::int32_t api_history_bar(void* host, double index, te_bar* out) noexcept;
  static std::int32_t api_tf_feed(void* host, const char* timeframe, std::size_t timeframe_len) noexcept;
  static double api_tf_closed(void* host, std::int32_t feed, double bar_index) noexcept;
  static std::int32_t api_tf_bar(void* host, std::int32_t feed, double index, te_bar* out) noexcept;
  static std::int32_t api_ind_cross(void* host, std::int32_t slot_a, std::int32_t slot_b) noexcept;

  std::unique_ptr<VmPool> own_pool_;  // before vm_: outlives it
  VmPool* pool_ = nullptr;
  VmLease vm_;
  VmLimits limits_;
  std::int64_t callback_timeout_ns_ = 0;
  std::int64_t startup_timeout_ns_ = 0;
  bool poisoned_ = false;
  bool may_notify_ = true;
  std::size_t final_peak_bytes_ = 0;
  std::vector<std::string> indicators_used_;
  te_frame frame_{};
  te_api api_{};
  // The loop export: the buffer the prelude writes into (api_.ctx_buf), the
  // last export's bytes, served while ready, and their value, decoded only
  // when export_context asks (loop_ctx_value_of_: the bytes it decodes).
  std::vector<std::uint8_t> ctx_buf_;
  std::size_t ctx_export_limit_ = kDefaultCtxExportLimit;
  bool loop_ctx_ready_ = false;
  // The last few distinct small exports (the first kRecentCtx slots): a ctx
  // often goes back and forth between a few values (with and without
  // ctx.setup), and an export with the bytes of one of them is served as that
  // object (no allocation, and the recorder's writer may find it decoded).
  // The last slot holds an export too big for them. The accepted export is
  // the slot loop_ctx_at_, an index, not a shared pointer of its own: moving
  // between two exports took a locked increment and decrement per export
  // (sma_cross: 38,450 of 47,700 exports per 1M bars).
  static constexpr std::size_t kRecentCtx = 4;
  // loop_export()'s null: at class scope, not a function's static (whose
  // destructor's registration made every call test a guard variable).
  static constinit const std::shared_ptr<const LoopExport> kNoLoopExport;
  std::array<std::shared_ptr<const LoopExport>, kRecentCtx + 1> ctx_slots_;
  std::size_t loop_ctx_at_ = kRecentCtx;  // (the big slot, empty at first)
  std::size_t recent_ctx_next_ = 0;
  std::shared_ptr<const Value> loop_ctx_value_;
  std::shared_ptr<const LoopExport> loop_ctx_value_of_;
  Result<std::shared_ptr<const Value>> loop_ctx_value();
  Result<Value> walk_context(std::size_t max_bytes);
  StrategySource source_;
  IndicatorProvider* indicators_ = nullptr;
  LogSink* log_ = nullptr;
  std::size_t log_lines_ = 0;
  std::size_t max_log_lines_ = 0;
  std::string api_error_;
  StrategyError error_;
  std::vector<ParamInfo> params_;
  std::vector<std::string> callbacks_;
  // Slots of the resident bottom of the VM's stack, which every other host
  // entry leaves in place (they restore the height they found): call()'s
  // error handler and the entry points of the three callbacks, by kind.
  static constexpr int kHandlerSlot = 1, kEntrySlot = 2, kResidentSlots = 4;
  void pin_entry_points();
  int prelude_ref_ = -1;
  int run_batch_ref_ = -1;
  int traceback_ref_ = -1;
};

}  // namespace te::script
