#pragma once
// Hosts one strategy in its own LuaJIT VM: builds the sandboxed environment via
// the trusted prelude (lua/prelude.lua), loads the strategy as text, and runs
// its callbacks for the runner. Not thread-safe: one runner thread at a time.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/core/value.hpp"
#include "engine/script/te_ffi.h"

namespace te::script {

class LuaVm;

struct StrategySource {
  std::string path;    // as the user gave it; also the chunk name in messages
  std::string code;
  std::string sha256;  // of `code`
};

// Errors: Errc::io when the file cannot be read, Errc::invalid_argument when it
// is empty or is precompiled bytecode.
Result<StrategySource> read_strategy(const std::string& path);

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
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // level: 1 info, 2 warning. Called on the runner thread.
  virtual void strategy_log(int level, std::string_view message) = 0;
};

struct HostOptions {
  std::string symbol;
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> param_overrides;  // name, text
  std::size_t max_log_lines = 10000;  // then one "suppressed" line
};

enum class Callback : int { DetectOpportunity = 1, FilterCommitment = 2, ManagePosition = 3 };
std::string_view to_string(Callback cb) noexcept;

struct StrategyError {
  std::string message;    // "strategies/x.lua:12: attempt to perform arithmetic on a nil value"
  std::string traceback;  // "stack traceback:" plus strategy frames
  std::string callback;   // "detect_opportunity", "on_start", ...
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
  const te_action& action() const noexcept { return frame_.action; }
  std::string_view action_reason() const noexcept {
    return {frame_.action.reason, static_cast<std::size_t>(frame_.action.reason_len)};
  }

  // Runs a state callback. Returns the ActionKind (>= 0) with details in
  // action(), or -1 when the strategy raised an error (see last_error()).
  int call(Callback cb);
  // Runs on_start(ctx) when the strategy defines it.
  Status on_start();
  // Forgets the setup table when the runner leaves CloseWatch/InTrade.
  void clear_setup();
  // Calls on_fill / on_order_rejected when the strategy defines it (its return
  // value is ignored). Returns 1 when called, 0 when not defined, -1 when the
  // strategy raised (see last_error()). Defined in order_notice.cpp.
  int notify(const OrderNotice& notice);

  // The strategy's ctx as plain data, without the host's views (position,
  // account, state, ...). Errors name the offending path, e.g. "ctx.f is a function".
  Result<Value> export_context();
  // Replaces the ctx data with `ctx` (a map); the host views stay.
  Status import_context(const Value& ctx);

  const StrategyError& last_error() const noexcept { return error_; }
  const std::vector<ParamInfo>& params() const noexcept { return params_; }
  const std::vector<std::string>& callbacks() const noexcept { return callbacks_; }
  const StrategySource& source() const noexcept { return source_; }
  std::size_t memory_bytes() const noexcept;

 private:
  StrategyHost() = default;
  Status init(const HostOptions& options, IndicatorProvider& indicators);
  bool pcall(int nargs, int nresults, const char* callback);

  // te_api entry points (noexcept; see te_ffi_decls.h)
  static std::int32_t api_ind_add(void* host, const char* name, std::size_t name_len, const double* params,
                                  std::int32_t n_params, const char* source, std::size_t source_len,
                                  const char* timeframe, std::size_t timeframe_len) noexcept;
  static const char* api_last_error(void* host, std::size_t* len) noexcept;
  static void api_log(void* host, std::int32_t level, const char* msg, std::size_t len) noexcept;

  std::unique_ptr<LuaVm> vm_;
  te_frame frame_{};
  te_api api_{};
  StrategySource source_;
  IndicatorProvider* indicators_ = nullptr;
  LogSink* log_ = nullptr;
  std::size_t log_lines_ = 0;
  std::size_t max_log_lines_ = 0;
  std::string api_error_;
  StrategyError error_;
  std::vector<ParamInfo> params_;
  std::vector<std::string> callbacks_;
  int prelude_ref_ = -1;
  int dispatch_ref_ = -1;
  int traceback_ref_ = -1;
};

}  // namespace te::script
