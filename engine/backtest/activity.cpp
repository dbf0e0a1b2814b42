#include "engine/backtest/activity.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>

#include "engine/core/numbers.hpp"
#include "engine/core/time.hpp"

namespace te::backtest {
namespace {

// Order ids of one exchange are small consecutive numbers; anything far beyond
// the rows kept is not indexed (its events are then not recorded).
constexpr model::OrderId kMaxIndexedId = 4 * kMaxActivityRows;

}  // namespace

std::string_view ActivityLog::intern(std::string_view text) {
  if (text.empty()) return {};
  if (text == last_interned_) return last_interned_;
  auto it = texts_->find(text);
  if (it == texts_->end()) it = texts_->emplace(text).first;
  last_interned_ = *it;
  return last_interned_;
}

std::string_view ActivityLog::keep(std::string_view text, bool repeats) {
  if (text.empty()) return {};
  if (repeats)
    for (std::string_view r : recent_kept_)
      if (r == text) return r;
  TextBlocks& k = *kept_;
  if (k.left < text.size()) {
    // Blocks of 64 KiB, each twice the last up to 4 MiB (a longer text gets a
    // block of its own size): few large requests, since every request above
    // 1 KiB makes glibc consolidate its fastbins, full of the Lua VM's garbage
    // (~290,000 instructions each time; 64 KiB blocks did it every ~1,000 messages).
    constexpr std::size_t kFirst = 64 * 1024, kMax = 4 * 1024 * 1024;
    k.block = k.blocks.empty() ? kFirst : std::min(kMax, 2 * k.block);
    const std::size_t n = std::max(k.block, text.size());
    k.blocks.push_back(std::make_unique_for_overwrite<char[]>(n));
    k.next = k.blocks.back().get();
    k.left = n;
  }
  char* at = k.next;
  std::memcpy(at, text.data(), text.size());
  k.next += text.size();
  k.left -= text.size();
  const std::string_view kept(at, text.size());
  if (repeats) {
    recent_kept_[recent_next_] = kept;
    recent_next_ = (recent_next_ + 1) % kRecentKept;
  }
  return kept;
}

OrderRecord* ActivityLog::find(model::OrderId id) {
  if (id == 0 || id >= index_.size() || index_[id] == 0) return nullptr;
  return &orders[index_[id] - 1];
}

void ActivityLog::order_event(std::int64_t now_ns, const model::Order& o, std::string_view reason,
                              const model::Fill* fill, const model::Rejection* rejection) {
  OrderRecord* rec = find(o.id);
  if (rec == nullptr) {
    if (orders.size() >= kMaxActivityRows || o.id == 0 || o.id > kMaxIndexedId) {
      // Count each dropped order once: on its first event.
      if (o.id > 0 && (o.id >= index_.size() || index_[o.id] == 0)) {
        if (o.id < kMaxIndexedId && o.id >= index_.size()) index_.resize(o.id + 1, 0);
        ++orders_dropped;
      }
      return;
    }
    const std::string_view tag = keep(o.tag, true);
    OrderRecord& r = orders.emplace_back();  // filled in place (see ChunkedRows::emplace_back)
    r.id = o.id;
    r.side = o.side;
    r.type = o.type;
    r.purpose = o.purpose;
    r.qty = o.qty;
    r.limit_price = o.limit_price;
    r.stop_price = o.stop_price;
    r.submitted_ns = o.submitted_ns;
    r.tag = tag;
    if (index_.size() <= o.id) index_.resize(o.id + 1, 0);
    index_[o.id] = orders.size();
    rec = &r;
  }
  const model::OrderStatus before = rec->status;
  OrderStep step;
  step.ts_ns = now_ns;
  if (fill != nullptr) {
    step.ts_ns = fill->ts_ns;
    step.event = o.status == model::OrderStatus::Filled ? "filled" : "partially_filled";
    step.qty = fill->qty;
    step.price = fill->price;
    rec->commission += fill->commission;
  } else if (rejection != nullptr) {
    step.ts_ns = rejection->ts_ns;
    step.event = "rejected";
    step.qty = o.remaining();
    step.reason = intern(rejection->code);
    add_rejection(*rejection, step.reason, "exchange", o.side, o.purpose, o.remaining());
  } else if (o.status == model::OrderStatus::Accepted && before == model::OrderStatus::Submitted) {
    step.ts_ns = o.submitted_ns;
    step.event = "accepted";
    step.qty = o.qty;
  } else if (o.status == model::OrderStatus::Cancelled) {
    step.event = "cancelled";
    step.qty = o.remaining();
    step.reason = intern(reason);
  } else if (o.status == model::OrderStatus::Expired) {
    step.event = "expired";
    step.qty = o.remaining();
    step.reason = intern(reason);
  } else {
    step.event = "amended";
    step.qty = o.qty;
    step.price = o.type == model::OrderType::Limit ? o.limit_price : o.stop_price;
    step.reason = intern(reason);
  }
  rec->status = o.status;
  rec->qty = o.qty;
  rec->limit_price = o.limit_price;
  rec->stop_price = o.stop_price;
  rec->filled_qty = o.filled_qty;
  rec->avg_fill_price = o.avg_fill_price;
  if (model::is_terminal(o.status) && rec->closed_ns == 0) {
    rec->closed_ns = step.ts_ns;
    rec->reason = step.reason;
  }
  if (rec->steps.size() < kMaxOrderSteps - 1 || model::is_terminal(o.status))
    rec->steps.push_back(step);
  else
    ++rec->steps_dropped;
}

void ActivityLog::add_rejection(const model::Rejection& r, std::string_view code, std::string_view source,
                                model::Side side, model::OrderPurpose purpose, double qty) {
  if (rejections.size() >= kMaxActivityRows) {
    ++rejections_dropped;
    return;
  }
  // The row is built where it lies, each field written once (default-made and
  // then assigned, its ~130 bytes were written twice per refusal).
  if (r.pending().kind != model::RefusalFacts::Kind::None) {
    rejections.emplace_back(r.ts_ns, r.order, source, code, std::string_view(), side, purpose, qty, r.pending());
    return;  // the message is formatted from the facts when written
  }
  const std::string_view message = keep(r.text(), false);
  rejections.emplace_back(r.ts_ns, r.order, source, code, message, side, purpose, qty);
}

void ActivityLog::risk_decision(const risk::Decision& d) {
  if (d.approved && d.code.empty()) {
    ++risk_approved;
    return;
  }
  if (!d.approved) {
    if (rejections.size() >= kMaxActivityRows) {
      ++rejections_dropped;
    } else {
      RejectionRecord x;
      x.ts_ns = d.ts_ns;
      x.source = "risk";
      x.code = intern(d.code);
      x.message = keep(d.message, false);
      x.side = d.side;
      x.purpose = d.purpose;
      x.qty = d.requested_qty;
      rejections.push_back(std::move(x));
    }
  }
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = d.ts_ns;
  e.kind = d.approved ? "scaled" : "denied";
  e.code = d.code;
  e.state = std::string(risk::to_string(d.state));
  e.message = d.message;
  e.requested_qty = d.requested_qty;
  e.approved_qty = d.approved ? d.approved_qty : 0;
  risk_events.push_back(std::move(e));
}

void ActivityLog::stormguard(const risk::StormGuardChange& c) {
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = c.ts_ns;
  e.kind = "stormguard";
  e.code = std::string(risk::to_string(c.transition.event));
  e.state = std::string(risk::to_string(c.transition.to));
  e.message = std::string(c.account ? "account: " : "strategy: ") + std::string(risk::to_string(c.transition.from)) +
              " -> " + std::string(risk::to_string(c.transition.to)) + (c.reason.empty() ? "" : ", " + c.reason);
  risk_events.push_back(std::move(e));
}

void ActivityLog::kill_switch(const risk::KillSwitchEvent& k) {
  if (risk_events.size() >= kMaxActivityRows) {
    ++risk_events_dropped;
    return;
  }
  RiskEventRecord e;
  e.ts_ns = k.ts_ns;
  e.kind = "kill_switch";
  e.code = k.engaged ? "engaged" : "released";
  e.message = k.reason;
  risk_events.push_back(std::move(e));
}

void ActivityLog::strategy_error(std::int64_t now_ns, const script::StrategyError& err, int consecutive, bool fatal) {
  if (strategy_errors.size() >= kMaxActivityRows) {
    ++strategy_errors_dropped;
    return;
  }
  StrategyErrorRecord e;
  e.ts_ns = now_ns;
  e.callback = err.callback;
  e.message = err.message;
  e.consecutive = consecutive;
  e.fatal = fatal;
  strategy_errors.push_back(std::move(e));
}

namespace {

// The rows are rendered straight into text instead of token by token through
// JsonWriter: a long run has tens of thousands of orders and rejections, and
// report.json and report.html each print all of them, so the writer's work per
// token (every key escaped again, a state check and a computed newline per
// value) was most of the time spent on both files. The text is exactly what
// JsonWriter would write at the same place (activity_json_test.cpp).
//
// A row is written through a raw pointer into a buffer sized for it first
// (RowText::room), not appended piece by piece to a string: the appends' length
// checks and one memcpy call per piece (~40 per order) were half the cost.
// Short pieces (key prefixes, numbers, times) are copied as fixed 32-byte
// blocks, which compile to two vector moves; the room asked for covers the
// overshoot (kSlack).

constexpr std::size_t kSlack = 64;  // beyond the last byte a row can write: fixed-size copies may overshoot
constexpr std::size_t kBlock = 32;  // the fixed copy

// A piece of constant text (a key with its comma, line break and indentation).
class Piece {
 public:
  Piece() = default;
  explicit Piece(std::string text) : text_(std::move(text)) {
    if (text_.size() <= kBlock) std::memcpy(block_, text_.data(), text_.size());
  }
  char* put(char* p) const noexcept {
    if (text_.size() <= kBlock) std::memcpy(p, block_, kBlock);
    else std::memcpy(p, text_.data(), text_.size());
    return p + text_.size();
  }
  std::size_t size() const noexcept { return text_.size(); }

 private:
  std::string text_;
  char block_[kBlock] = {};
};

class RowLayout {
 public:
  // A row is a value of an array at `depth` of a writer with `indent`.
  RowLayout(int indent, std::size_t depth) : colon_(indent > 0 ? ": " : ":") {
    for (std::size_t level = 0; level < kLevels; ++level) {
      if (indent > 0) nl_text_[level].assign(1, '\n').append((depth + level) * static_cast<std::size_t>(indent), ' ');
      nl_[level] = Piece(nl_text_[level]);
      comma_nl_[level] = Piece("," + nl_text_[level]);
    }
  }

  // The text before each key's value, for an object at `level` below the row
  // (0: the row itself): the comma, the line break and indentation, the key.
  std::vector<Piece> keys(std::initializer_list<std::string_view> names, std::size_t level = 0) const {
    std::vector<Piece> out;
    for (std::string_view name : names) {
      std::string k;
      if (!out.empty()) k += ',';
      k += nl_text_[level + 1];
      JsonWriter::append_escaped(k, name);
      k += colon_;
      out.emplace_back(std::move(k));
    }
    return out;
  }
  static std::size_t total(const std::vector<Piece>& keys) {
    std::size_t n = 0;
    for (const Piece& k : keys) n += k.size();
    return n;
  }

  // The line break and indentation before an element (or closing bracket) at
  // `level`, without and with a comma before it.
  const Piece& nl(std::size_t level) const { return nl_[level]; }
  const Piece& comma_nl(std::size_t level) const { return comma_nl_[level]; }

 private:
  static constexpr std::size_t kLevels = 4;  // row, its fields, steps, a step's fields
  std::string nl_text_[kLevels];
  Piece nl_[kLevels];
  Piece comma_nl_[kLevels];
  std::string colon_;
};

// The buffer a row is rendered into, reused from row to row.
class RowText {
 public:
  // At least `n` + kSlack writable bytes after what the row already holds.
  char* room(std::size_t n) {
    if (cap_ - used_ < n + kSlack) {
      const std::size_t cap = std::max(2 * cap_, used_ + n + kSlack);
      auto bigger = std::make_unique_for_overwrite<char[]>(cap);
      if (used_ > 0) std::memcpy(bigger.get(), buf_.get(), used_);
      buf_ = std::move(bigger);
      cap_ = cap;
    }
    return buf_.get() + used_;
  }
  void commit(const char* end) noexcept { used_ = static_cast<std::size_t>(end - buf_.get()); }
  void clear() noexcept { used_ = 0; }
  std::string_view view() const noexcept { return {buf_.get(), used_}; }

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, used_ = 0;
};

// Room a string field can take: quotes and, at worst, 6 bytes per byte
// ("\u001f", or "\ufffd" for a byte that is not UTF-8).
constexpr std::size_t str_room(std::string_view s) { return 6 * s.size() + 2; }
constexpr std::size_t kNumRoom = kBlock;   // format_double writes at most 32 bytes; "null"
constexpr std::size_t kTimeRoom = 48;      // quotes and an ISO-8601 time (at most 40)
constexpr std::size_t kWordRoom = kBlock;  // a quoted enum name, "null", "true", an integer

char* put_lit(char* p, std::string_view lit) noexcept {  // short literals only ("null", "[" ...)
  std::memcpy(p, lit.data(), lit.size());
  return p + lit.size();
}

char* put_uint(char* p, std::uint64_t v) noexcept { return std::to_chars(p, p + 24, v).ptr; }
char* put_int(char* p, std::int64_t v) noexcept { return std::to_chars(p, p + 24, v).ptr; }

char* put_num(char* p, double v) noexcept {
  if (!std::isfinite(v)) return put_lit(p, "null");
  const std::size_t n = format_double(v, p);
  return p + n;
}

// Prices that do not apply (0: no limit, no stop, no fill) are null.
char* put_price(char* p, double v) noexcept { return v == 0 ? put_lit(p, "null") : put_num(p, v); }

char* put_time(char* p, std::int64_t ts_ns, Iso8601Writer& time) noexcept {
  if (ts_ns == 0) return put_lit(p, "null");
  *p++ = '"';
  p += time.write(p, ts_ns);
  *p++ = '"';
  return p;
}

// A name from the model's enums (to_string): plain ASCII, shorter than 30 bytes.
char* put_name(char* p, std::string_view name) noexcept {
  *p = '"';
  std::memcpy(p + 1, name.data(), name.size());
  p[1 + name.size()] = '"';
  return p + name.size() + 2;
}

// Any other string: copied as is when nothing needs escaping (nearly always),
// else escaped by the writer's own function.
char* put_str(char* p, std::string_view s) {
  if (JsonWriter::is_plain(s)) {
    *p++ = '"';
    std::memcpy(p, s.data(), s.size());
    p += s.size();
    *p++ = '"';
    return p;
  }
  std::string escaped;
  JsonWriter::append_escaped(escaped, s);
  std::memcpy(p, escaped.data(), escaped.size());
  return p + escaped.size();
}

void order_row(RowText& out, const OrderRecord& o, const RowLayout& l, const std::vector<Piece>& k,
               std::size_t keys_size, Iso8601Writer& time) {
  std::size_t need = 1 + keys_size + 8 * kNumRoom + 2 * kTimeRoom + 6 * kWordRoom + str_room(o.tag) +
                     str_room(o.reason) + 1 + l.nl(1).size() + l.nl(0).size() + 2;
  const std::size_t step_fixed =
      l.comma_nl(2).size() + 1 + 5 * (l.comma_nl(3).size()) + kTimeRoom + 2 * kNumRoom + l.nl(2).size() + 1;
  for (const OrderStep& s : o.steps) need += step_fixed + str_room(s.event) + str_room(s.reason);
  char* p = out.room(need);
  *p++ = '{';
  p = k[0].put(p), p = put_uint(p, o.id);
  p = k[1].put(p), p = put_name(p, model::to_string(o.side));
  p = k[2].put(p), p = put_name(p, model::to_string(o.type));
  p = k[3].put(p), p = put_name(p, model::to_string(o.purpose));
  p = k[4].put(p), p = put_num(p, o.qty);
  p = k[5].put(p), p = put_price(p, o.limit_price);
  p = k[6].put(p), p = put_price(p, o.stop_price);
  p = k[7].put(p), p = put_time(p, o.submitted_ns, time);
  p = k[8].put(p), p = put_str(p, o.tag);
  p = k[9].put(p), p = put_name(p, model::to_string(o.status));
  p = k[10].put(p), p = put_num(p, o.filled_qty);
  p = k[11].put(p), p = put_price(p, o.avg_fill_price);
  p = k[12].put(p), p = put_num(p, o.commission);
  p = k[13].put(p), p = put_time(p, o.closed_ns, time);
  p = k[14].put(p), p = put_str(p, o.reason);
  p = k[15].put(p), p = put_uint(p, o.steps_dropped);
  p = k[16].put(p);
  *p++ = '[';
  // A step is an array: [time, event, qty, price, reason].
  for (std::size_t i = 0; i < o.steps.size(); ++i) {
    const OrderStep& s = o.steps[i];
    p = (i > 0 ? l.comma_nl(2) : l.nl(2)).put(p);
    *p++ = '[';
    const Piece& first = l.nl(3);
    const Piece& next = l.comma_nl(3);
    p = first.put(p), p = put_time(p, s.ts_ns, time);
    p = next.put(p), p = put_str(p, s.event);
    p = next.put(p), p = put_num(p, s.qty);
    p = next.put(p), p = put_price(p, s.price);
    p = next.put(p), p = put_str(p, s.reason);
    p = l.nl(2).put(p);
    *p++ = ']';
  }
  if (!o.steps.empty()) p = l.nl(1).put(p);
  *p++ = ']';
  p = l.nl(0).put(p);
  *p++ = '}';
  out.commit(p);
}

void rejection_row(RowText& out, const RejectionRecord& r, const RowLayout& l, const std::vector<Piece>& k,
                   std::size_t keys_size, Iso8601Writer& time) {
  thread_local std::string built;  // a refusal kept as numbers: its text, built now
  const std::string_view message = r.text(built);
  char* p = out.room(2 + keys_size + kTimeRoom + 2 * kNumRoom + 2 * kWordRoom + str_room(r.source) +
                     str_room(r.code) + str_room(message) + l.nl(0).size());
  *p++ = '{';
  p = k[0].put(p), p = put_time(p, r.ts_ns, time);
  p = k[1].put(p);
  p = r.order == 0 ? put_lit(p, "null") : put_uint(p, r.order);
  p = k[2].put(p), p = put_str(p, r.source);
  p = k[3].put(p), p = put_str(p, r.code);
  p = k[4].put(p), p = put_str(p, message);
  if (r.source == "runner") {
    p = k[5].put(p), p = put_lit(p, "null");
    p = k[6].put(p), p = put_lit(p, "null");
    p = k[7].put(p), p = put_lit(p, "null");
  } else {
    p = k[5].put(p), p = put_name(p, model::to_string(r.side));
    p = k[6].put(p), p = put_name(p, model::to_string(r.purpose));
    p = k[7].put(p), p = put_num(p, r.qty);
  }
  p = l.nl(0).put(p);
  *p++ = '}';
  out.commit(p);
}

void risk_event_row(RowText& out, const RiskEventRecord& e, const RowLayout& l, const std::vector<Piece>& k,
                    std::size_t keys_size, Iso8601Writer& time) {
  char* p = out.room(2 + keys_size + kTimeRoom + 2 * kNumRoom + str_room(e.kind) + str_room(e.code) +
                     str_room(e.state) + str_room(e.message) + l.nl(0).size());
  *p++ = '{';
  p = k[0].put(p), p = put_time(p, e.ts_ns, time);
  p = k[1].put(p), p = put_str(p, e.kind);
  p = k[2].put(p), p = put_str(p, e.code);
  p = k[3].put(p), p = put_str(p, e.state);
  p = k[4].put(p), p = put_str(p, e.message);
  const bool decision = e.kind == "denied" || e.kind == "scaled";
  p = k[5].put(p);
  p = decision ? put_num(p, e.requested_qty) : put_lit(p, "null");
  p = k[6].put(p);
  p = decision ? put_num(p, e.approved_qty) : put_lit(p, "null");
  p = l.nl(0).put(p);
  *p++ = '}';
  out.commit(p);
}

void strategy_error_row(RowText& out, const StrategyErrorRecord& e, const RowLayout& l, const std::vector<Piece>& k,
                        std::size_t keys_size, Iso8601Writer& time) {
  char* p = out.room(2 + keys_size + kTimeRoom + 2 * kWordRoom + str_room(e.callback) + str_room(e.message) +
                     l.nl(0).size());
  *p++ = '{';
  p = k[0].put(p), p = put_time(p, e.ts_ns, time);
  p = k[1].put(p), p = put_str(p, e.callback);
  p = k[2].put(p), p = put_str(p, e.message);
  p = k[3].put(p), p = put_int(p, e.consecutive);
  p = k[4].put(p), p = put_lit(p, e.fatal ? std::string_view("true") : std::string_view("false"));
  p = l.nl(0).put(p);
  *p++ = '}';
  out.commit(p);
}

// One array of rows: `render(text, row, layout, keys, keys_size)` writes a row's text.
template <class Rows, class Render>
void row_array(JsonWriter& j, std::string_view key, const Rows& rows, std::initializer_list<std::string_view> names,
               Render render) {
  j.key(key).begin_array();
  const RowLayout layout(j.indent(), j.depth());
  const std::vector<Piece> keys = layout.keys(names);
  const std::size_t keys_size = RowLayout::total(keys);
  RowText text;
  for (const auto& row : rows) {
    text.clear();
    render(text, row, layout, keys, keys_size);
    j.raw_value(text.view());
  }
  j.end_array();
}

}  // namespace

void write_activity_json(JsonWriter& j, const ActivityLog& a, bool date_only) {
  j.begin_object();
  j.field("orders_total", static_cast<std::uint64_t>(a.orders.size() + a.orders_dropped));
  j.field("orders_dropped", static_cast<std::uint64_t>(a.orders_dropped));
  j.field("rejections_dropped", static_cast<std::uint64_t>(a.rejections_dropped));
  j.field("risk_events_dropped", static_cast<std::uint64_t>(a.risk_events_dropped));
  j.field("strategy_errors_dropped", static_cast<std::uint64_t>(a.strategy_errors_dropped));
  j.field("risk_approved", static_cast<std::uint64_t>(a.risk_approved));
  Iso8601Writer time(date_only);
  row_array(j, "orders", a.orders,
            {"id", "side", "type", "purpose", "qty", "limit_price", "stop_price", "submitted", "tag", "status",
             "filled_qty", "avg_fill_price", "commission", "closed", "reason", "steps_dropped", "steps"},
            [&](RowText& out, const OrderRecord& o, const RowLayout& l, const std::vector<Piece>& k, std::size_t n) {
              order_row(out, o, l, k, n, time);
            });
  row_array(j, "rejections", a.rejections, {"time", "order", "source", "code", "message", "side", "purpose", "qty"},
            [&](RowText& out, const RejectionRecord& r, const RowLayout& l, const std::vector<Piece>& k,
                std::size_t n) { rejection_row(out, r, l, k, n, time);
            });
  row_array(j, "risk_events", a.risk_events,
            {"time", "kind", "code", "state", "message", "requested_qty", "approved_qty"},
            [&](RowText& out, const RiskEventRecord& e, const RowLayout& l, const std::vector<Piece>& k,
                std::size_t n) { risk_event_row(out, e, l, k, n, time);
            });
  row_array(j, "strategy_errors", a.strategy_errors, {"time", "callback", "message", "consecutive", "fatal"},
            [&](RowText& out, const StrategyErrorRecord& e, const RowLayout& l, const std::vector<Piece>& k,
                std::size_t n) { strategy_error_row(out, e, l, k, n, time);
            });
  j.end_object();
}

}  // namespace te::backtest
