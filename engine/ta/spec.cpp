#include "engine/ta/spec.hpp"

#include <array>
#include <cctype>
#include <cmath>

#include "engine/core/numbers.hpp"

namespace te::ta {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string number_text(double v) { return format_param(v); }

std::string sources_text() {
  std::string out;
  for (Source s : kAllSources) {
    if (!out.empty()) out += ", ";
    out += source_name(s);
  }
  return out;
}

Error spec_error(std::string_view text, const std::string& what) {
  return make_error(Errc::invalid_argument, "indicator \"" + std::string(text) + "\": " + what);
}

Error usage_error(std::string_view text, const IndicatorInfo& info, const std::string& what) {
  return spec_error(text, what + "; usage: " + indicator_usage(info));
}

// Validation shared by make_spec and parse_spec; `context` is the text shown in
// messages.
Result<IndicatorSpec> complete(std::string_view context, const IndicatorInfo& info,
                               const std::array<std::optional<double>, kMaxParams>& given,
                               std::optional<Source> source, Timeframe timeframe) {
  IndicatorSpec spec;
  spec.name = std::string(info.name);
  for (std::size_t i = 0; i < info.params.size(); ++i) {
    const ParamInfo& p = info.params[i];
    const double v = given[i].value_or(p.default_value);
    if (!std::isfinite(v)) return usage_error(context, info, std::string(p.name) + " must be a finite number");
    if (p.integer && v != std::floor(v))
      return usage_error(context, info, std::string(p.name) + " must be an integer, was " + number_text(v));
    if (v < p.min || v > p.max)
      return usage_error(context, info,
                         std::string(p.name) + " must be in [" + number_text(p.min) + ", " + number_text(p.max) +
                             "], was " + number_text(v));
    spec.params.push_back(v);
  }
  if (const std::string_view why = info.check(spec.params.data()); !why.empty())
    return usage_error(context, info, std::string(why));
  if (source && !info.takes_source)
    return usage_error(context, info, std::string(info.name) + " does not take a source series");
  spec.source = source.value_or(info.default_source);
  spec.timeframe = timeframe;
  return spec;
}

void append_key_number(std::string& out, double v) {
  out += '_';
  out += number_text(v);
}

}  // namespace

Result<IndicatorSpec> make_spec(std::string_view name, std::span<const double> params, std::optional<Source> source,
                                Timeframe timeframe) {
  const std::string lname = lower(name);
  const IndicatorInfo* info = find_indicator(lname);
  if (!info)
    return spec_error(name, "unknown indicator \"" + lname + "\"; valid names: " + indicator_names());
  if (params.size() > info->params.size())
    return usage_error(name, *info,
                       std::string(info->name) + " takes at most " + std::to_string(info->params.size()) +
                           " parameters, was " + std::to_string(params.size()));
  std::array<std::optional<double>, kMaxParams> given;
  for (std::size_t i = 0; i < params.size(); ++i) given[i] = params[i];
  return complete(name, *info, given, source, timeframe);
}

Result<IndicatorSpec> parse_spec(std::string_view raw) {
  const std::string_view text = trim(raw);
  if (text.empty()) return spec_error(raw, "empty indicator spec; valid names: " + indicator_names());

  std::string_view rest = text;
  std::optional<Timeframe> tf;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view tf_text = trim(rest.substr(at + 1));
    tf = parse_timeframe(tf_text);
    if (!tf)
      return spec_error(text, "unknown timeframe \"" + std::string(tf_text) +
                                  "\"; expected <count><unit> with unit m, h, d, w or M (5m, 1h, 4h, 1d, 1w, 1M)");
    rest = trim(rest.substr(0, at));
  }

  std::string_view name = rest;
  if (const auto open = rest.find('('); open != std::string_view::npos) {
    if (rest.back() != ')') return spec_error(text, "expected ')' at the end of the parameter list");
    name = trim(rest.substr(0, open));
  }
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return spec_error(text, "malformed indicator name \"" + std::string(name) + "\"; valid names: " + indicator_names());
  const std::string lname = lower(name);
  const IndicatorInfo* info = find_indicator(lname);
  if (!info) return spec_error(text, "unknown indicator \"" + lname + "\"; valid names: " + indicator_names());
  return parse_spec_as(raw, *info);
}

std::string spec_name(std::string_view raw) {
  std::string_view rest = trim(raw);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(0, at);
  if (const auto open = rest.find('('); open != std::string_view::npos) rest = rest.substr(0, open);
  return lower(trim(rest));
}

Result<IndicatorSpec> parse_spec_as(std::string_view raw, const IndicatorInfo& info_ref) {
  const IndicatorInfo* info = &info_ref;
  const std::string_view text = trim(raw);
  if (text.empty()) return spec_error(raw, "empty indicator spec");

  std::string_view rest = text;
  std::optional<Timeframe> tf;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view tf_text = trim(rest.substr(at + 1));
    tf = parse_timeframe(tf_text);
    if (!tf)
      return spec_error(text, "unknown timeframe \"" + std::string(tf_text) +
                                  "\"; expected <count><unit> with unit m, h, d, w or M (5m, 1h, 4h, 1d, 1w, 1M)");
    rest = trim(rest.substr(0, at));
  }
  std::string_view args;
  bool has_parens = false;
  if (const auto open = rest.find('('); open != std::string_view::npos) {
    if (rest.back() != ')') return spec_error(text, "expected ')' at the end of the parameter list");
    if (lower(trim(rest.substr(0, open))) != info->name)
      return spec_error(text, "not a spec of " + std::string(info->name));
    args = rest.substr(open + 1, rest.size() - open - 2);
    has_parens = true;
  } else if (lower(rest) != info->name) {
    return spec_error(text, "not a spec of " + std::string(info->name));
  }

  std::array<std::optional<double>, kMaxParams> given;
  std::optional<Source> source;
  std::size_t positional = 0;
  bool named_seen = false;
  if (has_parens && !trim(args).empty()) {
    std::size_t start = 0;
    while (start <= args.size()) {
      const std::size_t comma = args.find(',', start);
      const std::size_t end = comma == std::string_view::npos ? args.size() : comma;
      const std::string_view arg = trim(args.substr(start, end - start));
      start = end + 1;
      if (arg.empty()) return usage_error(text, *info, "empty parameter");

      std::string_view key;
      std::string_view value = arg;
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        key = trim(arg.substr(0, eq));
        value = trim(arg.substr(eq + 1));
      }
      const std::string lkey = lower(key);
      const std::string lvalue = lower(value);
      double number = 0;
      const bool is_number = parse_double(value, number);

      if (lkey == "tf" || lkey == "timeframe") {
        if (tf) return spec_error(text, "timeframe given twice");
        tf = parse_timeframe(value);
        if (!tf) return spec_error(text, "unknown timeframe \"" + std::string(value) + "\"; expected e.g. 5m, 1h, 1d, 1w, 1M");
      } else if (lkey == "source" || (key.empty() && !is_number)) {
        const auto s = parse_source(lvalue);
        if (!s) {
          if (key.empty())
            return usage_error(text, *info,
                               "unknown parameter \"" + std::string(value) +
                                   "\"; expected a number, a source (" + sources_text() + ") or name=value");
          return usage_error(text, *info, "unknown source \"" + std::string(value) + "\"; valid sources: " + sources_text());
        }
        if (source) return usage_error(text, *info, "source given twice");
        if (!info->takes_source) return usage_error(text, *info, std::string(info->name) + " does not take a source series");
        source = s;
      } else if (!key.empty()) {
        std::size_t idx = info->params.size();
        for (std::size_t i = 0; i < info->params.size(); ++i)
          if (info->params[i].name == lkey) idx = i;
        if (idx == info->params.size())
          return usage_error(text, *info, "unknown parameter \"" + std::string(key) + "\"");
        if (!is_number)
          return usage_error(text, *info, std::string(info->params[idx].name) + " must be a number, was \"" + std::string(value) + "\"");
        if (given[idx]) return usage_error(text, *info, std::string(info->params[idx].name) + " given twice");
        given[idx] = number;
        named_seen = true;
      } else {
        if (named_seen) return usage_error(text, *info, "positional parameter after a named one");
        if (positional >= info->params.size())
          return usage_error(text, *info,
                             std::string(info->name) + " takes at most " + std::to_string(info->params.size()) +
                                 " parameters, was " + std::to_string(positional + 1));
        given[positional++] = number;
      }
      if (comma == std::string_view::npos) break;
    }
  }
  return complete(text, *info, given, source, tf.value_or(Timeframe{}));
}

Result<std::vector<IndicatorSpec>> parse_spec_list(std::string_view text) {
  auto items = split_spec_list(text);
  if (!items) return std::move(items).error();
  std::vector<IndicatorSpec> out;
  for (const std::string& item : *items) {
    auto spec = parse_spec(item);
    if (!spec) return std::move(spec).error();
    out.push_back(std::move(*spec));
  }
  return out;
}

Result<std::vector<std::string>> split_spec_list(std::string_view text) {
  std::vector<std::string> out;
  int open = 0;
  for (const char c : text) {
    open += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (open < 0) break;
  }
  if (open != 0)
    return make_error(Errc::invalid_argument, "indicator list \"" + std::string(text) + "\": unbalanced parentheses (" +
                                                  (open > 0 ? "a '(' is never closed" : "a ')' has no '('") +
                                                  "); expected e.g. \"sma(20),rsi(14)\"");
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c != ',' || depth > 0) continue;
    const std::string_view item = trim(text.substr(start, i - start));
    start = i + 1;
    if (item.empty()) {
      if (i == text.size() && !out.empty()) break;  // tolerate a trailing comma
      return make_error(Errc::invalid_argument, "indicator list \"" + std::string(text) +
                                                    "\": empty entry; expected e.g. \"sma(20),rsi(14)\"");
    }
    out.emplace_back(item);
  }
  return out;
}

const IndicatorInfo& spec_info(const IndicatorSpec& spec) {
  const IndicatorInfo* info = find_indicator(spec.name);
  TE_ASSERT(info != nullptr, "indicator spec with unknown name %s", spec.name.c_str());
  return *info;
}

std::string spec_key(const IndicatorSpec& spec) { return spec_key(spec, spec_info(spec)); }

std::string spec_key(const IndicatorSpec& spec, const IndicatorInfo& info) {
  std::string key(info.name);
  // Optional parameters are dropped only from the end, so keys stay unambiguous.
  std::size_t shown = spec.params.size();
  while (shown > 0 && info.params[shown - 1].optional && spec.params[shown - 1] == info.params[shown - 1].default_value)
    --shown;
  for (std::size_t i = 0; i < shown; ++i) append_key_number(key, spec.params[i]);
  if (info.takes_source && spec.source != info.default_source) {
    key += '_';
    key += source_name(spec.source);
  }
  if (!spec.timeframe.empty()) {
    key += '_';
    key += spec.timeframe.to_string();
  }
  return key;
}

std::string spec_to_string(const IndicatorSpec& spec) {
  const IndicatorInfo& info = spec_info(spec);
  std::string out(info.name);
  out += '(';
  for (std::size_t i = 0; i < spec.params.size(); ++i) {
    if (i) out += ',';
    out += number_text(spec.params[i]);
  }
  if (info.takes_source && spec.source != info.default_source) {
    if (!spec.params.empty()) out += ',';
    out += source_name(spec.source);
  }
  out += ')';
  if (!spec.timeframe.empty()) {
    out += '@';
    out += spec.timeframe.to_string();
  }
  return out;
}

std::vector<std::string> output_columns(const IndicatorSpec& spec) { return output_columns(spec, spec_info(spec)); }

std::vector<std::string> output_columns(const IndicatorSpec& spec, const IndicatorInfo& info) {
  const std::string key = spec_key(spec, info);
  std::vector<std::string> cols;
  if (info.outputs.size() == 1) {
    cols.push_back(key);
    return cols;
  }
  for (std::string_view o : info.outputs) cols.push_back(key + "_" + std::string(o));
  return cols;
}

int spec_lookback(const IndicatorSpec& spec) { return spec_info(spec).lookback(spec.params.data()); }

std::unique_ptr<Indicator> make_indicator(const IndicatorSpec& spec) {
  const IndicatorInfo& info = spec_info(spec);
  return info.make(info, spec.params.data(), spec.source);
}

}  // namespace te::ta
