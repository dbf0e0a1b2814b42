#include "engine/ta/listing.hpp"

#include <algorithm>

#include "engine/ta/registry.hpp"

namespace te::ta {

std::vector<ListingRow> native_listing_rows() {
  std::vector<ListingRow> rows;
  for (const IndicatorInfo& info : indicator_registry()) {
    ListingRow r;
    r.name = std::string(info.name);
    double defaults[kMaxParams] = {};
    for (std::size_t i = 0; i < info.params.size(); ++i) {
      const ParamInfo& p = info.params[i];
      defaults[i] = p.default_value;
      if (!r.params.empty()) r.params += ' ';
      r.params += p.name;
      r.params += '=';
      r.params += format_param(p.default_value);
    }
    if (info.takes_source) {
      if (!r.params.empty()) r.params += ' ';
      r.params += "[source=";
      r.params += source_name(info.default_source);
      r.params += ']';
    }
    if (r.params.empty()) r.params.push_back('-');
    for (std::string_view o : info.outputs) {
      if (!r.outputs.empty()) r.outputs += ' ';
      r.outputs += o;
    }
    // "19 (period - 1)": the value at the defaults, then the rule.
    r.warmup = std::to_string(info.lookback(defaults));
    if (info.warmup != r.warmup) {
      r.warmup += " (";
      r.warmup += info.warmup;
      r.warmup += ')';
    }
    r.summary = std::string(info.summary);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string format_listing(const std::vector<ListingRow>& rows) {
  ListingRow head{"name", "parameters (defaults)", "outputs", "warm-up bars", "description"};
  std::size_t w[4] = {head.name.size(), head.params.size(), head.outputs.size(), head.warmup.size()};
  for (const ListingRow& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.params.size());
    w[2] = std::max(w[2], r.outputs.size());
    w[3] = std::max(w[3], r.warmup.size());
  }
  std::string out;
  const auto line = [&](const ListingRow& r) {
    const auto cell = [&](const std::string& s, std::size_t width) {
      out += s;
      out.append(width - s.size() + 2, ' ');
    };
    cell(r.name, w[0]);
    cell(r.params, w[1]);
    cell(r.outputs, w[2]);
    cell(r.warmup, w[3]);
    out += r.summary;
    out += '\n';
  };
  line(head);
  for (const ListingRow& r : rows) line(r);
  out +=
      "\n"
      "Spec syntax: name(param, ..., source)@timeframe, e.g. sma(20)  ema(20,high)  macd(12,26,9)\n"
      "  bbands(20,2,2)  stoch(14,3,3)  obv()  vwap()  vwap(reset=1)  rsi(14)@1w  sma(10)@1M\n"
      "Sources: open high low close volume typical=(H+L+C)/3 median=(H+L)/2.\n"
      "Timeframes: <n>m <n>h <n>d <n>w <n>M, UTC-aligned; weeks start Monday 00:00 UTC, months on the 1st.\n"
      "  A higher-timeframe value changes only once its bar has closed (no lookahead).\n"
      "Warm-up: bars before the first value (TA-Lib lookback); outputs are empty/nil until then.\n"
      "Column names: sma_20, ema_20_high, macd_12_26_9_signal, bbands_20_2_2_upper, rsi_14_1w.\n";
  return out;
}

std::string list_indicators() { return format_listing(native_listing_rows()); }

}  // namespace te::ta
