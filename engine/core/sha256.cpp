#include "engine/core/sha256.hpp"

// The one-shot SHA-256 functions, not EVP: EVP's first use initialises
// OpenSSL's library context (reads openssl.cnf, loads the default provider,
// fetches the digest), ~3 ms of a backtest's start for a few hashes; these
// run the same assembly (SHA extensions where the CPU has them) with no set-up.
// Deprecated in OpenSSL 3 for new code, kept by it for exactly this use.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace te {

struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  TE_ASSERT(SHA256_Init(&impl_->ctx) == 1, "sha256 init failed");
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
  TE_ASSERT(SHA256_Update(&impl_->ctx, data, size) == 1, "sha256 update failed");
}

std::string Sha256::hex_digest() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  const unsigned len = SHA256_DIGEST_LENGTH;
  TE_ASSERT(SHA256_Final(md, &impl_->ctx) == 1, "sha256 final failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

Result<std::string> sha256_file_hex(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(Errc::io, "open " + path + ": " + std::strerror(errno));
  Sha256 h;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) h.update(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return make_error(Errc::io, "read " + path + ": " + std::strerror(errno));
  return h.hex_digest();
}

}  // namespace te
