#include "engine/venue/binance/rest_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <mutex>
#include <random>

#include "engine/venue/binance/detail/tls.hpp"
#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/parse.hpp"
#include "engine/venue/binance/url.hpp"

namespace te::venue::binance {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace detail {
namespace {

std::string_view method_name(HttpMethod m) noexcept {
  switch (m) {
    case HttpMethod::Get: return "GET";
    case HttpMethod::Post: return "POST";
    case HttpMethod::Put: return "PUT";
    case HttpMethod::Delete: return "DELETE";
  }
  return "GET";
}

http::verb method_verb(HttpMethod m) noexcept {
  switch (m) {
    case HttpMethod::Get: return http::verb::get;
    case HttpMethod::Post: return http::verb::post;
    case HttpMethod::Put: return http::verb::put;
    case HttpMethod::Delete: return http::verb::delete_;
  }
  return http::verb::get;
}

std::string_view sv(beast::string_view s) noexcept { return {s.data(), s.size()}; }

Errc errc_for_status(unsigned status) noexcept {
  if (status == 429 || status == 418) return Errc::limit;
  if (status == 401 || status == 403) return Errc::denied;
  if (status == 404) return Errc::not_found;
  if (status >= 500) return Errc::io;
  return Errc::invalid_argument;
}

}  // namespace

// The result of one HTTP exchange attempt.
struct Exchange {
  beast::error_code ec;
  std::string what;            // failing step: "connect", "read response", ...
  bool fresh = false;          // on a connection opened for this exchange
  bool sent = false;           // the request was fully written
  bool partial = false;        // some response bytes arrived before the failure
  bool got_response = false;
  http::response<http::string_body> res;
};

class RestImpl {
 public:
  RestImpl(RestClientOptions options, Url url, std::unique_ptr<ssl::context> tls)
      : opts_(std::move(options)), url_(std::move(url)), tls_ctx_(std::move(tls)), resolver_(ioc_), sleep_timer_(ioc_) {
    std::uint64_t seed = opts_.jitter_seed;
    if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    rng_.seed(seed);
  }

  Result<HttpResponse> request(HttpMethod method, std::string_view path, std::string_view query,
                               const std::string* api_key, bool retry_allowed) {
    // Messages name the method and path, never the query (it may carry a signature).
    const std::string label = fmt::format("{} {}", method_name(method), path);
    std::string target = url_.path;
    target.append(path);
    if (!query.empty()) target.append("?").append(query);
    http::request<http::string_body> req{method_verb(method), target, 11};
    req.set(http::field::host, url_.host_header());
    req.set(http::field::user_agent, opts_.user_agent);
    req.set(http::field::accept, "application/json");
    if (api_key) req.set("X-MBX-APIKEY", *api_key);
    req.keep_alive(true);
    req.prepare_payload();

    for (int attempt = 1;; ++attempt) {
      if (cancelled_) return cancelled(label);
      Exchange ex;
      bump([](RestClientStats& s) { ++s.requests; });
      if (!drive(ex, req)) return cancelled(label);
      if (!ex.got_response && !ex.fresh && !ex.partial && method == HttpMethod::Get) {
        // A kept-alive connection the server had already closed: retry once on a new one.
        bump([](RestClientStats& s) { ++s.requests; });
        ex = Exchange{};
        if (!drive(ex, req)) return cancelled(label);
      }
      if (!ex.got_response) {
        bump([](RestClientStats& s) { ++s.transport_errors; });
        const std::string problem = fmt::format("{}: {}: {}", label, ex.what, ex.ec.message());
        if (!retry_allowed && ex.sent) {
          return make_error(Errc::io, problem + " (the request was sent; its outcome is unknown)");
        }
        if (attempt >= opts_.max_attempts) {
          return make_error(Errc::io, fmt::format("{} (after {} attempts)", problem, attempt));
        }
        if (!backoff(attempt)) return cancelled(label);
        continue;
      }

      HttpResponse r;
      r.status = ex.res.result_int();
      r.rate_limits = rate_limits_of(ex.res);
      r.body = std::move(ex.res.body());
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_usage_ = r.rate_limits;
      }
      if (r.status >= 200 && r.status < 300) return r;

      std::string desc = fmt::format("{}: http {}", label, r.status);
      if (auto api = parser_.parse_api_error(r.body)) {
        desc += fmt::format(", binance error {}: {}", api->code, api->msg);
        std::lock_guard<std::mutex> lock(mutex_);
        last_api_error_ = *api;
      } else if (!r.body.empty()) {
        std::string excerpt = r.body.substr(0, 120);
        for (char& c : excerpt) {
          if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        }
        desc += fmt::format(": {}", excerpt);
      }

      if (r.status == 429 || r.status == 418) {
        bump([](RestClientStats& s) { ++s.rate_limited; });
        const auto retry_after = std::chrono::seconds(r.rate_limits.retry_after_s.value_or(0));
        if (retry_after > opts_.max_retry_after) {
          return make_error(Errc::limit, fmt::format("{}; Retry-After {} s exceeds the {} s we wait", desc,
                                                     retry_after.count(), opts_.max_retry_after.count() / 1000));
        }
        if (!retry_allowed) return make_error(Errc::limit, desc);
        if (attempt >= opts_.max_attempts) {
          return make_error(Errc::limit, fmt::format("{} (after {} attempts)", desc, attempt));
        }
        // Wait what the server asks, and never less than our own backoff.
        const auto own = backoff_delay(attempt);
        const auto wait = std::max<std::chrono::milliseconds>(retry_after, own);
        bump([](RestClientStats& s) { ++s.retries; });
        if (!sleep(wait)) return cancelled(label);
        continue;
      }
      if (r.status >= 500) {
        bump([](RestClientStats& s) { ++s.server_errors; });
        if (!retry_allowed) return make_error(Errc::io, desc + " (execution status unknown)");
        if (attempt >= opts_.max_attempts) {
          return make_error(Errc::io, fmt::format("{} (after {} attempts)", desc, attempt));
        }
        if (!backoff(attempt)) return cancelled(label);
        continue;
      }
      return make_error(errc_for_status(r.status), desc);
    }
  }

  Result<std::vector<RestKline>> klines(const KlinesRequest& r) {
    std::vector<std::string> problems;
    const bool alnum = !r.symbol.empty() && std::all_of(r.symbol.begin(), r.symbol.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0;
    });
    if (!alnum) problems.push_back(fmt::format("symbol \"{}\" is not a Binance symbol", r.symbol));
    if (auto iv = parse_interval(r.interval); !iv) problems.push_back(iv.error().message);
    if (r.limit < 1 || r.limit > 1000) problems.push_back(fmt::format("limit must be in 1..1000, was {}", r.limit));
    if (r.start_time_ms && r.end_time_ms && *r.start_time_ms > *r.end_time_ms) {
      problems.push_back(fmt::format("startTime {} is after endTime {}", *r.start_time_ms, *r.end_time_ms));
    }
    if (!problems.empty()) {
      std::string msg = "GET /api/v3/klines:";
      for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : " ") + problems[i];
      return make_error(Errc::invalid_argument, std::move(msg));
    }
    Params q{{"symbol", upper_symbol(r.symbol)}, {"interval", r.interval}};
    if (r.start_time_ms) q.emplace_back("startTime", std::to_string(*r.start_time_ms));
    if (r.end_time_ms) q.emplace_back("endTime", std::to_string(*r.end_time_ms));
    q.emplace_back("limit", std::to_string(r.limit));
    auto res = request(HttpMethod::Get, "/api/v3/klines", encode_query(q), nullptr, true);
    if (!res) return std::move(res).error();
    auto rows = parser_.parse_rest_klines(res->body);
    if (!rows) return make_error(Errc::parse, "GET /api/v3/klines: " + rows.error().message);
    return rows;
  }

  bool sleep(std::chrono::milliseconds d) {
    if (d.count() <= 0) return !cancelled_;
    const auto start = std::chrono::steady_clock::now();
    bool done = false;
    sleep_timer_.expires_after(d);
    sleep_timer_.async_wait([&done](const beast::error_code&) { done = true; });
    ioc_.restart();
    if (!cancelled_) ioc_.run();
    if (!done) {
      sleep_timer_.cancel();
      ioc_.restart();
      while (!done && ioc_.run_one() > 0) {
      }
    }
    const auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    bump([&](RestClientStats& s) { s.waited += slept; });
    return !cancelled_;
  }

  void cancel() noexcept {
    cancelled_ = true;
    ioc_.stop();
  }

  RestClientStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  RateLimitUsage last_rate_limits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_usage_;
  }
  std::optional<ApiError> last_api_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_api_error_;
  }

 private:
  Error cancelled(const std::string& label) const { return make_error(Errc::io, label + ": cancelled"); }

  template <class F>
  void bump(F&& f) {
    std::lock_guard<std::mutex> lock(mutex_);
    f(stats_);
  }

  std::chrono::milliseconds backoff_delay(int attempt) {
    const double base = std::min(static_cast<double>(opts_.retry_max_delay.count()),
                                 static_cast<double>(opts_.retry_initial_delay.count()) *
                                     std::pow(2.0, std::min(attempt - 1, 30)));
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return std::chrono::milliseconds(static_cast<std::int64_t>(base * (0.5 + 0.5 * u)));
  }

  bool backoff(int attempt) {
    bump([](RestClientStats& s) { ++s.retries; });
    return sleep(backoff_delay(attempt));
  }

  static RateLimitUsage rate_limits_of(const http::response<http::string_body>& res) {
    RateLimitUsage u;
    for (const auto& f : res) {
      const std::string_view name = sv(f.name_string());
      if (auto c = parse_rate_limit_header(name, sv(f.value()))) {
        u.counters.push_back(*c);
      } else if (name.size() == 11 && beast::iequals(f.name_string(), "Retry-After")) {
        if (auto s = parse_retry_after(sv(f.value()))) u.retry_after_s = *s;
      }
    }
    return u;
  }

  // Runs one exchange to completion on the private io_context. False when cancelled.
  bool drive(Exchange& ex, http::request<http::string_body>& req) {
    bool done = false;
    net::co_spawn(ioc_, exchange(req, ex), [&done, &ex](std::exception_ptr e) {
      done = true;
      if (e && !ex.got_response && ex.what.empty()) {
        ex.what = "internal error";
        ex.ec = net::error::fault;
      }
    });
    ioc_.restart();
    if (!cancelled_) ioc_.run();
    if (!done) {
      // cancel() stopped the loop: abort what is pending and let the coroutine unwind.
      close_connection();
      ioc_.restart();
      while (!done && ioc_.run_one() > 0) {
      }
    }
    if (cancelled_) {
      close_connection();
      return false;
    }
    return true;
  }

  void close_connection() {
    beast::error_code ignored;
    resolver_.cancel();
    if (plain_) plain_->socket().close(ignored);
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
    connected_ = false;
  }

  // The coroutine frame references this object; drive() always runs it to completion
  // before returning, so it never outlives the client.
  net::awaitable<void> exchange(http::request<http::string_body>& req, Exchange& out) {
    // cancel() may land before this coroutine starts; drive() then runs it only to unwind.
    if (cancelled_) {
      out.ec = net::error::operation_aborted;
      out.what = "cancelled";
      co_return;
    }
    if (!connected_) {
      out.fresh = true;
      co_await open_connection(out);
      if (out.ec) co_return;
    }
    if (tls_) {
      co_await talk(*tls_, req, out);
    } else {
      co_await talk(*plain_, req, out);
    }
  }

  net::awaitable<void> open_connection(Exchange& out) {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    buffer_.clear();
    auto results = co_await resolver_.async_resolve(url_.host, url_.port, token);
    if (ec || cancelled_) {
      out.ec = ec ? ec : net::error::operation_aborted;
      out.what = "resolve " + url_.host;
      co_return;
    }
    beast::tcp_stream* lowest = nullptr;
    if (url_.tls) {
      plain_.reset();
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *tls_ctx_);
      lowest = &beast::get_lowest_layer(*tls_);
    } else {
      tls_.reset();
      plain_ = std::make_unique<beast::tcp_stream>(ioc_);
      lowest = plain_.get();
    }
    lowest->expires_after(opts_.connect_timeout);
    co_await lowest->async_connect(results, token);
    if (!ec && cancelled_) ec = net::error::operation_aborted;
    if (ec) {
      out.ec = ec;
      out.what = "connect";
      co_return;
    }
    if (url_.tls) {
      if (auto e = prepare_tls_stream(*tls_, url_.host)) {
        out.ec = e;
        out.what = "tls setup";
        co_return;
      }
      co_await tls_->async_handshake(ssl::stream_base::client, token);
      if (ec) {
        out.ec = ec;
        out.what = "tls handshake";
        close_connection();
        co_return;
      }
    }
    connected_ = true;
    bump([](RestClientStats& s) { ++s.connections; });
  }

  template <class Stream>
  net::awaitable<void> talk(Stream& stream, http::request<http::string_body>& req, Exchange& out) {
    beast::error_code ec;
    auto token = net::redirect_error(net::use_awaitable, ec);
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(opts_.request_timeout);
    co_await http::async_write(stream, req, token);
    if (ec) {
      out.ec = ec;
      out.what = "write request";
      close_connection();
      co_return;
    }
    out.sent = true;
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.max_body_bytes);
    co_await http::async_read(stream, buffer_, parser, token);
    if (ec) {
      out.ec = ec;
      out.what = ec == beast::error::timeout ? "read response (timed out)" : "read response";
      out.partial = parser.got_some();
      close_connection();
      co_return;
    }
    lowest.expires_never();
    out.res = parser.release();
    out.got_response = true;
    if (!out.res.keep_alive()) close_connection();
  }

  const RestClientOptions opts_;
  const Url url_;
  std::unique_ptr<ssl::context> tls_ctx_;
  net::io_context ioc_{1};
  tcp::resolver resolver_;
  net::steady_timer sleep_timer_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  std::atomic<bool> cancelled_{false};
  std::mt19937_64 rng_;
  Parser parser_;

  mutable std::mutex mutex_;
  RestClientStats stats_;
  RateLimitUsage last_usage_;
  std::optional<ApiError> last_api_error_;
};

}  // namespace detail

Result<RestClient> RestClient::create(RestClientOptions options) {
  auto url = parse_url(options.base_url, UrlKind::Http);
  if (!url) return make_error(Errc::invalid_argument, "rest_url: " + url.error().message);
  std::vector<std::string> problems;
  if (options.max_attempts < 1) problems.push_back(fmt::format("max_attempts must be >= 1, was {}", options.max_attempts));
  if (options.connect_timeout.count() <= 0) problems.emplace_back("connect_timeout must be > 0");
  if (options.request_timeout.count() <= 0) problems.emplace_back("request_timeout must be > 0");
  if (options.retry_initial_delay.count() < 0 || options.retry_max_delay < options.retry_initial_delay) {
    problems.emplace_back("retry delays must satisfy 0 <= retry_initial_delay <= retry_max_delay");
  }
  if (!problems.empty()) {
    std::string msg = "binance rest options:";
    for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : " ") + problems[i];
    return make_error(Errc::invalid_argument, std::move(msg));
  }
  std::unique_ptr<ssl::context> tls;
  if (url->tls) {
    auto ctx = detail::make_tls_client_context(options.ca_file);
    if (!ctx) return std::move(ctx).error();
    tls = std::move(*ctx);
  }
  return RestClient(std::make_unique<detail::RestImpl>(std::move(options), std::move(*url), std::move(tls)));
}

RestClient::RestClient(std::unique_ptr<detail::RestImpl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;
RestClient::RestClient(RestClient&&) noexcept = default;
RestClient& RestClient::operator=(RestClient&&) noexcept = default;

Result<HttpResponse> RestClient::get(std::string_view path, std::string_view query) {
  return impl_->request(HttpMethod::Get, path, query, nullptr, true);
}

Result<HttpResponse> RestClient::send_signed(HttpMethod method, std::string_view path, Params params,
                                             const Credentials& credentials, std::int64_t timestamp_ms,
                                             std::optional<std::string> recv_window_ms) {
  const std::string query = signed_query(std::move(params), timestamp_ms, std::move(recv_window_ms), credentials);
  return impl_->request(method, path, query, &credentials.api_key(), method == HttpMethod::Get);
}

Result<std::vector<RestKline>> RestClient::klines(const KlinesRequest& request) { return impl_->klines(request); }

bool RestClient::wait(std::chrono::milliseconds d) { return impl_->sleep(d); }

void RestClient::cancel() noexcept { impl_->cancel(); }

RestClientStats RestClient::stats() const { return impl_->stats(); }

RateLimitUsage RestClient::last_rate_limits() const { return impl_->last_rate_limits(); }

std::optional<ApiError> RestClient::last_api_error() const { return impl_->last_api_error(); }

Status for_each_kline_page(RestClient& client, const std::string& symbol, const std::string& interval,
                           std::int64_t from_open_ms, std::int64_t to_open_ms,
                           const std::function<Status(std::vector<RestKline>& page)>& on_page) {
  const auto grid = parse_interval(interval);
  if (!grid) return grid.error();
  std::int64_t start = from_open_ms;
  while (start <= to_open_ms) {
    auto page = client.klines(KlinesRequest{symbol, interval, start, to_open_ms, 1000});
    if (!page) return std::move(page).error();
    auto& rows = *page;
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const RestKline& k) { return k.open_time_ms < start || k.open_time_ms > to_open_ms; }),
               rows.end());
    // A row off the interval's grid is not a bar of this series: writing it
    // would give the file a bar of the wrong length (and the backtest a gap).
    for (const auto& k : rows)
      if (floor_open_ms(*grid, k.open_time_ms) != k.open_time_ms)
        return make_error(Errc::parse,
                          fmt::format("the exchange sent a {} {} kline opening at {}, which is not on the {} grid "
                                      "(the grid time before it is {})",
                                      symbol, interval, k.open_time_ms, interval, floor_open_ms(*grid, k.open_time_ms)));
    if (rows.empty()) return {};
    const std::int64_t last = rows.back().open_time_ms;
    if (Status st = on_page(rows); !st) return st;
    start = last + 1;
  }
  return {};
}

}  // namespace te::venue::binance
