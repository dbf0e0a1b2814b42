#include "engine/runner/strategy_reload.hpp"

#include <fmt/core.h>

#include "engine/runner/symbol_runner.hpp"

namespace te::runner {

void ReloadMailbox::put(script::StrategySource source) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ = std::move(source);
}

std::optional<script::StrategySource> ReloadMailbox::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<script::StrategySource> out = std::move(pending_);
  pending_.reset();
  return out;
}

void SymbolRunner::request_reload(script::StrategySource source) {
  mailbox_.put(std::move(source));
  reload_flag_.store(true, std::memory_order_release);
}

void SymbolRunner::apply_pending_reload() {
  reload_flag_.store(false, std::memory_order_relaxed);
  // A request that lands after take() sets the flag again: seen next bar.
  if (auto source = mailbox_.take()) reload(*source);
}

void SymbolRunner::notify_reload(const ReloadReport& r, std::string_view code) {
  if (!observer_) return;
  ReloadInfo info;
  info.path = r.path;
  info.old_sha256 = r.old_sha256;
  info.new_sha256 = r.new_sha256;
  info.new_code = code;
  info.ok = r.ok;
  info.message = r.message;
  observer_->on_reload(*this, info);
}

ReloadReport SymbolRunner::reload(const script::StrategySource& source) {
  ReloadReport r;
  r.path = source.path;
  r.old_sha256 = host_->source().sha256;
  r.new_sha256 = source.sha256;
  r.bar_index = bar_index_;
  if (source.sha256 == r.old_sha256 && !host_->poisoned()) {
    r.ok = true;
    r.message = "unchanged (same SHA-256); nothing to do";
    return r;
  }
  r.changed = true;
  auto refuse = [&](std::string message) {
    r.ok = false;
    r.message = std::move(message);
    ++stats_.reload_failures;
    notify_reload(r, source.code);
    last_reload_ = r;
    return r;
  };
  if (state_ == RunnerState::Faulted)
    return refuse(fmt::format("{}: the runner is faulted ({}); a faulted runner is not revived by a reload, "
                              "restart it",
                              source.path, fault_ ? fault_->message : "stopped"));

  // 1. The old version's context, as plain data (functions, cycles and other
  //    non-data are refused with their path, before anything changes).
  auto ctx = host_->export_context();
  if (!ctx) return refuse(source.path + ": the running version's ctx cannot be carried over: " + ctx.error().message);

  // 2. The new version in a fresh VM over the same indicators.
  auto created = script::StrategyHost::create(source, host_options_, indicators_, this);
  if (!created) return refuse(created.error().message);
  std::unique_ptr<script::StrategyHost> next = std::move(*created);

  // 3. Context, then the strategy's own migration, with the engine's view of
  //    the position and account as the old version last saw them.
  next->frame() = host_->frame();
  if (auto st = next->import_context(*ctx); !st) return refuse(source.path + ": " + st.error().message);
  if (auto st = next->on_reload(*ctx); !st) {
    const auto& e = next->last_error();
    return refuse(e.traceback.empty() ? e.message : e.message + "\n" + e.traceback);
  }

  // 4. Swap. The old VM is destroyed (never reused).
  std::unique_ptr<script::StrategyHost> old = std::move(host_);
  host_ = std::move(next);
  old->discard_vm(script::Discard::Replaced);
  consecutive_errors_ = 0;
  ++stats_.reloads;
  r.ok = true;
  r.message = fmt::format("{} reloaded after bar {} ({} -> {})", source.path, bar_index_,
                          r.old_sha256.substr(0, 12), r.new_sha256.substr(0, 12));
  notify_reload(r, source.code);
  last_reload_ = r;
  return r;
}

void SymbolRunner::callback_failed() {
  const script::StrategyError& e = host_->last_error();
  ++stats_.strategy_errors;
  ++consecutive_errors_;
  const int allowed = config_.max_consecutive_errors < 1 ? 1 : config_.max_consecutive_errors;
  if (host_->poisoned() || consecutive_errors_ >= allowed) {
    fault(e);
    host_->discard_vm(host_->poisoned() ? (e.kind == script::ErrorKind::Timeout ? script::Discard::Deadline
                                                                                  : script::Discard::Memory)
                                        : script::Discard::Faulted);
    return;
  }
  if (observer_) observer_->on_strategy_error(*this, e, consecutive_errors_);
}

}  // namespace te::runner
