// `trading-engine export`: a recorded session's events as CSV or JSON.
//   json: one array, one event object per line (field names as in
//         docs/journal-format.md; enums as words; runner states rebuilt).
//   csv:  sequence,time,ts_event_ns,runner,type,summary,fields (fields = the
//         event's own fields as one JSON object).
#include <cstdio>
#include <fstream>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/app/session_common.hpp"
#include "engine/core/value_json.hpp"
#include "engine/journal/event_filter.hpp"
#include "engine/journal/journal_reader.hpp"

namespace te::app {
namespace {

struct ExportArgs {
  std::string dir = kDefaultSessionsDir;
  std::string session;
  std::string format;
  std::string filter;
  std::string out;
  std::int64_t runner = -1;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};

void csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

int run_export(const ExportArgs& a) {
  if (a.format != "csv" && a.format != "json")
    return print_error("--format must be csv or json, was \"" + a.format + "\""), 1;
  auto filter = journal::EventFilter::parse(a.filter);
  if (!filter) return print_error(filter.error().message), 1;
  if (a.runner >= 0) filter->only_runner(static_cast<model::RunnerId>(a.runner));
  auto s = open_session(a.dir, a.session);
  if (!s) return print_error(s.error().message), 1;
  StderrReporter rep(a.session);
  auto reader = journal::JournalReader::open(s->journal_path, rep);
  if (!reader) return print_error(reader.error().message), 1;
  const bool days = date_only_session(s->meta);
  const journal::EventNames names = event_names();

  std::ofstream file;
  std::FILE* out = stdout;
  if (!a.out.empty()) {
    file.open(a.out, std::ios::binary | std::ios::trunc);
    if (!file) return print_error("--out " + a.out + ": cannot create the file"), 1;
  }
  auto emit = [&](const std::string& text) {
    if (file.is_open()) {
      file.write(text.data(), static_cast<std::streamsize>(text.size()));
    } else {
      std::fwrite(text.data(), 1, text.size(), out);
    }
  };

  if (a.from > 0) {
    auto ok = (*reader)->seek_sequence(a.from);
    if (!ok) return print_error(ok.error().message), 1;
  }
  std::string buf;
  buf.reserve(1 << 16);
  if (a.format == "csv") {
    buf = "sequence,time,ts_event_ns,runner,type,summary,fields\n";
  } else {
    buf = "[";
  }
  std::uint64_t n = 0;
  journal::Event e;
  while (true) {
    auto ok = (*reader)->next(e);
    if (!ok) return print_error(ok.error().message), 1;
    if (!*ok || (a.to != 0 && e.sequence > a.to)) break;
    if (!filter->matches(e)) continue;
    if (a.format == "csv") {
      buf += std::to_string(e.sequence);
      buf += ',';
      buf += time_text(e.ts_event_ns, days);
      buf += ',';
      buf += std::to_string(e.ts_event_ns);
      buf += ',';
      if (e.runner != journal::kNoRunner) buf += std::to_string(e.runner);
      buf += ',';
      buf += e.is_unknown() ? "unknown" : std::string(journal::to_string(e.type()));
      buf += ',';
      csv_field(buf, journal::describe_event(e, names, days));
      buf += ',';
      csv_field(buf, to_json(journal::event_fields(e, names)));
      buf += '\n';
    } else {
      buf += n == 0 ? "\n" : ",\n";
      append_json(buf, journal::event_to_value(e, names, days));
    }
    ++n;
    if (buf.size() > (1 << 16)) {
      emit(buf);
      buf.clear();
    }
  }
  if (a.format == "json") buf += n == 0 ? "]\n" : "\n]\n";
  emit(buf);
  if (file.is_open()) {
    file.close();
    if (!file) return print_error("--out " + a.out + ": write failed"), 1;
  }
  std::fprintf(stderr, "exported %llu events%s\n", static_cast<unsigned long long>(n),
               a.out.empty() ? "" : (" to " + a.out).c_str());
  if (std::string loss = loss_summary(rep.counts); !loss.empty()) std::fprintf(stderr, "warning: %s\n", loss.c_str());
  return 0;
}

}  // namespace

void register_export(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Export a recorded session's events as CSV or JSON");
  cmd->footer(
      "json: an array with one event object per line. csv: sequence,time,ts_event_ns,runner,type,summary,fields\n"
      "where fields holds the event's own fields as JSON. Runner states are exported whole (rebuilt from deltas).\n"
      "Filters: " +
      std::string(journal::EventFilter::groups_help()) +
      ".\n\n"
      "Example:\n"
      "  trading-engine export --session 20250301T101010Z-1a2b3c4d --format csv --filter fills --out fills.csv");
  add_sessions_dir_option(cmd, args->dir);
  cmd->add_option("--session", args->session, "Session id (see `trading-engine sessions`)")->required();
  cmd->add_option("--format", args->format, "csv or json")->required();
  cmd->add_option("--filter", args->filter, "Event groups to export, e.g. transitions,orders,fills");
  cmd->add_option("--runner", args->runner, "Only this runner's events");
  cmd->add_option("--from", args->from, "First sequence number");
  cmd->add_option("--to", args->to, "Last sequence number");
  cmd->add_option("--out", args->out, "Output file (default: standard output)");
  cmd->callback([args, &ctx] { ctx.exit_code = run_export(*args); });
}

}  // namespace te::app
