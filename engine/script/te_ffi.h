#pragma once
// C++ side of te_ffi_decls.h (see there). Standard-layout PODs only.
#include <cstddef>
#include <cstdint>
#include <type_traits>

extern "C" {
#include "engine/script/te_ffi_decls.h"
}

namespace te::script {

enum ActionKind : std::int32_t {
  kActNone = 0,
  kActSetup = 1,       // detect_opportunity found a setup
  kActAbandon = 2,     // filter_commitment gave up
  kActEnterLong = 3,
  kActEnterShort = 4,
  kActExit = 5,
  kActAdjust = 6,      // move stop/target/trail of the position, or amend a working entry
  kActCancelEntry = 7, // cancel working entry orders
};

enum ActionFlags : std::int32_t {
  kActFlagStopToBreakeven = 1,
};

enum ApiCode : std::int32_t {
  kTeOk = 0,
  kTeInvalid = -1,   // bad argument
  kTeBadContext = -2,
  kTeDenied = -3,
  kTeLimit = -4,
  kTeInternal = -5,
};

// Step code asking the prelude's batch loop to export ctx into te_api.ctx_buf
// (callbacks are 1..3; <= 0 leaves the loop). The prelude's results:
inline constexpr std::int32_t kStepExportCtx = 4;
inline constexpr std::int32_t kCtxExportUnsupported = 0;  // the host's walker must judge this ctx
inline constexpr std::int32_t kCtxExportTooBig = -1;      // did not fit in ctx_cap bytes

static_assert(std::is_standard_layout_v<te_frame> && std::is_trivially_copyable_v<te_frame>);
static_assert(sizeof(te_bar) == 10 * sizeof(double));
static_assert(offsetof(te_frame, action) % 8 == 0);

}  // namespace te::script
