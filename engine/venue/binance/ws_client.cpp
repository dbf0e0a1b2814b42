#include "engine/venue/binance/ws_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <type_traits>

#include "engine/venue/binance/detail/tls.hpp"
#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/url.hpp"

namespace te::venue::binance {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string_view to_string(ConnectionState s) noexcept {
  switch (s) {
    case ConnectionState::Connecting: return "connecting";
    case ConnectionState::Connected: return "connected";
    case ConnectionState::Disconnected: return "disconnected";
  }
  return "unknown";
}

std::string_view to_string(DisconnectReason r) noexcept {
  switch (r) {
    case DisconnectReason::None: return "none";
    case DisconnectReason::Error: return "error";
    case DisconnectReason::Silence: return "silence";
    case DisconnectReason::ServerShutdown: return "server_shutdown";
    case DisconnectReason::Rotation: return "rotation";
    case DisconnectReason::Stopped: return "stopped";
  }
  return "unknown";
}

std::string_view to_string(BackfillState s) noexcept {
  switch (s) {
    case BackfillState::Started: return "started";
    case BackfillState::Completed: return "completed";
    case BackfillState::Failed: return "failed";
  }
  return "unknown";
}

Result<std::vector<ConnectionPlan>> plan_connections(const WsClientOptions& o) {
  std::vector<std::string> problems;
  if (auto u = parse_url(o.ws_url, UrlKind::WebSocket); !u) problems.push_back("ws_url: " + u.error().message);
  if (o.klines) {
    if (auto iv = parse_interval(o.interval); !iv) problems.push_back("interval: " + iv.error().message);
  }
  if (!o.klines && !o.book_tickers) problems.emplace_back("no streams: enable klines and/or book_tickers");
  if (o.symbols.empty()) problems.emplace_back("symbols: at least one symbol is required");
  std::set<std::string> seen;
  for (const auto& s : o.symbols) {
    const bool alnum = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0;
    });
    if (!alnum) {
      problems.push_back(fmt::format("symbols: \"{}\" is not a Binance symbol (letters and digits only)", s));
    } else if (!seen.insert(upper_symbol(s)).second) {
      problems.push_back(fmt::format("symbols: {} is listed twice", upper_symbol(s)));
    }
  }
  if (o.max_streams_per_connection < 1 || o.max_streams_per_connection > 1024) {
    problems.push_back(fmt::format("max_streams_per_connection must be in 1..1024 (Binance's limit), was {}",
                                   o.max_streams_per_connection));
  }
  const std::size_t per_symbol = (o.klines ? 1u : 0u) + (o.book_tickers ? 1u : 0u);
  if (per_symbol > o.max_streams_per_connection) {
    problems.push_back("max_streams_per_connection must hold one symbol's streams");
  }
  auto positive = [&](std::chrono::milliseconds v, const char* name) {
    if (v.count() <= 0) problems.push_back(fmt::format("{} must be > 0, was {} ms", name, v.count()));
  };
  positive(o.connect_timeout, "connect_timeout");
  positive(o.silence_timeout, "silence_timeout");
  positive(o.reconnect_initial_delay, "reconnect_initial_delay");
  positive(o.max_connection_age, "max_connection_age");
  if (o.reconnect_max_delay < o.reconnect_initial_delay) {
    problems.emplace_back("reconnect_max_delay must be >= reconnect_initial_delay");
  }
  if (!problems.empty()) {
    std::string msg = "binance websocket options:";
    for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : " ") + problems[i];
    return make_error(Errc::invalid_argument, std::move(msg));
  }

  const Url url = *parse_url(o.ws_url, UrlKind::WebSocket);
  // Accept the documented endpoint spellings ".../ws" and ".../stream" as base URLs.
  std::string base = url.path;
  for (std::string_view suffix : {"/ws", "/stream"}) {
    if (base.size() >= suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
      base.resize(base.size() - suffix.size());
      break;
    }
  }
  const std::size_t symbols_per_conn = o.max_streams_per_connection / per_symbol;
  std::vector<ConnectionPlan> plans;
  for (std::size_t i = 0; i < o.symbols.size(); ++i) {
    if (i % symbols_per_conn == 0) {
      plans.emplace_back();
      plans.back().target = base + "/stream?streams=";
    }
    ConnectionPlan& p = plans.back();
    const std::string lower = lower_symbol(o.symbols[i]);
    auto add = [&](const std::string& stream) {
      if (p.streams++ > 0) p.target += '/';
      p.target += stream;
    };
    if (o.klines) add(lower + "@kline_" + o.interval);
    if (o.book_tickers) add(lower + "@bookTicker");
    p.symbols.push_back(upper_symbol(o.symbols[i]));
  }
  return plans;
}

namespace detail {

using Strand = net::strand<net::io_context::executor_type>;
class WsCore;

// One WebSocket connection attempt. Lives as long as any of its operations is
// pending (bind_front_handler + shared_from_this); reports to the core exactly
// once through WsCore::on_closed. All members are used on the core's strand.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  ConnectionBase(std::size_t shard, std::uint64_t id) : shard_(shard), id_(id) {}
  virtual ~ConnectionBase() = default;
  virtual void start() = 0;
  // Ends the connection (gracefully when open); on_closed follows with `why`.
  virtual void close(DisconnectReason why, std::string detail) = 0;

  std::size_t shard() const noexcept { return shard_; }
  std::uint64_t id() const noexcept { return id_; }
  bool got_data = false;  // managed by the core

 private:
  std::size_t shard_;
  std::uint64_t id_;
};

class WsCore : public std::enable_shared_from_this<WsCore> {
 public:
  WsCore(net::io_context& io, const WsClientOptions& options, MarketDataSink& sink, std::vector<ConnectionPlan> plan,
         Url url)
      : strand_(net::make_strand(io)), opts_(options), url_(std::move(url)), sink_(&sink) {
    if (auto iv = parse_interval(opts_.interval)) interval_ = *iv;  // checked by plan_connections
    for (auto& p : plan) {
      Shard s;
      for (const auto& sym : p.symbols) symbols_.emplace(sym, SymbolState{sym});
      s.plan = std::move(p);
      s.backoff = std::make_unique<net::steady_timer>(strand_);
      shards_.push_back(std::move(s));
    }
    std::uint64_t seed = opts_.jitter_seed;
    if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    rng_.seed(seed);
  }

  Status init_tls() {
    if (!url_.tls) return {};
    auto ctx = make_tls_client_context(opts_.ca_file);
    if (!ctx) return std::move(ctx).error();
    tls_ = std::move(*ctx);
    return {};
  }

  // ---- called on the strand -------------------------------------------------
  void start() {
    if (stopped_) return;
    for (std::size_t i = 0; i < shards_.size(); ++i) connect(i);
  }

  void stop() {
    stopped_ = true;
    for (auto& s : shards_) {
      s.backoff->cancel();
      if (s.standby) s.standby->close(DisconnectReason::Stopped, "stopped");
      if (s.active) s.active->close(DisconnectReason::Stopped, "stopped");
    }
  }

  void on_connected(ConnectionBase& c) {
    bump([](WsClientStats& s) { ++s.connects; });
    emit_connection(c.shard(), ConnectionState::Connected, DisconnectReason::None, "");
    if (stopped_) c.close(DisconnectReason::Stopped, "stopped");
  }

  void on_ping(ConnectionBase&) {
    bump([](WsClientStats& s) { ++s.pings; });
  }

  void on_message(ConnectionBase& c, std::string_view text) {
    bump([](WsClientStats& s) { ++s.messages; });
    Shard& shard = shards_[c.shard()];
    if (!c.got_data) {
      c.got_data = true;
      shard.attempt = 0;  // a working connection resets the backoff
      if (shard.standby.get() == &c) promote(shard);
    }
    if (Status st = parser_.parse_combined(text, msg_); !st) {
      report_malformed(c.shard(), parser_.last_malformation(), st.error().message, false);
      return;
    }
    if (auto* k = std::get_if<KlineEvent>(&msg_.payload)) {
      on_kline(c, *k);
    } else if (auto* t = std::get_if<BookTicker>(&msg_.payload)) {
      on_book_ticker(c, *t);
    } else if (std::holds_alternative<ServerShutdown>(msg_.payload)) {
      bump([](WsClientStats& s) { ++s.server_shutdowns; });
      if (!stopped_ && shard.active.get() == &c && !shard.standby) {
        shard.replace_reason = DisconnectReason::ServerShutdown;
        connect(c.shard());
      }
    }
  }

  void on_age_due(ConnectionBase& c) {
    Shard& shard = shards_[c.shard()];
    if (stopped_ || shard.active.get() != &c || shard.standby) return;
    bump([](WsClientStats& s) { ++s.rotations; });
    shard.replace_reason = DisconnectReason::Rotation;
    connect(c.shard());
  }

  void on_closed(ConnectionBase& c, DisconnectReason why, const std::string& detail) {
    bump([&](WsClientStats& s) {
      ++s.disconnects;
      if (why == DisconnectReason::Silence) ++s.silence_timeouts;
    });
    const std::size_t i = c.shard();
    Shard& shard = shards_[i];
    emit_connection(i, ConnectionState::Disconnected, why, detail);
    // Keep `c` alive until we are done with it (the shard may hold the last reference).
    std::shared_ptr<ConnectionBase> keep = c.shared_from_this();
    const bool was_active = shard.active.get() == &c;
    const bool was_standby = shard.standby.get() == &c;
    if (was_active) shard.active.reset();
    if (was_standby) shard.standby.reset();
    if (stopped_) return;
    if (was_active) {
      if (shard.standby) {
        shard.active = std::move(shard.standby);  // the replacement takes over at once
      } else {
        schedule_connect(i);
      }
    } else if (was_standby) {
      schedule_connect(i);  // the replacement failed; the old connection still runs
    }
  }

  void detach_sink() {
    std::lock_guard<std::recursive_mutex> lock(sink_mutex_);
    sink_ = nullptr;
  }

  WsClientStats stats() const {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return stats_;
  }

  bool stopped() const noexcept { return stopped_; }
  const Url& url() const noexcept { return url_; }
  const WsClientOptions& options() const noexcept { return opts_; }
  const std::string& target(std::size_t shard) const noexcept { return shards_[shard].plan.target; }
  ssl::context* tls() const noexcept { return tls_.get(); }

  Strand strand_;

 private:
  struct Shard {
    ConnectionPlan plan;
    std::shared_ptr<ConnectionBase> active;   // delivering data
    std::shared_ptr<ConnectionBase> standby;  // replacement being opened
    std::unique_ptr<net::steady_timer> backoff;
    std::uint32_t attempt = 0;  // failed attempts since the last connection that delivered data
    DisconnectReason replace_reason = DisconnectReason::Rotation;
  };
  struct SymbolState {
    std::string symbol;
    bool has_last = false;
    std::int64_t last_open_ms = 0;  // open time of the last closed bar delivered
  };

  void connect(std::size_t i);  // defined after Connection

  void promote(Shard& shard) {
    std::shared_ptr<ConnectionBase> old = std::move(shard.active);
    shard.active = std::move(shard.standby);
    shard.standby.reset();
    if (old) old->close(shard.replace_reason, "replaced by a new connection");
  }

  void schedule_connect(std::size_t i) {
    Shard& shard = shards_[i];
    const double base_ms = std::min(static_cast<double>(opts_.reconnect_max_delay.count()),
                                    static_cast<double>(opts_.reconnect_initial_delay.count()) *
                                        std::pow(2.0, std::min<std::uint32_t>(shard.attempt, 30)));
    const double u = std::clamp(opts_.jitter ? opts_.jitter() : std::uniform_real_distribution<double>(0, 1)(rng_),
                                0.0, 1.0);
    const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(base_ms * (0.5 + 0.5 * u)));
    if (shard.attempt < 1'000'000) ++shard.attempt;
    shard.backoff->expires_after(delay);
    shard.backoff->async_wait(beast::bind_front_handler(&WsCore::on_backoff, shared_from_this(), i));
  }

  void on_backoff(std::size_t i, beast::error_code ec) {
    if (ec) return;  // cancelled by stop()
    if (stopped_) return;
    Shard& shard = shards_[i];
    if (!shard.active || !shard.standby) connect(i);
  }

  void on_kline(ConnectionBase& c, const KlineEvent& k) {
    if (!k.kline.closed) {
      bump([](WsClientStats& s) { ++s.open_kline_updates; });
      return;
    }
    auto it = symbols_.find(std::string_view(k.symbol));
    if (it == symbols_.end() || k.kline.interval != opts_.interval) {
      report_malformed(c.shard(), Malformed::UnknownStream,
                       fmt::format("stream {}: not subscribed on this connection", msg_.stream), true);
      return;
    }
    const model::Bar bar = k.kline.to_bar();
    if (const char* problem = model::bar_problem(bar)) {
      bump([](WsClientStats& s) { ++s.bad_bars; });
      report_malformed(c.shard(), Malformed::BadValue,
                       fmt::format("stream {}: closed kline at {} is not a valid bar: {}", msg_.stream,
                                   k.kline.open_time_ms, problem),
                       true);
      return;
    }
    if (const std::string why = out_of_place(k.kline); !why.empty()) {
      bump([](WsClientStats& s) { ++s.bad_bars; });
      report_malformed(c.shard(), Malformed::BadValue,
                       fmt::format("stream {}: closed kline at {} {}; dropped", msg_.stream, k.kline.open_time_ms, why),
                       true);
      return;
    }
    SymbolState& st = it->second;
    if (st.has_last && k.kline.open_time_ms <= st.last_open_ms) {
      bump([](WsClientStats& s) { ++s.duplicate_bars; });
      return;
    }
    st.has_last = true;
    st.last_open_ms = k.kline.open_time_ms;
    bar_.symbol = st.symbol;
    bar_.bar = bar;
    bar_.close_time_ms = k.kline.close_time_ms;
    bar_.quote_volume = k.kline.quote_volume;
    bar_.trades = k.kline.trades;
    bar_.source = BarSource::Live;
    bump([](WsClientStats& s) { ++s.closed_bars; });
    emit([&](MarketDataSink& sink) { sink.on_bar(bar_); });
  }

  // Why a closed kline cannot be a bar of this stream: an open time off the
  // interval's grid, or a close after the local clock (a kline from the
  // future would make every real bar up to its time look like a duplicate).
  std::string out_of_place(const Kline& k) const {
    if (interval_.ms > 0 || interval_.monthly)
      if (floor_open_ms(interval_, k.open_time_ms) != k.open_time_ms)
        return fmt::format("is not on the {} grid (the grid time before it is {})", interval_.text,
                           floor_open_ms(interval_, k.open_time_ms));
    if (opts_.now_ms) {
      const std::int64_t now = opts_.now_ms();
      if (k.close_time_ms > now + opts_.max_clock_ahead.count())
        return fmt::format("closes at {}, {:.1f} s after the local clock ({}); check the system clock (NTP)",
                           k.close_time_ms, static_cast<double>(k.close_time_ms - now) / 1000.0, now);
    }
    return {};
  }

  void on_book_ticker(ConnectionBase& c, const BookTicker& t) {
    auto it = symbols_.find(std::string_view(t.symbol));
    if (it == symbols_.end()) {
      report_malformed(c.shard(), Malformed::UnknownStream,
                       fmt::format("stream {}: not subscribed on this connection", msg_.stream), true);
      return;
    }
    // A quote of 0 (an empty book side) or a crossed book cannot price a fill.
    if (!(t.bid_price > 0 && t.ask_price > 0 && t.bid_price <= t.ask_price)) {
      report_malformed(c.shard(), Malformed::BadValue,
                       fmt::format("stream {}: bookTicker bid {} / ask {} is not a usable quote (both above 0, bid "
                                   "<= ask)",
                                   msg_.stream, t.bid_price, t.ask_price),
                       true);
      return;
    }
    quote_.symbol = it->second.symbol;
    quote_.update_id = t.update_id;
    quote_.bid = t.bid_price;
    quote_.bid_size = t.bid_qty;
    quote_.ask = t.ask_price;
    quote_.ask_size = t.ask_qty;
    bump([](WsClientStats& s) { ++s.quotes; });
    emit([&](MarketDataSink& sink) { sink.on_quote(quote_); });
  }

  // `count`: also add to the parser-independent tally (the parser counted its own).
  void report_malformed(std::size_t shard, Malformed kind, const std::string& message, bool count) {
    MalformedCounts totals;
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      if (count) extra_malformed_.add(kind);
      for (std::size_t k = 0; k < kMalformedKinds; ++k) {
        stats_.malformed.by_kind[k] = parser_.counts().by_kind[k] + extra_malformed_.by_kind[k];
      }
      totals = stats_.malformed;
    }
    ParseErrorEvent ev{shard, kind, message, totals};
    emit([&](MarketDataSink& sink) { sink.on_parse_error(ev); });
  }

  void emit_connection(std::size_t shard, ConnectionState state, DisconnectReason why, const std::string& detail) {
    ConnectionEvent ev{shard, state, why, shards_[shard].attempt, detail};
    emit([&](MarketDataSink& sink) { sink.on_connection(ev); });
  }

  template <class F>
  void emit(F&& f) {
    std::lock_guard<std::recursive_mutex> lock(sink_mutex_);
    if (sink_) f(*sink_);
  }

  template <class F>
  void bump(F&& f) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    f(stats_);
  }

  const WsClientOptions opts_;
  Interval interval_;
  const Url url_;
  std::unique_ptr<ssl::context> tls_;

  // The sink is called with this mutex held, so detach_sink() (from stop(), on any
  // thread) waits for a call in progress and no call starts afterwards. Recursive
  // so that a sink may call stop() from inside a callback.
  std::recursive_mutex sink_mutex_;
  MarketDataSink* sink_;

  std::vector<Shard> shards_;
  std::map<std::string, SymbolState, std::less<>> symbols_;
  Parser parser_;
  StreamMessage msg_;
  ClosedBar bar_;
  QuoteUpdate quote_;
  std::mt19937_64 rng_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;

  mutable std::mutex stats_mutex_;
  WsClientStats stats_;
  MalformedCounts extra_malformed_;
};

template <bool Tls>
class Connection final : public ConnectionBase {
  using Next = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using Ws = websocket::stream<Next>;

 public:
  Connection(std::shared_ptr<WsCore> core, std::size_t shard, std::uint64_t id)
      : ConnectionBase(shard, id),
        core_(std::move(core)),
        resolver_(core_->strand_),
        ws_(make_ws(core_->strand_, core_->tls())),
        timer_(core_->strand_),
        age_timer_(core_->strand_) {}

  void start() override {
    // One deadline for resolve + connect + TLS + WebSocket handshake.
    timer_.expires_after(core_->options().connect_timeout);
    timer_.async_wait(beast::bind_front_handler(&Connection::on_timer, self()));
    resolver_.async_resolve(core_->url().host, core_->url().port,
                            beast::bind_front_handler(&Connection::on_resolve, self()));
  }

  void close(DisconnectReason why, std::string detail) override {
    if (done_ || closing_) return;
    closing_ = true;
    why_ = why;
    detail_ = std::move(detail);
    timer_.cancel();
    age_timer_.cancel();
    if (open_) {
      // Bounded by the handshake timeout set in on_connect.
      ws_.async_close(websocket::close_code::normal, beast::bind_front_handler(&Connection::on_close, self()));
    } else {
      resolver_.cancel();
      beast::get_lowest_layer(ws_).cancel();
    }
  }

 private:
  static Ws make_ws(const Strand& strand, ssl::context* tls) {
    if constexpr (Tls) {
      return Ws(strand, *tls);
    } else {
      (void)tls;
      return Ws(strand);
    }
  }

  std::shared_ptr<Connection> self() { return std::static_pointer_cast<Connection>(shared_from_this()); }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec, "resolve " + core_->url().host);
    beast::get_lowest_layer(ws_).async_connect(results, beast::bind_front_handler(&Connection::on_connect, self()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec) return fail(ec, "connect");
    if constexpr (Tls) {
      if (auto e = prepare_tls_stream(ws_.next_layer(), core_->url().host)) return fail(e, "tls setup");
      ws_.next_layer().async_handshake(ssl::stream_base::client,
                                       beast::bind_front_handler(&Connection::on_tls_handshake, self()));
    } else {
      ws_handshake();
    }
  }

  void on_tls_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "tls handshake");
    ws_handshake();
  }

  void ws_handshake() {
    if (closing_) return finish(why_, detail_);
    // The websocket stream has its own timeouts; the connect deadline timer still runs.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = core_->options().connect_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [ua = core_->options().user_agent](websocket::request_type& req) { req.set(http::field::user_agent, ua); }));
    ws_.read_message_max(core_->options().max_message_bytes);
    ws_.control_callback([weak = weak_from_this()](websocket::frame_type kind, beast::string_view) {
      // Beast answers every ping with a pong carrying the same payload; we only count.
      if (kind != websocket::frame_type::ping) return;
      if (auto c = weak.lock()) static_cast<Connection&>(*c).core_->on_ping(*c);
    });
    ws_.async_handshake(core_->url().host_header(), core_->target(shard()),
                        beast::bind_front_handler(&Connection::on_handshake, self()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "websocket handshake");
    open_ = true;
    last_message_ = std::chrono::steady_clock::now();
    timer_.expires_after(core_->options().silence_timeout);  // cancels the connect deadline
    timer_.async_wait(beast::bind_front_handler(&Connection::on_timer, self()));
    age_timer_.expires_after(core_->options().max_connection_age);
    age_timer_.async_wait(beast::bind_front_handler(&Connection::on_age, self()));
    core_->on_connected(*this);
    if (!done_) do_read();
  }

  void do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&Connection::on_read, self())); }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "read");
    last_message_ = std::chrono::steady_clock::now();
    if (ws_.got_text() || ws_.got_binary()) {
      const auto data = buffer_.cdata();
      core_->on_message(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (!done_) do_read();  // also while closing: the read ends with the close handshake
  }

  // Connect deadline before the handshake, silence watchdog after it.
  void on_timer(beast::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    if (done_ || closing_) return;
    // A wait that completed just before the timer was re-armed: the new wait is pending.
    if (timer_.expiry() > std::chrono::steady_clock::now()) return;
    const auto& o = core_->options();
    if (!open_) {
      return close(DisconnectReason::Error, fmt::format("timed out connecting after {} ms", o.connect_timeout.count()));
    }
    const auto quiet = std::chrono::steady_clock::now() - last_message_;
    if (quiet >= o.silence_timeout) {
      return close(DisconnectReason::Silence, fmt::format("no message for {} ms", o.silence_timeout.count()));
    }
    timer_.expires_at(last_message_ + o.silence_timeout);
    timer_.async_wait(beast::bind_front_handler(&Connection::on_timer, self()));
  }

  void on_age(beast::error_code ec) {
    if (ec) return;
    if (done_ || closing_) return;
    core_->on_age_due(*this);
  }

  void on_close(beast::error_code) { finish(why_, detail_); }

  void fail(beast::error_code ec, const std::string& what) {
    if (done_) return;
    if (closing_) return finish(why_, detail_);
    finish(DisconnectReason::Error, what + ": " + ec.message());
  }

  void finish(DisconnectReason why, const std::string& detail) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    age_timer_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    core_->on_closed(*this, why, detail);
  }

  std::shared_ptr<WsCore> core_;
  tcp::resolver resolver_;
  Ws ws_;
  beast::flat_buffer buffer_;
  net::steady_timer timer_;
  net::steady_timer age_timer_;
  std::chrono::steady_clock::time_point last_message_{};
  bool open_ = false;
  bool closing_ = false;
  bool done_ = false;
  DisconnectReason why_ = DisconnectReason::Error;
  std::string detail_;
};

void WsCore::connect(std::size_t i) {
  Shard& shard = shards_[i];
  std::shared_ptr<ConnectionBase> c;
  if (url_.tls) {
    c = std::make_shared<Connection<true>>(shared_from_this(), i, next_id_++);
  } else {
    c = std::make_shared<Connection<false>>(shared_from_this(), i, next_id_++);
  }
  if (!shard.active) {
    shard.active = c;
  } else {
    shard.standby = c;
  }
  emit_connection(i, ConnectionState::Connecting, DisconnectReason::None, "");
  c->start();
}

}  // namespace detail

WsClient::WsClient(boost::asio::io_context& io, WsClientOptions options, MarketDataSink& sink)
    : io_(io), options_(std::move(options)), sink_(sink) {}

WsClient::~WsClient() { stop(); }

Status WsClient::start() {
  if (core_) return make_error(Errc::invalid_argument, "binance websocket client: already started");
  auto plan = plan_connections(options_);
  if (!plan) return std::move(plan).error();
  auto url = parse_url(options_.ws_url, UrlKind::WebSocket);
  if (!url) return std::move(url).error();
  auto core = std::make_shared<detail::WsCore>(io_, options_, sink_, *plan, std::move(*url));
  if (Status st = core->init_tls(); !st) return st;
  plan_ = std::move(*plan);
  core_ = core;
  net::post(core->strand_, [core] { core->start(); });
  return {};
}

void WsClient::stop() {
  if (!core_) return;
  core_->detach_sink();
  net::post(core_->strand_, [core = core_] { core->stop(); });
}

void WsClient::post(std::function<void()> fn) {
  if (!core_) return;
  net::post(core_->strand_, [core = core_, fn = std::move(fn)] {
    if (!core->stopped()) fn();
  });
}

std::size_t WsClient::connection_count() const { return plan_.size(); }

std::vector<ConnectionPlan> WsClient::connections() const { return plan_; }

WsClientStats WsClient::stats() const { return core_ ? core_->stats() : WsClientStats{}; }

}  // namespace te::venue::binance
