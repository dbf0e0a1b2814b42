#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/config/sections.hpp"

namespace te::config {

Result<Config> parse_config(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::parse, name + ":" + std::to_string(e.source().begin.line) + ":" +
                                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  Config cfg;
  cfg.path = name;
  detail::Problems problems(name);
  detail::TableReader t(root, "", problems);
  t.table("engine", [&](detail::TableReader& s) { detail::read_engine(s, cfg.engine); });
  t.table("sandbox", [&](detail::TableReader& s) { detail::read_sandbox(s, cfg.sandbox); });
  t.table("event_sourcing", [&](detail::TableReader& s) { detail::read_event_sourcing(s, cfg.event_sourcing); });
  t.table("execution", [&](detail::TableReader& s) { detail::read_execution(s, cfg.execution); });
  t.table("risk", [&](detail::TableReader& s) { detail::read_risk(s, cfg.risk); });
  t.table("venues", [&](detail::TableReader& s) { detail::read_venues(s, cfg.binance); });
  detail::read_runners(t, cfg);
  t.finish();
  if (!problems.empty()) return make_error(Errc::invalid_argument, problems.text());
  return cfg;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, "open config " + path + ": " + std::strerror(errno));
  // Read at most one byte past the limit: /dev/zero or an endless pipe used to
  // be read until memory ran out (audit).
  constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
  std::string text;
  char chunk[1 << 16];
  while (text.size() <= kMaxConfigBytes && (in.read(chunk, sizeof chunk) || in.gcount() > 0))
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes)
    return make_error(Errc::invalid_argument, path + ": a config file is at most 16 MB; this one is larger");
  if (in.bad()) return make_error(Errc::io, "read config " + path + ": " + std::strerror(errno));
  return parse_config(text, path);
}

}  // namespace te::config
