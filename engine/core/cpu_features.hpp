#pragma once
// The CPU features the engine's run-time kernel dispatchers test (engine/ta,
// engine/journal, engine/data choose an AVX2 kernel or a baseline one).

namespace te {

// True when the CPU runs AVX2 and the environment variable TE_NO_AVX2 is not
// set to a non-empty value other than "0". TE_NO_AVX2=1 forces every
// dispatcher's baseline kernels on an AVX2 machine, so their tests run on
// both paths (tests/CMakeLists.txt: te_tests_no_avx2); the answers are the
// same bits either way. Read once (the first call; a dispatcher calls it
// where it makes its own once-per-process choice), never per call of a
// kernel. Does not say whether a module was built with its AVX2 kernels.
bool cpu_avx2() noexcept;

}  // namespace te
