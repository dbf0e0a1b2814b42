#include "engine/model/refusal_text.hpp"

#include <cstring>
#include <string_view>

#include "engine/core/fmt_short.hpp"
#include "engine/model/order.hpp"

namespace te::model {
namespace {

// The text into a stack buffer by pieces, then one copy: fmt's compiled
// formats through a back_inserter were ~1,100 instructions a text, and the
// activity log writes every refusal twice (report.json and report.html).
// Numbers as fmt's "{}" prints them (format_short).
class Text {
 public:
  Text& operator<<(std::string_view s) noexcept {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  Text& operator<<(double v) {
    p_ = format_short(p_, v);
    return *this;
  }
  void append_to(std::string& out) const { out.append(buf_, static_cast<std::size_t>(p_ - buf_)); }

 private:
  // The longest text: the margin one's 72 literal bytes, six numbers and a side.
  char buf_[128 + 6 * kFmtShortMax];
  char* p_ = buf_;
};

}  // namespace

void append_refusal_text(std::string& out, const RefusalFacts& f) {
  const double* v = f.v;
  Text t;
  switch (f.kind) {
    case RefusalFacts::Kind::None: return;
    case RefusalFacts::Kind::InsufficientCash:
      t << to_string(f.side) << " " << v[0] << " at " << v[1] << " costs " << v[2] << " with commission, cash is "
        << v[3];
      break;
    case RefusalFacts::Kind::InsufficientMargin:
      t << to_string(f.side) << " " << v[0] << " at " << v[1] << " needs margin: equity after would be " << v[2]
        << ", margin required " << v[3] << " (long " << v[4] << ", short " << v[5] << ")";
      break;
    case RefusalFacts::Kind::BelowLot:
      t << "sized quantity is below one lot of " << v[0] << " (equity " << v[1] << ", price " << v[2] << ")";
      break;
    case RefusalFacts::Kind::NotPositive:
      t << "sized quantity must be positive (equity " << v[0] << ", price " << v[1] << ")";
      break;
  }
  t.append_to(out);
}

}  // namespace te::model
