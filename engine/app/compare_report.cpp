#include "engine/app/compare_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"
#include "engine/core/value_json.hpp"

namespace te::app {
namespace {

double initial_cash_of(const OpenedSession& s) {
  if (s.meta)
    if (const Value* c = s.meta->config.find("initial_cash"); c && c->is_number()) return c->as_double();
  return 100000;
}

std::string session_line(const std::string& label, const OpenedSession& s) {
  if (!s.meta) return fmt::format("  {:<9} {} (meta.json unreadable: {})\n", label, s.dir.id(), s.meta_error);
  const auto& m = *s.meta;
  const bool days = date_only_session(s.meta);
  std::string strategies;
  for (const auto& st : m.strategies) strategies += (strategies.empty() ? "" : ", ") + st.name;
  std::string mode = m.mode;
  if (!m.parent_session.empty()) mode += " of " + m.parent_session;
  return fmt::format("  {:<9} {}  {}  {}  {} .. {}  [{}]\n", label, printable(m.session_id), printable(mode),
                     printable(strategies), time_text(m.data_start_ns, days), time_text(m.data_end_ns, days),
                     printable(m.status));
}

std::string num(double v) { return format_double(v); }

std::string money(double v) { return std::isnan(v) ? "-" : fmt::format("{:.2f}", v); }

std::string summary_number(const journal::StreamSummary& s, const char* key) {
  if (const Value* v = s.end_summary.find(key); v && v->is_number()) return num(v->as_double());
  return "-";
}

std::string trade_text(const portfolio::Trade& t, bool days) {
  std::string out = fmt::format("{} {} {} @ {}", t.is_long ? "long" : "short", num(t.quantity),
                                time_text(t.entry_ts_ns, days), num(t.entry_price));
  if (t.open()) return out + " -> open";
  return out + fmt::format(" -> {} @ {} ({}), net {}", time_text(t.exit_ts_ns, days), num(t.exit_price),
                           t.exit_reason(), money(t.pnl_net()));
}

Value trade_value(const portfolio::Trade& t, bool days) {
  return Value::map({{"side", t.is_long ? "long" : "short"},
                     {"quantity", t.quantity},
                     {"entry_time", time_text(t.entry_ts_ns, days)},
                     {"entry_price", t.entry_price},
                     {"exit_time", t.open() ? Value() : Value(time_text(t.exit_ts_ns, days))},
                     {"exit_price", t.open() ? Value() : Value(t.exit_price)},
                     {"exit_reason", std::string(t.exit_reason())},
                     {"pnl_net", t.pnl_net()}});
}

}  // namespace

namespace {

// One runner's round trips on one instrument (compare_trades' matching).
void compare_runner_trades(const std::vector<portfolio::Trade>& a, const std::vector<portfolio::Trade>& b,
                           TradeComparison& out) {
  // Two trades are the same round trip, possibly changed, when they have the
  // same direction and their holding periods overlap; otherwise the earlier
  // one exists on its side only.
  constexpr std::int64_t kOpenEnd = INT64_MAX;
  auto end_of = [](const portfolio::Trade& t) { return t.open() ? kOpenEnd : t.exit_ts_ns; };
  auto overlap = [&](const portfolio::Trade& x, const portfolio::Trade& y) {
    return x.is_long == y.is_long && x.entry_ts_ns <= end_of(y) && y.entry_ts_ns <= end_of(x);
  };
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    TradeMatch m;
    if (i < a.size() && j < b.size() && overlap(a[i], b[j])) {
      const portfolio::Trade& x = a[i++];
      const portfolio::Trade& y = b[j++];
      if (x.entry_ts_ns != y.entry_ts_ns) m.changed.push_back("entry_time");
      if (x.entry_price != y.entry_price) m.changed.push_back("entry_price");
      if (x.quantity != y.quantity) m.changed.push_back("quantity");
      if (x.exit_ts_ns != y.exit_ts_ns) m.changed.push_back("exit_time");
      if (x.exit_price != y.exit_price) m.changed.push_back("exit_price");
      if (x.exit_purpose != y.exit_purpose) m.changed.push_back("exit_reason");
      if (x.pnl_net() != y.pnl_net()) m.changed.push_back("pnl_net");
      m.kind = m.changed.empty() ? TradeMatch::Kind::Same : TradeMatch::Kind::Changed;
      (m.changed.empty() ? out.same : out.changed)++;
      m.a = x;
      m.b = y;
    } else if (j == b.size() || (i < a.size() && a[i].entry_ts_ns <= b[j].entry_ts_ns)) {
      m.kind = TradeMatch::Kind::OnlyA;
      m.a = a[i++];
      ++out.only_a;
    } else {
      m.kind = TradeMatch::Kind::OnlyB;
      m.b = b[j++];
      ++out.only_b;
    }
    out.rows.push_back(std::move(m));
  }
}

}  // namespace

TradeComparison compare_trades(const std::vector<portfolio::Trade>& a, const std::vector<portfolio::Trade>& b) {
  // Matched per runner and instrument: several runners' round trips of the
  // same direction overlap in time, and one runner's trade is never
  // another's (before, a multi-runner session compared with itself paired
  // them across runners and listed dozens of trades "only in" one side).
  using Key = std::pair<model::RunnerId, model::InstrumentId>;
  auto key = [](const portfolio::Trade& t) { return Key{t.runner, t.instrument}; };
  std::vector<Key> keys;
  for (const auto* side : {&a, &b})
    for (const auto& t : *side) keys.push_back(key(t));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  TradeComparison out;
  std::vector<portfolio::Trade> ka, kb;
  for (const Key& k : keys) {
    ka.clear();
    kb.clear();
    for (const auto& t : a)
      if (key(t) == k) ka.push_back(t);
    for (const auto& t : b)
      if (key(t) == k) kb.push_back(t);
    compare_runner_trades(ka, kb, out);
  }
  // Rows in entry-time order across runners (a runner's own rows keep theirs).
  auto entry = [](const TradeMatch& m) { return m.a ? m.a->entry_ts_ns : m.b->entry_ts_ns; };
  std::stable_sort(out.rows.begin(), out.rows.end(),
                   [&](const TradeMatch& x, const TradeMatch& y) { return entry(x) < entry(y); });
  for (const auto& t : a) out.pnl_a += t.pnl_net();
  for (const auto& t : b) out.pnl_b += t.pnl_net();
  return out;
}

Result<SessionComparison> compare_sessions(const OpenedSession& sa, const OpenedSession& sb,
                                           const journal::CompareOptions& options, const std::string& la,
                                           const std::string& lb, std::size_t max_trade_rows) {
  StderrReporter ra(sa.dir.id()), rb(sb.dir.id());
  auto a = journal::JournalReader::open(sa.journal_path, ra);
  if (!a) return std::move(a).error();
  auto b = journal::JournalReader::open(sb.journal_path, rb);
  if (!b) return std::move(b).error();
  const journal::EventNames names = event_names();
  const bool days = date_only_session(sa.meta);

  SessionComparison out;
  auto cmp = journal::compare_journals(**a, **b, options, names);
  if (!cmp) return std::move(cmp).error();
  out.comparison = std::move(*cmp);
  auto ta = trades_from_journal(**a, initial_cash_of(sa));
  if (!ta) return std::move(ta).error();
  auto tb = trades_from_journal(**b, initial_cash_of(sb));
  if (!tb) return std::move(tb).error();
  out.trades = compare_trades(*ta, *tb);
  const journal::Comparison& c = out.comparison;

  std::string& t = out.text;
  t += "comparing\n" + session_line(la, sa) + session_line(lb, sb);
  for (const auto& [label, rep] : {std::pair{la, &ra}, std::pair{lb, &rb}})
    if (std::string loss = loss_summary(rep->counts); !loss.empty()) t += "  warning: " + label + ": " + loss + "\n";

  if (!c.setup.empty()) {
    t += "\nsetup differences (session_start):\n";
    for (const auto& d : c.setup) t += fmt::format("  {:<40} {} -> {}\n", d.path, d.a, d.b);
  }
  Value div;
  if (c.first) {
    const journal::Divergence& d = *c.first;
    const journal::Event* e = d.event_a ? &*d.event_a : d.event_b ? &*d.event_b : nullptr;
    t += fmt::format("\nfirst divergence: sequence {} in {}, {} in {}", d.sequence_a ? std::to_string(d.sequence_a) : "-",
                     la, d.sequence_b ? std::to_string(d.sequence_b) : "-", lb);
    if (e) {
      t += fmt::format(" ({}, {})", e->runner == journal::kNoRunner ? "session" : "runner " + std::to_string(e->runner),
                       time_text(e->ts_event_ns, days));
    }
    t += fmt::format("\n  {:<9} {}: {} vs {}\n", "differs", d.field, d.a, d.b);
    auto line = [&](const std::string& label, const std::optional<journal::Event>& ev) {
      if (!ev) return fmt::format("  {:<9} (no more events)\n", label);
      const std::string type = ev->is_unknown() ? "unknown" : std::string(journal::to_string(ev->type()));
      return fmt::format("  {:<9} {:>7}  {:<16} {}\n", label, ev->sequence, type,
                         journal::describe_event(*ev, names, days));
    };
    t += line(la, d.event_a) + line(lb, d.event_b);
    div = Value::map({{"sequence_a", Value(static_cast<std::int64_t>(d.sequence_a))},
                      {"sequence_b", Value(static_cast<std::int64_t>(d.sequence_b))},
                      {"field", d.field},
                      {"a", d.a},
                      {"b", d.b},
                      {"event_a", d.event_a ? journal::event_to_value(*d.event_a, names, days) : Value()},
                      {"event_b", d.event_b ? journal::event_to_value(*d.event_b, names, days) : Value()}});
  }

  using journal::EventType;
  auto count = [](const journal::StreamSummary& s, EventType ty) { return s.counts[static_cast<std::size_t>(ty)]; };
  struct Row {
    std::string name, a, b;
  };
  std::vector<Row> rows;
  auto add_count = [&](const char* name, EventType ty) {
    rows.push_back({name, std::to_string(count(c.a, ty)), std::to_string(count(c.b, ty))});
  };
  rows.push_back({"events", std::to_string(c.a.events), std::to_string(c.b.events)});
  add_count("market data", EventType::MarketData);
  add_count("runner states", EventType::RunnerState);
  add_count("transitions", EventType::Transition);
  add_count("strategy actions", EventType::StrategyAction);
  rows.push_back({"orders", std::to_string(c.a.orders), std::to_string(c.b.orders)});
  rows.push_back({"rejected orders", std::to_string(c.a.rejected_orders), std::to_string(c.b.rejected_orders)});
  add_count("fills", EventType::Fill);
  rows.push_back({"filled quantity", num(c.a.fill_qty), num(c.b.fill_qty)});
  rows.push_back({"commission", money(c.a.commission), money(c.b.commission)});
  add_count("strategy errors", EventType::StrategyError);
  auto open_count = [](const std::vector<portfolio::Trade>& v) {
    return std::count_if(v.begin(), v.end(), [](const portfolio::Trade& x) { return x.open(); });
  };
  rows.push_back({"trades (closed/open)",
                  fmt::format("{} / {}", ta->size() - static_cast<std::size_t>(open_count(*ta)), open_count(*ta)),
                  fmt::format("{} / {}", tb->size() - static_cast<std::size_t>(open_count(*tb)), open_count(*tb))});
  rows.push_back({"net pnl of trades", money(out.trades.pnl_a), money(out.trades.pnl_b)});
  rows.push_back({"final equity", summary_number(c.a, "final_equity"), summary_number(c.b, "final_equity")});
  rows.push_back({"ended", c.a.ended ? c.a.end_reason : "no session_end (interrupted)",
                  c.b.ended ? c.b.end_reason : "no session_end (interrupted)"});
  rows.push_back({"data time", time_text(c.a.first_ts_ns, days) + " .. " + time_text(c.a.last_ts_ns, days),
                  time_text(c.b.first_ts_ns, days) + " .. " + time_text(c.b.last_ts_ns, days)});
  std::size_t wa = la.size();
  for (const auto& r : rows) wa = std::max(wa, r.a.size());
  t += fmt::format("\n  {:<22} {:<{}}  {}\n", "", la, wa, lb);
  Value::Map sums;
  for (const auto& r : rows) {
    t += fmt::format("  {:<22} {:<{}}  {}\n", r.name, r.a, wa, r.b);
    sums.emplace_back(r.name, Value::map({{"a", r.a}, {"b", r.b}}));
  }

  const TradeComparison& tc = out.trades;
  t += fmt::format("\ntrades: {} same, {} changed, {} only in {}, {} only in {}\n", tc.same, tc.changed, tc.only_a, la,
                   tc.only_b, lb);
  Value::Array trade_rows;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < tc.rows.size(); ++i) {
    const TradeMatch& m = tc.rows[i];
    if (m.kind == TradeMatch::Kind::Same) continue;
    Value row = Value::map({{"kind", m.kind == TradeMatch::Kind::Changed ? "changed"
                                     : m.kind == TradeMatch::Kind::OnlyA ? "only_a"
                                                                          : "only_b"},
                            {"a", m.a ? trade_value(*m.a, days) : Value()},
                            {"b", m.b ? trade_value(*m.b, days) : Value()}});
    Value::Array changed;
    for (const auto& f : m.changed) changed.emplace_back(f);
    row.set("changed", Value(std::move(changed)));
    trade_rows.push_back(std::move(row));
    if (shown++ >= max_trade_rows) continue;
    if (m.kind == TradeMatch::Kind::Changed) {
      std::string fields;
      for (const auto& f : m.changed) fields += (fields.empty() ? "" : ", ") + f;
      t += fmt::format("  changed ({})\n    {:<9} {}\n    {:<9} {}\n", fields, la, trade_text(*m.a, days), lb,
                       trade_text(*m.b, days));
    } else if (m.kind == TradeMatch::Kind::OnlyA) {
      t += fmt::format("  only in {:<9} {}\n", la, trade_text(*m.a, days));
    } else {
      t += fmt::format("  only in {:<9} {}\n", lb, trade_text(*m.b, days));
    }
  }
  if (shown > max_trade_rows) t += fmt::format("  ... {} more differing trades\n", shown - max_trade_rows);
  t += fmt::format("  net pnl of trades: {} {}, {} {} ({:+.2f})\n", la, money(tc.pnl_a), lb, money(tc.pnl_b),
                   tc.pnl_b - tc.pnl_a);

  t += c.identical ? "\nidentical\n" : "\nsessions differ\n";

  Value::Array setup;
  for (const auto& d : c.setup) setup.push_back(Value::map({{"path", d.path}, {"a", d.a}, {"b", d.b}}));
  out.json = Value::map({{"identical", c.identical},
                         {"session_a", sa.dir.id()},
                         {"session_b", sb.dir.id()},
                         {"setup_differences", Value(std::move(setup))},
                         {"first_divergence", std::move(div)},
                         {"summary", Value(std::move(sums))},
                         {"trades", Value::map({{"same", Value(static_cast<std::int64_t>(tc.same))},
                                                {"changed", Value(static_cast<std::int64_t>(tc.changed))},
                                                {"only_a", Value(static_cast<std::int64_t>(tc.only_a))},
                                                {"only_b", Value(static_cast<std::int64_t>(tc.only_b))},
                                                {"pnl_a", tc.pnl_a},
                                                {"pnl_b", tc.pnl_b},
                                                {"differences", Value(std::move(trade_rows))}})}});
  return out;
}

}  // namespace te::app
