#include "engine/exec/models.hpp"

#include <algorithm>
#include <vector>

#include <fmt/core.h>

#include "engine/core/numbers.hpp"

namespace te::exec {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

bool number(std::string_view text, double& out) {
  return parse_double(text, out) && std::isfinite(out) && out >= 0;
}

}  // namespace

std::string_view to_string(FillModel m) noexcept {
  switch (m) {
    case FillModel::NextOpen: return "next_open";
    case FillModel::Close: return "close";
    case FillModel::Ohlc: return "ohlc";
    case FillModel::BidAsk: return "bid_ask";
  }
  return "?";
}

Result<FillModel> parse_fill_model(std::string_view text) {
  if (text == "next_open") return FillModel::NextOpen;
  if (text == "close") return FillModel::Close;
  if (text == "ohlc") return FillModel::Ohlc;
  if (text == "bid_ask") return FillModel::BidAsk;
  return make_error(Errc::invalid_argument,
                    "unknown fill model '" + std::string(text) + "' (expected next_open, close, ohlc or bid_ask)");
}

std::string to_string(const SlippageModel& m) {
  switch (m.kind) {
    case SlippageModel::Kind::None: return "none";
    case SlippageModel::Kind::Ticks: return "ticks:" + format_double(m.value);
    case SlippageModel::Kind::Percent: return "percent:" + format_double(m.value);
    case SlippageModel::Kind::Volume: return "volume:" + format_double(m.value);
  }
  return "?";
}

Result<SlippageModel> parse_slippage_model(std::string_view text) {
  SlippageModel m;
  const auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument,
                      fmt::format("slippage '{}': {} (expected none, a fraction like 0.001, percent:F, ticks:N or "
                                  "volume:K)",
                                  text, why));
  };
  if (text.empty() || text == "none") return m;
  const auto parts = split(text, ':');
  if (parts.size() == 1) {
    if (!number(parts[0], m.value) || m.value >= 1) return bad("a bare number is a fraction of the price in [0, 1)");
    m.kind = SlippageModel::Kind::Percent;
    return m;
  }
  if (parts.size() != 2) return bad("give one value after the kind");
  if (!number(parts[1], m.value)) return bad("the value must be a number >= 0");
  if (parts[0] == "percent") {
    if (m.value >= 1) return bad("percent slippage is a fraction of the price in [0, 1)");
    m.kind = SlippageModel::Kind::Percent;
  } else if (parts[0] == "ticks") {
    m.kind = SlippageModel::Kind::Ticks;
  } else if (parts[0] == "volume") {
    m.kind = SlippageModel::Kind::Volume;
  } else {
    return bad("unknown kind '" + std::string(parts[0]) + "'");
  }
  if (m.value == 0) m.kind = SlippageModel::Kind::None;
  return m;
}

double CommissionModel::commission(double qty, double price, model::Liquidity liquidity, double filled_before,
                                   double charged_before) const noexcept {
  switch (kind) {
    case Kind::Percent: {
      const double c = qty * price * rate;
      if (minimum <= 0) return c;
      return std::max(0.0, std::max(charged_before + c, minimum) - charged_before);
    }
    case Kind::PerShare: {
      const double total = std::max((filled_before + qty) * rate, minimum);
      return std::max(0.0, total - charged_before);
    }
    case Kind::Fixed:
      return filled_before > 0 ? 0.0 : rate;
    case Kind::MakerTaker:
      return qty * price * (liquidity == model::Liquidity::Maker ? maker_rate : taker_rate);
  }
  return 0;
}

std::string to_string(const CommissionModel& m) {
  // fmt rather than string concatenation: GCC 12's -Wrestrict misfires on
  // "literal" + std::string chains.
  const std::string minimum = m.minimum > 0 ? fmt::format(":{}", format_double(m.minimum)) : std::string();
  switch (m.kind) {
    case CommissionModel::Kind::Percent: return fmt::format("percent:{}{}", format_double(m.rate), minimum);
    case CommissionModel::Kind::PerShare: return fmt::format("per_share:{}{}", format_double(m.rate), minimum);
    case CommissionModel::Kind::Fixed: return fmt::format("fixed:{}", format_double(m.rate));
    case CommissionModel::Kind::MakerTaker:
      return fmt::format("maker_taker:{}:{}", format_double(m.maker_rate), format_double(m.taker_rate));
  }
  return "?";
}

Result<CommissionModel> parse_commission_model(std::string_view text) {
  CommissionModel m;
  const auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument,
                      fmt::format("commission model '{}': {} (expected percent:RATE[:MIN], per_share:RATE[:MIN], "
                                  "fixed:AMOUNT or maker_taker:MAKER:TAKER)",
                                  text, why));
  };
  const auto parts = split(text, ':');
  std::vector<double> v;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    double x = 0;
    if (!number(parts[i], x)) return bad(fmt::format("'{}' is not a number >= 0", parts[i]));
    v.push_back(x);
  }
  if (parts.size() == 1) {
    double x = 0;
    if (!number(parts[0], x)) return bad("unknown kind");
    v.push_back(x);
    m.kind = CommissionModel::Kind::Percent;
  } else if (parts[0] == "percent") {
    m.kind = CommissionModel::Kind::Percent;
  } else if (parts[0] == "per_share") {
    m.kind = CommissionModel::Kind::PerShare;
  } else if (parts[0] == "fixed") {
    m.kind = CommissionModel::Kind::Fixed;
  } else if (parts[0] == "maker_taker") {
    m.kind = CommissionModel::Kind::MakerTaker;
  } else {
    return bad("unknown kind '" + std::string(parts[0]) + "'");
  }
  switch (m.kind) {
    case CommissionModel::Kind::Percent:
    case CommissionModel::Kind::PerShare:
      if (v.empty() || v.size() > 2) return bad("give a rate and optionally a minimum");
      m.rate = v[0];
      m.minimum = v.size() == 2 ? v[1] : 0;
      if (m.kind == CommissionModel::Kind::Percent && m.rate >= 1) return bad("a percent rate is a fraction in [0, 1)");
      break;
    case CommissionModel::Kind::Fixed:
      if (v.size() != 1) return bad("give one amount per order");
      m.rate = v[0];
      break;
    case CommissionModel::Kind::MakerTaker:
      if (v.size() != 2) return bad("give a maker and a taker rate");
      m.maker_rate = v[0];
      m.taker_rate = v[1];
      if (m.maker_rate >= 1 || m.taker_rate >= 1) return bad("rates are fractions in [0, 1)");
      break;
  }
  return m;
}

}  // namespace te::exec
