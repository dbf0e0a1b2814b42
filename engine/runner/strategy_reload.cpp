#include "engine/runner/strategy_reload.hpp"

#include <algorithm>

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

void ReloadMailbox::put_indicator(script::StrategySource source) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : indicators_)
    if (s.path == source.path) {
      s = std::move(source);
      return;
    }
  indicators_.push_back(std::move(source));
}

std::vector<script::StrategySource> ReloadMailbox::take_indicators() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<script::StrategySource> out;
  out.swap(indicators_);
  return out;
}

void SymbolRunner::request_indicator_reload(script::StrategySource indicator) {
  mailbox_.put_indicator(std::move(indicator));
  reload_flag_.store(true, std::memory_order_release);
}

void SymbolRunner::request_reload(script::StrategySource source) {
  mailbox_.put(std::move(source));
  reload_flag_.store(true, std::memory_order_release);
}

void SymbolRunner::apply_pending_reload() {
  quiet_ = false;
  reload_flag_.store(false, std::memory_order_relaxed);
  // A request that lands after take() sets the flag again: seen next bar.
  for (const auto& indicator : mailbox_.take_indicators()) reload_indicator(indicator);
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
  return rebuild(source, host_options_, std::move(r), source.code);
}

ReloadReport SymbolRunner::reload_indicator(const script::StrategySource& indicator) {
  ReloadReport r;
  r.path = indicator.path;
  r.new_sha256 = indicator.sha256;
  r.bar_index = bar_index_;
  script::HostOptions options = host_options_;
  auto it = std::find_if(options.indicator_files.begin(), options.indicator_files.end(),
                         [&](const script::StrategySource& f) { return f.path == indicator.path; });
  if (it == options.indicator_files.end()) {
    r.ok = false;
    r.message = indicator.path + ": not an indicator file of this runner; nothing done";
    return r;
  }
  r.old_sha256 = it->sha256;
  if (indicator.sha256 == r.old_sha256) {
    r.ok = true;
    r.message = "unchanged (same SHA-256); nothing to do";
    return r;
  }
  r.changed = true;
  *it = indicator;
  const script::StrategySource strategy = host_->source();  // the old host goes away in the swap
  return rebuild(strategy, std::move(options), std::move(r), indicator.code);
}

ReloadReport SymbolRunner::rebuild(const script::StrategySource& source, script::HostOptions options,
                                   ReloadReport r, std::string_view code) {
  // (before the frame it reads goes with the old host; reloads come between bars)
  if (idle_) leave_idle_between();
  quiet_ = false;
  auto refuse = [&](std::string message) {
    r.ok = false;
    r.message = std::move(message);
    ++stats_.reload_failures;
    notify_reload(r, code);
    last_reload_ = r;
    return r;
  };
  if (state_ == RunnerState::Faulted)
    return refuse(fmt::format("{}: the runner is faulted ({}); a faulted runner is not revived by a reload, "
                              "restart it",
                              r.path, fault_ ? fault_->message : "stopped"));

  // 1. The old version's context, as plain data (functions, cycles and other
  //    non-data are refused with their path, before anything changes).
  auto ctx = host_->export_context();
  if (!ctx) return refuse(r.path + ": the running version's ctx cannot be carried over: " + ctx.error().message);

  // 2. The new version in a fresh VM over the same indicators.
  auto created = script::StrategyHost::create(source, options, indicators_, this);
  if (!created) return refuse(created.error().message);
  std::unique_ptr<script::StrategyHost> next = std::move(*created);

  // 3. Context, then the strategy's own migration, with the engine's view of
  //    the position and account as the old version last saw them.
  next->frame() = host_->frame();
  next->set_ctx_export_limit(host_->ctx_export_limit());
  if (auto st = next->import_context(*ctx); !st) return refuse(source.path + ": " + st.error().message);
  if (auto st = next->on_reload(*ctx); !st) {
    const auto& e = next->last_error();
    return refuse(e.traceback.empty() ? e.message : e.message + "\n" + e.traceback);
  }

  // 4. Swap. The old VM is destroyed (never reused).
  std::unique_ptr<script::StrategyHost> old = std::move(host_);
  host_ = std::move(next);
  views_ = ViewsStamp{};  // a new frame (a copy of the old one, rewritten in full anyway)
  old->discard_vm(script::Discard::Replaced);
  host_options_ = std::move(options);
  consecutive_errors_ = 0;
  ++stats_.reloads;
  r.ok = true;
  r.message = fmt::format("{} reloaded after bar {} ({} -> {})", r.path, bar_index_,
                          r.old_sha256.substr(0, 12), r.new_sha256.substr(0, 12));
  notify_reload(r, code);
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
