#pragma once
// A small streaming JSON writer with deterministic output: keys in the order
// written, numbers in shortest round-trip form, non-finite numbers as null.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace te {

class JsonWriter {
 public:
  explicit JsonWriter(int indent = 2) : indent_(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(std::uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(bool v);
  JsonWriter& null();
  // Appends JSON text rendered elsewhere as the next value. It must be laid out
  // as this writer would lay it out here: compact when indent() is 0, else
  // nested from depth() (what a row renderer for very long arrays does to skip
  // the per-token work; engine/backtest/activity.cpp).
  JsonWriter& raw_value(std::string_view json);
  int indent() const noexcept { return indent_; }
  // Open objects and arrays around the next value.
  std::size_t depth() const noexcept { return stack_.size(); }
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  // Without a sink: the whole document. With one: the text not yet handed over.
  const std::string& str() const noexcept { return out_; }

  // Streams the document instead of keeping it: whenever at least `chunk` bytes
  // are buffered, the next key or value first hands them to `sink` (a report of
  // tens of megabytes then never exists whole in memory). Call flush() after
  // the last value for the rest.
  void set_sink(std::function<void(std::string_view)> sink, std::size_t chunk = std::size_t{1} << 18);
  void flush();

  static void append_escaped(std::string& out, std::string_view s);
  // Whether append_escaped would write `s` as is between its quotes (no
  // character to escape, all of it ASCII). For renderers that copy such text
  // straight into their own buffers.
  static bool is_plain(std::string_view s) noexcept;

 private:
  void before_value();
  void newline();
  void maybe_flush() {
    if (sink_ && out_.size() >= chunk_) flush();
  }

  std::string out_;
  int indent_;
  struct Level {
    bool array;
    bool first;
  };
  std::vector<Level> stack_;
  bool after_key_ = false;
  std::function<void(std::string_view)> sink_;
  std::size_t chunk_ = 0;
};

}  // namespace te
