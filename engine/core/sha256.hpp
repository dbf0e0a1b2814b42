#pragma once
// SHA-256 for reproducibility stamps (strategy, data and config hashes).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/result.hpp"

namespace te {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Lowercase hex digest; the object cannot be updated afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);
// Errors: Errc::io when the file cannot be read.
Result<std::string> sha256_file_hex(const std::string& path);

}  // namespace te
