#include "engine/data/load_bars.hpp"

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "engine/core/sha256.hpp"

#include "engine/data/bar_cache.hpp"
#include "engine/data/cache_check.hpp"
#include "engine/data/csv_loader.hpp"
#include "engine/data/csv_stream.hpp"
#include "engine/data/mapped_file.hpp"
#include "engine/data/time_range.hpp"

namespace te::data {
namespace {

// SHA-256 of a byte range on a second thread (the first core parses meanwhile);
// joined before the bytes can go away.
class BackgroundSha256 {
 public:
  explicit BackgroundSha256(std::string_view bytes) : thread_([this, bytes] { hex_ = sha256_hex(bytes); }) {}
  ~BackgroundSha256() {
    if (thread_.joinable()) thread_.join();
  }
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;
  const std::string& get() {
    if (thread_.joinable()) thread_.join();
    return hex_;
  }

 private:
  std::string hex_;
  std::thread thread_;
};

// The first bytes of a file, to recognise a cache by its magic (not its name).
Result<std::string> read_prefix(const std::string& path, std::size_t n) {
  auto stamp = stat_file(path);  // the same not-found message as every other load
  if (!stamp) return std::move(stamp).error();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::io, path + ": cannot open");
  std::string buf(n, '\0');
  const ssize_t got = ::pread(fd, buf.data(), n, 0);
  ::close(fd);
  buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return buf;
}

class Loader {
 public:
  Loader(const std::string& path, const LoadOptions& options, LoadReport& report)
      : path_(path), opt_(options), rep_(report) {
    if (opt_.symbol.empty()) opt_.symbol = symbol_from_path(path);
  }

  Result<model::BarSeries> run() {
    TE_TRY(check_time_range(opt_, path_));
    auto prefix = read_prefix(path_, kBarCacheMagic.size());
    if (!prefix) return std::move(prefix).error();
    if (is_bar_cache(*prefix)) {
      rep_.source = LoadSource::cache_file;
      rep_.cache_path = path_;
      rep_.cache_status = "used";
      auto s = open(path_);
      if (!s) return std::move(s).error();
      return apply_time_range(*s, opt_, path_);
    }

    std::error_code ec;
    const bool regular = std::filesystem::is_regular_file(path_, ec);
    if (!regular || (!opt_.cache.read && !opt_.cache.write)) {
      rep_.cache_status = "disabled";
      return parse();
    }
    rep_.cache_path = cache_path_for(path_, opt_.cache.dir);
    if (opt_.cache.read) {
      auto cached = try_cache();
      if (cached) return apply_time_range(*cached, opt_, path_);
    } else {
      rep_.cache_status = "not read";
    }
    return parse();
  }

 private:
  // A cache, its data checked now or (defer_verify) on a thread of its own.
  Result<model::BarSeries> open(const std::string& cache) {
    const bool defer = opt_.cache.verify_data && opt_.cache.defer_verify;
    BarCacheHeader header;
    auto s = open_bar_cache(cache, opt_.cache.verify_data && !defer, opt_.symbol, opt_.instrument, &header);
    if (s && defer) rep_.cache_check = std::make_shared<CacheCheck>(*s, header, cache);
    return s;
  }

  // The cache when it is valid and matches the source; otherwise an empty result
  // with rep_.cache_status saying why.
  std::optional<model::BarSeries> try_cache() {
    auto hd = read_bar_cache_header(rep_.cache_path);
    if (!hd) {
      if (hd.error().code == Errc::not_found) {
        rep_.cache_status = "missing";
      } else {
        invalid(hd.error().message);
      }
      return std::nullopt;
    }
    auto stamp = stat_file(path_);
    if (!stamp) return std::nullopt;  // parse() reports the source's own error
    if (hd->source.size != stamp->size) {
      rep_.cache_status = "stale: the source size changed";
      return std::nullopt;
    }
    if (hd->source.mtime_ns != stamp->mtime_ns) {
      // Touched, copied or checked out again: the content decides.
      if (!map_source()) return std::nullopt;
      content_hash_ = hash_bytes(csv_->view());
      if (*content_hash_ != hd->source.content_hash) {
        rep_.cache_status = "stale: the source content changed";
        return std::nullopt;
      }
    }
    auto s = open(rep_.cache_path);
    if (!s) {
      invalid(s.error().message);
      return std::nullopt;
    }
    rep_.source = LoadSource::csv_cache;
    rep_.cache_status = "used";
    if (opt_.source_sha256) rep_.source_sha256 = hd->source.sha256;
    return std::move(*s);
  }

  Result<model::BarSeries> parse() {
    const bool writes_cache = opt_.cache.write && !rep_.cache_path.empty();
    const bool may_stream = opt_.stream_csv && !writes_cache;  // the cache is written from the whole series
    bool populated = true;
    if (!csv_) {
      // A streamed file's page tables are built by both of the stream's
      // threads as they count its lines (CsvStream::count_chunks).
      auto f = MappedFile::open(path_, kMaxStreamBytes, !may_stream);
      if (!f) return std::move(f).error();
      csv_ = std::move(*f);
      populated = !may_stream;
    }
    if (may_stream) {
      if (auto stream = CsvStream::start(csv_, path_, opt_, opt_.source_sha256)) {
        rep_.source = LoadSource::csv;
        rep_.csv_stream = stream;
        return stream->series();
      }
    }
    if (!populated) csv_->populate(0, csv_->size());
    LoadOptions whole = opt_;  // the cache holds every bar; the filter comes after
    whole.start_ns.reset();
    whole.end_ns.reset();
    CsvFormat format = CsvFormat::generic;
    // The hash covers exactly the bytes parsed (one mapping, read once each).
    std::optional<BackgroundSha256> sha;
    const bool defer = opt_.defer_source_sha256 && !opt_.cache.write;  // no cache to stamp with it
    if (opt_.source_sha256 && !defer) sha.emplace(csv_->view());
    auto series = parse_csv(csv_->view(), path_, whole, &format);
    if (!series) return std::move(series).error();
    rep_.source = LoadSource::csv;
    if (sha) rep_.source_sha256 = sha->get();
    if (opt_.source_sha256 && defer) rep_.source_bytes = csv_;
    if (opt_.cache.write && !rep_.cache_path.empty()) write_cache(*series, format);
    return apply_time_range(*series, opt_, path_);
  }

  void write_cache(const model::BarSeries& series, CsvFormat format) {
    if (csv_->stamp().size < opt_.cache.min_source_bytes) {
      rep_.cache_status = "not written: small source";
      return;
    }
    // Never write into a directory nobody may write to (e.g. read-only shared
    // reference data), even when running as root, who could.
    const std::filesystem::path target_dir = std::filesystem::path(rep_.cache_path).parent_path();
    struct stat dst {};
    if (opt_.cache.dir.empty() && ::stat(target_dir.empty() ? "." : target_dir.c_str(), &dst) == 0 &&
        (dst.st_mode & 0222) == 0) {
      rep_.cache_status = "not written: read-only directory";
      return;
    }
    CacheSource src;
    src.size = csv_->stamp().size;
    src.mtime_ns = csv_->stamp().mtime_ns;
    src.content_hash = content_hash_ ? *content_hash_ : hash_bytes(csv_->view());
    src.format = static_cast<std::uint32_t>(format);
    src.sha256 = rep_.source_sha256;  // when asked for (otherwise the cache records none)
    // A file rewritten while we parsed it would get a cache stamped with the new
    // mtime but holding the old bars.
    auto now = stat_file(path_);
    if (!now || now->size != src.size || now->mtime_ns != src.mtime_ns) {
      not_written("the source changed while it was being loaded");
      return;
    }
    if (!opt_.cache.dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(opt_.cache.dir, ec);
      if (ec) {
        not_written("cannot create cache directory " + opt_.cache.dir + ": " + ec.message());
        return;
      }
    }
    const Status st = write_bar_cache(series, rep_.cache_path, src);
    if (st.ok()) {
      rep_.cache_status = "written";
    } else {
      not_written(st.error().message);
    }
  }

  bool map_source() {
    if (csv_) return true;
    auto f = MappedFile::open(path_);
    if (!f) return false;
    csv_ = std::move(*f);
    return true;
  }

  void invalid(const std::string& why) {
    rep_.cache_status = "invalid: " + why;
    warn("ignoring " + why + "; rebuilding it from " + path_);
  }

  void not_written(const std::string& why) {
    rep_.cache_status = "not written: " + why;
    warn("could not write the bar cache for " + path_ + " (loading continues without it): " + why);
  }

  void warn(const std::string& message) const {
    if (opt_.on_warning) opt_.on_warning(message);
  }

  const std::string& path_;
  LoadOptions opt_;
  LoadReport& rep_;
  std::shared_ptr<const MappedFile> csv_;
  std::optional<std::uint64_t> content_hash_;
};

}  // namespace

Result<CacheBuild> build_bar_cache(const std::string& source_path, const std::string& cache_path) {
  auto file = MappedFile::open(source_path);
  if (!file) return std::move(file).error();
  const std::shared_ptr<const MappedFile>& csv = *file;
  if (is_bar_cache(csv->view()))
    return make_error(Errc::invalid_argument, source_path + ": is already a bar cache, expected a CSV file");
  CacheBuild out;
  out.cache_path = cache_path.empty() ? cache_path_for(source_path, "") : cache_path;
  LoadOptions whole;
  whole.symbol = symbol_from_path(source_path);
  BackgroundSha256 sha(csv->view());
  auto series = parse_csv(csv->view(), source_path, whole, &out.format);
  if (!series) return std::move(series).error();
  CacheSource src;
  src.sha256 = sha.get();
  src.size = csv->stamp().size;
  src.mtime_ns = csv->stamp().mtime_ns;
  src.content_hash = hash_bytes(csv->view());
  src.format = static_cast<std::uint32_t>(out.format);
  TE_TRY(write_bar_cache(*series, out.cache_path, src));
  out.rows = series->size();
  auto written = stat_file(out.cache_path);
  out.bytes = written ? written->size : 0;
  return out;
}

Result<model::BarSeries> load_bars(const std::string& path, const LoadOptions& options, LoadReport* report) {
  LoadReport local;
  LoadReport& rep = report ? *report : local;
  rep = LoadReport{};
  return Loader(path, options, rep).run();
}

}  // namespace te::data
