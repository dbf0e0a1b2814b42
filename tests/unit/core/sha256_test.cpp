// SHA-256 (engine/core/sha256.hpp) against the FIPS 180-2 test vectors, whole
// and streamed in pieces that cross the 64-byte block boundary.
#include <catch2/catch.hpp>

#include <string>

#include "engine/core/sha256.hpp"
#include "tests/support/temp_files.hpp"

using namespace te;

TEST_CASE("sha256 gives the FIPS 180-2 digests, whole and streamed", "[unit][core]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1'000'000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  CHECK(sha256_hex(million) == expected);
  for (std::size_t piece : {1u, 63u, 64u, 65u, 4096u, 99'999u}) {
    INFO(piece);
    Sha256 h;
    for (std::size_t at = 0; at < million.size(); at += piece) h.update(std::string_view(million).substr(at, piece));
    CHECK(h.hex_digest() == expected);
  }
  test::TempDir dir;
  test::write_file(dir.file("a"), million);
  auto from_file = sha256_file_hex(dir.file("a"));
  REQUIRE(from_file);
  CHECK(*from_file == expected);
}
