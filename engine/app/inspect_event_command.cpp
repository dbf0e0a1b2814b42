// `trading-engine inspect-event`: one event of a recorded session in full, the
// update (bar) it belongs to, the runner's state before and after that update
// (context, position, account, working orders, indicators) and what changed.
// Nothing is re-run: states come from the journal; indicator values are
// recomputed from the recorded bars only when the session did not store them.
#include <cmath>
#include <cstdio>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/core/value_json.hpp"
#include "engine/journal/replay_cursor.hpp"
#include "engine/ta/indicator_set.hpp"
#include "engine/ta/spec.hpp"

namespace te::app {
namespace {

struct InspectArgs {
  std::string dir = kDefaultSessionsDir;
  std::string session;
  std::uint64_t sequence = 0;
  bool json = false;
};

// One side of the update.
struct StateSide {
  std::optional<journal::Event> event;  // the runner_state record
  std::string source;                   // how it was found
  bool exact = true;                    // false: may miss changes made on quiet bars
  Value indicators;                     // recorded or recomputed
  std::string indicators_source;
};

std::int64_t bar_index_of(const journal::Event& e) {
  const auto* s = e.get<journal::RunnerState>();
  if (s == nullptr) return -2;
  const Value* b = s->context.find("bar_index");
  return b && b->is_int() ? b->as_int() : -2;
}

// Indicator values of `runner` after its bar number `bar` (0-based), from the
// recorded bars and the indicator specs the strategy created (notes).
Result<Value> recompute_indicators(const std::string& journal_path, model::RunnerId runner, std::int64_t bar) {
  if (bar < 0) return Value::empty_map();
  journal::NullReporter quiet;
  journal::ReaderOptions o;
  o.reconstruct_state = false;
  auto r = journal::JournalReader::open(journal_path, quiet, o);
  if (!r) return std::move(r).error();
  std::vector<std::string> specs;
  std::vector<model::Bar> bars;
  journal::Event e;
  // Up to the next bar's market data: the notes of indicators created on bar
  // `bar` follow its market data.
  while (true) {
    auto ok = (*r)->next(e);
    if (!ok) return std::move(ok).error();
    if (!*ok) break;
    if (e.runner != runner) continue;
    if (const auto* md = e.get<journal::MarketData>()) {
      if (static_cast<std::int64_t>(bars.size()) > bar) break;
      bars.push_back(md->bar);
    } else if (const auto* n = e.get<journal::Note>(); n && n->category == "indicators" && n->data.is_array()) {
      for (const Value& item : n->data.as_array())
        if (const Value* sp = item.find("spec"); sp && sp->is_string()) specs.push_back(sp->as_string());
    }
  }
  // Adding every spec before the first bar gives the values the runner had:
  // an indicator created late is warmed up over the earlier bars.
  ta::IndicatorSet set;
  Value::Map out;
  std::vector<std::pair<std::string, int>> columns;
  for (const auto& text : specs) {
    auto spec = ta::parse_spec(text);
    if (!spec) return make_error(Errc::parse, "indicator spec \"" + text + "\" in the journal: " + spec.error().message);
    auto slot = set.add(*spec);
    if (!slot) return std::move(slot).error();
    int s = *slot;
    for (auto& c : ta::output_columns(*spec)) columns.emplace_back(std::move(c), s++);
  }
  for (const auto& b : bars) set.update(b);
  for (const auto& [name, slot] : columns) {
    const double v = set.value(slot);
    out.emplace_back(name, std::isnan(v) ? Value() : Value(v));
  }
  return Value(std::move(out));
}

void print_block(const char* label, const Value& v) {
  std::string text;
  append_json(text, v, JsonStyle{2});
  // Indent continuation lines under the label.
  std::string indented;
  for (char c : text) {
    indented += c;
    if (c == '\n') indented += "    ";
  }
  std::printf("  %-11s %s\n", label, indented.c_str());
}

void print_state(const char* title, const StateSide& side, const journal::EventNames& names) {
  if (!side.event) {
    std::printf("%s: none recorded (%s)\n", title, side.source.c_str());
    return;
  }
  const auto* s = side.event->get<journal::RunnerState>();
  if (s == nullptr) return;
  std::printf("%s: %s\n", title, side.source.c_str());
  if (!side.exact)
    std::printf("  note        recorded before this bar; under state_events = activity, changes a strategy made to\n"
                "              its ctx on the quiet bars in between are not in the journal\n");
  std::printf("  %-11s %s\n", "state", names.runner_state_name(s->state).c_str());
  for (const char* key : {"bar_index", "bars_in_state", "position", "account", "orders", "ctx"}) {
    if (const Value* v = s->context.find(key)) print_block(key, *v);
  }
  if (!side.indicators.is_nil())
    print_block(("indicators" + std::string(side.indicators_source.empty() ? "" : "*")).c_str(), side.indicators);
  if (!side.indicators_source.empty()) std::printf("              * %s\n", side.indicators_source.c_str());
}

Value state_json(const StateSide& side, const journal::EventNames& names) {
  if (!side.event) return Value::map({{"source", side.source}});
  Value v = journal::event_to_value(*side.event, names);
  v.set("source", side.source);
  v.set("exact", side.exact);
  v.set("indicators", side.indicators);
  v.set("indicators_source", side.indicators_source.empty() ? "recorded" : side.indicators_source);
  return v;
}

int run_inspect(const InspectArgs& a) {
  auto s = open_session(a.dir, a.session);
  if (!s) return print_error(s.error().message), 1;
  StderrReporter rep(a.session);
  auto cursor = journal::ReplayCursor::open(s->journal_path, rep);
  if (!cursor) return print_error(cursor.error().message), 1;
  auto& c = **cursor;
  const bool days = date_only_session(s->meta);
  const journal::EventNames names = event_names();

  auto found = c.seek(a.sequence);
  if (!found) return print_error(found.error().message), 1;
  if (!*found || c.current().sequence != a.sequence) {
    const auto& r = c.reader();
    std::string why = fmt::format("session {} has no event with sequence {} (its events are {}..{})", a.session,
                                  a.sequence, r.first_sequence(), r.last_sequence());
    if (std::string loss = loss_summary(rep.counts); !loss.empty()) why += "; " + loss;
    return print_error(why), 1;
  }
  const journal::Event ev = c.current();
  Value out = Value::map({{"event", journal::event_to_value(ev, names, days)}});

  if (!a.json) {
    std::printf("event %llu of session %s\n", static_cast<unsigned long long>(ev.sequence), a.session.c_str());
    std::printf("  %-11s %s\n", "time", time_text(ev.ts_event_ns, days).c_str());
    std::printf("  %-11s %s\n", "runner", ev.runner == journal::kNoRunner ? "- (session)" : std::to_string(ev.runner).c_str());
    std::printf("  %-11s %s\n", "type", ev.is_unknown() ? "unknown" : std::string(journal::to_string(ev.type())).c_str());
    std::printf("  %-11s %s\n", "summary", journal::describe_event(ev, names, days).c_str());
    print_block("fields", journal::event_fields(ev, names));
  }
  if (ev.runner == journal::kNoRunner) {
    if (a.json) std::printf("%s\n", to_json(out, JsonStyle{2}).c_str());
    return 0;
  }

  auto span = c.update_of(ev.runner, ev.sequence);
  if (!span) return print_error(span.error().message), 1;
  auto events = c.events_between(span->first, span->last, ev.runner);
  if (!events) return print_error(events.error().message), 1;

  StateSide before, after;
  for (const auto& e : *events) {
    const auto* st = e.get<journal::RunnerState>();
    if (st == nullptr) continue;
    if (st->phase == journal::StatePhase::Before && !before.event) {
      before.event = e;
      before.source = fmt::format("recorded before the update, sequence {}", e.sequence);
    } else if (st->phase == journal::StatePhase::After) {
      after.event = e;
      after.source = fmt::format("recorded after the update, sequence {}", e.sequence);
    }
  }
  if (!before.event && span->first > 1) {
    auto view = c.runner_view(ev.runner, span->first - 1);
    if (!view) return print_error(view.error().message), 1;
    if (view->state) {
      before.event = view->state;
      const std::int64_t bi = bar_index_of(*view->state);
      before.exact = bi == span->bar_number - 1;
      before.source = fmt::format("the runner's last recorded state, sequence {} (after bar {})",
                                  view->state->sequence, bi);
    } else {
      before.source = view->state_error.empty() ? "the runner has no earlier state" : view->state_error;
    }
  }
  if (!after.event) {
    after.source = "no state recorded after this bar (nothing happened on it under state_events = activity)";
  }

  // Indicators: recorded with the state, or recomputed from the bars.
  for (StateSide* side : {&before, &after}) {
    if (!side->event) continue;
    const auto* st = side->event->get<journal::RunnerState>();
    if (st == nullptr) continue;
    if (!st->indicators.is_nil()) {
      side->indicators = st->indicators;
      continue;
    }
    const std::int64_t bi = bar_index_of(*side->event);
    // A state before the update holds the indicators of the previous bar.
    const std::int64_t bar = st->phase == journal::StatePhase::Before ? bi - 1 : bi;
    auto values = recompute_indicators(s->journal_path, ev.runner, bar);
    if (values) {
      side->indicators = std::move(*values);
      side->indicators_source = "recomputed from the recorded bars (the session did not store indicator values)";
    } else {
      side->indicators_source = "not recorded, and recomputing failed: " + values.error().message;
    }
  }

  const journal::RunnerState* rs_before = before.event ? before.event->get<journal::RunnerState>() : nullptr;
  const journal::RunnerState* rs_after = after.event ? after.event->get<journal::RunnerState>() : nullptr;
  const bool both = rs_before != nullptr && rs_after != nullptr;
  std::vector<journal::ValueDifference> changes;
  std::string state_change;
  if (both) {
    changes = journal::differences(rs_before->context, rs_after->context, 100);
    auto ind = journal::differences(before.indicators, after.indicators, 50);
    for (auto& d : ind) {
      d.path = "indicators." + d.path;
      changes.push_back(std::move(d));
    }
    if (rs_before->state != rs_after->state)
      state_change = names.runner_state_name(rs_before->state) + " -> " + names.runner_state_name(rs_after->state);
  }

  if (a.json) {
    Value::Array evs;
    for (const auto& e : *events) evs.push_back(journal::event_to_value(e, names, days));
    out.set("update", Value::map({{"runner", Value(static_cast<std::int64_t>(span->runner))},
                                  {"bar_number", Value(span->bar_number)},
                                  {"first_sequence", Value(static_cast<std::int64_t>(span->first))},
                                  {"last_sequence", Value(static_cast<std::int64_t>(span->last))},
                                  {"events", Value(std::move(evs))}}));
    out.set("before", state_json(before, names));
    out.set("after", state_json(after, names));
    Value::Array ch;
    if (!state_change.empty()) ch.push_back(Value::map({{"path", "state"}, {"change", state_change}}));
    for (const auto& d : changes) ch.push_back(Value::map({{"path", d.path}, {"before", d.a}, {"after", d.b}}));
    out.set("changes", Value(std::move(ch)));
    std::printf("%s\n", to_json(out, JsonStyle{2}).c_str());
    return 0;
  }

  std::printf("\nupdate: bar %lld of runner %u (sequences %llu..%llu)\n", static_cast<long long>(span->bar_number),
              span->runner, static_cast<unsigned long long>(span->first), static_cast<unsigned long long>(span->last));
  for (const auto& e : *events) {
    const std::string type = e.is_unknown() ? "unknown" : std::string(journal::to_string(e.type()));
    std::printf("  %s%7llu  %-16s %s\n", e.sequence == ev.sequence ? ">" : " ",
                static_cast<unsigned long long>(e.sequence), type.c_str(),
                journal::describe_event(e, names, days).c_str());
  }
  std::printf("\n");
  print_state("state before", before, names);
  std::printf("\n");
  print_state("state after", after, names);
  if (both) {
    std::printf("\nchanges (before -> after):\n");
    if (!state_change.empty()) std::printf("  %-28s %s\n", "state", state_change.c_str());
    for (const auto& d : changes) std::printf("  %-28s %s -> %s\n", d.path.c_str(), d.a.c_str(), d.b.c_str());
    if (changes.empty() && state_change.empty()) std::printf("  none\n");
  }
  if (std::string loss = loss_summary(rep.counts); !loss.empty()) std::printf("\nwarning: %s\n", loss.c_str());
  return 0;
}

}  // namespace

void register_inspect_event(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect-event",
                                 "Show one recorded event with the runner's state before and after its update");
  cmd->footer(
      "Prints the event, every event of the same runner update (bar), the runner's state before and after the\n"
      "update (strategy ctx, position, account, working orders, indicators) and the differences between them.\n"
      "The strategy is not re-run.\n\n"
      "Example:\n"
      "  trading-engine inspect-event --session 20250301T101010Z-1a2b3c4d --sequence 1234");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_option("--session", args->session, "Session id (see `trading-engine sessions`)")->required();
  cmd->add_option("--sequence", args->sequence, "Sequence number of the event (see `replay`)")->required();
  cmd->add_flag("--json", args->json, "Print everything as one JSON document");
  cmd->callback([args, &ctx] { ctx.exit_code = run_inspect(*args); });
}

}  // namespace te::app
