// Format 3's bar_run records (engine/journal/bar_run.hpp, docs/journal-format.md
// section 5): exact and canonical encoding, and journals that read back the
// same events as format 2's, after seeks and truncation too.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "engine/journal/bar_run.hpp"
#include "engine/journal/block_codec.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/journal_reader.hpp"
#include "engine/journal/journal_writer.hpp"
#include "engine/journal/record_format.hpp"
#include "journal_fixtures.hpp"

using namespace te;
using namespace te::journal;
using namespace te::journal::testing;

namespace {

constexpr std::int64_t kStart = 1'700'000'000'000'000'000;
constexpr std::int64_t kMinute = 60'000'000'000;

// A backtest's journal as its writer sees it: long stretches of one runner's
// bars (decimal prices, whole volumes), now and then a transition, a note, a
// bar with quotes (a full record), a price that is not a decimal, a gap in
// time, and stretches of the other runner.
std::vector<Event> backtest_like(std::size_t bars, std::uint32_t runners, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> move(-25, 25);
  std::vector<Event> out;
  auto push = [&out](std::int64_t ts, model::RunnerId runner, auto body) {
    Event e = make_event(ts, runner, std::move(body));
    e.sequence = out.size() + 1;
    out.push_back(std::move(e));
  };
  std::vector<std::int64_t> ticks(runners, 10'000);
  std::int64_t ts = kStart;
  for (std::size_t i = 0; i < bars; ++i) {
    const auto r = static_cast<model::RunnerId>((i / 50) % runners);
    ts += i % 97 == 0 ? 5 * kMinute : kMinute;
    std::int64_t& k = ticks[r];
    MarketData md;
    md.instrument = r + 1;
    md.symbol = "SYM" + std::to_string(r);
    md.timeframe = "1m";
    md.bar.ts_ns = ts;
    md.bar.open = static_cast<double>(k) / 100;
    k += move(rng);
    md.bar.close = static_cast<double>(k) / 100;
    md.bar.high = static_cast<double>(std::max(k, k - move(rng)) + 3) / 100;
    md.bar.low = static_cast<double>(std::min(k, k + move(rng)) - 3) / 100;
    md.bar.volume = static_cast<double>(1000 + 7 * (i % 113));
    if (i % 131 == 0) md.bar.close += 1e-9;  // not a decimal of at most 9 places
    if (i % 211 == 0) {
      md.bar.bid = md.bar.close - 0.01;  // quotes: a full record
      md.bar.ask = md.bar.close + 0.01;
    }
    push(ts, r, md);
    if (i % 13 == 0) push(ts, r, Transition{0, 1, "setup_detected", "bar " + std::to_string(i), ts});
    if (i % 29 == 0) push(ts, kNoRunner, Note{"log", "note", Value()});
  }
  return out;
}

WriterOptions blocks_of(std::uint32_t size, bool bar_runs) {
  WriterOptions o = WriterOptions::deterministic();
  o.block_size = size;
  o.bar_runs = bar_runs;
  return o;
}

std::string compact(std::uint64_t seq, model::RunnerId runner, const model::Bar& bar) {
  std::string s;
  encode_market_data_compact(seq, bar.ts_ns, runner, bar, s);
  return s;
}

}  // namespace

TEST_CASE("a bar_run record expands into exactly the compact records of its bars, whatever its values",
          "[unit][journal]") {
  std::mt19937_64 rng(11);
  const double specials[] = {-0.0,
                             0.0,
                             0.1 + 0.2,
                             1e300,
                             -1e-300,
                             std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             std::bit_cast<double>(0x7ff8000000000123ull),
                             std::numeric_limits<double>::denorm_min(),
                             2251799813685247.0,  // 2^51 - 1: a whole number, at the limit
                             2251799813685248.0,  // 2^51: beyond it (stored as doubles)
                             123.456789012,       // 9 places
                             0.1234567891,        // 10 places: not a decimal the record takes
                             -42.5};
  for (int trial = 0; trial < 400; ++trial) {
    BarRun run;
    run.runner = static_cast<std::uint32_t>(rng() % 5);
    run.first_sequence = 1 + rng() % 100'000;
    const auto n = static_cast<std::uint32_t>(1 + rng() % kMaxBarRun);
    std::int64_t ts = static_cast<std::int64_t>(rng());
    const int decimals = static_cast<int>(rng() % 10);
    const bool even = trial % 3 != 0;
    const std::int64_t step = even ? static_cast<std::int64_t>(rng() % 1000) - 100 : 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      model::Bar b;
      b.ts_ns = ts;
      double* cols[5] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
      for (int c = 0; c < 5; ++c) {
        // Every third trial's k are multiples of 10 or 100: the column's
        // exponent is below `decimals` (the search descends to it).
        const std::int64_t scale = trial % 3 == 1 ? (trial % 2 == 0 ? 10 : 100) : 1;
        const auto k = (static_cast<std::int64_t>(rng() % 2'000'000) - 1'000'000) * scale;
        double v = static_cast<double>(k) / std::pow(10.0, decimals);
        if (rng() % 50 == 0) v = specials[rng() % std::size(specials)];
        *cols[c] = v;
      }
      run.add(ts, b);
      // Wrapping differences: any int64 times round-trip.
      // Every sixth trial's uneven times are days and weekends (format 5's
      // unit), some going back.
      const std::int64_t jump = trial % 6 == 0 ? static_cast<std::int64_t>(rng() % 5) * 86'400'000'000'000 -
                                                      (rng() % 7 == 0 ? 3 * 86'400'000'000'000 : 0)
                                               : static_cast<std::int64_t>(rng());
      ts = static_cast<std::int64_t>(static_cast<std::uint64_t>(ts) +
                                     static_cast<std::uint64_t>(even ? step : jump));
    }
    std::string rec(kMaxBarRunRecord, '\0');
    int hints[5] = {0, 0, 0, 0, 0};
    TsRange range;
    rec.resize(encode_bar_run(run, hints, rec.data(), false, &range));
    REQUIRE(is_bar_run(rec));
    {
      std::int64_t lo = 0, hi = 0;
      run.ts_range(lo, hi);
      REQUIRE(range.lo == lo);
      REQUIRE(range.hi == hi);
    }
    // Canonical: the exponent search's start (kept by the writer between runs) changes nothing.
    for (int h = 1; h <= kMaxBarRunDecimals; ++h) {
      std::string again(kMaxBarRunRecord, '\0');
      int other[5] = {h, h, h, h, h};
      again.resize(encode_bar_run(run, other, again.data()));
      REQUIRE(again == rec);
    }
    std::string raw;
    put_varint32(raw, static_cast<std::uint32_t>(rec.size()));
    raw += rec;
    std::string expanded;
    REQUIRE(expand_bar_runs(raw, expanded, n) == 0);
    {
      // Format 5 (stored apart, times in units): the same records.
      std::string rec5(kMaxBarRunRecord, '\0');
      int h5[5] = {0, 0, 0, 0, 0};
      TsRange range5;
      rec5.resize(encode_bar_run(run, h5, rec5.data(), true, &range5));
      REQUIRE(range5.lo == range.lo);
      REQUIRE(range5.hi == range.hi);
      if (even) REQUIRE(rec5 == rec);
      if (trial % 6 == 0 && !even && n > 2) REQUIRE(rec5.size() < rec.size());
      std::string runs;
      put_varint32(runs, static_cast<std::uint32_t>(rec5.size()));
      runs += rec5;
      std::string_view left = runs;
      std::string expanded5;
      REQUIRE(expand_bar_runs(std::string(1, '\0'), expanded5, n, &left) == 0);
      REQUIRE(left.empty());
      REQUIRE(expanded5 == expanded);
    }
    {
      // A block claiming one event fewer than the run holds: not expanded.
      std::string capped;
      REQUIRE(expand_bar_runs(raw, capped, n - 1) == 1);
      REQUIRE(capped == raw);
    }
    RecordSplitter split(expanded);
    std::string_view got;
    for (std::uint32_t i = 0; i < n; ++i) {
      REQUIRE(split.next(got));
      model::Bar b;
      b.ts_ns = run.ts[i];
      b.open = run.col[0][i];
      b.high = run.col[1][i];
      b.low = run.col[2][i];
      b.close = run.col[3][i];
      b.volume = run.col[4][i];
      INFO("trial " << trial << ", bar " << i << " of " << n);
      REQUIRE(got == compact(run.first_sequence + i, run.runner, b));
    }
    REQUIRE_FALSE(split.next(got));
    REQUIRE(split.error() == nullptr);
  }
}

TEST_CASE("bar_run stores decimal prices in a few bytes a bar", "[unit][journal]") {
  BarRun run;
  run.runner = 0;
  run.first_sequence = 1000;
  for (std::uint32_t i = 0; i < 200; ++i) {
    model::Bar b;
    b.open = static_cast<double>(10'000 + i % 7) / 100;
    b.high = b.open + 0.05;
    b.low = b.open - 0.03;
    b.close = static_cast<double>(10'000 + (i + 1) % 7) / 100;
    b.volume = 1500;
    run.add(kStart + i * kMinute, b);
  }
  std::string rec(kMaxBarRunRecord, '\0');
  int hints[5] = {0, 0, 0, 0, 0};
  rec.resize(encode_bar_run(run, hints, rec.data()));
  CHECK(rec.size() < 200 * 7);  // against 200 * 60 as compact records
  CHECK(hints[0] == 2);
  CHECK(hints[4] == 0);
  // The header of section 5's example: fixarray 12, type 15, sequence 1000, the first time, runner 0,
  // 200 bars, a step of one minute, no time differences.
  CHECK(rec.substr(0, 28) == std::string("\x9c\x0f\xcd\x03\xe8\xcf\x17\x97\x9c\xfe\x36\x2a\x00\x00\x00\xcc\xc8"
                                         "\xcf\x00\x00\x00\x0d\xf8\x47\x58\x00\xc0\xdc",
                                         28));
}

TEST_CASE("a bar_run record that does not decode is kept and read as an unknown event saying so",
          "[unit][journal]") {
  BarRun run;
  run.first_sequence = 5;
  model::Bar b;
  b.open = b.high = b.low = b.close = 1.25;
  b.volume = 10;
  run.add(kStart, b);
  run.add(kStart + kMinute, b);
  std::string rec(kMaxBarRunRecord, '\0');
  int hints[5] = {0, 0, 0, 0, 0};
  rec.resize(encode_bar_run(run, hints, rec.data()));
  rec.pop_back();  // the volume column one value short
  std::string raw;
  put_varint32(raw, static_cast<std::uint32_t>(rec.size()));
  raw += rec;
  std::string expanded;
  CHECK(expand_bar_runs(raw, expanded, 2) == 1);
  CHECK(expanded == raw);
  const Event e = decode_event(rec);
  const auto* u = e.get<UnknownEvent>();
  REQUIRE(u != nullptr);
  CHECK(u->type == kBarRunType);
  CHECK(u->error == "bar_run record does not decode");
}

TEST_CASE("format 3 journals read back the events written, as format 2 journals of them do", "[unit][journal]") {
  TempDir dir;
  const auto events = backtest_like(3000, 2, 5);
  for (std::uint32_t block : {4u * 1024, 64u * 1024}) {
    const std::string v3 = dir.file("v3-" + std::to_string(block));
    const std::string v2 = dir.file("v2-" + std::to_string(block));
    const WriterStats s3 = write_journal(v3, events, blocks_of(block, true));
    const WriterStats s2 = write_journal(v2, events, blocks_of(block, false));
    CHECK(s3.written == events.size());
    CHECK(s2.written == events.size());
    INFO("block size " << block << ": format 3 " << s3.file_bytes << " bytes, format 2 " << s2.file_bytes);
    CHECK(s3.raw_bytes * 2 < s2.raw_bytes);

    NullReporter rep;
    auto r3 = JournalReader::open(v3, rep);
    auto r2 = JournalReader::open(v2, rep);
    REQUIRE(r3.ok());
    REQUIRE(r2.ok());
    CHECK((*r3)->header().major == kFormatMajor);  // bar runs, and since format 4 positional states
    CHECK((*r2)->header().major == 2);
    CHECK((*r3)->record_count() == events.size());
    std::size_t flagged = 0;
    for (const BlockInfo& b : (*r3)->blocks()) flagged += (b.header.flags & kBlockHasBarRuns) != 0 ? 1 : 0;
    CHECK(flagged > 0);
    for (const BlockInfo& b : (*r2)->blocks()) CHECK(b.header.flags == 0);

    const auto back3 = read_all(v3, rep);
    const auto back2 = read_all(v2, rep);
    REQUIRE(back3.size() == events.size());
    REQUIRE(back2.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      INFO("event " << i);
      REQUIRE(encode_event(back3[i]) == encode_event(events[i]));
      REQUIRE(encode_event(back2[i]) == encode_event(events[i]));
    }
  }
}

TEST_CASE("format 3: seek by sequence and by time inside bar runs equal a linear scan", "[unit][journal]") {
  TempDir dir;
  auto events = backtest_like(2000, 1, 9);
  // Times that go back inside a run of bars (a feed's correction): the
  // run's times are then stored one by one.
  for (std::size_t i = 400; i < 420; ++i) {
    if (auto* md = std::get_if<MarketData>(&events[i].body)) {
      events[i].ts_event_ns -= 30 * kMinute;
      md->bar.ts_ns = events[i].ts_event_ns;
    }
  }
  const std::string path = dir.file("j");
  write_journal(path, events, blocks_of(2 * 1024, true));
  NullReporter rep;
  auto r = JournalReader::open(path, rep);
  REQUIRE(r.ok());
  REQUIRE((*r)->blocks().size() > 5);

  std::set<std::int64_t> probes = {INT64_MIN, INT64_MAX};
  for (std::size_t i = 0; i < events.size(); i += 3) {
    const std::int64_t t = events[i].ts_event_ns;
    probes.insert({t - 1, t, t + 1});
  }
  for (std::int64_t t : probes) {
    const auto linear = std::find_if(events.begin(), events.end(), [t](const Event& e) { return e.ts_event_ns >= t; });
    auto found = (*r)->seek_time(t);
    REQUIRE(found.ok());
    INFO("time " << t);
    if (linear == events.end()) {
      REQUIRE_FALSE(*found);
      continue;
    }
    REQUIRE(*found);
    Event e;
    REQUIRE(*(*r)->next(e));
    REQUIRE(identical(e, *linear));
  }
  for (std::uint64_t seq = 1; seq <= events.size(); seq += 5) {
    auto e = (*r)->event_at(seq);
    REQUIRE(e.ok());
    REQUIRE(e->has_value());
    INFO("sequence " << seq);
    REQUIRE(identical(**e, events[seq - 1]));
  }
}

TEST_CASE("format 3: truncating a journal of bar runs at every byte of its last blocks keeps every complete record",
          "[unit][journal]") {
  TempDir dir;
  const auto events = backtest_like(1500, 1, 3);
  const std::string path = dir.file("j");
  write_journal(path, events, blocks_of(2 * 1024, true));
  const std::string full = read_file(path);
  std::vector<BlockInfo> blocks;
  {
    NullReporter rep;
    auto r = JournalReader::open(path, rep);
    REQUIRE(r.ok());
    blocks = (*r)->blocks();
  }
  REQUIRE(blocks.size() >= 4);
  REQUIRE((blocks.back().header.flags & kBlockHasBarRuns) != 0);
  // Format 5: the last two blocks' runs are stored apart from their LZ4 part.
  REQUIRE((blocks.back().header.flags & kBlockRunsApart) != 0);
  REQUIRE((blocks[blocks.size() - 2].header.flags & kBlockRunsApart) != 0);
  REQUIRE(blocks[blocks.size() - 2].header.codec == BlockCodec::Lz4);
  const std::string cut_path = dir.file("cut");
  write_file(cut_path, full);
  for (std::size_t cut = full.size(); cut-- > blocks[blocks.size() - 2].offset;) {
    REQUIRE(::truncate(cut_path.c_str(), static_cast<off_t>(cut)) == 0);
    std::size_t complete = 0;
    std::uint64_t records = 0;
    while (complete < blocks.size() &&
           blocks[complete].offset + kBlockHeaderSize + blocks[complete].header.stored_size <= cut) {
      records += blocks[complete].header.record_count;
      ++complete;
    }
    CountingReporter rep;
    auto r = JournalReader::open(cut_path, rep);
    REQUIRE(r.ok());
    INFO("cut at " << cut << " of " << full.size());
    REQUIRE((*r)->blocks().size() == complete);
    REQUIRE((*r)->record_count() == records);
    if (cut - blocks[complete].offset >= kBlockHeaderSize) {
      // The torn block's header says how many events (its bars counted one by one) were lost.
      REQUIRE(rep.records_dropped == blocks[complete].header.record_count);
    }
    if (cut % 256 == 0) {
      Event e;
      std::uint64_t n = 0;
      while (*(*r)->next(e)) REQUIRE(identical(e, events[n++]));
      REQUIRE(n == records);
    }
  }
}

TEST_CASE("the bar_run example in docs/journal-format.md is what the writer encodes", "[unit][journal]") {
  // Keep in sync with section 5, "bar_run (format 3)".
  BarRun run;
  run.runner = 0;
  run.first_sequence = 300;
  const double v[3][5] = {{100.25, 100.75, 100.2, 100.5, 1200},
                          {100.5, 100.6, 100.3, 100.4, 900},
                          {100.4, 100.5, 100.25, 100.45, 1500}};
  for (int i = 0; i < 3; ++i) {
    model::Bar b;
    b.open = v[i][0];
    b.high = v[i][1];
    b.low = v[i][2];
    b.close = v[i][3];
    b.volume = v[i][4];
    run.add(kStart + i * kMinute, b);
  }
  std::string rec(kMaxBarRunRecord, '\0');
  int hints[5] = {0, 0, 0, 0, 0};
  rec.resize(encode_bar_run(run, hints, rec.data()));
  std::string dump;
  for (std::size_t i = 0; i < rec.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x%s", static_cast<unsigned char>(rec[i]), i + 1 == rec.size() ? "" : " ");
    dump += buf;
  }
  CHECK(dump ==
        "9c 0f cd 01 2c cf 17 97 9c fe 36 2a 00 00 00 03 cf 00 00 00 0d f8 47 58 00 c0 "
        "94 02 cd 27 29 19 f6 "
        "94 02 cd 27 5b f1 f6 "
        "94 02 cd 27 24 0a fb "
        "94 02 cd 27 42 f6 05 "
        "94 00 cd 04 b0 d1 fe d4 cd 02 58");
}

// Two runners whose bars alternate with nothing else between them cut each
// other's runs on every bar: each cut must still close a full block (before,
// only a 256-bar run or another record did, and the block grew until the
// reader refused it: 1.2M such bars gave one block of ~75 MB and no events).
TEST_CASE("format 3: runners' alternating bars keep blocks at their size", "[unit][journal]") {
  TempDir dir;
  const std::vector<Event> events = alternating_bars(40'000);
  constexpr std::uint32_t kBlock = 16 * 1024;
  const std::string path = dir.file("alternating");
  const WriterStats st = write_journal(path, events, blocks_of(kBlock, true));
  CHECK(st.written == events.size());
  NullReporter rep;
  auto r = JournalReader::open(path, rep);
  REQUIRE(r.ok());
  REQUIRE((*r)->blocks().size() > 10);
  for (const BlockInfo& b : (*r)->blocks()) CHECK(b.header.raw_size < kBlock + 64);  // one record past the size at most
  const auto back = read_all(path, rep);
  REQUIRE(back.size() == events.size());
  for (std::size_t i = 0; i < events.size(); i += 997) CHECK(encode_event(back[i]) == encode_event(events[i]));
}

TEST_CASE("format 6 and 5 journals read back the events written, as format 4 journals of them do",
          "[unit][journal]") {
  TempDir dir;
  const auto events = backtest_like(3000, 2, 5);
  for (std::uint32_t block : {4u * 1024, 64u * 1024}) {
    const std::string v6 = dir.file("v6-" + std::to_string(block));
    const std::string v5 = dir.file("v5-" + std::to_string(block));
    const std::string v4 = dir.file("v4-" + std::to_string(block));
    WriterOptions o5 = blocks_of(block, true);
    o5.format6 = false;
    WriterOptions o4 = blocks_of(block, true);
    o4.runs_apart = false;
    const WriterStats s6 = write_journal(v6, events, blocks_of(block, true));
    const WriterStats s5 = write_journal(v5, events, o5);
    const WriterStats s4 = write_journal(v4, events, o4);
    CHECK(s6.written == events.size());
    CHECK(s5.written == events.size());
    CHECK(s4.written == events.size());
    NullReporter rep;
    auto r6 = JournalReader::open(v6, rep);
    auto r5 = JournalReader::open(v5, rep);
    auto r4 = JournalReader::open(v4, rep);
    REQUIRE(r6.ok());
    REQUIRE(r5.ok());
    REQUIRE(r4.ok());
    CHECK((*r6)->header().major == 6);
    CHECK((*r5)->header().major == 5);
    CHECK((*r4)->header().major == 4);
    // Format 6 differs from 5 only in a positional delta's orders (these
    // events have no states): its single bars (between the two runners'
    // other events) are compact records as format 5's, every block the same.
    CHECK(read_file(v6).substr(kFileHeaderSize) == read_file(v5).substr(kFileHeaderSize));
    const auto back6 = read_all(v6, rep);
    REQUIRE(back6.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      INFO("event " << i);
      REQUIRE(encode_event(back6[i]) == encode_event(events[i]));
    }
    std::size_t apart = 0;
    for (const BlockInfo& b : (*r5)->blocks()) {
      apart += (b.header.flags & kBlockRunsApart) != 0 ? 1 : 0;
      CHECK(((b.header.flags & kBlockRunsApart) == 0 || (b.header.flags & kBlockHasBarRuns) != 0));
    }
    CHECK(apart > 0);
    for (const BlockInfo& b : (*r4)->blocks()) CHECK((b.header.flags & kBlockRunsApart) == 0);
    const auto back5 = read_all(v5, rep);
    const auto back4 = read_all(v4, rep);
    REQUIRE(back5.size() == events.size());
    REQUIRE(back4.size() == events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      INFO("event " << i);
      REQUIRE(encode_event(back5[i]) == encode_event(events[i]));
      REQUIRE(encode_event(back4[i]) == encode_event(events[i]));
    }
  }
}

TEST_CASE("format 5: a run's place with no run left is dropped, and a runs size past the payload refused",
          "[unit][journal]") {
  BarRun run;
  run.first_sequence = 2;
  model::Bar b;
  b.open = b.high = b.low = b.close = 1.25;
  b.volume = 10;
  run.add(kStart, b);
  run.add(kStart + kMinute, b);
  std::string rec(kMaxBarRunRecord, '\0');
  int hints[5] = {0, 0, 0, 0, 0};
  rec.resize(encode_bar_run(run, hints, rec.data()));
  std::string runs;
  put_varint32(runs, static_cast<std::uint32_t>(rec.size()));
  runs += rec;
  const std::string places("\0\0", 2);  // two places, one run
  std::string_view left = runs;
  std::string expanded;
  CHECK(expand_bar_runs(places, expanded, 10, &left) == 1);
  CHECK(left.empty());
  RecordSplitter split(expanded);
  std::string_view r;
  std::size_t n = 0;
  while (split.next(r)) ++n;
  CHECK(split.error() == nullptr);
  CHECK(n == 2);  // the run's two bars

  BlockHeader h;
  h.codec = BlockCodec::Stored;
  h.flags = kBlockHasBarRuns | kBlockRunsApart;
  const std::string payload = std::string("\xff\x00\x00\x00", 4) + "\x01";
  h.stored_size = static_cast<std::uint32_t>(payload.size());
  h.raw_size = 1;
  h.record_count = 1;
  h.payload_checksum = checksum64(payload.data(), payload.size());
  std::string raw;
  const Status s = open_block(h, payload, raw);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message == "block runs size runs past the payload");
}

TEST_CASE("the format 5 block example in docs/journal-format.md is what the writer writes", "[unit][journal]") {
  // Keep in sync with section 3, "Bar runs apart (format 5)": the bar_run
  // example's three bars after a full market_data record of the runner.
  TempDir dir;
  std::vector<Event> events;
  const double v[4][5] = {{100.0, 100.25, 100.0, 100.25, 500},
                          {100.25, 100.75, 100.2, 100.5, 1200},
                          {100.5, 100.6, 100.3, 100.4, 900},
                          {100.4, 100.5, 100.25, 100.45, 1500}};
  for (int i = 0; i < 4; ++i) {
    MarketData md;
    md.instrument = 1;
    md.symbol = "SIM";
    md.timeframe = "1m";
    md.bar.ts_ns = kStart + (i - 1) * kMinute;
    md.bar.open = v[i][0];
    md.bar.high = v[i][1];
    md.bar.low = v[i][2];
    md.bar.close = v[i][3];
    md.bar.volume = v[i][4];
    Event e = make_event(md.bar.ts_ns, 0, md);
    e.sequence = 299 + static_cast<std::uint64_t>(i);
    events.push_back(std::move(e));
  }
  WriterOptions o = WriterOptions::deterministic();
  o.compress = false;  // main stored too, to be read byte by byte
  write_journal(dir.file("j"), events, o);
  const std::string bytes = read_file(dir.file("j")).substr(kFileHeaderSize);
  std::string dump;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02x%s", static_cast<unsigned char>(bytes[i]),
                  i + 1 == bytes.size() ? "" : (i + 1) % 16 == 0 ? "\n" : " ");
    dump += buf;
  }
  CHECK(dump ==
        "54 45 42 4b c4 ad c2 d3 00 03 00 00 97 00 00 00\n"
        "93 00 00 00 04 00 00 00 01 00 00 00 00 00 00 00\n"
        "04 00 00 00 00 00 00 00 00 a8 e2 3d f0 9c 97 17\n"
        "00 b0 b8 26 1a 9d 97 17 05 60 e4 21 e6 61 95 34\n"
        "40 00 00 00 3f 9c 0f 02 cf 17 97 9c fe 36 2a 00\n"
        "00 00 03 cf 00 00 00 0d f8 47 58 00 c0 94 02 cd\n"
        "27 29 19 f6 94 02 cd 27 5b f1 f6 94 02 cd 27 24\n"
        "0a fb 94 02 cd 27 42 f6 05 94 00 cd 04 b0 d1 fe\n"
        "d4 cd 02 58 51 dc 00 11 03 01 cf 17 97 9c f0 3d\n"
        "e2 a8 00 00 01 a3 53 49 4d a2 31 6d cf 17 97 9c\n"
        "f0 3d e2 a8 00 cb 40 59 00 00 00 00 00 00 cb 40\n"
        "59 10 00 00 00 00 00 cb 40 59 00 00 00 00 00 00\n"
        "cb 40 59 10 00 00 00 00 00 cb 40 7f 40 00 00 00\n"
        "00 00 c0 c0 c0 c0 00");
}

TEST_CASE("bar runs written in place are the block bytes of their records, with one- and two-byte lengths",
          "[unit][journal]") {
  // The writer encodes a run where the block keeps it (begin_run/end_run)
  // behind two bytes of room for its length; a run shorter than 128 bytes is
  // moved back by one. The stored payload is checked byte for byte against
  // the layout built by hand: runs apart (format 5) and inside (format 3).
  std::vector<std::string> recs;
  int hints[5] = {0, 0, 0, 0, 0};
  for (const std::uint32_t bars : {2u, 3u, 5u, 8u, 9u, 12u, 40u, 255u, 256u}) {
    BarRun run;
    run.first_sequence = 1 + recs.size() * 1000;
    for (std::uint32_t i = 0; i < bars; ++i) {
      model::Bar b;
      b.open = 100.25 + i;
      b.high = 101.5 + 3 * i;
      b.low = 99.75 - 0.01 * i;
      b.close = 100.5 + 0.37 * i;
      b.volume = 1000 + 17 * i;
      run.add(kStart + static_cast<std::int64_t>(i) * kMinute, b);
    }
    std::string rec(kMaxBarRunRecord, '\0');
    rec.resize(encode_bar_run(run, hints, rec.data(), true));
    recs.push_back(std::move(rec));
  }
  bool short_one = false, long_one = false;
  for (const std::string& r : recs) (r.size() < 128 ? short_one : long_one) = true;
  REQUIRE(short_one);
  REQUIRE(long_one);
  for (const bool apart : {true, false}) {
    BlockBuilder b;
    b.set_runs_apart(apart);
    std::string runs, raw;
    for (int round = 0; round < 2; ++round) {  // the second block reuses the first one's buffers
      runs.clear();
      raw.clear();
      std::uint64_t seq = 1;
      for (std::size_t i = 0; i < recs.size(); ++i) {
        const std::string& r = recs[i];
        // Through begin_run/end_run, as the writer does, and through add_run.
        if (i % 2 == 0) {
          std::memcpy(b.begin_run(r.size() + 40), r.data(), r.size());
          b.end_run(r.size(), seq, 3, kStart, kStart + 2);
        } else {
          b.add_run(r, seq, 3, kStart, kStart + 2);
        }
        seq += 3;
        std::string& to = apart ? runs : raw;
        put_varint32(to, static_cast<std::uint32_t>(r.size()));
        to += r;
        if (apart) raw += '\0';
        b.add("xy", seq++, kStart + 1);
        raw += "\x02xy";
      }
      const std::string_view block = b.finish(false);
      BlockHeader h;
      REQUIRE(decode_block_header(block.data(), h) == nullptr);
      CHECK(h.record_count == recs.size() * 4);
      CHECK(h.last_sequence == recs.size() * 4);
      CHECK(h.max_ts_ns == kStart + 2);
      CHECK(h.flags == (apart ? (kBlockHasBarRuns | kBlockRunsApart) : kBlockHasBarRuns));
      std::string payload;
      if (apart) {
        const auto n = static_cast<std::uint32_t>(runs.size());
        for (int k = 0; k < 4; ++k) payload += static_cast<char>((n >> (8 * k)) & 0xff);
        payload += runs;
      }
      payload += raw;
      CHECK(block.substr(kBlockHeaderSize) == payload);
    }
  }
}

TEST_CASE("encode_bar_run's time range is ts_range's, evenly spaced times wrapping or not", "[unit][journal]") {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t starts[] = {0, kStart, -kStart, kMax, kMax - 5, kMax - 1000, kMin, kMin + 5, kMin + 1000, -1};
  const std::int64_t steps[] = {0, 1, -1, 7, -7, kMinute, -kMinute, kMax, kMin, kMax / 2, kMin / 2 - 1, kMax / 255,
                                kMax / 254, kMin / 255, kMin / 254};
  model::Bar b;
  b.open = b.high = b.low = b.close = 1.25;
  b.volume = 3;
  std::size_t wrapped = 0;
  for (const std::int64_t start : starts) {
    for (const std::int64_t step : steps) {
      for (const std::uint32_t n : {1u, 2u, 3u, 100u, 255u, 256u}) {
        BarRun run;
        for (std::uint32_t i = 0; i < n; ++i) {
          run.add(static_cast<std::int64_t>(static_cast<std::uint64_t>(start) +
                                            static_cast<std::uint64_t>(step) * i),
                  b);
        }
        std::int64_t lo = 0, hi = 0;
        run.ts_range(lo, hi);
        bool up = true, down = true;
        for (std::uint32_t i = 1; i < n; ++i) {
          up = up && run.ts[i] >= run.ts[i - 1];
          down = down && run.ts[i] <= run.ts[i - 1];
        }
        if (!up && !down) ++wrapped;
        std::string rec(kMaxBarRunRecord, '\0');
        int hints[5] = {0, 0, 0, 0, 0};
        for (const bool units : {false, true}) {
          TsRange range;
          encode_bar_run(run, hints, rec.data(), units, &range);
          CHECK(range.lo == lo);
          CHECK(range.hi == hi);
        }
        if (n >= 3) {
          // Uneven: the last time one later (wrapping), rising or not.
          BarRun uneven = run;
          uneven.ts[n - 1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(uneven.ts[n - 1]) + 1);
          uneven.ts_range(lo, hi);
          for (const bool units : {false, true}) {
            TsRange range;
            encode_bar_run(uneven, hints, rec.data(), units, &range);
            CHECK(range.lo == lo);
            CHECK(range.hi == hi);
          }
        }
      }
    }
  }
  CHECK(wrapped > 0);  // some of them wrap (not monotonic)
}

TEST_CASE("encode_bar_run's AVX2 kernels write the baseline's bytes", "[unit][journal]") {
  // The dispatched encoder (AVX2 on a CPU that has it) against the baseline
  // build, on runs of every length from 1 to kMaxBarRun: tick moves at the
  // fixint edges (-33, -32, 127, 128), at every other size edge of msgpack's
  // signed and unsigned forms (the AVX2 side's sint_flat picks them from a
  // table) and far past them, columns of whole
  // numbers, of up to nine decimal places, and values that are no decimal.
  // Without AVX2 both sides are the baseline: said, so a pass there is not
  // read as the kernels checked.
  if (!bar_run_uses_avx2()) WARN("this CPU has no AVX2: the baseline encoder is compared with itself");
  std::mt19937_64 rng(2026);
  const std::int64_t edges[] = {-33, -32, -31, -1, 0, 1, 126, 127, 128, 129, -128, -129, 255, 256, 65'535, 65'536,
                                -32'768, -32'769, 4'000'000'000, -4'000'000'000, 2'147'483'647, 2'147'483'648,
                                -2'147'483'648, -2'147'483'649, 4'294'967'295, 4'294'967'296, 32'767, -127};
  for (std::uint32_t n = 1; n <= kMaxBarRun; ++n) {
    for (int trial = 0; trial < 6; ++trial) {
      BarRun run;
      run.runner = 1;
      run.first_sequence = 100;
      std::int64_t k[5] = {1'000'000, 1'000'000, 999'000, 1'000'500, 5'000};
      const int decimals = static_cast<int>(rng() % 10);
      for (std::uint32_t i = 0; i < n; ++i) {
        model::Bar b;
        double* cols[5] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
        for (int c = 0; c < 5; ++c) {
          const auto pick = rng() % 16;
          k[c] += pick < 4    ? edges[rng() % std::size(edges)]
                  : pick < 12 ? static_cast<std::int64_t>(rng() % 61) - 30
                              : static_cast<std::int64_t>(rng() % 20'001) - 10'000;
          *cols[c] = static_cast<double>(k[c]) / std::pow(10.0, c == 4 ? 0 : decimals);
          if (trial == 5 && rng() % 300 == 0) *cols[c] += 1e-7;  // no decimal of at most 9 places
          // The last values (the kernels' last, partial group): no decimal, NaN, past 2^51.
          if (trial == 3 && i + 1 == n && c == 1) *cols[c] += 1e-7;
          if (trial == 4 && i + 1 == n && c == 2) *cols[c] = std::numeric_limits<double>::quiet_NaN();
          if (trial == 4 && i + 2 == n && c == 0) *cols[c] = 4503599627370496.0;
        }
        run.add(kStart + static_cast<std::int64_t>(i) * kMinute, b);
      }
      for (const bool units : {false, true}) {
        std::string a(kMaxBarRunRecord, '\0'), b(kMaxBarRunRecord, '\0');
        int ha[5] = {trial % 10, 0, 3, 9, 1}, hb[5] = {trial % 10, 0, 3, 9, 1};
        TsRange ra, rb;
        a.resize(encode_bar_run(run, ha, a.data(), units, &ra));
        b.resize(encode_bar_run_baseline(run, hb, b.data(), units, &rb));
        INFO("n " << n << ", trial " << trial << ", avx2 " << bar_run_uses_avx2());
        REQUIRE(a == b);
        REQUIRE(std::equal(ha, ha + 5, hb));
        REQUIRE((ra.lo == rb.lo && ra.hi == rb.hi));
      }
    }
  }
}

TEST_CASE("a one-bar bar_run record reads back as its bar's compact record, in either column form",
          "[unit][journal]") {
  // Writers write a single bar as its compact record, but a one-bar run is
  // legal, and the format 6 journals of its first version (session 22, not
  // kept) hold them: each column [d, k] or [nil, x], no difference after
  // the first value. The run encoder's form, [d, k, 0] or [nil, x, x],
  // reads back too.
  std::mt19937_64 rng(606);
  const double specials[] = {-0.0, 0.0, 100.0, 100.5, 1200.0, 0.1 + 0.2, 1e300, 123.456789012, 0.1234567891,
                             -42.5, 2251799813685248.0, 1e-10, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity()};
  for (int trial = 0; trial < 500; ++trial) {
    model::Bar b;
    b.ts_ns = kStart + static_cast<std::int64_t>(rng() % 1'000'000);
    BarRun run;
    run.runner = static_cast<std::uint32_t>(rng() % 5);
    run.first_sequence = 1 + rng() % 100'000;
    Value::Array hand{Value(kBarRunType), Value(run.first_sequence), Value(b.ts_ns), Value(run.runner), Value(1),
                      Value(0), Value()};
    double* cols[5] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
    for (double* v : cols) {
      const auto k = static_cast<std::int64_t>(rng() % 2'000'001) - 1'000'000;
      const int d = static_cast<int>(rng() % 10);
      *v = static_cast<double>(k) / std::pow(10.0, d);
      const bool decimal = rng() % 3 != 0;
      if (!decimal) *v = specials[rng() % std::size(specials)];
      // The value as drawn: k at d places (not always the smallest d), or the double.
      hand.push_back(decimal ? Value::array({Value(d), Value(k)}) : Value::array({Value(), Value(*v)}));
    }
    run.add(b.ts_ns, b);
    std::string by_hand;
    encode_value(Value(std::move(hand)), by_hand);
    REQUIRE(is_bar_run(by_hand));
    std::string encoded(kMaxBarRunRecord, '\0');
    int hints[5] = {0, 0, 0, 0, 0};
    encoded.resize(encode_bar_run(run, hints, encoded.data(), true));
    INFO("trial " << trial);
    // The expanded block's record: its length, then the compact record.
    const std::string record = compact(run.first_sequence, run.runner, b);
    std::string want;
    put_varint32(want, static_cast<std::uint32_t>(record.size()));
    want += record;
    for (const std::string& rec : {by_hand, encoded}) {
      // Among the block's records (format 3 and 4), and stored apart (5 and 6).
      std::string raw, expanded, apart, expanded5;
      put_varint32(raw, static_cast<std::uint32_t>(rec.size()));
      raw += rec;
      REQUIRE(expand_bar_runs(raw, expanded, 1) == 0);
      CHECK(expanded == want);
      put_varint32(apart, static_cast<std::uint32_t>(rec.size()));
      apart += rec;
      std::string_view left = apart;
      REQUIRE(expand_bar_runs(std::string(1, '\0'), expanded5, 1, &left) == 0);
      CHECK(left.empty());
      CHECK(expanded5 == want);
    }
  }
}

TEST_CASE("records written in place (begin_record/end_record) are the block bytes add() makes of them",
          "[unit][journal]") {
  // The writer's direct records are encoded where the block keeps them,
  // behind one or two bytes of room for their length (by their bound), and
  // moved next to their length when it takes another size: records of 1 to
  // 20,000 bytes under bounds just above them, at 127/128 and around the
  // two-byte bound, against the same records through add().
  std::mt19937_64 rng(77);
  std::vector<std::pair<std::string, std::size_t>> recs;  // record, bound
  for (const std::size_t n : {1, 2, 100, 126, 127, 128, 129, 139, 140, 141, 159, 160, 161, 300, 16'383, 16'384, 20'000}) {
    for (const std::size_t slack : {0, 1, 19, 20, 40}) {
      std::string r(n, '\0');
      for (char& c : r) c = static_cast<char>(rng());
      recs.emplace_back(std::move(r), n + slack);
    }
  }
  BlockBuilder in_place, copied;
  for (int round = 0; round < 2; ++round) {  // the second block reuses the first one's buffer
    std::uint64_t seq = 1;
    for (const auto& [r, bound] : recs) {
      std::memcpy(in_place.begin_record(bound), r.data(), r.size());
      in_place.end_record(r.size(), seq, kStart + static_cast<std::int64_t>(seq));
      copied.add(r, seq, kStart + static_cast<std::int64_t>(seq));
      ++seq;
    }
    REQUIRE(in_place.raw_size() == copied.raw_size());
    const std::string a(in_place.finish(false));
    const std::string b(copied.finish(false));
    REQUIRE(a == b);
  }
}
