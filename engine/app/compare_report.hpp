#pragma once
// The comparison of two recorded sessions as `compare` prints it and `rerun`
// stores it: setup differences, first divergence, summaries side by side and
// the round trips of both sides matched by entry time (per-trade differences).
#include <optional>
#include <string>
#include <vector>

#include "engine/app/session_common.hpp"
#include "engine/core/result.hpp"
#include "engine/core/value.hpp"
#include "engine/journal/journal_compare.hpp"
#include "engine/portfolio/portfolio.hpp"

namespace te::app {

// One row of the per-trade comparison.
struct TradeMatch {
  enum class Kind { Same, Changed, OnlyA, OnlyB };
  Kind kind = Kind::Same;
  std::optional<portfolio::Trade> a;
  std::optional<portfolio::Trade> b;
  std::vector<std::string> changed;  // "exit_time", "exit_price", "quantity", "pnl_net", ... (Changed)
};

struct TradeComparison {
  std::vector<TradeMatch> rows;  // in entry-time order
  std::size_t same = 0, changed = 0, only_a = 0, only_b = 0;
  double pnl_a = 0, pnl_b = 0;   // net, closed and open trades
};

// Trades of the same direction whose holding periods overlap are the same
// round trip (changed when any field differs, compared exactly: the same run
// gives bit-identical prices); the others exist on one side only.
TradeComparison compare_trades(const std::vector<portfolio::Trade>& a, const std::vector<portfolio::Trade>& b);

struct SessionComparison {
  journal::Comparison comparison;
  TradeComparison trades;
  std::string text;  // the readable report
  Value json;        // the same as data
};

// `labels` name the sides in the text ("A"/"B" or "original"/"rerun").
// Errors: Errc::io and journal open errors (not a journal, newer format).
Result<SessionComparison> compare_sessions(const OpenedSession& a, const OpenedSession& b,
                                           const journal::CompareOptions& options,
                                           const std::string& label_a = "A", const std::string& label_b = "B",
                                           std::size_t max_trade_rows = 50);

}  // namespace te::app
