#include "engine/venue/binance/parse.hpp"

#include <fmt/core.h>
#include <simdjson.h>

#include <cstring>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/interval.hpp"

namespace te::venue::binance {
namespace {

namespace dom = simdjson::dom;

std::string_view type_name(dom::element_type t) noexcept {
  switch (t) {
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return "integer";
    case dom::element_type::DOUBLE: return "number";
    case dom::element_type::STRING: return "string";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

// A short, printable excerpt of external text for error messages.
std::string excerpt(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Binance event objects use one-letter keys. Collecting the wanted ones in a
// single pass over the object is several times cheaper than one linear at_key()
// scan per field (the first occurrence wins, as with at_key()).
class OneLetterFields {
 public:
  explicit OneLetterFields(std::string_view keys) : keys_(keys) {}  // at most 16 keys
  void collect(dom::object o) noexcept {
    for (dom::key_value_pair kv : o) {
      if (kv.key.size() != 1) continue;
      const auto pos = keys_.find(kv.key[0]);
      if (pos == std::string_view::npos || (have_ >> pos & 1u) != 0) continue;
      slot_[pos] = kv.value;
      have_ |= 1u << pos;
    }
  }
  bool get(char key, dom::element& out) const noexcept {
    const auto pos = keys_.find(key);
    if (pos == std::string_view::npos || (have_ >> pos & 1u) == 0) return false;
    out = slot_[pos];
    return true;
  }

 private:
  std::string_view keys_;
  std::uint32_t have_ = 0;
  dom::element slot_[16];
};

// Reads typed fields and remembers the first problem (kind + message).
class Reader {
 public:
  // The message prefix is `what` followed by an excerpt of `detail` (formatted only
  // on failure, so the happy path does not allocate).
  explicit Reader(std::string_view what, std::string_view detail = {}) : what_(what), detail_(detail) {}

  bool fail(Malformed kind, std::string message) {
    if (!failed_) {
      failed_ = true;
      kind_ = kind;
      message_ = fmt::format("{}{}: {}", what_, excerpt(detail_, 64), message);
    }
    return false;
  }
  bool failed() const noexcept { return failed_; }
  Malformed kind() const noexcept { return kind_; }
  std::string& message() noexcept { return message_; }

  bool object(dom::element e, std::string_view path, dom::object& out) {
    if (e.get_object().get(out) == simdjson::SUCCESS) return true;
    return wrong(path, "object", e);
  }
  bool array(dom::element e, std::string_view path, dom::array& out) {
    if (e.get_array().get(out) == simdjson::SUCCESS) return true;
    return wrong(path, "array", e);
  }
  bool field(dom::object o, std::string_view key, std::string_view path, dom::element& out) {
    if (o.at_key(key).get(out) == simdjson::SUCCESS) return true;
    return fail(Malformed::MissingField, fmt::format("missing field {}", path));
  }
  bool has(dom::object o, std::string_view key) {
    dom::element e;
    return o.at_key(key).get(e) == simdjson::SUCCESS;
  }

  bool str(dom::element e, std::string_view path, std::string_view& out) {
    if (e.get_string().get(out) == simdjson::SUCCESS) return true;
    return wrong(path, "string", e);
  }
  bool i64(dom::element e, std::string_view path, std::int64_t& out) {
    const auto t = e.type();
    if (t == dom::element_type::INT64 || t == dom::element_type::UINT64) {
      if (e.get_int64().get(out) == simdjson::SUCCESS) return true;
      return fail(Malformed::BadValue, fmt::format("field {}: integer out of range", path));
    }
    return wrong(path, "integer", e);
  }
  bool boolean(dom::element e, std::string_view path, bool& out) {
    if (e.get_bool().get(out) == simdjson::SUCCESS) return true;
    return wrong(path, "boolean", e);
  }
  // Binance sends prices and quantities as decimal strings ("0.01634790").
  bool decimal(dom::element e, std::string_view path, double& out, std::string_view* text = nullptr) {
    std::string_view s;
    if (!str(e, path, s)) {
      // Rewrite the generic "expected string" into the more useful wording.
      message_ = fmt::format("{}{}: field {}: expected a decimal string, was {}", what_, excerpt(detail_, 64), path,
                             type_name(e.type()));
      return false;
    }
    if (!te::parse_double(s, out) || out < 0) {
      return fail(Malformed::BadValue,
                  fmt::format("field {}: expected a non-negative decimal, was \"{}\"", path, excerpt(s)));
    }
    if (text) *text = s;
    return true;
  }

  // Field shortcuts on collected one-letter fields.
  bool field(const OneLetterFields& f, char key, std::string_view path, dom::element& out) {
    if (f.get(key, out)) return true;
    return fail(Malformed::MissingField, fmt::format("missing field {}", path));
  }
  bool str(const OneLetterFields& f, char key, std::string_view path, std::string_view& out) {
    dom::element e;
    return field(f, key, path, e) && str(e, path, out);
  }
  bool i64(const OneLetterFields& f, char key, std::string_view path, std::int64_t& out) {
    dom::element e;
    return field(f, key, path, e) && i64(e, path, out);
  }
  bool boolean(const OneLetterFields& f, char key, std::string_view path, bool& out) {
    dom::element e;
    return field(f, key, path, e) && boolean(e, path, out);
  }
  bool decimal(const OneLetterFields& f, char key, std::string_view path, double& out) {
    dom::element e;
    return field(f, key, path, e) && decimal(e, path, out);
  }
  // Optional fields: absent is fine, present must be well-typed.
  bool opt_i64(const OneLetterFields& f, char key, std::string_view path, std::int64_t& out) {
    dom::element e;
    return !f.get(key, e) || i64(e, path, out);
  }
  bool opt_decimal(const OneLetterFields& f, char key, std::string_view path, double& out) {
    dom::element e;
    return !f.get(key, e) || decimal(e, path, out);
  }

  // Field shortcuts on an object.
  bool str(dom::object o, std::string_view key, std::string_view path, std::string_view& out) {
    dom::element e;
    return field(o, key, path, e) && str(e, path, out);
  }
  bool i64(dom::object o, std::string_view key, std::string_view path, std::int64_t& out) {
    dom::element e;
    return field(o, key, path, e) && i64(e, path, out);
  }
  bool boolean(dom::object o, std::string_view key, std::string_view path, bool& out) {
    dom::element e;
    return field(o, key, path, e) && boolean(e, path, out);
  }
  bool decimal(dom::object o, std::string_view key, std::string_view path, double& out) {
    dom::element e;
    return field(o, key, path, e) && decimal(e, path, out);
  }
  bool object(dom::object o, std::string_view key, std::string_view path, dom::object& out) {
    dom::element e;
    return field(o, key, path, e) && object(e, path, out);
  }

 private:
  bool wrong(std::string_view path, std::string_view expected, dom::element e) {
    if (path.empty()) {
      return fail(Malformed::WrongType, fmt::format("expected {}, was {}", expected, type_name(e.type())));
    }
    return fail(Malformed::WrongType,
                fmt::format("field {}: expected {}, was {}", path, expected, type_name(e.type())));
  }

  std::string_view what_;
  std::string_view detail_;
  bool failed_ = false;
  Malformed kind_ = Malformed::BadJson;
  std::string message_;
};

// Open times become nanosecond bar times (open_time_ms * 1e6, which overflows
// int64 after year 2262) and must be readable back from the CSVs the engine
// writes (years up to 2261). Audit: a kline stamped 2^62 ms overflowed.
constexpr std::int64_t kMaxOpenTimeMs = 9'214'646'399'999;  // 2261-12-31T23:59:59.999Z
constexpr const char* kOpenTimeRangeText = "0 .. 9214646399999 ms (1970 to the end of 2261)";
bool open_time_in_range(std::int64_t ms) noexcept { return ms >= 0 && ms <= kMaxOpenTimeMs; }

bool read_kline(Reader& r, dom::object k, Kline& out) {
  OneLetterFields f("tTsiohlcvxnqVQ");
  f.collect(k);
  std::string_view sym, iv;
  if (!r.i64(f, 't', "k.t", out.open_time_ms) || !r.i64(f, 'T', "k.T", out.close_time_ms) ||
      !r.str(f, 's', "k.s", sym) || !r.str(f, 'i', "k.i", iv) || !r.decimal(f, 'o', "k.o", out.open) ||
      !r.decimal(f, 'h', "k.h", out.high) || !r.decimal(f, 'l', "k.l", out.low) ||
      !r.decimal(f, 'c', "k.c", out.close) || !r.decimal(f, 'v', "k.v", out.volume) ||
      !r.boolean(f, 'x', "k.x", out.closed)) {
    return false;
  }
  // Present in every documented event; optional here because bars do not need them.
  out.trades = 0;
  out.quote_volume = out.taker_buy_base_volume = out.taker_buy_quote_volume = 0;
  if (!r.opt_i64(f, 'n', "k.n", out.trades) || !r.opt_decimal(f, 'q', "k.q", out.quote_volume) ||
      !r.opt_decimal(f, 'V', "k.V", out.taker_buy_base_volume) ||
      !r.opt_decimal(f, 'Q', "k.Q", out.taker_buy_quote_volume)) {
    return false;
  }
  out.symbol.assign(sym);
  out.interval.assign(iv);
  if (!open_time_in_range(out.open_time_ms)) {
    return r.fail(Malformed::BadValue, fmt::format("field k.t: open time {} is outside {}", out.open_time_ms,
                                                   kOpenTimeRangeText));
  }
  if (out.close_time_ms < out.open_time_ms) {
    return r.fail(Malformed::BadValue, fmt::format("close time k.T {} is before open time k.t {}",
                                                   out.close_time_ms, out.open_time_ms));
  }
  // OHLC consistency is not checked here: the docs' own sample has open < low.
  // Whoever turns a closed kline into a bar checks model::bar_problem().
  return true;
}

bool read_kline_event(Reader& r, dom::element root, KlineEvent& out) {
  dom::object o, k;
  dom::element ke;
  std::string_view e, s;
  if (!r.object(root, "", o)) return false;
  OneLetterFields f("eEsk");
  f.collect(o);
  if (!r.str(f, 'e', "e", e)) return false;
  if (e != "kline") return r.fail(Malformed::BadValue, fmt::format("field e: expected \"kline\", was \"{}\"", excerpt(e)));
  if (!r.i64(f, 'E', "E", out.event_time_ms) || !r.str(f, 's', "s", s) || !r.field(f, 'k', "k", ke) ||
      !r.object(ke, "k", k) || !read_kline(r, k, out.kline)) {
    return false;
  }
  out.symbol.assign(s);
  if (!iequals(out.kline.symbol, s)) {
    return r.fail(Malformed::BadValue,
                  fmt::format("field k.s \"{}\" differs from s \"{}\"", excerpt(out.kline.symbol), excerpt(s)));
  }
  return true;
}

bool read_book_ticker(Reader& r, dom::element root, BookTicker& out) {
  dom::object o;
  std::string_view s;
  if (!r.object(root, "", o)) return false;
  OneLetterFields f("usbBaA");
  f.collect(o);
  if (!r.i64(f, 'u', "u", out.update_id) || !r.str(f, 's', "s", s) || !r.decimal(f, 'b', "b", out.bid_price) ||
      !r.decimal(f, 'B', "B", out.bid_qty) || !r.decimal(f, 'a', "a", out.ask_price) ||
      !r.decimal(f, 'A', "A", out.ask_qty)) {
    return false;
  }
  out.symbol.assign(s);
  return true;
}

bool read_order_response(Reader& r, dom::element root, OrderResponse& out) {
  dom::object o;
  std::string_view sym, coid;
  if (!r.object(root, "", o) || !r.str(o, "symbol", "symbol", sym) || !r.i64(o, "orderId", "orderId", out.order_id) ||
      !r.i64(o, "orderListId", "orderListId", out.order_list_id) ||
      !r.str(o, "clientOrderId", "clientOrderId", coid) ||
      !r.i64(o, "transactTime", "transactTime", out.transact_time_ms)) {
    return false;
  }
  out.symbol.assign(sym);
  out.client_order_id.assign(coid);
  out.kind = OrderResponseKind::Ack;
  out.fills.clear();
  if (!r.has(o, "status")) return true;

  std::string_view status, tif, type, side, stp;
  if (!r.decimal(o, "price", "price", out.price) || !r.decimal(o, "origQty", "origQty", out.orig_qty) ||
      !r.decimal(o, "executedQty", "executedQty", out.executed_qty) ||
      !r.decimal(o, "origQuoteOrderQty", "origQuoteOrderQty", out.orig_quote_order_qty) ||
      !r.decimal(o, "cummulativeQuoteQty", "cummulativeQuoteQty", out.cummulative_quote_qty) ||
      !r.str(o, "status", "status", status) || !r.str(o, "timeInForce", "timeInForce", tif) ||
      !r.str(o, "type", "type", type) || !r.str(o, "side", "side", side)) {
    return false;
  }
  out.status.assign(status);
  out.time_in_force.assign(tif);
  out.type.assign(type);
  out.side.assign(side);
  out.working_time_ms = 0;
  out.self_trade_prevention_mode.clear();
  if (r.has(o, "workingTime") && !r.i64(o, "workingTime", "workingTime", out.working_time_ms)) return false;
  if (r.has(o, "selfTradePreventionMode")) {
    if (!r.str(o, "selfTradePreventionMode", "selfTradePreventionMode", stp)) return false;
    out.self_trade_prevention_mode.assign(stp);
  }
  out.kind = OrderResponseKind::Result;
  if (!r.has(o, "fills")) return true;

  dom::element fe;
  dom::array fills;
  if (!r.field(o, "fills", "fills", fe) || !r.array(fe, "fills", fills)) return false;
  std::size_t i = 0;
  for (dom::element f : fills) {
    dom::object fo;
    OrderFill fill;
    std::string_view asset;
    const std::string p = fmt::format("fills[{}]", i);
    if (!r.object(f, p, fo) || !r.decimal(fo, "price", p + ".price", fill.price) ||
        !r.decimal(fo, "qty", p + ".qty", fill.qty) || !r.decimal(fo, "commission", p + ".commission", fill.commission) ||
        !r.str(fo, "commissionAsset", p + ".commissionAsset", asset) ||
        !r.i64(fo, "tradeId", p + ".tradeId", fill.trade_id)) {
      return false;
    }
    fill.commission_asset.assign(asset);
    out.fills.push_back(std::move(fill));
    ++i;
  }
  out.kind = OrderResponseKind::Full;
  return true;
}

bool read_rest_kline(Reader& r, dom::element e, std::size_t row, RestKline& out) {
  dom::array a;
  const std::string p = fmt::format("[{}]", row);
  if (!r.array(e, p, a)) return false;
  if (a.size() < 11) {
    return r.fail(Malformed::MissingField, fmt::format("row {}: expected 11 or 12 elements, was {}", row, a.size()));
  }
  dom::element v[11];
  std::size_t i = 0;
  for (dom::element x : a) {
    if (i == 11) break;
    v[i++] = x;
  }
  auto col = [&](std::size_t c) { return fmt::format("[{}][{}]", row, c); };
  std::string_view t[8];
  double d[8] = {};
  if (!r.i64(v[0], col(0), out.open_time_ms) || !r.decimal(v[1], col(1), d[0], &t[0]) ||
      !r.decimal(v[2], col(2), d[1], &t[1]) || !r.decimal(v[3], col(3), d[2], &t[2]) ||
      !r.decimal(v[4], col(4), d[3], &t[3]) || !r.decimal(v[5], col(5), d[4], &t[4]) ||
      !r.i64(v[6], col(6), out.close_time_ms) || !r.decimal(v[7], col(7), d[5], &t[5]) ||
      !r.i64(v[8], col(8), out.trades) || !r.decimal(v[9], col(9), d[6], &t[6]) ||
      !r.decimal(v[10], col(10), d[7], &t[7])) {
    return false;
  }
  out.open.assign(t[0]);
  out.high.assign(t[1]);
  out.low.assign(t[2]);
  out.close.assign(t[3]);
  out.volume.assign(t[4]);
  out.quote_volume.assign(t[5]);
  out.taker_buy_base_volume.assign(t[6]);
  out.taker_buy_quote_volume.assign(t[7]);
  if (!open_time_in_range(out.open_time_ms)) {
    return r.fail(Malformed::BadValue, fmt::format("field {}: open time {} is outside {}", col(0), out.open_time_ms,
                                                   kOpenTimeRangeText));
  }
  out.bar = model::Bar{};
  out.bar.ts_ns = out.open_time_ms * 1'000'000;
  out.bar.open = d[0];
  out.bar.high = d[1];
  out.bar.low = d[2];
  out.bar.close = d[3];
  out.bar.volume = d[4];
  if (out.close_time_ms < out.open_time_ms) {
    return r.fail(Malformed::BadValue, fmt::format("row {}: close time {} is before open time {}", row,
                                                   out.close_time_ms, out.open_time_ms));
  }
  return true;
}

}  // namespace

std::string_view to_string(Malformed kind) noexcept {
  switch (kind) {
    case Malformed::BadJson: return "bad_json";
    case Malformed::MissingField: return "missing_field";
    case Malformed::WrongType: return "wrong_type";
    case Malformed::BadValue: return "bad_value";
    case Malformed::UnknownStream: return "unknown_stream";
  }
  return "unknown";
}

std::uint64_t MalformedCounts::total() const noexcept {
  std::uint64_t n = 0;
  for (auto c : by_kind) n += c;
  return n;
}

model::Bar Kline::to_bar() const noexcept {
  model::Bar b;
  b.ts_ns = open_time_ms * 1'000'000;
  b.open = open;
  b.high = high;
  b.low = low;
  b.close = close;
  b.volume = volume;
  return b;
}

std::optional<std::int64_t> RateLimitUsage::used_weight_1m() const noexcept {
  for (const auto& c : counters) {
    if (c.kind == RateLimitCounter::Kind::UsedWeight && c.interval_num == 1 && c.interval_letter == 'M') return c.value;
  }
  return std::nullopt;
}

struct Parser::Impl {
  dom::parser parser;
  std::unique_ptr<char[]> buf;
  std::size_t cap = 0;

  // Copies `text` into a padded buffer (simdjson reads up to SIMDJSON_PADDING
  // bytes past the end) and parses it.
  bool load(std::string_view text, Reader& r, dom::element& root) {
    if (text.size() + simdjson::SIMDJSON_PADDING > cap) {
      cap = text.size() + simdjson::SIMDJSON_PADDING + 256;
      buf = std::make_unique<char[]>(cap);
    }
    std::memcpy(buf.get(), text.data(), text.size());
    std::memset(buf.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    const auto err = parser.parse(buf.get(), text.size(), false).get(root);
    if (err != simdjson::SUCCESS) {
      return r.fail(Malformed::BadJson, fmt::format("bad json ({}): \"{}\"", simdjson::error_message(err), excerpt(text)));
    }
    return true;
  }
};

Parser::Parser() : impl_(std::make_unique<Impl>()) {}
Parser::~Parser() = default;
Parser::Parser(Parser&&) noexcept = default;
Parser& Parser::operator=(Parser&&) noexcept = default;

namespace {
template <class T>
Result<T> finish(Reader& r, T&& value, MalformedCounts& counts, Malformed& last) {
  if (!r.failed()) return std::forward<T>(value);
  counts.add(r.kind());
  last = r.kind();
  return make_error(Errc::parse, std::move(r.message()));
}
}  // namespace

Result<StreamMessage> Parser::parse_combined(std::string_view text) {
  StreamMessage msg;
  if (Status st = parse_combined(text, msg); !st) return std::move(st).error();
  return msg;
}

namespace {
template <class T>
T& reuse(StreamPayload& p) {
  if (T* v = std::get_if<T>(&p)) return *v;
  return p.emplace<T>();
}
Status finish_status(Reader& r, MalformedCounts& counts, Malformed& last) {
  if (!r.failed()) return {};
  counts.add(r.kind());
  last = r.kind();
  return make_error(Errc::parse, std::move(r.message()));
}
}  // namespace

Status Parser::parse_combined(std::string_view text, StreamMessage& msg) {
  Reader r("combined stream message");
  dom::element root, data;
  dom::object o;
  std::string_view stream;
  if (!impl_->load(text, r, root) || !r.object(root, "", o) || !r.str(o, "stream", "stream", stream) ||
      !r.field(o, "data", "data", data)) {
    return finish_status(r, counts_, last_);
  }
  msg.stream.assign(stream);
  if (stream == "!serverShutdown") {
    Reader d("stream !serverShutdown");
    dom::object dobj;
    std::string_view e;
    ServerShutdown& s = reuse<ServerShutdown>(msg.payload);
    if (d.object(data, "data", dobj) && d.str(dobj, "e", "data.e", e)) {
      if (e != "serverShutdown") {
        d.fail(Malformed::BadValue, fmt::format("field data.e: expected \"serverShutdown\", was \"{}\"", excerpt(e)));
      } else {
        d.i64(dobj, "E", "data.E", s.event_time_ms);
      }
    }
    return finish_status(d, counts_, last_);
  }
  const auto at = stream.find('@');
  const std::string_view sym = at == std::string_view::npos ? std::string_view{} : stream.substr(0, at);
  const std::string_view kind = at == std::string_view::npos ? std::string_view{} : stream.substr(at + 1);
  if (!sym.empty() && kind == "bookTicker") {
    Reader d("stream ", stream);
    BookTicker& t = reuse<BookTicker>(msg.payload);
    if (read_book_ticker(d, data, t) && !iequals(t.symbol, sym)) {
      d.fail(Malformed::BadValue, fmt::format("field s \"{}\" does not match the stream", excerpt(t.symbol)));
    }
    return finish_status(d, counts_, last_);
  }
  if (!sym.empty() && kind.substr(0, 6) == "kline_" && parse_interval(kind.substr(6)).ok()) {
    Reader d("stream ", stream);
    KlineEvent& k = reuse<KlineEvent>(msg.payload);
    if (read_kline_event(d, data, k)) {
      if (!iequals(k.symbol, sym)) {
        d.fail(Malformed::BadValue, fmt::format("field s \"{}\" does not match the stream", excerpt(k.symbol)));
      } else if (k.kline.interval != kind.substr(6)) {
        d.fail(Malformed::BadValue, fmt::format("field k.i \"{}\" does not match the stream", excerpt(k.kline.interval)));
      }
    }
    return finish_status(d, counts_, last_);
  }
  r.fail(Malformed::UnknownStream, fmt::format("unknown stream \"{}\"", excerpt(stream, 64)));
  return finish_status(r, counts_, last_);
}

Result<KlineEvent> Parser::parse_kline_event(std::string_view text) {
  Reader r("kline event");
  KlineEvent k;
  dom::element root;
  if (impl_->load(text, r, root)) read_kline_event(r, root, k);
  return finish(r, std::move(k), counts_, last_);
}

Result<BookTicker> Parser::parse_book_ticker(std::string_view text) {
  Reader r("bookTicker event");
  BookTicker t;
  dom::element root;
  if (impl_->load(text, r, root)) read_book_ticker(r, root, t);
  return finish(r, std::move(t), counts_, last_);
}

Result<std::vector<RestKline>> Parser::parse_rest_klines(std::string_view text) {
  Reader r("klines response");
  std::vector<RestKline> rows;
  dom::element root;
  dom::array a;
  if (impl_->load(text, r, root) && r.array(root, "", a)) {
    rows.reserve(a.size());
    std::size_t i = 0;
    for (dom::element e : a) {
      RestKline k;
      if (!read_rest_kline(r, e, i, k)) break;
      if (!rows.empty() && k.open_time_ms <= rows.back().open_time_ms) {
        r.fail(Malformed::BadValue, fmt::format("row {}: open time {} does not increase (previous {})", i,
                                                k.open_time_ms, rows.back().open_time_ms));
        break;
      }
      rows.push_back(std::move(k));
      ++i;
    }
  }
  return finish(r, std::move(rows), counts_, last_);
}

Result<ApiError> Parser::parse_api_error(std::string_view text) {
  Reader r("error response");
  ApiError e;
  dom::element root;
  dom::object o;
  std::int64_t code = 0;
  std::string_view msg;
  if (impl_->load(text, r, root) && r.object(root, "", o) && r.i64(o, "code", "code", code) &&
      r.str(o, "msg", "msg", msg)) {
    if (code < -1'000'000'000 || code > 1'000'000'000) {
      r.fail(Malformed::BadValue, fmt::format("field code: {} is out of range", code));
    }
    e.code = static_cast<int>(code);
    e.msg.assign(msg);
  }
  return finish(r, std::move(e), counts_, last_);
}

Result<OrderResponse> Parser::parse_order_response(std::string_view text) {
  Reader r("order response");
  OrderResponse o;
  dom::element root;
  if (impl_->load(text, r, root)) read_order_response(r, root, o);
  return finish(r, std::move(o), counts_, last_);
}

Result<StreamMessage> parse_combined(std::string_view text) { return Parser().parse_combined(text); }
Result<KlineEvent> parse_kline_event(std::string_view text) { return Parser().parse_kline_event(text); }
Result<BookTicker> parse_book_ticker(std::string_view text) { return Parser().parse_book_ticker(text); }
Result<std::vector<RestKline>> parse_rest_klines(std::string_view text) { return Parser().parse_rest_klines(text); }
Result<ApiError> parse_api_error(std::string_view text) { return Parser().parse_api_error(text); }
Result<OrderResponse> parse_order_response(std::string_view text) { return Parser().parse_order_response(text); }

namespace {
Result<dom::element> at_pointer(dom::parser& p, const simdjson::padded_string& s, std::string_view pointer) {
  dom::element root;
  if (auto err = p.parse(s).get(root); err != simdjson::SUCCESS) {
    return make_error(Errc::parse, fmt::format("bad json ({})", simdjson::error_message(err)));
  }
  dom::element e;
  if (root.at_pointer(pointer).get(e) != simdjson::SUCCESS) {
    return make_error(Errc::not_found, fmt::format("no member at json pointer {}", pointer));
  }
  return e;
}
}  // namespace

Result<std::string> json_at_pointer(std::string_view json, std::string_view pointer) {
  dom::parser p;
  const simdjson::padded_string s(json);
  auto e = at_pointer(p, s, pointer);
  if (!e) return std::move(e).error();
  return simdjson::minify(*e);
}

Result<std::string> json_string_at_pointer(std::string_view json, std::string_view pointer) {
  dom::parser p;
  const simdjson::padded_string s(json);
  auto e = at_pointer(p, s, pointer);
  if (!e) return std::move(e).error();
  std::string_view v;
  if (e->get_string().get(v) != simdjson::SUCCESS) {
    return make_error(Errc::parse, fmt::format("member at {} is not a string", pointer));
  }
  return std::string(v);
}

Result<RateLimitCounter> parse_rate_limit_header(std::string_view name, std::string_view value) {
  auto starts_with_ci = [&](std::string_view prefix) {
    return name.size() >= prefix.size() && iequals(name.substr(0, prefix.size()), prefix);
  };
  RateLimitCounter c;
  std::string_view suffix;
  if (iequals(name, "X-MBX-USED-WEIGHT")) {
    suffix = "1M";  // legacy header: the 1-minute weight
  } else if (starts_with_ci("X-MBX-USED-WEIGHT-")) {
    suffix = name.substr(18);
  } else if (starts_with_ci("X-MBX-ORDER-COUNT-")) {
    c.kind = RateLimitCounter::Kind::OrderCount;
    suffix = name.substr(18);
  } else {
    return make_error(Errc::not_found, fmt::format("{} is not a rate-limit header", excerpt(name)));
  }
  std::int64_t num = 0;
  if (suffix.size() < 2 || !te::parse_int64(suffix.substr(0, suffix.size() - 1), num) || num <= 0 || num > 1'000'000) {
    return make_error(Errc::parse, fmt::format("rate-limit header {}: bad interval \"{}\"", excerpt(name), excerpt(suffix)));
  }
  char letter = suffix.back();
  if (letter >= 'a' && letter <= 'z') letter = static_cast<char>(letter - 'a' + 'A');
  if (letter != 'S' && letter != 'M' && letter != 'H' && letter != 'D') {
    return make_error(Errc::parse, fmt::format("rate-limit header {}: interval letter must be S, M, H or D, was '{}'",
                                               excerpt(name), excerpt(suffix.substr(suffix.size() - 1))));
  }
  c.interval_num = static_cast<int>(num);
  c.interval_letter = letter;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!te::parse_int64(value, c.value) || c.value < 0) {
    return make_error(Errc::parse, fmt::format("rate-limit header {}: expected a non-negative integer, was \"{}\"",
                                               excerpt(name), excerpt(value)));
  }
  return c;
}

Result<std::int64_t> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  std::int64_t s = 0;
  if (!te::parse_int64(value, s) || s < 0) {
    return make_error(Errc::parse, fmt::format("Retry-After: expected whole seconds, was \"{}\"", excerpt(value)));
  }
  return s;
}

}  // namespace te::venue::binance
