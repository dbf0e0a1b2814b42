#include "tests/support/test_exchange.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>

#include "engine/core/numbers.hpp"
#include "engine/venue/binance/interval.hpp"

namespace te::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::map<std::string, std::string> query_params(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view kv = rest.substr(0, amp);
    const auto eq = kv.find('=');
    out[std::string(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::vector<ExchangeBar> make_bars(std::int64_t first_open_ms, std::int64_t interval_ms, std::size_t count,
                                   std::uint64_t seed, double start_price) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 0.004);
  std::uniform_real_distribution<double> wick(0.0, 0.002);
  std::uniform_real_distribution<double> vol(1.0, 50.0);
  std::vector<ExchangeBar> bars;
  double price = start_price;
  for (std::size_t i = 0; i < count; ++i) {
    const double open = price;
    const double close = std::max(0.01, open * (1.0 + step(rng)));
    const double high = std::max(open, close) * (1.0 + wick(rng));
    const double low = std::min(open, close) * (1.0 - wick(rng));
    const double volume = vol(rng);
    ExchangeBar b;
    b.open_time_ms = first_open_ms + static_cast<std::int64_t>(i) * interval_ms;
    b.open = fmt::format("{:.2f}", open);
    b.close = fmt::format("{:.2f}", close);
    // Keep the printed values consistent after rounding.
    b.high = fmt::format("{:.2f}", std::max({high, std::stod(b.open), std::stod(b.close)}));
    b.low = fmt::format("{:.2f}", std::min({low, std::stod(b.open), std::stod(b.close)}));
    b.volume = fmt::format("{:.8f}", volume);
    b.quote_volume = fmt::format("{:.8f}", volume * close);
    b.trades = static_cast<std::int64_t>(volume * 3);
    b.taker_buy_base_volume = fmt::format("{:.8f}", volume / 2);
    b.taker_buy_quote_volume = fmt::format("{:.8f}", volume / 2 * close);
    bars.push_back(std::move(b));
    price = close;
  }
  return bars;
}

te::Result<std::vector<ExchangeBar>> load_bar_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return te::make_error(te::Errc::io, fmt::format("{}: cannot open", path));
  std::string line;
  std::getline(in, line);
  if (line.rfind("open_time,open,high,low,close,volume", 0) != 0) {
    return te::make_error(te::Errc::parse,
                          fmt::format("{}:1: expected a header starting with open_time,open,high,low,close,volume", path));
  }
  const bool full = line.find("quote_volume") != std::string::npos;
  std::vector<ExchangeBar> bars;
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    ExchangeBar b;
    if (f.size() < 6 || !te::parse_int64(f[0], b.open_time_ms)) {
      return te::make_error(te::Errc::parse, fmt::format("{}:{}: expected open_time,open,high,low,close,volume", path, lineno));
    }
    b.open = f[1];
    b.high = f[2];
    b.low = f[3];
    b.close = f[4];
    b.volume = f[5];
    if (full && f.size() >= 11) {
      b.quote_volume = f[7];
      te::parse_int64(f[8], b.trades);
      b.taker_buy_base_volume = f[9];
      b.taker_buy_quote_volume = f[10];
    }
    bars.push_back(std::move(b));
  }
  return bars;
}

// ---- the server ------------------------------------------------------------------

struct Frame {
  enum class Kind { Text, Ping, Drop } kind = Kind::Text;
  std::string text;
};

struct WsSession {
  WsSession(beast::tcp_stream&& stream, net::io_context& io) : ws(std::move(stream)), wake(io) {}
  websocket::stream<beast::tcp_stream> ws;
  net::steady_timer wake;
  std::deque<Frame> queue;
  std::set<std::string> streams;
  std::size_t index = 0;
  std::size_t sent = 0;
  bool open = false;  // handshake done
  bool closed = false;
  bool silent = false;
  bool dropping = false;
  bool healthy() const { return open && !closed && !silent && !dropping; }
};

struct TestExchange::State : std::enable_shared_from_this<TestExchange::State> {
  explicit State(TestExchangeOptions o) : opts(std::move(o)), acceptor(io), script_timer(io), ping_timer(io) {}

  TestExchangeOptions opts;
  std::int64_t interval_ms = 60'000;
  net::io_context io{1};
  tcp::acceptor acceptor;
  net::steady_timer script_timer;
  net::steady_timer ping_timer;
  std::uint16_t port = 0;
  std::vector<std::weak_ptr<WsSession>> sessions;
  std::vector<std::weak_ptr<beast::tcp_stream>> rest_streams;
  std::vector<std::weak_ptr<net::steady_timer>> delay_timers;
  std::size_t bars_total = 0;
  std::size_t closed_count = 0;  // bars visible over REST
  std::int64_t event_time_ms = 0;
  std::int64_t update_id = 1'000'000;
  std::size_t next_connection = 0;
  bool stopping = false;

  mutable std::mutex mutex;  // guards stats and done (read from other threads)
  std::condition_variable done_cv;
  bool done = false;
  TestExchangeStats stats;

  template <class F>
  void bump(F&& f) {
    std::lock_guard<std::mutex> lock(mutex);
    f(stats);
  }

  // Closes every socket and timer so that all coroutines finish and io.run() returns.
  void shutdown() {
    stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    script_timer.cancel();
    ping_timer.cancel();
    for (auto& w : sessions) {
      if (auto s = w.lock()) {
        s->closed = true;
        beast::get_lowest_layer(s->ws).socket().close(ignored);
        s->wake.cancel();
      }
    }
    for (auto& w : rest_streams) {
      if (auto r = w.lock()) r->socket().close(ignored);
    }
    for (auto& w : delay_timers) {
      if (auto t = w.lock()) t->cancel();
    }
  }

  std::size_t healthy_sessions() {
    std::size_t n = 0;
    for (auto& w : sessions) {
      if (auto s = w.lock(); s && s->healthy()) ++n;
    }
    return n;
  }

  void enqueue(const std::shared_ptr<WsSession>& s, Frame f) {
    if (!s->healthy()) return;
    const bool text = f.kind == Frame::Kind::Text;
    s->queue.push_back(std::move(f));
    if (text) {
      ++s->sent;
      bump([](TestExchangeStats& st) { ++st.ws_messages; });
      if (auto it = opts.drop_after_messages.find(s->index); it != opts.drop_after_messages.end() && s->sent >= it->second) {
        s->dropping = true;
        s->queue.push_back(Frame{Frame::Kind::Drop, {}});
        bump([](TestExchangeStats& st) { ++st.drops; });
      }
      if (auto it = opts.silence_after_messages.find(s->index);
          it != opts.silence_after_messages.end() && s->sent >= it->second) {
        s->silent = true;
      }
    }
    s->wake.cancel();
  }

  void broadcast(const std::string& stream, const std::string& text) {
    for (auto& w : sessions) {
      auto s = w.lock();
      if (s && (stream.empty() || s->streams.count(stream))) enqueue(s, Frame{Frame::Kind::Text, text});
    }
  }

  std::string kline_json(const std::string& sym, const ExchangeBar& b, bool closed) const {
    const std::string l = lower(sym);
    const std::int64_t close_ms = b.open_time_ms + interval_ms - 1;
    // An update before the close carries the bar so far (here: flat at the open).
    const std::string& o = b.open;
    const std::string& h = closed ? b.high : b.open;
    const std::string& lo = closed ? b.low : b.open;
    const std::string& c = closed ? b.close : b.open;
    return fmt::format(
        R"({{"stream":"{}@kline_{}","data":{{"e":"kline","E":{},"s":"{}","k":{{"t":{},"T":{},"s":"{}","i":"{}","f":100,"L":200,"o":"{}","c":"{}","h":"{}","l":"{}","v":"{}","n":{},"x":{},"q":"{}","V":"{}","Q":"{}","B":"0"}}}}}})",
        l, opts.interval, closed ? close_ms + 1 : b.open_time_ms + 1, sym, b.open_time_ms, close_ms, sym, opts.interval,
        o, c, h, lo, closed ? b.volume : "0", closed ? b.trades : 0, closed ? "true" : "false",
        closed ? b.quote_volume : "0", closed ? b.taker_buy_base_volume : "0", closed ? b.taker_buy_quote_volume : "0");
  }

  std::string book_ticker_json(const std::string& sym, const ExchangeBar& b) {
    return fmt::format(R"({{"stream":"{}@bookTicker","data":{{"u":{},"s":"{}","b":"{}","B":"1.00000000","a":"{}","A":"2.00000000"}}}})",
                       lower(sym), update_id++, sym, b.close, b.close);
  }

  void close_bar(std::size_t i) {
    if (auto m = opts.malformed_before_bar.find(i); m != opts.malformed_before_bar.end()) {
      for (const auto& raw : m->second) broadcast("", raw);
    }
    if (opts.server_shutdown_before_bar.count(i)) {
      broadcast("", fmt::format(R"({{"stream":"!serverShutdown","data":{{"e":"serverShutdown","E":{}}}}})",
                                opts.bars.begin()->second[i].open_time_ms));
    }
    closed_count = i + 1;  // REST sees the bar before the stream announces it
    for (const auto& [sym, bars] : opts.bars) {
      const ExchangeBar& b = bars[i];
      const std::string stream = lower(sym) + "@kline_" + opts.interval;
      for (int u = 0; u < opts.open_updates_per_bar; ++u) broadcast(stream, kline_json(sym, b, false));
      if (!opts.ws_skip_bars.count(i)) broadcast(stream, kline_json(sym, b, true));
      if (opts.book_tickers) broadcast(lower(sym) + "@bookTicker", book_ticker_json(sym, b));
    }
    bump([&](TestExchangeStats& st) { st.bars_closed = i + 1; });
  }

  http::response<http::string_body> json_response(const http::request<http::string_body>& req, http::status status,
                                                  std::string body) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, "application/json;charset=UTF-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    return res;
  }

  http::response<http::string_body> rest(const http::request<http::string_body>& req, std::size_t n) {
    using S = http::status;
    const int r429 = opts.rest_429_first, r418 = opts.rest_418_first;
    if (n <= static_cast<std::size_t>(r429) || n <= static_cast<std::size_t>(r429 + r418)) {
      const bool ban = n > static_cast<std::size_t>(r429);
      bump([](TestExchangeStats& st) { ++st.rest_rate_limited; });
      auto res = json_response(
          req, ban ? static_cast<S>(418) : S::too_many_requests,
          ban ? R"({"code":-1003,"msg":"Way too much request weight used; IP banned until 1700000000000. Please use WebSocket Streams for live updates to avoid bans."})"
              : R"({"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."})");
      res.set(http::field::retry_after, std::to_string(opts.retry_after_s));
      return res;
    }
    const std::string_view target = sv(req.target());
    const std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get || path != "/api/v3/klines") {
      return json_response(req, S::not_found, R"({"code":-1000,"msg":"Unknown endpoint."})");
    }
    auto p = query_params(target);
    auto bad = [&](int code, const std::string& msg) {
      return json_response(req, S::bad_request, fmt::format(R"({{"code":{},"msg":"{}"}})", code, msg));
    };
    if (p["symbol"].empty()) {
      return bad(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    }
    if (p["interval"].empty()) {
      return bad(-1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.");
    }
    auto it = opts.bars.find(p["symbol"]);
    if (it == opts.bars.end()) return bad(-1121, "Invalid symbol.");
    if (p["interval"] != opts.interval) return bad(-1120, "Invalid interval.");
    std::int64_t limit = 500, start = INT64_MIN, end = INT64_MAX;
    if (p.count("limit") && (!te::parse_int64(p["limit"], limit) || limit < 1 || limit > 1000)) {
      return bad(-1130, "Data sent for parameter 'limit' is not valid.");
    }
    if (p.count("startTime") && !te::parse_int64(p["startTime"], start)) {
      return bad(-1100, "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'.");
    }
    if (p.count("endTime") && !te::parse_int64(p["endTime"], end)) {
      return bad(-1100, "Illegal characters found in parameter 'endTime'; legal range is '^[0-9]{1,20}$'.");
    }
    const auto& bars = it->second;
    std::size_t available = opts.rest_serves_all ? bars.size() : closed_count;
    if (opts.rest_includes_open_kline && available < bars.size()) ++available;
    std::vector<const ExchangeBar*> sel;
    for (std::size_t i = 0; i < available; ++i) {
      if (bars[i].open_time_ms >= start && bars[i].open_time_ms <= end) sel.push_back(&bars[i]);
    }
    const auto lim = static_cast<std::size_t>(limit);
    if (sel.size() > lim) {
      if (p.count("startTime")) {
        sel.resize(lim);
      } else {
        sel.erase(sel.begin(), sel.end() - static_cast<std::ptrdiff_t>(lim));  // the most recent ones
      }
    }
    std::string body = "[";
    for (const ExchangeBar* b : sel) {
      if (body.size() > 1) body += ',';
      body += fmt::format(R"([{},"{}","{}","{}","{}","{}",{},"{}",{},"{}","{}","0"])", b->open_time_ms, b->open, b->high,
                          b->low, b->close, b->volume, b->open_time_ms + interval_ms - 1, b->quote_volume, b->trades,
                          b->taker_buy_base_volume, b->taker_buy_quote_volume);
    }
    body += ']';
    auto res = json_response(req, S::ok, std::move(body));
    const std::string weight = std::to_string(static_cast<std::int64_t>(n) * opts.weight_per_request);
    res.set("X-MBX-USED-WEIGHT-1M", weight);
    res.set("X-MBX-USED-WEIGHT", weight);
    return res;
  }

  void finish_script() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    done_cv.notify_all();
  }
};

namespace {

using State = std::shared_ptr<TestExchange::State>;

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    fmt::print(stderr, "te_test_exchange: coroutine failed: {}\n", ex.what());
  } catch (...) {
    fmt::print(stderr, "te_test_exchange: coroutine failed\n");
  }
}

net::awaitable<void> ws_writer(State st, std::shared_ptr<WsSession> s) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  for (;;) {
    while (s->queue.empty() && !s->closed) {
      s->wake.expires_at(net::steady_timer::time_point::max());
      co_await s->wake.async_wait(token);
    }
    if (s->closed) co_return;
    Frame f = std::move(s->queue.front());
    s->queue.pop_front();
    if (f.kind == Frame::Kind::Drop) {
      s->closed = true;
      beast::error_code ignored;
      beast::get_lowest_layer(s->ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(s->ws).socket().close(ignored);
      co_return;
    }
    if (f.kind == Frame::Kind::Ping) {
      co_await s->ws.async_ping(websocket::ping_data(st->opts.ping_payload), token);
      st->bump([](TestExchangeStats& x) { ++x.pings_sent; });
    } else {
      s->ws.text(true);
      co_await s->ws.async_write(net::buffer(f.text), token);
    }
    if (ec) {
      s->closed = true;
      co_return;
    }
  }
}

net::awaitable<void> ws_session(State st, beast::tcp_stream stream, http::request<http::string_body> req) {
  auto s = std::make_shared<WsSession>(std::move(stream), st->io);
  st->sessions.push_back(s);
  const std::string target(sv(req.target()));
  auto params = query_params(target);
  std::string_view streams = params["streams"];
  while (!streams.empty()) {
    const auto slash = streams.find('/');
    s->streams.insert(std::string(streams.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    streams.remove_prefix(slash + 1);
  }
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(10);
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  s->ws.set_option(t);
  const std::string payload = st->opts.ping_payload;
  std::weak_ptr<TestExchange::State> weak = st;
  s->ws.control_callback([weak, payload](websocket::frame_type kind, beast::string_view data) {
    if (kind != websocket::frame_type::pong) return;
    if (auto state = weak.lock()) {
      state->bump([&](TestExchangeStats& x) {
        ++x.pongs;
        if (sv(data) == payload) ++x.pongs_matching;
      });
    }
  });
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  co_await s->ws.async_accept(req, token);
  if (ec || st->stopping) co_return;
  s->index = st->next_connection++;
  s->open = true;
  st->bump([&](TestExchangeStats& x) {
    ++x.ws_connections;
    ++x.ws_open;
    x.targets.push_back(target);
  });
  net::co_spawn(st->io, ws_writer(st, s), log_exception);
  beast::flat_buffer buffer;
  for (;;) {
    co_await s->ws.async_read(buffer, token);
    if (ec) break;
    buffer.consume(buffer.size());
  }
  s->closed = true;
  s->wake.cancel();
  st->bump([](TestExchangeStats& x) { --x.ws_open; });
  auto& v = st->sessions;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const std::weak_ptr<WsSession>& w) {
            auto p = w.lock();
            return !p || p == s;
          }),
          v.end());
}

net::awaitable<void> serve(State st, tcp::socket socket) {
  auto shared = std::make_shared<beast::tcp_stream>(std::move(socket));
  st->rest_streams.push_back(shared);
  auto& stream = *shared;
  beast::flat_buffer buffer;
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  for (;;) {
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, token);
    if (ec) co_return;
    if (websocket::is_upgrade(req)) {
      co_await ws_session(st, std::move(stream), std::move(req));
      co_return;
    }
    std::size_t n = 0;
    st->bump([&](TestExchangeStats& x) { n = ++x.rest_requests; });
    if (st->opts.rest_delay.count() > 0) {
      auto delay = std::make_shared<net::steady_timer>(st->io, st->opts.rest_delay);
      st->delay_timers.push_back(delay);  // shutdown() cancels it
      co_await delay->async_wait(token);
      if (st->stopping) co_return;
    }
    auto res = st->rest(req, n);
    res.prepare_payload();
    co_await http::async_write(stream, res, token);
    if (ec || !res.keep_alive()) {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

net::awaitable<void> accept_loop(State st) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  for (;;) {
    tcp::socket socket = co_await st->acceptor.async_accept(token);
    if (ec) co_return;
    net::co_spawn(st->io, serve(st, std::move(socket)), log_exception);
  }
}

net::awaitable<void> script(State st) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  net::steady_timer& timer = st->script_timer;
  const auto poll = std::chrono::milliseconds(5);
  while (!st->stopping && st->healthy_sessions() < st->opts.wait_for_connections) {
    timer.expires_after(poll);
    co_await timer.async_wait(token);
  }
  std::size_t degraded = 0;
  for (std::size_t i = 0; i < st->bars_total && !st->stopping; ++i) {
    timer.expires_after(st->opts.pace);
    co_await timer.async_wait(token);
    const std::size_t want = st->opts.wait_for_connections;
    while (!st->stopping && want > 0 && st->opts.max_closes_while_degraded > 0 &&
           degraded >= st->opts.max_closes_while_degraded && st->healthy_sessions() < want) {
      timer.expires_after(poll);
      co_await timer.async_wait(token);
    }
    if (st->stopping) break;
    degraded = st->healthy_sessions() < want ? degraded + 1 : 0;
    st->close_bar(i);
  }
  st->finish_script();
}

net::awaitable<void> pinger(State st) {
  beast::error_code ec;
  auto token = net::redirect_error(net::use_awaitable, ec);
  net::steady_timer& timer = st->ping_timer;
  while (!st->stopping) {
    timer.expires_after(st->opts.ping_interval);
    co_await timer.async_wait(token);
    for (auto& w : st->sessions) {
      if (auto s = w.lock()) st->enqueue(s, Frame{Frame::Kind::Ping, {}});
    }
  }
}

}  // namespace

TestExchange::TestExchange(TestExchangeOptions options) : options_(std::move(options)) {}

TestExchange::~TestExchange() { stop(); }

te::Status TestExchange::start() {
  if (state_) return te::make_error(te::Errc::invalid_argument, "test exchange: already started");
  auto iv = te::venue::binance::parse_interval(options_.interval);
  if (!iv || iv->monthly) return te::make_error(te::Errc::invalid_argument, "test exchange: unsupported interval");
  std::size_t n = 0;
  for (const auto& [sym, bars] : options_.bars) {
    if (n != 0 && bars.size() != n) {
      return te::make_error(te::Errc::invalid_argument, "test exchange: every symbol needs the same number of bars");
    }
    n = bars.size();
  }
  auto st = std::make_shared<State>(options_);
  st->interval_ms = iv->ms;
  st->bars_total = n;
  beast::error_code ec;
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), options_.port);
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) st->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(ep, ec);
  if (!ec) st->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return te::make_error(te::Errc::io, fmt::format("test exchange: cannot listen on 127.0.0.1:{}: {}", options_.port, ec.message()));
  st->port = st->acceptor.local_endpoint().port();
  state_ = st;
  net::co_spawn(st->io, accept_loop(st), log_exception);
  if (n > 0) {
    net::co_spawn(st->io, script(st), log_exception);
  } else {
    st->finish_script();
  }
  if (options_.ping_interval.count() > 0) net::co_spawn(st->io, pinger(st), log_exception);
  std::promise<void> finished;
  finished_ = finished.get_future();
  thread_ = std::thread([st, p = std::move(finished)]() mutable {
    st->io.run();
    p.set_value();
  });
  return {};
}

void TestExchange::stop() {
  if (!state_ || stopped_) return;
  stopped_ = true;
  auto st = state_;
  net::post(st->io, [st] { st->shutdown(); });
  // Normally every coroutine ends and run() returns; a last resort keeps a stuck
  // test from hanging here.
  if (finished_.wait_for(std::chrono::seconds(5)) != std::future_status::ready) st->io.stop();
  if (thread_.joinable()) thread_.join();
}

std::uint16_t TestExchange::port() const { return state_ ? state_->port : 0; }

std::string TestExchange::ws_url() const { return fmt::format("ws://127.0.0.1:{}", port()); }

std::string TestExchange::rest_url() const { return fmt::format("http://127.0.0.1:{}", port()); }

bool TestExchange::wait_until_done(std::chrono::milliseconds timeout) {
  if (!state_) return false;
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->done_cv.wait_for(lock, timeout, [&] { return state_->done; });
}

TestExchangeStats TestExchange::stats() const {
  if (!state_) return {};
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->stats;
}

}  // namespace te::testing
