#pragma once
// Module-private helpers over toml++ (never included outside engine/config):
// typed reads that record every problem with its line and key path instead of
// stopping at the first, and unknown-key detection.
#include <toml++/toml.h>

#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace te::config::detail {

class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}
  void add(const toml::source_region& where, const std::string& key_path, const std::string& message);
  void add(const std::string& key_path, const std::string& message);  // no line known
  bool empty() const noexcept { return lines_.empty(); }
  const std::string& file() const noexcept { return file_; }
  std::string text() const;

 private:
  std::string file_;
  std::vector<std::pair<std::uint32_t, std::string>> lines_;  // sorted by line when printed
};

// Reads one table. Keys that are never asked for are reported by finish().
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Problems& problems)
      : table_(table), path_(std::move(path)), problems_(problems) {}

  const std::string& path() const noexcept { return path_; }
  std::string key_path(std::string_view key) const;
  bool has(std::string_view key) const { return table_.contains(key); }

  // Each leaves `out` unchanged when the key is absent; records a problem when
  // the value has the wrong type or is outside the allowed range or set.
  void read(std::string_view key, std::string& out);
  void read(std::string_view key, bool& out);
  void read(std::string_view key, double& out, double min, double max);
  void read(std::string_view key, int& out, long long min, long long max);
  void read(std::string_view key, std::int64_t& out, long long min, long long max);
  void read(std::string_view key, std::uint64_t& out);
  void read_choice(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed);
  void read_strings(std::string_view key, std::vector<std::string>& out);
  // A table of scalars kept as text (strategy params: the strategy checks types).
  // `where` gets "<file>:<line>: <key path>" of each, for the strategy's errors.
  void read_params(std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                   std::vector<std::pair<std::string, std::string>>* where = nullptr);

  // Sub-table / array of tables; the callback reads it.
  void table(std::string_view key, const std::function<void(TableReader&)>& fn);
  void tables(std::string_view key, const std::function<void(TableReader&, std::size_t index)>& fn);

  void problem(std::string_view key, const std::string& message);
  // Reports every key of the table that no read touched.
  void finish();

 private:
  const toml::node* get(std::string_view key);

  const toml::table& table_;
  std::string path_;
  Problems& problems_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace te::config::detail
