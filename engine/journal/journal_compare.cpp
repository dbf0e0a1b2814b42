#include "engine/journal/journal_compare.hpp"

#include <algorithm>
#include <set>

#include "engine/core/value_json.hpp"
#include "engine/journal/event_codec.hpp"

namespace te::journal {
namespace {

constexpr std::size_t kMaxSetupDifferences = 20;

void normalize(Event& e) {
  // The storage form of a rebuilt state is not behaviour.
  if (auto* s = e.get<RunnerState>(); s != nullptr && s->encoding == StateEncoding::Full) {
    s->base_sequence = 0;
    s->snapshot_sequence = 0;
  }
}

Value masked_start(const Event& e, bool ignore_identity) {
  Value v = event_fields(e);
  if (ignore_identity) {
    v.erase("session_id");
    v.erase("mode");
  }
  return v;
}

Divergence describe_divergence(const Event* a, const Event* b, const EventNames& names) {
  Divergence d;
  if (a) {
    d.sequence_a = a->sequence;
    d.event_a = *a;
  }
  if (b) {
    d.sequence_b = b->sequence;
    d.event_b = *b;
  }
  if (!a || !b) {
    d.field = "end";
    d.a = a ? "continues" : "ended";
    d.b = b ? "continues" : "ended";
    return d;
  }
  auto type_of = [](const Event& e) {
    return e.is_unknown() ? "unknown(" + std::to_string(e.type_code()) + ")" : std::string(to_string(e.type()));
  };
  if (a->type_code() != b->type_code()) {
    d.field = "type";
    d.a = type_of(*a);
    d.b = type_of(*b);
    return d;
  }
  if (a->runner != b->runner) {
    d.field = "runner";
    d.a = a->runner == kNoRunner ? "session" : std::to_string(a->runner);
    d.b = b->runner == kNoRunner ? "session" : std::to_string(b->runner);
    return d;
  }
  ValueDifference body = first_difference(event_fields(*a, names), event_fields(*b, names));
  if (body.differs) {
    d.field = body.path;
    d.a = body.a;
    d.b = body.b;
    return d;
  }
  if (a->ts_event_ns != b->ts_event_ns) {
    d.field = "ts_event_ns";
    d.a = std::to_string(a->ts_event_ns);
    d.b = std::to_string(b->ts_event_ns);
    return d;
  }
  d.field = "sequence";
  d.a = std::to_string(a->sequence);
  d.b = std::to_string(b->sequence);
  return d;
}

struct Stream {
  JournalReader& reader;
  std::optional<model::RunnerId> runner;  // by_runner pass
  Event e;
  bool has = false;

  Result<bool> advance() {
    while (true) {
      auto ok = reader.next(e);
      if (!ok) return std::move(ok).error();
      has = *ok;
      if (!has || !runner || e.runner == *runner) break;
    }
    if (has) normalize(e);
    return has;
  }
};

// Compares two streams from their current positions (after session_start) to
// their ends, summarising them when asked; `ignore_sequence` for per-runner
// streams whose interleaving may differ.
Result<std::optional<Divergence>> first_divergence(Stream& a, Stream& b, bool ignore_sequence,
                                                   const EventNames& names, StreamSummary* sa, StreamSummary* sb) {
  std::optional<Divergence> first;
  std::string ba, bb;
  while (a.has || b.has) {
    if (!first) {
      if (a.has && b.has) {
        ba.clear();
        bb.clear();
        const std::uint64_t qa = a.e.sequence, qb = b.e.sequence;
        if (ignore_sequence) a.e.sequence = b.e.sequence = 0;
        encode_event(a.e, ba);
        encode_event(b.e, bb);
        a.e.sequence = qa;
        b.e.sequence = qb;
        if (ba != bb) first = describe_divergence(&a.e, &b.e, names);
      } else {
        first = describe_divergence(a.has ? &a.e : nullptr, b.has ? &b.e : nullptr, names);
      }
      if (first && !sa && !sb) break;  // nothing more to learn in a per-runner pass
    }
    if (a.has) {
      if (sa) summarize(*sa, a.e);
      TE_TRY(a.advance());
    }
    if (b.has) {
      if (sb) summarize(*sb, b.e);
      TE_TRY(b.advance());
    }
  }
  return first;
}

}  // namespace

void summarize(StreamSummary& s, const Event& e) {
  if (s.events == 0) {
    s.first_sequence = e.sequence;
    s.first_ts_ns = e.ts_event_ns;
  }
  ++s.events;
  s.last_sequence = e.sequence;
  s.last_ts_ns = std::max(s.last_ts_ns, e.ts_event_ns);
  const std::uint16_t t = e.type_code();
  ++s.counts[t >= 1 && t <= kMaxKnownEventType ? t : 0];
  if (const auto* u = e.get<OrderUpdate>()) {
    if (s.order_ids.insert(u->order.id).second) ++s.orders;
    if (u->order.status == model::OrderStatus::Rejected) ++s.rejected_orders;
  } else if (const auto* f = e.get<FillEvent>()) {
    s.fill_qty += f->fill.qty;
    s.commission += f->fill.commission;
  } else if (const auto* end = e.get<SessionEnd>()) {
    s.ended = true;
    s.end_reason = end->reason;
    s.end_summary = end->summary;
  }
}

Result<Comparison> compare_journals(JournalReader& ra, JournalReader& rb, const CompareOptions& options,
                                    const EventNames& names) {
  Comparison c;
  TE_TRY(ra.rewind());
  TE_TRY(rb.rewind());
  Stream a{ra, std::nullopt, {}, false};
  Stream b{rb, std::nullopt, {}, false};
  TE_TRY(a.advance());
  TE_TRY(b.advance());
  if (a.has && b.has && a.e.get<SessionStart>() && b.e.get<SessionStart>()) {
    c.setup = differences(masked_start(a.e, options.ignore_identity), masked_start(b.e, options.ignore_identity),
                          kMaxSetupDifferences);
    summarize(c.a, a.e);
    summarize(c.b, b.e);
    TE_TRY(a.advance());
    TE_TRY(b.advance());
  }

  if (!options.by_runner) {
    auto first = first_divergence(a, b, false, names, &c.a, &c.b);
    if (!first) return std::move(first).error();
    c.first = std::move(*first);
  } else {
    // Summaries and the set of runners in one pass, then one pass per runner.
    std::set<model::RunnerId> runners;
    for (Stream* s : {&a, &b}) {
      StreamSummary& sum = s == &a ? c.a : c.b;
      while (s->has) {
        summarize(sum, s->e);
        runners.insert(s->e.runner);
        TE_TRY(s->advance());
      }
    }
    for (model::RunnerId r : runners) {
      TE_TRY(ra.rewind());
      TE_TRY(rb.rewind());
      Stream pa{ra, r, {}, false};
      Stream pb{rb, r, {}, false};
      TE_TRY(pa.advance());
      TE_TRY(pb.advance());
      if (pa.has && pa.e.get<SessionStart>()) TE_TRY(pa.advance());
      if (pb.has && pb.e.get<SessionStart>()) TE_TRY(pb.advance());
      auto first = first_divergence(pa, pb, true, names, nullptr, nullptr);
      if (!first) return std::move(first).error();
      if (!*first) continue;
      (*first)->runner = r;
      auto key = [](const Divergence& d) { return d.sequence_a != 0 ? d.sequence_a : d.sequence_b; };
      if (!c.first || key(**first) < key(*c.first)) c.first = std::move(*first);
    }
  }
  c.identical = c.setup.empty() && !c.first;
  return c;
}

}  // namespace te::journal
