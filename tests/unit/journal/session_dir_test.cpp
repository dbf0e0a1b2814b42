#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/core/sha256.hpp"
#include "engine/journal/session_dir.hpp"
#include "engine/core/value_json.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;
using te::Errc;

namespace {

SessionMeta sample_meta(const std::string& id) {
  SessionMeta m;
  m.session_id = id;
  m.mode = "backtest";
  m.status = "completed";
  m.started_at_ns = 1'700'000'000'123'456'789;
  m.ended_at_ns = 1'700'000'005'000'000'000;
  m.data_start_ns = 915'148'800'000'000'000;  // 1999-01-01
  m.data_end_ns = 1'417'392'000'000'000'000;
  m.engine_version = "0.1.0 (abc123)";
  m.config_path = "configs/backtest.toml";
  m.config_sha256 = std::string(64, 'f');
  m.config = Value::map({{"engine", Value::map({{"cash", 10000.0}, {"commission", 0.001}})}});
  m.strategies.push_back(
      StrategyInfo{"sma_cross", "strategies/sma_cross.lua", std::string(64, 'a'), {"NVDA"}, Value::map({{"fast", 10}})});
  m.data.push_back(DataInfo{"../shared/data/nvda-1999-2014.txt", std::string(64, 'd'), "NVDA", std::string(64, 'b'), 4012});
  m.seed = 0xffffffffffffffffull;  // above int64: stored as a string
  m.storage_mode = StorageMode::Delta;
  m.snapshot_interval = 100;
  m.include_indicators = true;
  m.result = Value::map({{"final_equity", 12345.5}, {"trades", 17}});
  return m;
}

}  // namespace

TEST_CASE("session meta round-trips through meta.json", "[unit][journal]") {
  const SessionMeta m = sample_meta("20231114T221320Z-1a2b3c4d");
  const std::string json = meta_to_json(m);
  auto back = meta_from_json(json);
  REQUIRE(back.ok());
  CHECK(to_value(*back) == to_value(m));
  CHECK(back->seed == 0xffffffffffffffffull);
  CHECK(back->data[0].bars_sha256 == std::string(64, 'b'));
  CHECK(back->data[0].bars == 4012);
  CHECK(back->started_at_ns == m.started_at_ns);
  CHECK(json.find("\"started_at\": \"2023-11-14T22:13:20.123456789Z\"") != std::string::npos);
  CHECK(json.find("\"storage_mode\": \"delta\"") != std::string::npos);
}

TEST_CASE("session meta errors name the field", "[unit][journal]") {
  auto err = [](const char* json) {
    auto m = meta_from_json(json);
    REQUIRE_FALSE(m.ok());
    return m.error().message;
  };
  CHECK(err(R"({"mode": "backtest"})") == "session_id is missing");
  CHECK(err(R"({"session_id": "x", "mode": 3})") == "mode must be a string, was int");
  CHECK(err(R"({"session_id": "x", "mode": "run", "strategies": [{"sha256": 5}]})") ==
        "strategies[0].sha256 must be a string, was int");
  CHECK(err(R"({"session_id": "x", "mode": "run", "started_at": "yesterday"})") ==
        "started_at must be an ISO-8601 time, was \"yesterday\"");
  CHECK(err(R"({"session_id": "x", "mode": "run", "storage_mode": "zip"})") ==
        "storage_mode must be \"full\" or \"delta\", was \"zip\"");
  CHECK(err(R"({"format": 9, "session_id": "x", "mode": "run"})") == "meta format 9 is newer than this build reads (1)");
  CHECK(err("[1]") == "meta must be a JSON object, was array");
  // Unknown keys from a newer engine are ignored.
  CHECK(meta_from_json(R"({"session_id": "x", "mode": "run", "shiny_new_key": 1})").ok());
}

TEST_CASE("session directories: create, write meta, store sources, list, open", "[unit][journal]") {
  TempDir tmp;
  const std::string base = tmp.file("data/sessions");

  auto listed_empty = SessionDir::list(base);  // a missing base is no sessions
  REQUIRE(listed_empty.ok());
  CHECK(listed_empty->empty());
  auto none = SessionDir::open(base, "20240101T000000Z-00000000");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == Errc::not_found);
  CHECK(none.error().message == "session 20240101T000000Z-00000000 not found in " + base + " (there are no sessions there)");

  const std::string id = make_session_id(1'700'000'000'123'456'789, "salt");
  CHECK(id.rfind("20231114T221320Z-", 0) == 0);
  CHECK(id.size() == 17 + 8);
  CHECK(valid_session_id(id));
  CHECK(make_session_id(1'700'000'000'123'456'789, "other") != id);

  auto dir = SessionDir::create(base, id);
  REQUIRE(dir.ok());
  CHECK(std::filesystem::is_directory(dir->path() + "/sources"));
  auto twice = SessionDir::create(base, id);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message == "session " + id + " already exists in " + base);

  REQUIRE(dir->write_meta(sample_meta(id)).ok());
  auto meta = dir->read_meta();
  REQUIRE(meta.ok());
  CHECK(meta->strategies.at(0).name == "sma_cross");
  CHECK_FALSE(dir->write_meta(sample_meta("other")).ok());

  const std::string code = "params = { fast = 10 }\nfunction detect_opportunity(bar, ctx, ind) end\n";
  auto sha = dir->store_source(code);
  REQUIRE(sha.ok());
  CHECK(*sha == te::sha256_hex(code));
  CHECK(std::filesystem::exists(dir->path() + "/sources/" + *sha + ".lua"));
  CHECK(*dir->store_source(code) == *sha);  // idempotent
  auto loaded = dir->load_source(*sha);
  REQUIRE(loaded.ok());
  CHECK(*loaded == code);
  auto absent = dir->load_source(std::string(64, '0'));
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.error().code == Errc::not_found);
  CHECK_FALSE(dir->load_source("../../etc/passwd").ok());
  write_file(dir->source_path(*sha), code + "-- edited\n");
  auto tampered = dir->load_source(*sha);
  REQUIRE_FALSE(tampered.ok());
  CHECK(tampered.error().message.find("does not match its sha256") != std::string::npos);

  // A second session that crashed before writing meta.json, and a stray folder.
  auto crashed = SessionDir::create(base, "20231115T000000Z-deadbeef");
  REQUIRE(crashed.ok());
  write_file(crashed->journal_path(), "");
  std::filesystem::create_directories(base + "/not-a-session");

  auto all = SessionDir::list(base);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == id);
  REQUIRE((*all)[0].meta.has_value());
  CHECK((*all)[0].meta->mode == "backtest");
  CHECK((*all)[1].id == "20231115T000000Z-deadbeef");
  CHECK_FALSE((*all)[1].meta.has_value());
  CHECK((*all)[1].error == "meta.json is missing");
  CHECK((*all)[1].has_journal);

  auto opened = SessionDir::open(base, id);
  REQUIRE(opened.ok());
  CHECK(opened->journal_path() == base + "/" + id + "/events.msgpack.lz4");
  auto typo = SessionDir::open(base, "2023111");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().message == "session 2023111 not found in " + base + " (2 sessions there; did you mean " + id +
                                    ", 20231115T000000Z-deadbeef?)");
  auto other = SessionDir::open(base, "zzz");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("the latest: ") != std::string::npos);
  auto unsafe = SessionDir::open(base, "../etc");
  REQUIRE_FALSE(unsafe.ok());
  CHECK(unsafe.error().code == Errc::invalid_argument);
}

TEST_CASE("session files written without fsync read back whole and sync later", "[unit][journal]") {
  TempDir tmp;
  auto dir = SessionDir::create(tmp.path(), "s-nosync");
  REQUIRE(dir.ok());
  const std::string code = "params = {}\n";
  auto sha = dir->store_source(code, /*durable=*/false);
  REQUIRE(sha.ok());
  REQUIRE(dir->write_meta(sample_meta("s-nosync"), /*durable=*/false).ok());
  CHECK(dir->sync_sources().ok());
  CHECK(dir->sync_entries().ok());
  // Atomic either way: no temporary file left, the contents whole.
  CHECK_FALSE(std::filesystem::exists(dir->meta_path() + ".tmp"));
  auto back = dir->read_meta();
  REQUIRE(back.ok());
  CHECK(back->session_id == "s-nosync");
  auto src = dir->load_source(*sha);
  REQUIRE(src.ok());
  CHECK(*src == code);
  // A missing directory is an error naming it.
  std::filesystem::remove_all(dir->path());
  const Status gone = dir->sync_entries();
  REQUIRE_FALSE(gone.ok());
  CHECK_THAT(gone.error().message, Catch::Contains(dir->path()));
}

TEST_CASE("replacing meta.json can leave the old file set aside for later removal", "[unit][journal]") {
  TempDir tmp;
  auto dir = SessionDir::create(tmp.path(), "s-aside");
  REQUIRE(dir.ok());
  SessionMeta m = sample_meta("s-aside");
  // Nothing to set aside yet: a plain atomic write.
  auto first = dir->replace_meta(m);
  REQUIRE(first.ok());
  CHECK_FALSE(*first);
  CHECK_FALSE(std::filesystem::exists(dir->old_meta_path()));
  m.status = "running";
  REQUIRE(dir->write_meta(m).ok());
  const std::string before = *read_whole_file(dir->meta_path());
  m.status = "completed";
  auto second = dir->replace_meta(m);
  REQUIRE(second.ok());
  CHECK(*second);
  // The new file is in place whole; the one it replaced is still there, by its
  // other name, unchanged (the caller removes it).
  auto back = dir->read_meta();
  REQUIRE(back.ok());
  CHECK(back->status == "completed");
  CHECK(*read_whole_file(dir->old_meta_path()) == before);
  CHECK_FALSE(std::filesystem::exists(dir->meta_path() + ".tmp"));
  // A leftover set-aside file is replaced, not an error.
  auto third = dir->replace_meta(m);
  REQUIRE(third.ok());
  CHECK(*third);
  CHECK(dir->read_meta()->status == "completed");
  // In two halves: the prepared file is beside meta.json, which is unchanged
  // until the commit; preparing again replaces the prepared file.
  m.status = "failed";
  REQUIRE(dir->prepare_meta(m).ok());
  m.status = "stopped";
  REQUIRE(dir->prepare_meta(m).ok());
  CHECK(dir->read_meta()->status == "completed");
  CHECK(std::filesystem::exists(dir->meta_path() + ".tmp"));
  auto committed = dir->commit_meta();
  REQUIRE(committed.ok());
  CHECK(*committed);
  CHECK(dir->read_meta()->status == "stopped");
  CHECK_FALSE(std::filesystem::exists(dir->meta_path() + ".tmp"));
  // Nothing prepared: the commit fails and meta.json stays.
  auto nothing = dir->commit_meta();
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.error().code == Errc::not_found);  // (the prepared file is missing)
  CHECK(dir->read_meta()->status == "stopped");
  CHECK_FALSE(dir->prepare_meta(sample_meta("other")).ok());
  // Wrong session id: refused like write_meta.
  auto wrong = dir->replace_meta(sample_meta("other"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == Errc::invalid_argument);
}
