#pragma once
// One recorded session on disk:
//   <base>/<session_id>/meta.json              SessionMeta (session_meta.hpp)
//   <base>/<session_id>/events.msgpack.lz4     the journal (journal_writer.hpp)
//   <base>/<session_id>/sources/<sha256>.lua   every strategy version that ran,
//                                              stored by content hash
//   <base>/<session_id>/.meta.json.old         a replaced meta.json until its
//                                              remover gets to it (replace_meta)
// The base directory defaults to data/sessions (configurable by the caller).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/session_meta.hpp"

namespace te::journal {

inline constexpr std::string_view kJournalFileName = "events.msgpack.lz4";
inline constexpr std::string_view kMetaFileName = "meta.json";
inline constexpr std::string_view kSourcesDirName = "sources";

// Letters, digits, '.', '_' and '-', starting with a letter or digit, at most
// 128 characters: safe as a directory name, never a path.
bool valid_session_id(std::string_view id) noexcept;

// "20250102T030405Z-1a2b3c4d": the wall-clock start (UTC) and 8 hex digits of
// sha256(salt), so ids sort by time and two sessions started in the same second
// differ when their salts do (e.g. strategy hash + pid + counter).
std::string make_session_id(std::int64_t wall_ns, std::string_view salt);

struct SessionEntry {
  std::string id;
  std::string path;
  std::optional<SessionMeta> meta;  // nullopt when meta.json is missing or unreadable
  std::string error;                // why meta is missing
  bool has_journal = false;
};

class SessionDir {
 public:
  // Creates <base>/<id>/ and its sources/ (and <base> when missing).
  // Errors: Errc::invalid_argument for an unsafe id or an id that already
  // exists; Errc::io when a directory cannot be created.
  static Result<SessionDir> create(const std::string& base_dir, const std::string& session_id);

  // Errors: Errc::invalid_argument for an unsafe id; Errc::not_found when there
  // is no such session (the message lists how many sessions there are and the
  // closest ids).
  static Result<SessionDir> open(const std::string& base_dir, const std::string& session_id);

  // Every session directory under base_dir (those holding a meta.json or a
  // journal), sorted by id. A missing base_dir is an empty list.
  // Errors: Errc::io when base_dir exists but cannot be listed.
  static Result<std::vector<SessionEntry>> list(const std::string& base_dir);

  const std::string& id() const noexcept { return id_; }
  const std::string& path() const noexcept { return path_; }
  std::string journal_path() const;
  std::string meta_path() const;
  std::string source_path(std::string_view sha256) const;

  // Replaces meta.json atomically (write, fsync, rename): a crash leaves the old
  // or the new file, never half of one. Not `durable`: without the fsyncs
  // (sync_contents() makes it durable later).
  Status write_meta(const SessionMeta& meta, bool durable = true) const;
  // The same, leaving the meta.json it replaces linked as `old_meta_path()`
  // instead of freeing it (see replace_file_atomically): the caller removes
  // that file later, off its critical path. Returns whether there was one.
  Result<bool> replace_meta(const SessionMeta& meta, bool durable = true) const;
  // replace_meta in two halves (write_replacement / commit_replacement): the
  // new meta.json written (and synced when `durable`) aside, then renamed in.
  // A session's finish writes it while the journal's final sync runs on the
  // writer thread and commits it once the journal is durable.
  Status prepare_meta(const SessionMeta& meta, bool durable = true) const;
  Result<bool> commit_meta(bool durable = true) const;
  std::string old_meta_path() const;
  // Errors: Errc::not_found without meta.json, Errc::parse naming the field.
  Result<SessionMeta> read_meta() const;

  // Stores `content` as sources/<sha256>.lua (once; storing the same content
  // again is a no-op) and returns the sha256. `durable` as for write_meta.
  Result<std::string> store_source(std::string_view content, bool durable = true) const;
  // fsync of every stored source and of the sources directory: sources
  // stored without `durable` become durable once the session directory is
  // synced too (sync_entries(), or the next durable write_meta()).
  Status sync_sources() const;
  // fsync of meta.json (when present) and of the session directory (its
  // entries: meta.json, the journal, sources/).
  Status sync_entries() const;
  // Errors: Errc::not_found when absent; Errc::parse when the stored content no
  // longer matches its hash.
  Result<std::string> load_source(std::string_view sha256) const;

 private:
  SessionDir(std::string id, std::string path) : id_(std::move(id)), path_(std::move(path)) {}
  std::string id_;
  std::string path_;
};

}  // namespace te::journal
