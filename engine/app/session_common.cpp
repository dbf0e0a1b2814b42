#include "engine/app/session_common.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "engine/core/time.hpp"
#include "engine/data/interval.hpp"
#include "engine/runner/state_machine.hpp"

namespace te::app {

void add_sessions_dir_option(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--sessions-dir", dir, "Directory holding recorded sessions")->capture_default_str();
}

Result<OpenedSession> open_session(const std::string& base_dir, const std::string& id) {
  if (id.empty()) return make_error(Errc::invalid_argument, "--session: give a session id (see `trading-engine sessions`)");
  auto dir = journal::SessionDir::open(base_dir, id);
  if (!dir) return std::move(dir).error();
  OpenedSession s{std::move(*dir), std::nullopt, {}, {}};
  s.journal_path = s.dir.journal_path();
  auto meta = s.dir.read_meta();
  if (meta) {
    s.meta = std::move(*meta);
  } else {
    s.meta_error = meta.error().message;
  }
  std::error_code ec;
  if (!std::filesystem::exists(s.journal_path, ec))
    return make_error(Errc::not_found, "session " + id + " has no journal (" + s.journal_path + " is missing)");
  return s;
}

void StderrReporter::corruption(const journal::Corruption& c) {
  counts.corruption(c);
  std::string what = c.records_known ? std::to_string(c.records) + " events" : std::string("an unknown number of events");
  if (c.records_known && c.records > 0)
    what += " (sequences " + std::to_string(c.first_sequence) + ".." + std::to_string(c.last_sequence) + ")";
  std::fprintf(stderr, "warning: %s: %s: %llu bytes at offset %llu, %s lost\n", label_.c_str(), c.reason.c_str(),
               static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.offset), what.c_str());
}

void StderrReporter::missing_sequences(std::uint64_t first, std::uint64_t last, std::uint64_t count) {
  counts.missing_sequences(first, last, count);
  std::fprintf(stderr, "warning: %s: %llu events missing (sequences %llu..%llu: the writer dropped them)\n",
               label_.c_str(), static_cast<unsigned long long>(count), static_cast<unsigned long long>(first),
               static_cast<unsigned long long>(last));
}

void StderrReporter::state_unavailable(std::uint64_t sequence, model::RunnerId runner, std::string_view reason) {
  counts.state_unavailable(sequence, runner, reason);
  std::fprintf(stderr, "warning: %s: state of runner %u at sequence %llu cannot be rebuilt: %.*s\n", label_.c_str(),
               runner, static_cast<unsigned long long>(sequence), static_cast<int>(reason.size()), reason.data());
}

void StderrReporter::damaged_record(std::uint64_t sequence, std::uint16_t type, std::string_view reason) {
  counts.damaged_record(sequence, type, reason);
  const std::string_view name = journal::to_string(static_cast<journal::EventType>(type));
  std::fprintf(stderr, "warning: %s: the %.*s record at sequence %llu does not decode (%.*s); shown as 'unknown'\n",
               label_.c_str(), static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(sequence),
               static_cast<int>(reason.size()), reason.data());
}

std::string loss_summary(const journal::CountingReporter& c) {
  if (c.corruptions == 0 && c.missing == 0 && c.unavailable_states == 0 && c.damaged_records == 0) return {};
  std::string out = "journal damaged: ";
  if (c.corruptions > 0) {
    out += std::to_string(c.corruptions) + (c.corruptions == 1 ? " damaged region, " : " damaged regions, ") +
           std::to_string(c.bytes_dropped) + " bytes and " + std::to_string(c.records_dropped) + " events lost";
    if (c.unknown_record_losses > 0) out += " (plus an unknown number in a torn block header)";
  }
  if (c.missing > 0)
    out += std::string(c.corruptions > 0 ? "; " : "") + std::to_string(c.missing) + " events dropped by the writer";
  if (c.unavailable_states > 0)
    out += std::string(c.corruptions + c.missing > 0 ? "; " : "") + std::to_string(c.unavailable_states) +
           " runner states could not be rebuilt";
  if (c.damaged_records > 0)
    out += std::string(c.corruptions + c.missing + c.unavailable_states > 0 ? "; " : "") +
           std::to_string(c.damaged_records) + (c.damaged_records == 1 ? " record does" : " records do") +
           " not decode";
  return out;
}

journal::EventNames event_names() {
  journal::EventNames n;
  n.runner_state = [](std::uint8_t code) -> std::string {
    switch (code) {
      case static_cast<std::uint8_t>(runner::RunnerState::Watch): return "watch";
      case static_cast<std::uint8_t>(runner::RunnerState::CloseWatch): return "close_watch";
      case static_cast<std::uint8_t>(runner::RunnerState::InTrade): return "in_trade";
      case static_cast<std::uint8_t>(runner::RunnerState::Faulted): return "faulted";
      default: return "state_" + std::to_string(code);
    }
  };
  n.storm_state = [](std::uint8_t code) -> std::string {
    static constexpr const char* kNames[] = {"NORMAL", "WARM", "STORM", "HALT"};
    return code < 4 ? kNames[code] : "state_" + std::to_string(code);
  };
  return n;
}

bool date_only_session(const std::optional<journal::SessionMeta>& meta) {
  if (!meta || meta->data_start_ns == 0) return false;
  return meta->data_start_ns % kNsPerDay == 0 && meta->data_end_ns % kNsPerDay == 0;
}

std::string detect_timeframe(const model::BarSeries& bars) {
  if (bars.size() < 2) return {};
  std::map<std::int64_t, std::size_t> gaps;
  const auto ts = bars.ts_ns();
  const std::size_t n = std::min<std::size_t>(bars.size(), 1000);
  for (std::size_t i = 1; i < n; ++i)
    if (ts[i] > ts[i - 1]) ++gaps[ts[i] - ts[i - 1]];
  if (gaps.empty()) return {};
  auto best = std::max_element(gaps.begin(), gaps.end(), [](auto& a, auto& b) { return a.second < b.second; });
  return data::format_interval(best->first);
}

Result<std::vector<portfolio::Trade>> trades_from_journal(journal::JournalReader& reader, double initial_cash) {
  portfolio::Portfolio pf(initial_cash > 0 ? initial_cash : 1);
  TE_TRY(reader.rewind());
  journal::Event e;
  while (true) {
    auto ok = reader.next(e);
    if (!ok) return std::move(ok).error();
    if (!*ok) break;
    if (const auto* f = e.get<journal::FillEvent>()) pf.apply(f->fill, f->fill.bar_index);
  }
  return std::vector<portfolio::Trade>(pf.trades().begin(), pf.trades().end());
}

std::string time_text(std::int64_t ts_ns, bool date_only) {
  if (ts_ns == 0) return "-";
  return format_iso8601(ts_ns, date_only);
}

}  // namespace te::app
