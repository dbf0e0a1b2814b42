#include "engine/model/refusal_text.hpp"

#include <iterator>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "engine/core/fmt_short.hpp"
#include "engine/model/order.hpp"

namespace te::model {

void append_refusal_text(std::string& out, const RefusalFacts& f) {
  // Compiled formats into a stack buffer, then one copy (a string grown piece
  // by piece was most of the cost when these were built per refusal).
  fmt::basic_memory_buffer<char, 256> text;
  auto it = std::back_inserter(text);
  const double* v = f.v;
  switch (f.kind) {
    case RefusalFacts::Kind::None: return;
    case RefusalFacts::Kind::InsufficientCash:
      fmt::format_to(it, FMT_COMPILE("{} {} at {} costs {} with commission, cash is {}"), to_string(f.side),
                     FmtShort{v[0]}, FmtShort{v[1]}, v[2], v[3]);
      break;
    case RefusalFacts::Kind::InsufficientMargin:
      fmt::format_to(it,
                     FMT_COMPILE("{} {} at {} needs margin: equity after would be {}, margin required {} "
                                 "(long {}, short {})"),
                     to_string(f.side), FmtShort{v[0]}, FmtShort{v[1]}, v[2], v[3], v[4], v[5]);
      break;
    case RefusalFacts::Kind::BelowLot:
      fmt::format_to(it, FMT_COMPILE("sized quantity is below one lot of {} (equity {}, price {})"), FmtShort{v[0]},
                     v[1], FmtShort{v[2]});
      break;
    case RefusalFacts::Kind::NotPositive:
      fmt::format_to(it, FMT_COMPILE("sized quantity must be positive (equity {}, price {})"), v[0], v[1]);
      break;
  }
  out.append(text.data(), text.size());
}

}  // namespace te::model
