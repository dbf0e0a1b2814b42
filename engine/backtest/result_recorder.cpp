#include "engine/backtest/result_recorder.hpp"

#include <string>

#include "engine/core/copy_short.hpp"

namespace te::backtest {

void ResultRecorder::on_rejected(const runner::SymbolRunner&, const model::Rejection& r) {
  // The same code comes again and again (a spent account is refused on every
  // entry): its counter is kept (map nodes stay put) instead of looked up.
  // Compared without a memcmp call (a code is a short literal: ≈ 25
  // instructions per refusal for the call and its dispatch).
  if (last_count_ == nullptr || r.code.size() != last_code_.size() ||
      !equal_short(r.code.data(), last_code_.data(), r.code.size())) {
    last_count_ = &out_.rejections[r.code];
    last_code_ = r.code;
    // The log's copy of the code goes with the counter: its row takes it
    // without the log comparing the code again.
    if (keep_) last_interned_ = out_.activity.intern(r.code);
  }
  ++*last_count_;
  if (keep_) out_.activity.intent_rejected(r, last_interned_);
}

void ResultRecorder::on_order_event(const runner::SymbolRunner& r, const model::Order& o, std::string_view reason,
                                    const model::Fill* fill, const model::Rejection* rejection) {
  if (keep_) out_.activity.order_event(r.last_bar_ts_ns(), o, reason, fill, rejection);
}

void ResultRecorder::on_risk_decision(const runner::SymbolRunner&, const risk::Decision& d) {
  if (!d.approved) ++out_.risk_rejections[d.code];
  if (keep_) out_.activity.risk_decision(d);
}

void ResultRecorder::on_stormguard(const runner::SymbolRunner&, const risk::StormGuardChange& c) {
  ++out_.stormguard_changes;
  if (keep_) out_.activity.stormguard(c);
}

void ResultRecorder::on_kill_switch(const runner::SymbolRunner&, const risk::KillSwitchEvent& e) {
  if (e.engaged) out_.kill_switch = true;
  if (keep_) out_.activity.kill_switch(e);
}

void ResultRecorder::on_strategy_error(const runner::SymbolRunner& r, const script::StrategyError& e,
                                       int consecutive) {
  if (keep_) out_.activity.strategy_error(r.last_bar_ts_ns(), e, consecutive, false);
}

void ResultRecorder::on_fault(const runner::SymbolRunner& r, const script::StrategyError& e) {
  if (keep_) out_.activity.strategy_error(r.last_bar_ts_ns(), e, static_cast<int>(r.stats().strategy_errors), true);
}

void ResultRecorder::on_strategy_log(const runner::SymbolRunner&, int level, std::string_view message) {
  if (max_log_lines_ != 0 && out_.strategy_log.size() >= max_log_lines_) return;
  std::string line = level >= 2 ? "warning: " : "";
  line += message;
  out_.strategy_log.push_back(std::move(line));
}

}  // namespace te::backtest
