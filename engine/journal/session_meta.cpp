#include "engine/journal/session_meta.hpp"

#include <limits>

#include "engine/core/time.hpp"
#include "engine/core/value_json.hpp"

namespace te::journal {

namespace {

Value time_value(std::int64_t ns) { return ns == 0 ? Value() : Value(format_iso8601(ns)); }

Value strings_value(const std::vector<std::string>& v) {
  Value::Array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return Value(std::move(a));
}

// Reads fields out of a map, remembering the first problem with its path.
class FieldReader {
 public:
  FieldReader(const Value& map, std::string path) : map_(map), path_(std::move(path)) {}

  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  const Value* get(std::string_view key, bool required) {
    const Value* v = map_.find(key);
    if ((v == nullptr || v->is_nil()) && required) fail(key, "is missing");
    return v == nullptr || v->is_nil() ? nullptr : v;
  }

  void str(std::string_view key, std::string& out, bool required = false) {
    if (const Value* v = get(key, required)) {
      if (v->is_string()) {
        out = v->as_string();
      } else {
        wrong(key, "a string", *v);
      }
    }
  }

  void time(std::string_view key, std::int64_t& out) {
    if (const Value* v = get(key, false)) {
      if (!v->is_string()) return wrong(key, "an ISO-8601 time string", *v);
      auto ns = parse_iso8601_ns(v->as_string());
      if (!ns) return fail(key, "must be an ISO-8601 time, was \"" + v->as_string() + "\"");
      out = *ns;
    }
  }

  template <class T>
  void uint(std::string_view key, T& out) {
    const Value* v = get(key, false);
    if (v == nullptr) return;
    std::uint64_t u = 0;
    if (v->is_int() && v->as_int() >= 0) {
      u = static_cast<std::uint64_t>(v->as_int());
    } else if (v->is_string() && !v->as_string().empty() &&
               v->as_string().find_first_not_of("0123456789") == std::string::npos && v->as_string().size() <= 20) {
      // Seeds above 2^63 are written as decimal strings.
      u = std::stoull(v->as_string());
    } else {
      return wrong(key, "a non-negative integer", *v);
    }
    if (u > std::numeric_limits<T>::max()) return fail(key, "is out of range");
    out = static_cast<T>(u);
  }

  void boolean(std::string_view key, bool& out) {
    if (const Value* v = get(key, false)) {
      if (v->is_bool()) {
        out = v->as_bool();
      } else {
        wrong(key, "a bool", *v);
      }
    }
  }

  void any(std::string_view key, Value& out) {
    if (const Value* v = map_.find(key)) out = *v;
  }

  void strings(std::string_view key, std::vector<std::string>& out) {
    const Value* v = get(key, false);
    if (v == nullptr) return;
    if (!v->is_array()) return wrong(key, "an array of strings", *v);
    for (const Value& s : v->as_array()) {
      if (!s.is_string()) return wrong(key, "an array of strings", s);
      out.push_back(s.as_string());
    }
  }

  void fail(std::string_view key, const std::string& what) {
    if (error_.empty()) error_ = path_ + std::string(key) + " " + what;
  }

  void wrong(std::string_view key, const char* expected, const Value& was) {
    fail(key, std::string("must be ") + expected + ", was " + std::string(to_string(was.kind())));
  }

 private:
  const Value& map_;
  std::string path_;
  std::string error_;
};

}  // namespace

Value to_value(const SessionMeta& m) {
  Value v = Value::empty_map();
  v.set("format", kMetaFormat);
  v.set("session_id", m.session_id);
  v.set("mode", m.mode);
  v.set("status", m.status);
  v.set("started_at", time_value(m.started_at_ns));
  v.set("ended_at", time_value(m.ended_at_ns));
  v.set("data_start", time_value(m.data_start_ns));
  v.set("data_end", time_value(m.data_end_ns));
  v.set("engine_version", m.engine_version);
  v.set("config_path", m.config_path);
  v.set("config_sha256", m.config_sha256);
  v.set("config", m.config);
  Value strategies = Value::empty_array();
  for (const auto& s : m.strategies) {
    strategies.push_back(Value::map({{"name", s.name},
                                     {"path", s.path},
                                     {"sha256", s.sha256},
                                     {"symbols", strings_value(s.symbols)},
                                     {"params", s.params}}));
  }
  v.set("strategies", std::move(strategies));
  Value data = Value::empty_array();
  for (const auto& d : m.data) data.push_back(Value::map({{"bars", Value(static_cast<std::int64_t>(d.bars))},
                                                    {"bars_sha256", d.bars_sha256},
                                                    {"path", d.path},
                                                    {"sha256", d.sha256},
                                                    {"symbol", d.symbol}}));
  v.set("data", std::move(data));
  if (m.seed <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    v.set("seed", Value(static_cast<std::int64_t>(m.seed)));
  } else {
    v.set("seed", std::to_string(m.seed));
  }
  v.set("storage_mode", std::string(to_string(m.storage_mode)));
  v.set("snapshot_interval", m.snapshot_interval);
  v.set("include_indicators", m.include_indicators);
  if (!m.compressed) v.set("compression", "none");
  if (m.compression_acceleration != 0) v.set("compression_acceleration", m.compression_acceleration);
  v.set("parent_session", m.parent_session);
  v.set("result", m.result);
  return v;
}

Result<SessionMeta> meta_from_value(const Value& v) {
  if (!v.is_map()) return make_error(Errc::parse, "meta must be a JSON object, was " + std::string(to_string(v.kind())));
  SessionMeta m;
  FieldReader r(v, "");
  std::int64_t format = kMetaFormat;
  if (const Value* f = v.find("format"); f != nullptr && f->is_int()) format = f->as_int();
  if (format > kMetaFormat) {
    return make_error(Errc::unsupported, "meta format " + std::to_string(format) + " is newer than this build reads (" +
                                             std::to_string(kMetaFormat) + ")");
  }
  r.str("session_id", m.session_id, true);
  r.str("mode", m.mode, true);
  r.str("status", m.status);
  r.time("started_at", m.started_at_ns);
  r.time("ended_at", m.ended_at_ns);
  r.time("data_start", m.data_start_ns);
  r.time("data_end", m.data_end_ns);
  r.str("engine_version", m.engine_version);
  r.str("config_path", m.config_path);
  r.str("config_sha256", m.config_sha256);
  r.any("config", m.config);
  r.uint("seed", m.seed);
  std::string mode_text;
  r.str("storage_mode", mode_text);
  if (!mode_text.empty() && !parse_storage_mode(mode_text, m.storage_mode)) {
    r.fail("storage_mode", "must be \"full\" or \"delta\", was \"" + mode_text + "\"");
  }
  r.uint("snapshot_interval", m.snapshot_interval);
  r.boolean("include_indicators", m.include_indicators);
  std::string compression = "lz4";
  r.str("compression", compression);
  if (compression != "lz4" && compression != "none")
    r.fail("compression", "must be \"lz4\" or \"none\", was \"" + compression + "\"");
  m.compressed = compression == "lz4";
  r.uint("compression_acceleration", m.compression_acceleration);
  r.str("parent_session", m.parent_session);
  r.any("result", m.result);
  if (!r.ok()) return make_error(Errc::parse, r.error());

  auto list = [&v](std::string_view key, auto&& each) -> Status {
    const Value* a = v.find(key);
    if (a == nullptr || a->is_nil()) return {};
    if (!a->is_array()) {
      return make_error(Errc::parse, std::string(key) + " must be an array, was " + std::string(to_string(a->kind())));
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Value& item = a->as_array()[i];
      const std::string path = std::string(key) + "[" + std::to_string(i) + "].";
      if (!item.is_map()) {
        return make_error(Errc::parse, path.substr(0, path.size() - 1) + " must be an object, was " +
                                           std::string(to_string(item.kind())));
      }
      FieldReader ir(item, path);
      each(ir);
      if (!ir.ok()) return make_error(Errc::parse, ir.error());
    }
    return {};
  };
  TE_TRY(list("strategies", [&m](FieldReader& ir) {
    StrategyInfo s;
    ir.str("name", s.name);
    ir.str("path", s.path);
    ir.str("sha256", s.sha256);
    ir.strings("symbols", s.symbols);
    ir.any("params", s.params);
    m.strategies.push_back(std::move(s));
  }));
  TE_TRY(list("data", [&m](FieldReader& ir) {
    DataInfo d;
    ir.str("path", d.path);
    ir.str("sha256", d.sha256);
    ir.str("symbol", d.symbol);
    ir.str("bars_sha256", d.bars_sha256);
    ir.uint("bars", d.bars);
    m.data.push_back(std::move(d));
  }));
  return m;
}

std::string meta_to_json(const SessionMeta& m) {
  std::string out = to_json(to_value(m), JsonStyle{2});
  out += '\n';
  return out;
}

Result<SessionMeta> meta_from_json(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::move(v).error();
  return meta_from_value(*v);
}

}  // namespace te::journal
