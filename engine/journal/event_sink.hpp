#pragma once
// Where runners, execution and risk send journal events. The engine holds an
// EventSink& (a JournalWriter when recording, a MemoryEventSink in tests, or a
// NullEventSink when recording is off), never a concrete writer.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/result.hpp"
#include "engine/journal/event.hpp"
#include "engine/journal/event_codec.hpp"
#include "engine/journal/state_parts.hpp"
#include "engine/model/bar_series.hpp"

namespace te::journal {

// Receives the events of a DeferredEvents batch in order. Market data, the
// bulk of a session, comes as its parts so a sink can encode it without
// building an Event (JournalWriter writes the record straight from them).
class DeferredConsumer {
 public:
  virtual ~DeferredConsumer() = default;
  // Any event; the consumer may move from it.
  virtual void event(Event& e) = 0;
  // A market_data event: the same as event() with a MarketData body of these fields.
  // Within one emit(), the bytes behind a symbol or timeframe passed once must
  // not change (the writer recognises a repeated stream by the views' addresses).
  virtual void market_data(std::int64_t ts_event_ns, model::RunnerId runner, model::InstrumentId instrument,
                           std::string_view symbol, std::string_view timeframe, const model::Bar& bar) = 0;
  // Bars from .. from + count - 1 of `columns`, each a market_data event at
  // its bar's time: the same as market_data() for each, in one call.
  virtual void market_data_columns(model::RunnerId runner, model::InstrumentId instrument, std::string_view symbol,
                                   std::string_view timeframe, const model::BarSeries::Columns& columns,
                                   std::size_t from, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const model::Bar bar = columns.at(from + i);
      market_data(bar.ts_ns, runner, instrument, symbol, timeframe, bar);
    }
  }
  // An order_update, fill and risk_decision event from its parts: the same
  // as event() with that body. JournalWriter encodes them from the parts
  // (encode_order_update, ...); these defaults build the event.
  virtual void order_update(std::int64_t ts_event_ns, model::RunnerId runner, const model::Order& order,
                            std::string_view reason_code, std::string_view message) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& u = e.body.emplace<OrderUpdate>();
    u.order = order;
    u.reason_code = std::string(reason_code);
    u.message = std::string(message);
    event(e);
  }
  virtual void fill(std::int64_t ts_event_ns, model::RunnerId runner, const model::Fill& fill) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    e.body.emplace<FillEvent>().fill = fill;
    event(e);
  }
  virtual void risk_decision(std::int64_t ts_event_ns, model::RunnerId runner, std::uint64_t order,
                             model::StrategyId strategy, bool approved, std::string_view reason_code,
                             std::string_view message) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& d = e.body.emplace<RiskDecision>();
    d.order = order;
    d.strategy = strategy;
    d.approved = approved;
    d.reason_code = std::string(reason_code);
    d.message = std::string(message);
    event(e);
  }
  // A transition and a strategy_action event from their parts (params: the
  // map's entries in key order, none for nil), likewise.
  virtual void transition(std::int64_t ts_event_ns, model::RunnerId runner, std::uint8_t from, std::uint8_t to,
                          std::string_view trigger, std::string_view reason, std::int64_t bar_ts_ns) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& t = e.body.emplace<Transition>();
    t.from = from;
    t.to = to;
    t.trigger = std::string(trigger);
    t.reason = std::string(reason);
    t.bar_ts_ns = bar_ts_ns;
    event(e);
  }
  virtual void strategy_action(std::int64_t ts_event_ns, model::RunnerId runner, model::StrategyId strategy,
                               std::string_view kind, const ActionParam* params, std::size_t n_params,
                               std::string_view reason) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& a = e.body.emplace<StrategyAction>();
    a.strategy = strategy;
    a.kind = std::string(kind);
    if (n_params > 0) {
      Value::Map m;
      m.reserve(n_params);
      for (std::size_t i = 0; i < n_params; ++i) {
        const ActionParam& p = params[i];
        m.emplace_back(std::string(p.key), p.text != nullptr ? Value(p.text) : Value(p.number));
      }
      a.params = Value(std::move(m));
    }
    a.reason = std::string(reason);
    event(e);
  }
  // A runner_state event in parts: the same as event() with a full
  // RunnerState of parts.phase, parts.state, state_parts_context(parts) and
  // `indicators` (the consumer may move from it). JournalWriter encodes it
  // from the parts; this default builds the event.
  virtual void runner_state(std::int64_t ts_event_ns, model::RunnerId runner, const StateParts& parts,
                            Value& indicators) {
    Event e;
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& st = e.body.emplace<RunnerState>();
    st.phase = parts.phase;
    st.state = parts.state;
    st.encoding = StateEncoding::Full;
    st.context = state_parts_context(parts);
    st.indicators = std::move(indicators);
    event(e);
  }
};

// Events a producer captured in its own compact form (JournalRecorder: one
// small struct per bar, the runner's numbers for a state), turned into events
// by the sink: a JournalWriter does it on its writer thread, so the trading
// thread neither builds value trees nor copies strings for them.
class DeferredEvents {
 public:
  virtual ~DeferredEvents() = default;
  // How many events emit() produces. Fixed once the batch is handed over.
  virtual std::size_t size() const noexcept = 0;
  // Bytes the batch holds beyond its events' fixed parts (a recorder's
  // strategy contexts): the writer's queue is bounded by these too
  // (WriterOptions::queue_bytes). Fixed once the batch is handed over.
  virtual std::size_t held_bytes() const noexcept { return 0; }
  // Passes exactly size() events, in order, to `out` (sequence numbers are
  // the sink's business). Called at most once, on whichever thread the sink
  // chooses; must not touch anything the producer still changes.
  virtual void emit(DeferredConsumer& out) = 0;
  // The sink is done with the batch (emitted, dropped or refused): the
  // producer may reuse it. Called exactly once per handed-over batch, after
  // emit() if that ran, on any thread.
  virtual void release() noexcept = 0;
};

// Collects a batch's events as Events (sinks without a faster path, tests).
class EventCollector final : public DeferredConsumer {
 public:
  explicit EventCollector(std::vector<Event>& out) : out_(out) {}
  void event(Event& e) override { out_.push_back(std::move(e)); }
  void market_data(std::int64_t ts_event_ns, model::RunnerId runner, model::InstrumentId instrument,
                   std::string_view symbol, std::string_view timeframe, const model::Bar& bar) override {
    Event& e = out_.emplace_back();
    e.ts_event_ns = ts_event_ns;
    e.runner = runner;
    auto& md = e.body.emplace<MarketData>();
    md.instrument = instrument;
    md.symbol = std::string(symbol);
    md.timeframe = std::string(timeframe);
    md.bar = bar;
  }

 private:
  std::vector<Event>& out_;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Assigns the next sequence number to `event`, records it and returns the
  // number (0: the sink filtered the event out by configuration, e.g. indicator
  // values when they are not recorded). Thread-safe in every implementation.
  virtual Result<std::uint64_t> append(Event event) = 0;

  // Appends `events` in order with consecutive sequence numbers and returns the
  // first (0 when all were filtered out); leaves `events` empty. On error,
  // `events` keeps those that were not recorded. Sinks that can take a batch at
  // once (JournalWriter) override this.
  virtual Result<std::uint64_t> append_batch(std::vector<Event>& events) {
    std::uint64_t first = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto seq = append(std::move(events[i]));
      if (!seq) {
        events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(i));
        return seq;
      }
      if (first == 0) first = *seq;
    }
    events.clear();
    return first;
  }

  // Appends the events of `batch` in order with consecutive sequence numbers
  // and returns the first. They are not filtered by configuration (the
  // producer applies include_indicators itself). Releases the batch in every
  // case (success or error). This default expands on the caller's thread;
  // JournalWriter queues the batch and expands it on its writer thread.
  virtual Result<std::uint64_t> append_deferred(std::shared_ptr<DeferredEvents> batch) {
    std::vector<Event> events;
    events.reserve(batch->size());
    EventCollector collect(events);
    batch->emit(collect);
    batch->release();
    return append_batch(events);
  }
};

class NullEventSink final : public EventSink {
 public:
  Result<std::uint64_t> append(Event) override { return next_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> next_{1};
};

// Keeps every event in memory (tests, small tools).
class MemoryEventSink final : public EventSink {
 public:
  Result<std::uint64_t> append(Event event) override {
    std::lock_guard lock(mu_);
    event.sequence = events_.size() + 1;
    events_.push_back(std::move(event));
    return events_.back().sequence;
  }
  // Not synchronised with concurrent append(): read after the producers stop.
  const std::vector<Event>& events() const noexcept { return events_; }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace te::journal
