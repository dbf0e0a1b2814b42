#pragma once
// A tiny Yahoo-format CSV reader for tests only (Date,Open,High,Low,Close,Adj
// Close,Volume). The product's data loader lives in engine/data.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"
#include "engine/model/bar_series.hpp"

namespace te::test {

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string_view> split_csv_line(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

inline model::BarSeries load_yahoo_csv(const std::string& path) {
  const std::string text = read_text_file(path);
  model::BarSeriesBuilder b;
  std::size_t pos = text.find('\n') + 1;  // skip the header
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto f = split_csv_line(line);
    if (f.size() < 7) throw std::runtime_error("bad row in " + path);
    model::Bar bar;
    const auto ts = parse_iso8601_ns(f[0]);
    if (!ts || !parse_double(f[1], bar.open) || !parse_double(f[2], bar.high) || !parse_double(f[3], bar.low) ||
        !parse_double(f[4], bar.close) || !parse_double(f[6], bar.volume))
      throw std::runtime_error("bad row in " + path + ": " + std::string(line));
    bar.ts_ns = *ts;
    b.push(bar);
  }
  return std::move(b).build("TEST", 1);
}

inline std::string shared_path(const std::string& rel) { return std::string(TE_SHARED_DIR) + "/" + rel; }

}  // namespace te::test
