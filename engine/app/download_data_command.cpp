// trading-engine download-data: historical klines from Binance's REST API into
// the klines CSV format (see engine/venue/binance/download.hpp and
// docs/download-data.md).
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "engine/app/command.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/time.hpp"
#include "engine/venue/binance/download.hpp"
#include "engine/venue/binance/interval.hpp"
#include "engine/venue/binance/rest_client.hpp"

namespace te::app {
namespace {

namespace bn = te::venue::binance;

struct DownloadArgs {
  std::string source;
  std::string symbol;
  std::string interval = "1m";
  std::string start;
  std::string end;
  int days = 0;
  std::string out;
  std::string rest_url = "https://api.binance.com";
};

bool is_date_only(const std::string& s) { return s.size() == 10; }

int run_download(const DownloadArgs& a) {
  auto fail = [](const std::string& msg) {
    fmt::print(stderr, "{}{}\n", msg.rfind("download-data", 0) == 0 ? "" : "download-data: ", msg);
    return 1;
  };
  if (a.source != "binance") return fail(fmt::format("--source must be binance, was \"{}\"", a.source));
  if (a.days == 0 && a.start.empty()) return fail("give --start (and optionally --end) or --days");
  if (a.days != 0 && (!a.start.empty() || !a.end.empty())) return fail("--days cannot be combined with --start/--end");
  if (a.days < 0) return fail(fmt::format("--days must be >= 1, was {}", a.days));
  if (!a.end.empty() && a.start.empty()) return fail("--end needs --start");

  // The only wall-clock read of this command: which klines have closed.
  const std::int64_t now_ms = te::LiveClock().now_ns() / te::kNsPerMs;
  bn::DownloadOptions o;
  o.symbol = a.symbol;
  o.interval = a.interval;
  o.out_path = a.out;
  o.now_ms = now_ms;
  if (a.days > 0) {
    // From the kline containing "now - N days", so that e.g. --days 1 --interval 1d
    // yields yesterday's (closed) kline.
    const std::int64_t from = now_ms - static_cast<std::int64_t>(a.days) * (te::kNsPerDay / te::kNsPerMs);
    auto iv = bn::parse_interval(a.interval);
    if (!iv) return fail(iv.error().message);
    o.start_ms = bn::floor_open_ms(*iv, from);
    o.end_ms = now_ms;
  } else {
    const auto start = te::parse_iso8601_ns(a.start);
    if (!start) return fail(fmt::format("--start: expected YYYY-MM-DD or an ISO-8601 date-time, was \"{}\"", a.start));
    o.start_ms = *start / te::kNsPerMs;
    if (a.end.empty()) {
      o.end_ms = now_ms;
    } else {
      const auto end = te::parse_iso8601_ns(a.end);
      if (!end) return fail(fmt::format("--end: expected YYYY-MM-DD or an ISO-8601 date-time, was \"{}\"", a.end));
      // A bare date includes that whole day.
      o.end_ms = *end / te::kNsPerMs + (is_date_only(a.end) ? te::kNsPerDay / te::kNsPerMs : 0);
    }
  }

  bn::RestClientOptions ro;
  ro.base_url = a.rest_url;
  auto client = bn::RestClient::create(ro);
  if (!client) return fail(client.error().message);

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  bool drew = false;
  auto progress = [&](const bn::DownloadProgress& p) {
    if (!tty) return;
    const double span = static_cast<double>(std::max<std::int64_t>(1, p.end_ms - p.start_ms));
    const double frac = std::clamp(static_cast<double>(p.through_ms - p.start_ms) / span, 0.0, 1.0);
    const auto filled = static_cast<std::size_t>(frac * 30.0);
    fmt::print(stderr, "\r{} {} [{}{}] {:5.1f}% {} {} rows ", a.symbol, a.interval, std::string(filled, '#'),
               std::string(30 - filled, '.'), frac * 100.0, te::format_iso8601(p.through_ms * te::kNsPerMs),
               p.rows_written);
    drew = true;
  };
  auto r = bn::download_klines(*client, o, progress);
  if (drew) fmt::print(stderr, "\n");
  if (!r) return fail(r.error().message);

  std::string note;
  if (r->resumed) note += fmt::format(" (resumed after {} existing rows)", r->rows_existing);
  if (r->dropped_partial_line) note += " (dropped a partial last line)";
  fmt::print("download-data: wrote {} rows to {}{}\n", r->rows_written, a.out, note);
  if (r->first_open_ms && r->last_open_ms) {
    fmt::print("download-data: {} now covers {} .. {}\n", a.out, te::format_iso8601(*r->first_open_ms * te::kNsPerMs),
               te::format_iso8601(*r->last_open_ms * te::kNsPerMs));
  }
  if (r->inconsistent_rows > 0) {
    fmt::print(stderr, "download-data: warning: {} rows are not consistent bars (written as Binance sent them)\n",
               r->inconsistent_rows);
  }
  return 0;
}

}  // namespace

void register_download_data(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<DownloadArgs>();
  auto* cmd = app.add_subcommand("download-data", "Download historical klines (Binance REST) into a klines CSV");
  cmd->add_option("--source", args->source, "Data source: binance")->required();
  cmd->add_option("--symbol", args->symbol, "Symbol, e.g. BTCUSDT")->required();
  cmd->add_option("--interval", args->interval, "Kline interval: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M")
      ->capture_default_str();
  cmd->add_option("--start", args->start, "First day or date-time (UTC), e.g. 2024-01-01");
  cmd->add_option("--end", args->end, "Last day (inclusive) or date-time (exclusive), UTC; default now");
  cmd->add_option("--days", args->days, "The last N days up to now (instead of --start/--end)");
  cmd->add_option("--out", args->out, "Output CSV; an existing file is resumed")->required();
  cmd->add_option("--rest-url", args->rest_url, "REST base URL (e.g. a local test exchange)")->capture_default_str();
  cmd->callback([&ctx, args] { ctx.exit_code = run_download(*args); });
}

}  // namespace te::app
