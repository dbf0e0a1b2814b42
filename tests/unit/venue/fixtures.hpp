#pragma once
// Reads the shared Binance payload samples (../shared/binance/*.json).
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "engine/venue/binance/parse.hpp"

namespace te::venue::binance::test {

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string shared_sample(const std::string& name) {
  return read_text_file(std::string(TE_SHARED_DIR) + "/binance/" + name);
}

// The JSON text at `pointer` inside a shared sample file.
inline std::string sample_member(const std::string& file, const std::string& pointer) {
  auto r = json_at_pointer(shared_sample(file), pointer);
  INFO(file << pointer);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace te::venue::binance::test
