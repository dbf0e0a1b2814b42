#pragma once
// Helpers shared by the session commands (sessions, replay, inspect-event,
// compare, export, rerun) and `backtest --record`.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event_value.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/reporter.hpp"
#include "engine/journal/session_dir.hpp"
#include "engine/model/bar_series.hpp"
#include "engine/portfolio/portfolio.hpp"

namespace te::app {

inline constexpr const char* kDefaultSessionsDir = "data/sessions";

// --sessions-dir DIR on `cmd`.
void add_sessions_dir_option(CLI::App* cmd, std::string& dir);

// A session opened by id, with its meta (when readable) and journal path.
struct OpenedSession {
  journal::SessionDir dir;
  std::optional<journal::SessionMeta> meta;
  std::string meta_error;  // why meta is missing
  std::string journal_path;
};

// Errors: Errc::invalid_argument for an empty or unsafe id; Errc::not_found
// for an unknown id (with the closest ids) or a session without a journal.
Result<OpenedSession> open_session(const std::string& base_dir, const std::string& id);

// Reports journal damage to stderr as it is found ("warning: <label>: ...")
// and counts it.
class StderrReporter final : public journal::Reporter {
 public:
  explicit StderrReporter(std::string label) : label_(std::move(label)) {}
  void corruption(const journal::Corruption& c) override;
  void missing_sequences(std::uint64_t first, std::uint64_t last, std::uint64_t count) override;
  void state_unavailable(std::uint64_t sequence, model::RunnerId runner, std::string_view reason) override;
  void damaged_record(std::uint64_t sequence, std::uint16_t type, std::string_view reason) override;

  journal::CountingReporter counts;

 private:
  std::string label_;
};

// One line about what was lost, or empty when nothing was.
std::string loss_summary(const journal::CountingReporter& c);

// Runner FSM state names ("watch", "close_watch", "in_trade", "faulted").
journal::EventNames event_names();

// Whether a session's times are whole days (daily data): print dates.
bool date_only_session(const std::optional<journal::SessionMeta>& meta);

// The usual spacing of the bars ("1m", "1d"); empty for fewer than 2 bars.
std::string detect_timeframe(const model::BarSeries& bars);

// Round trips rebuilt from a journal's fills (the portfolio's own trade
// bookkeeping applied to the recorded fills), in entry order.
Result<std::vector<portfolio::Trade>> trades_from_journal(journal::JournalReader& reader, double initial_cash);

// "2014-01-02" or "2014-01-02T09:30:00Z"; "-" for 0.
std::string time_text(std::int64_t ts_ns, bool date_only);

}  // namespace te::app
