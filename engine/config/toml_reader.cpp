#include "engine/config/toml_reader.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "engine/core/labels.hpp"
#include "engine/core/numbers.hpp"

namespace te::config::detail {
namespace {

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

}  // namespace

// Keys and values quoted in a message come from the file: control bytes in them
// (TOML's "\u001b") are escaped so they cannot reach the terminal raw.
void Problems::add(const toml::source_region& where, const std::string& key_path, const std::string& message) {
  lines_.emplace_back(where.begin.line,
                      fmt::format("{}:{}: {}: {}", file_, where.begin.line, printable(key_path), printable(message)));
}

void Problems::add(const std::string& key_path, const std::string& message) {
  lines_.emplace_back(0, fmt::format("{}: {}: {}", file_, printable(key_path), printable(message)));
}

std::string Problems::text() const {
  auto sorted = lines_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [line, text] : sorted) {
    if (!out.empty()) out += '\n';
    out += text;
  }
  return out;
}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::get(std::string_view key) {
  seen_.emplace(key);
  return table_.get(key);
}

void TableReader::problem(std::string_view key, const std::string& message) {
  if (const toml::node* n = table_.get(key))
    problems_.add(n->source(), key_path(key), message);
  else
    problems_.add(table_.source(), key_path(key), message);
}

void TableReader::read(std::string_view key, std::string& out) {
  const toml::node* n = get(key);
  if (!n) return;
  if (const auto* v = n->as_string())
    out = v->get();
  else
    problems_.add(n->source(), key_path(key), "expected a string, was " + type_name(*n));
}

void TableReader::read(std::string_view key, bool& out) {
  const toml::node* n = get(key);
  if (!n) return;
  if (const auto* v = n->as_boolean())
    out = v->get();
  else
    problems_.add(n->source(), key_path(key), "expected true or false, was " + type_name(*n));
}

void TableReader::read(std::string_view key, double& out, double min, double max) {
  const toml::node* n = get(key);
  if (!n) return;
  double v = 0;
  if (const auto* f = n->as_floating_point())
    v = f->get();
  else if (const auto* i = n->as_integer())
    v = static_cast<double>(i->get());
  else
    return problems_.add(n->source(), key_path(key), "expected a number, was " + type_name(*n));
  if (!std::isfinite(v) || v < min || v > max)
    return problems_.add(n->source(), key_path(key),
                         fmt::format("must be between {} and {}, was {}", format_double(min), format_double(max),
                                     format_double(v)));
  out = v;
}

void TableReader::read(std::string_view key, std::int64_t& out, long long min, long long max) {
  const toml::node* n = get(key);
  if (!n) return;
  const auto* i = n->as_integer();
  if (!i) return problems_.add(n->source(), key_path(key), "expected a whole number, was " + type_name(*n));
  if (i->get() < min || i->get() > max)
    return problems_.add(n->source(), key_path(key), fmt::format("must be between {} and {}, was {}", min, max, i->get()));
  out = i->get();
}

void TableReader::read(std::string_view key, int& out, long long min, long long max) {
  std::int64_t v = out;
  read(key, v, min, max);
  out = static_cast<int>(v);
}

void TableReader::read(std::string_view key, std::uint64_t& out) {
  std::int64_t v = static_cast<std::int64_t>(out);
  read(key, v, 0, INT64_MAX);
  out = static_cast<std::uint64_t>(v);
}

void TableReader::read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
  std::string v = out;
  const toml::node* before = table_.get(key);
  read(key, v);
  if (!before || !before->is_string()) return;
  for (auto a : allowed)
    if (a == v) {
      out = v;
      return;
    }
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  problems_.add(before->source(), key_path(key), "must be one of " + list + ", was \"" + v + "\"");
}

void TableReader::read_strings(std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = get(key);
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr) return problems_.add(n->source(), key_path(key), "expected an array of strings, was " + type_name(*n));
  std::vector<std::string> v;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& e = *arr->get(i);
    if (const auto* s = e.as_string())
      v.push_back(s->get());
    else
      problems_.add(e.source(), fmt::format("{}[{}]", key_path(key), i), "expected a string, was " + type_name(e));
  }
  out = std::move(v);
}

void TableReader::read_params(std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                              std::vector<std::pair<std::string, std::string>>* where) {
  table(key, [&](TableReader& t) {
    for (const auto& [k, node] : t.table_) {
      const std::string name(k.str());
      t.seen_.insert(name);
      std::string text;
      if (const auto* s = node.as_string())
        text = s->get();
      else if (const auto* i = node.as_integer())
        text = std::to_string(i->get());
      else if (const auto* f = node.as_floating_point())
        text = format_double(f->get());
      else if (const auto* b = node.as_boolean())
        text = b->get() ? "true" : "false";
      else {
        problems_.add(node.source(), t.key_path(name), "a parameter must be a number, boolean or string, was " +
                                                           type_name(node));
        continue;
      }
      out.emplace_back(name, std::move(text));
      if (where)
        where->emplace_back(name, fmt::format("{}:{}: {}", problems_.file(), node.source().begin.line, t.key_path(name)));
    }
  });
}

void TableReader::table(std::string_view key, const std::function<void(TableReader&)>& fn) {
  const toml::node* n = get(key);
  if (!n) return;
  const auto* t = n->as_table();
  if (!t) return problems_.add(n->source(), key_path(key), "expected a table, was " + type_name(*n));
  TableReader sub(*t, key_path(key), problems_);
  fn(sub);
  sub.finish();
}

void TableReader::tables(std::string_view key, const std::function<void(TableReader&, std::size_t)>& fn) {
  const toml::node* n = get(key);
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables())
    return problems_.add(n->source(), key_path(key),
                         "expected an array of tables ([[" + key_path(key) + "]]), was " + type_name(*n));
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::table* item = arr->get(i) ? arr->get(i)->as_table() : nullptr;
    if (item == nullptr) continue;  // is_array_of_tables() said it is one
    TableReader sub(*item, fmt::format("{}[{}]", key_path(key), i), problems_);
    fn(sub, i);
    sub.finish();
  }
}

void TableReader::finish() {
  for (const auto& [k, node] : table_) {
    if (seen_.count(k.str()) == 0)
      problems_.add(node.source(), key_path(k.str()), "unknown key (see docs/configuration.md)");
  }
}

}  // namespace te::config::detail
