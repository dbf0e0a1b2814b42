#include "engine/config/param_space.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/config/toml_reader.hpp"
#include "engine/core/numbers.hpp"

namespace te::config {
namespace {

// A scalar as the text --param would take; false when it is not a scalar.
bool scalar_text(const toml::node& node, std::string& text) {
  if (const auto* s = node.as_string()) text = s->get();
  else if (const auto* i = node.as_integer()) text = std::to_string(i->get());
  else if (const auto* f = node.as_floating_point()) text = format_double(f->get());
  else if (const auto* b = node.as_boolean()) text = b->get() ? "true" : "false";
  else return false;
  return true;
}

bool number_text(const toml::node& node, std::string& text) {
  if (const auto* i = node.as_integer()) text = std::to_string(i->get());
  else if (const auto* f = node.as_floating_point()) text = format_double(f->get());
  else return false;
  return true;
}

void read_axis(const std::string& name, const toml::node& node, const std::string& path, detail::Problems& problems,
               ParamSpaceFile& out) {
  ParamSpaceAxis a;
  a.name = name;
  std::string text;
  if (const auto* arr = node.as_array()) {
    if (arr->empty()) problems.add(node.source(), path, "the list of values is empty");
    for (const auto& v : *arr) {
      if (!scalar_text(v, text)) {
        problems.add(v.source(), path, "list values must be numbers, booleans or strings");
        continue;
      }
      if (text.find_first_of(",\"") != std::string::npos)
        problems.add(v.source(), path, "values may not contain commas or quotes, was " + text);
      a.values.push_back(text);
    }
  } else if (const auto* t = node.as_table()) {
    a.range = true;
    for (const auto& [k, v] : *t) {
      const std::string key(k.str());
      std::string* slot = key == "min" ? &a.min : key == "max" ? &a.max : key == "step" ? &a.step : nullptr;
      if (!slot) {
        problems.add(v.source(), path + "." + key, "unknown key (expected min, max, step)");
        continue;
      }
      if (!number_text(v, *slot)) problems.add(v.source(), path + "." + key, "must be a number");
    }
    if (a.min.empty() || a.max.empty()) problems.add(node.source(), path, "a range needs min and max");
  } else if (scalar_text(node, text)) {
    a.values.push_back(text);
  } else {
    problems.add(node.source(), path, "expected a value, a list of values or { min, max, step }");
  }
  out.axes.push_back(std::move(a));
}

}  // namespace

Result<ParamSpaceFile> parse_param_space(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::parse, name + ":" + std::to_string(e.source().begin.line) + ":" +
                                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  ParamSpaceFile out;
  out.path = name;
  detail::Problems problems(name);
  const toml::node* params = root.get("params");
  if (!params || !params->is_table()) {
    problems.add("params", "missing [params] table (one key per searched parameter)");
  } else {
    for (const auto& [k, v] : *params->as_table()) read_axis(std::string(k.str()), v, "params." + std::string(k.str()), problems, out);
    if (out.axes.empty()) problems.add(params->source(), "params", "no parameters");
  }
  detail::TableReader t(root, "", problems);
  t.table("search", [&](detail::TableReader& s) {
    s.read_choice("method", out.method, {"grid", "random", "walk-forward"});
    s.read("objective", out.objective);
    std::int64_t v = 0;
    if (s.has("samples")) {
      s.read("samples", v, 1, 1LL << 40);
      out.samples = static_cast<std::uint64_t>(v);
    }
    if (s.has("min_trades")) {
      s.read("min_trades", v, 0, 1LL << 40);
      out.min_trades = static_cast<std::uint64_t>(v);
    }
    if (s.has("seed")) {
      std::uint64_t seed = 0;
      s.read("seed", seed);
      out.seed = seed;
    }
    s.read_strings("constraints", out.constraints);
    s.finish();
  });
  std::vector<std::string> known = {"params", "search"};
  for (const auto& [k, v] : root)
    if (std::find(known.begin(), known.end(), std::string(k.str())) == known.end())
      problems.add(v.source(), std::string(k.str()), "unknown section (expected [params] and [search])");
  if (!problems.empty()) return make_error(Errc::invalid_argument, problems.text());
  return out;
}

Result<ParamSpaceFile> load_param_space(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::io, "open parameter space " + path + ": " + std::strerror(errno));
  // Read at most one byte past the limit: /dev/zero or an endless pipe used to
  // be read until memory ran out (audit).
  constexpr std::size_t kMaxSpaceBytes = std::size_t{16} << 20;
  std::string text;
  char chunk[1 << 16];
  while (text.size() <= kMaxSpaceBytes && (in.read(chunk, sizeof chunk) || in.gcount() > 0))
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxSpaceBytes)
    return make_error(Errc::invalid_argument, path + ": a parameter space file is at most 16 MB; this one is larger");
  if (in.bad()) return make_error(Errc::io, "read parameter space " + path + ": " + std::strerror(errno));
  return parse_param_space(text, path);
}

}  // namespace te::config
