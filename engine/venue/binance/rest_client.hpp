#pragma once
// Binance REST client: HTTP/1.1 over Beast with a kept-alive connection,
// http:// (loopback tests) or https:// (verify_peer, SNI, host name check).
//
// Synchronous: each call blocks the calling thread until the response, an error
// or a timeout. Internally every request runs on a private io_context owned by
// the client, so timeouts and cancel() work without threads of its own. One
// client is used by one thread at a time; cancel() may be called from any thread.
//
// Rate limits: 429 and 418 responses are retried after the server's Retry-After
// (seconds), as long as that is at most max_retry_after (a long 418 ban fails
// the request instead of sleeping for hours); 5xx and network errors are retried
// with jittered exponential backoff (GET only). Error bodies {"code","msg"} become
// the Error's message and last_api_error().
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/venue/binance/messages.hpp"
#include "engine/venue/binance/signing.hpp"

namespace te::venue::binance {

struct RestClientOptions {
  std::string base_url = "https://api.binance.com";
  std::chrono::milliseconds connect_timeout{10'000};  // resolve + TCP + TLS
  std::chrono::milliseconds request_timeout{30'000};  // write request + read response
  int max_attempts = 5;                               // per call, for 429/418/5xx/network errors
  std::chrono::milliseconds retry_initial_delay{500};
  std::chrono::milliseconds retry_max_delay{30'000};
  std::chrono::milliseconds max_retry_after{300'000};
  std::size_t max_body_bytes = 64u << 20;
  std::uint64_t jitter_seed = 0;  // 0: random
  std::string ca_file;            // extra PEM trust anchors for https://
  std::string user_agent = "trading-engine";
};

enum class HttpMethod : std::uint8_t { Get, Post, Put, Delete };

struct HttpResponse {
  unsigned status = 0;
  std::string body;
  RateLimitUsage rate_limits;
};

struct RestClientStats {
  std::uint64_t requests = 0;          // HTTP exchanges attempted
  std::uint64_t retries = 0;
  std::uint64_t rate_limited = 0;      // 429 and 418 responses
  std::uint64_t server_errors = 0;     // 5xx responses
  std::uint64_t transport_errors = 0;  // connect/TLS/read/write failures and timeouts
  std::uint64_t connections = 0;       // connections opened
  std::chrono::milliseconds waited{0}; // time spent in backoff and Retry-After waits
};

// GET /api/v3/klines parameters. Open times are epoch ms; limit 1..1000.
struct KlinesRequest {
  std::string symbol;
  std::string interval;
  std::optional<std::int64_t> start_time_ms;
  std::optional<std::int64_t> end_time_ms;
  int limit = 1000;
};

namespace detail {
class RestImpl;
}  // namespace detail

class RestClient {
 public:
  // Errors: Errc::invalid_argument (bad base_url or options), Errc::io (TLS setup).
  static Result<RestClient> create(RestClientOptions options);
  ~RestClient();
  RestClient(RestClient&&) noexcept;
  RestClient& operator=(RestClient&&) noexcept;

  // GET {base_url}{path}?{query} (query already encoded). Non-2xx answers are
  // errors: Errc::limit (429/418 after retries, or a ban longer than
  // max_retry_after), Errc::denied (401/403), Errc::not_found (404),
  // Errc::invalid_argument (other 4xx, e.g. Binance -1121 Invalid symbol),
  // Errc::io (network, timeouts, 5xx after retries, cancelled).
  Result<HttpResponse> get(std::string_view path, std::string_view query = {});

  // A signed (HMAC-SHA256) request: params + recvWindow + timestamp + signature in
  // the query string, X-MBX-APIKEY header. `timestamp_ms` comes from the caller's
  // clock. Not retried once sent (an order must not be placed twice); a 5xx
  // means "execution status unknown" and is reported as Errc::io saying so.
  Result<HttpResponse> send_signed(HttpMethod method, std::string_view path, Params params,
                                   const Credentials& credentials, std::int64_t timestamp_ms,
                                   std::optional<std::string> recv_window_ms = std::nullopt);

  // One page of GET /api/v3/klines.
  // Errors: as get(), plus Errc::parse for a malformed body, invalid_argument for a bad request.
  Result<std::vector<RestKline>> klines(const KlinesRequest& request);

  // Sleeps for `d` unless cancel() is called meanwhile (then returns false).
  bool wait(std::chrono::milliseconds d);

  // Aborts the call in progress (from any thread) and makes every later call fail
  // with Errc::io "cancelled". Idempotent.
  void cancel() noexcept;

  RestClientStats stats() const;
  RateLimitUsage last_rate_limits() const;         // from the last response
  std::optional<ApiError> last_api_error() const;  // from the last error body

 private:
  explicit RestClient(std::unique_ptr<detail::RestImpl> impl);
  std::unique_ptr<detail::RestImpl> impl_;
};

// Every kline with open time in [from_open_ms, to_open_ms], page by page
// (limit 1000, startTime advancing past the last open time). `on_page` gets each
// non-empty page in order; returning an error stops the walk with that error.
// Errors: the client's, or Errc::parse when a page does not advance.
Status for_each_kline_page(RestClient& client, const std::string& symbol, const std::string& interval,
                           std::int64_t from_open_ms, std::int64_t to_open_ms,
                           const std::function<Status(std::vector<RestKline>& page)>& on_page);

}  // namespace te::venue::binance
