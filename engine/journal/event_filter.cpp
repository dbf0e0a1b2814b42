#include "engine/journal/event_filter.hpp"

#include <initializer_list>
#include <utility>

namespace te::journal {
namespace {

struct Group {
  std::string_view name;
  std::initializer_list<EventType> types;
};

const Group kGroups[] = {
    {"transitions", {EventType::Transition}},
    {"actions", {EventType::StrategyAction}},
    {"orders", {EventType::OrderUpdate, EventType::RiskDecision}},
    {"fills", {EventType::Fill}},
    {"errors", {EventType::StrategyError}},
    {"market", {EventType::MarketData}},
    {"states", {EventType::RunnerState}},
    {"risk", {EventType::RiskDecision, EventType::StormGuardChange}},
    {"session", {EventType::SessionStart, EventType::SessionEnd}},
    {"notes", {EventType::Note}},
    {"reloads", {EventType::Reload}},
    {"indicators", {EventType::IndicatorValues}},
};

}  // namespace

EventFilter::EventFilter() { types_.set(); }

std::string_view EventFilter::groups_help() noexcept {
  return "transitions, actions, orders, fills, errors, market, states, risk, session, notes, reloads, indicators, "
         "all, or an event type (market_data, runner_state, ...)";
}

Result<EventFilter> EventFilter::parse(std::string_view spec) {
  EventFilter f;
  if (spec.empty()) return f;
  f.types_.reset();
  f.all_ = false;
  f.unknown_ = false;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view word = spec.substr(start, end - start);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    start = end + 1;
    if (word.empty()) continue;
    bool known = false;
    if (word == "all") {
      f.types_.set();
      f.all_ = true;
      f.unknown_ = true;
      known = true;
    }
    for (const Group& g : kGroups) {
      if (g.name != word) continue;
      for (EventType t : g.types) f.types_.set(static_cast<std::size_t>(t));
      if (word == "errors") f.warnings_ = true;
      known = true;
    }
    EventType t;
    if (!known && parse_event_type(word, t)) {
      f.types_.set(static_cast<std::size_t>(t));
      known = true;
    }
    if (!known)
      return make_error(Errc::invalid_argument,
                        "--filter: unknown event group \"" + std::string(word) + "\"; valid: " +
                            std::string(groups_help()));
  }
  return f;
}

bool EventFilter::matches_type(std::uint16_t type) const noexcept {
  if (type == 0 || type > kMaxKnownEventType) return unknown_;
  return types_.test(type);
}

bool EventFilter::matches(const Event& e) const noexcept {
  if (!matches_runner(e.runner)) return false;
  if (e.is_unknown()) return unknown_;
  if (matches_type(e.type_code())) return true;
  if (warnings_) {
    if (const auto* n = e.get<Note>()) return n->category == "warning";
  }
  return false;
}

}  // namespace te::journal
