#pragma once
// Scratch files for data tests: te::test::TempDir and friends (tests/support).
#include "tests/support/temp_files.hpp"
