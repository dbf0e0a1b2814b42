#include "engine/journal/session_dir.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "engine/core/sha256.hpp"
#include "engine/core/time.hpp"
#include "engine/journal/writable_file.hpp"

namespace te::journal {

namespace fs = std::filesystem;

namespace {

bool is_hex_sha256(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Error bad_id(std::string_view id) {
  return make_error(Errc::invalid_argument,
                    "invalid session id \"" + std::string(id) +
                        "\": use letters, digits, '.', '_' and '-' (starting with a letter or digit, at most 128)");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

bool valid_session_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::string make_session_id(std::int64_t wall_ns, std::string_view salt) {
  const std::int64_t days = floor_days(wall_ns);
  const CivilDate d = civil_from_days(days);
  const auto secs = static_cast<unsigned>((wall_ns - days * kNsPerDay) / kNsPerSec);  // [0, 86400)
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02uT%02u%02u%02uZ-", static_cast<long long>(d.year), d.month, d.day,
                secs / 3600, secs / 60 % 60, secs % 60);
  return std::string(buf) + sha256_hex(salt).substr(0, 8);
}

Result<SessionDir> SessionDir::create(const std::string& base_dir, const std::string& session_id) {
  if (!valid_session_id(session_id)) return bad_id(session_id);
  std::error_code ec;
  fs::create_directories(base_dir, ec);
  if (ec) return make_error(Errc::io, "create session base directory " + base_dir + ": " + ec.message());
  const std::string path = (fs::path(base_dir) / session_id).string();
  if (!fs::create_directory(path, ec)) {
    if (ec) return make_error(Errc::io, "create session directory " + path + ": " + ec.message());
    return make_error(Errc::invalid_argument, "session " + session_id + " already exists in " + base_dir);
  }
  fs::create_directory(fs::path(path) / kSourcesDirName, ec);
  if (ec) return make_error(Errc::io, "create " + path + "/" + std::string(kSourcesDirName) + ": " + ec.message());
  return SessionDir(session_id, path);
}

Result<SessionDir> SessionDir::open(const std::string& base_dir, const std::string& session_id) {
  if (!valid_session_id(session_id)) return bad_id(session_id);
  const std::string path = (fs::path(base_dir) / session_id).string();
  std::error_code ec;
  if (fs::is_directory(path, ec)) return SessionDir(session_id, path);

  std::string msg = "session " + session_id + " not found in " + base_dir;
  auto all = list(base_dir);
  if (!all || all->empty()) return make_error(Errc::not_found, msg + " (there are no sessions there)");
  std::vector<std::string> near;
  for (const auto& e : *all) {
    if (e.id.rfind(session_id, 0) == 0 && near.size() < 5) near.push_back(e.id);
  }
  msg += " (" + std::to_string(all->size()) + " session" + (all->size() == 1 ? "" : "s") + " there; ";
  if (!near.empty()) {
    msg += "did you mean " + join(near) + "?)";
  } else {
    std::vector<std::string> latest;
    for (std::size_t i = all->size() > 3 ? all->size() - 3 : 0; i < all->size(); ++i) latest.push_back((*all)[i].id);
    msg += "the latest: " + join(latest) + "; run `trading-engine sessions` for all)";
  }
  return make_error(Errc::not_found, msg);
}

Result<std::vector<SessionEntry>> SessionDir::list(const std::string& base_dir) {
  std::vector<SessionEntry> out;
  std::error_code ec;
  if (!fs::exists(base_dir, ec)) return out;
  fs::directory_iterator it(base_dir, ec);
  if (ec) return make_error(Errc::io, "list sessions in " + base_dir + ": " + ec.message());
  for (const auto& entry : it) {
    std::error_code dec;
    if (!entry.is_directory(dec)) continue;
    const std::string id = entry.path().filename().string();
    if (!valid_session_id(id)) continue;
    SessionDir dir(id, entry.path().string());
    const bool has_meta = fs::exists(dir.meta_path(), dec);
    const bool has_journal = fs::exists(dir.journal_path(), dec);
    if (!has_meta && !has_journal) continue;
    SessionEntry e;
    e.id = id;
    e.path = dir.path();
    e.has_journal = has_journal;
    if (!has_meta) {
      e.error = "meta.json is missing";
    } else if (auto meta = dir.read_meta(); meta) {
      e.meta = std::move(*meta);
    } else {
      e.error = meta.error().message;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const SessionEntry& a, const SessionEntry& b) { return a.id < b.id; });
  return out;
}

std::string SessionDir::journal_path() const { return (fs::path(path_) / kJournalFileName).string(); }
std::string SessionDir::meta_path() const { return (fs::path(path_) / kMetaFileName).string(); }
std::string SessionDir::old_meta_path() const { return (fs::path(path_) / ".meta.json.old").string(); }
std::string SessionDir::source_path(std::string_view sha256) const {
  return (fs::path(path_) / kSourcesDirName / (std::string(sha256) + ".lua")).string();
}

Status SessionDir::write_meta(const SessionMeta& meta, bool durable) const {
  if (meta.session_id != id_) {
    return make_error(Errc::invalid_argument,
                      "write " + meta_path() + ": meta is for session " + meta.session_id + ", not " + id_);
  }
  return write_file_atomically(meta_path(), meta_to_json(meta), durable);
}

Result<bool> SessionDir::replace_meta(const SessionMeta& meta, bool durable) const {
  TE_TRY(prepare_meta(meta, durable));
  return commit_meta(durable);
}

Status SessionDir::prepare_meta(const SessionMeta& meta, bool durable) const {
  if (meta.session_id != id_) {
    return make_error(Errc::invalid_argument,
                      "write " + meta_path() + ": meta is for session " + meta.session_id + ", not " + id_);
  }
  return write_replacement(meta_path(), meta_to_json(meta), durable);
}

Result<bool> SessionDir::commit_meta(bool durable) const {
  return commit_replacement(meta_path(), durable, old_meta_path());
}

Result<SessionMeta> SessionDir::read_meta() const {
  auto text = read_whole_file(meta_path());
  if (!text) return std::move(text).error();
  auto meta = meta_from_json(*text);
  if (!meta) return make_error(meta.error().code, "read " + meta_path() + ": " + meta.error().message);
  return meta;
}

Result<std::string> SessionDir::store_source(std::string_view content, bool durable) const {
  std::string sha = sha256_hex(content);
  const std::string path = source_path(sha);
  std::error_code ec;
  if (fs::exists(path, ec)) return sha;  // content-addressed: same name, same bytes
  std::error_code dec;
  fs::create_directories(fs::path(path_) / kSourcesDirName, dec);
  TE_TRY(write_file_atomically(path, content, durable));
  return sha;
}

Status SessionDir::sync_sources() const {
  const fs::path sources = fs::path(path_) / kSourcesDirName;
  std::error_code ec;
  for (fs::directory_iterator it(sources, ec), end; !ec && it != end; it.increment(ec)) {
    // A source being stored meanwhile (SessionRecorder syncs on a thread of
    // its own) shows as its temporary file, renamed away at any moment: it is
    // synced by whoever stored it, so a vanished or temporary file is skipped.
    const std::string name = it->path().filename().string();
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) continue;
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    if (Status s = sync_path(it->path().string()); !s && s.error().code != Errc::not_found) return s;
  }
  if (ec) return make_error(Errc::io, "list " + sources.string() + ": " + ec.message());
  return sync_path(sources.string());
}

Status SessionDir::sync_entries() const {
  std::error_code ec;
  if (fs::exists(meta_path(), ec)) TE_TRY(sync_path(meta_path()));
  return sync_path(path_);
}

Result<std::string> SessionDir::load_source(std::string_view sha256) const {
  if (!is_hex_sha256(sha256)) {
    return make_error(Errc::invalid_argument, "load source: \"" + std::string(sha256) + "\" is not a sha256 hex digest");
  }
  auto text = read_whole_file(source_path(sha256));
  if (!text) return std::move(text).error();
  if (sha256_hex(*text) != sha256) {
    return make_error(Errc::parse, "source " + source_path(sha256) + " does not match its sha256 (modified on disk?)");
  }
  return text;
}

}  // namespace te::journal
