#pragma once
// A bar as the strategy's views read it (te_bar in te_ffi_decls.h): one field
// list for the frame's current bar, history reads and aggregated bars.
#include "engine/core/time.hpp"
#include "engine/model/bar.hpp"
#include "engine/script/te_ffi.h"

namespace te::script {

inline void copy_bar(const model::Bar& b, te_bar& out) noexcept {
  out.time_ms = static_cast<double>(b.ts_ns / kNsPerMs);
  out.open = b.open;
  out.high = b.high;
  out.low = b.low;
  out.close = b.close;
  out.volume = b.volume;
  out.bid = b.bid;
  out.ask = b.ask;
  out.bid_size = b.bid_size;
  out.ask_size = b.ask_size;
}

}  // namespace te::script
