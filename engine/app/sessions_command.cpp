// `trading-engine sessions`: the recorded sessions with mode, status, data
// time range, strategies, journal size and result.
#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/core/labels.hpp"
#include "engine/core/value_json.hpp"
#include "engine/journal/journal_reader.hpp"

namespace te::app {
namespace {

struct SessionsArgs {
  std::string dir = kDefaultSessionsDir;
  bool check = false;
  bool json = false;
};

struct JournalFacts {
  bool present = false;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::string error;   // could not be opened (not a journal, newer format, ...)
  std::string damage;  // loss summary, empty when intact
};

JournalFacts journal_facts(const std::string& path, bool verify) {
  JournalFacts f;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return f;
  f.present = true;
  journal::CountingReporter rep;
  journal::ReaderOptions o;
  o.verify_on_open = verify;  // without it only block headers are read: fast, finds torn tails
  auto r = journal::JournalReader::open(path, rep, o);
  if (!r) {
    f.error = r.error().message;
    return f;
  }
  f.events = (*r)->record_count();
  f.bytes = (*r)->file_size();
  f.damage = loss_summary(rep);
  return f;
}

std::string money(double v) { return fmt::format("{:.2f}", v); }

std::string result_text(const Value& r) {
  if (!r.is_map()) return "-";
  std::string out;
  const Value* eq = r.find("final_equity");
  const Value* ret = r.find("total_return");
  const Value* trades = r.find("trades");
  if (eq && eq->is_number()) out += "equity " + money(eq->as_double());
  if (ret && ret->is_number()) out += fmt::format(" ({:+.2f}%)", ret->as_double() * 100);
  if (trades && trades->is_number()) out += fmt::format(", {} trades", trades->as_double());
  if (const Value* f = r.find("fault"); f && f->is_string()) out += ", strategy fault";
  return out.empty() ? "-" : out;
}

std::string strategies_text(const journal::SessionMeta& m) {
  std::string out;
  for (const auto& s : m.strategies) {
    if (!out.empty()) out += ", ";
    out += s.name;
    if (!s.symbols.empty()) {
      out += " (";
      for (std::size_t i = 0; i < s.symbols.size(); ++i) out += (i ? " " : "") + s.symbols[i];
      out += ")";
    }
  }
  return out.empty() ? "-" : out;
}

int run_sessions(const SessionsArgs& a) {
  auto all = journal::SessionDir::list(a.dir);
  if (!all) return print_error(all.error().message), 1;
  if (all->empty()) {
    if (a.json) {
      std::puts("[]");
    } else {
      std::printf("no sessions in %s (record one with `trading-engine backtest --record ...`)\n", a.dir.c_str());
    }
    return 0;
  }
  Value::Array rows;
  std::vector<std::vector<std::string>> table;
  table.push_back({"ID", "MODE", "STATUS", "DATA", "STRATEGIES", "EVENTS", "RESULT"});
  std::vector<std::string> notes;
  for (const auto& e : *all) {
    const std::string jpath = (std::filesystem::path(e.path) / journal::kJournalFileName).string();
    const JournalFacts jf = journal_facts(jpath, a.check);
    std::string mode = "-", status = "?", data = "-", strategies = "-", result = "-";
    Value row = Value::map({{"id", e.id}, {"path", e.path}});
    if (e.meta) {
      const auto& m = *e.meta;
      const bool days = date_only_session(e.meta);
      mode = m.mode + (m.parent_session.empty() ? "" : " of " + m.parent_session);
      status = m.status;
      if (m.data_start_ns != 0)
        data = time_text(m.data_start_ns, days) + " .. " + time_text(m.data_end_ns, days);
      strategies = strategies_text(m);
      result = result_text(m.result);
      row.set("mode", m.mode);
      row.set("status", m.status);
      row.set("parent_session", m.parent_session);
      row.set("data_start", time_text(m.data_start_ns, days));
      row.set("data_end", time_text(m.data_end_ns, days));
      row.set("strategies", strategies);
      row.set("result", m.result);
      if (m.status == "running" && !jf.damage.empty()) status = "interrupted?";
    } else {
      notes.push_back(e.id + ": " + e.error);
    }
    if (!jf.present) {
      notes.push_back(e.id + ": no journal");
    } else if (!jf.error.empty()) {
      notes.push_back(e.id + ": " + jf.error);
    } else if (!jf.damage.empty()) {
      notes.push_back(e.id + ": " + jf.damage);
    }
    const std::string events = jf.present && jf.error.empty() ? std::to_string(jf.events) : "-";
    row.set("events", jf.present && jf.error.empty() ? Value(static_cast<std::int64_t>(jf.events)) : Value());
    row.set("journal_bytes", Value(static_cast<std::int64_t>(jf.bytes)));
    row.set("damage", jf.damage);
    rows.push_back(std::move(row));
    // meta.json is a file anyone can edit: its text is not sent to the terminal raw.
    table.push_back({printable(e.id), printable(mode), printable(status), printable(data), printable(strategies), events,
                     printable(result)});
  }
  if (a.json) {
    std::string out;
    append_json(out, Value(std::move(rows)), JsonStyle{2});
    std::printf("%s\n", out.c_str());
    return 0;
  }
  std::vector<std::size_t> width(table[0].size(), 0);
  for (const auto& r : table)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : table) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("%zu session%s in %s\n", all->size(), all->size() == 1 ? "" : "s", a.dir.c_str());
  for (const auto& n : notes) std::printf("note: %s\n", printable(n).c_str());
  return 0;
}

}  // namespace

void register_sessions(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<SessionsArgs>();
  auto* cmd = app.add_subcommand("sessions", "List recorded sessions (mode, status, time range, strategies, result)");
  cmd->footer(
      "Sessions are recorded by `backtest --record` and by `run` ([event_sourcing]). A session whose status is\n"
      "still \"running\" after its process ended was interrupted; its journal keeps every complete block it had\n"
      "written (a recorded backtest writes them in 256 KiB pieces: while it runs its tail looks cut).\n"
      "--check verifies every block's checksum and reports what was lost.");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_flag("--check", args->check, "Verify every journal's checksums (reads whole files)");
  cmd->add_flag("--json", args->json, "Print the list as JSON");
  cmd->callback([args, &ctx] { ctx.exit_code = run_sessions(*args); });
}

}  // namespace te::app
