#include "engine/journal/replay_cursor.hpp"

#include <algorithm>
#include <map>

namespace te::journal {
namespace {

// Damage is reported once, by the stepping reader; the random-access reader
// keeps quiet about the same bytes.
class QuietReporter final : public Reporter {
 public:
  void corruption(const Corruption&) override {}
};

std::string runner_list(const SessionIndex& idx) {
  std::string out;
  for (const auto& r : idx.runners) out += (out.empty() ? "" : ", ") + std::to_string(r.runner);
  return out.empty() ? "none" : out;
}

}  // namespace

const RunnerIndex* SessionIndex::runner(model::RunnerId id) const noexcept {
  auto it = std::lower_bound(runners.begin(), runners.end(), id,
                             [](const RunnerIndex& r, model::RunnerId v) { return r.runner < v; });
  return it != runners.end() && it->runner == id ? &*it : nullptr;
}

ReplayCursor::ReplayCursor(std::unique_ptr<Reporter> quiet, std::unique_ptr<JournalReader> main,
                           std::unique_ptr<JournalReader> probe)
    : quiet_(std::move(quiet)), main_(std::move(main)), probe_(std::move(probe)) {}

ReplayCursor::~ReplayCursor() = default;

Result<std::unique_ptr<ReplayCursor>> ReplayCursor::open(const std::string& path, Reporter& reporter) {
  auto main = JournalReader::open(path, reporter);
  if (!main) return std::move(main).error();
  auto quiet = std::make_unique<QuietReporter>();
  ReaderOptions po;
  po.verify_on_open = false;  // the first reader has checked every block
  auto probe = JournalReader::open(path, *quiet, po);
  if (!probe) return std::move(probe).error();
  return std::unique_ptr<ReplayCursor>(new ReplayCursor(std::move(quiet), std::move(*main), std::move(*probe)));
}

Result<const SessionIndex*> ReplayCursor::index() {
  if (index_) return &*index_;
  SessionIndex idx;
  std::map<model::RunnerId, RunnerIndex> runners;
  bool first = true;
  const auto md = static_cast<std::uint16_t>(EventType::MarketData);
  const auto st = static_cast<std::uint16_t>(EventType::RunnerState);
  Status s = probe_->scan_envelopes([&](const EventEnvelope& env) {
    ++idx.events;
    ++idx.counts[env.type >= 1 && env.type <= kMaxKnownEventType ? env.type : 0];
    if (env.type == 0) return;
    if (first) {
      idx.first_sequence = env.sequence;
      idx.min_ts_ns = idx.max_ts_ns = env.ts_event_ns;
      first = false;
    }
    idx.last_sequence = env.sequence;
    idx.min_ts_ns = std::min(idx.min_ts_ns, env.ts_event_ns);
    idx.max_ts_ns = std::max(idx.max_ts_ns, env.ts_event_ns);
    if (env.runner == kNoRunner) return;
    RunnerIndex& r = runners[env.runner];
    r.runner = env.runner;
    if (env.type == md) r.bars.push_back(env.sequence);
    if (env.type == st) r.states.push_back(env.sequence);
  });
  if (!s) return std::move(s).error();
  for (auto& [id, r] : runners) idx.runners.push_back(std::move(r));
  index_ = std::move(idx);
  return &*index_;
}

Result<bool> ReplayCursor::seek(std::uint64_t sequence) {
  valid_ = false;
  auto found = main_->seek_sequence(sequence);
  if (!found || !*found) return found;
  auto ok = main_->next(current_);
  if (!ok) return std::move(ok).error();
  valid_ = *ok;
  return *ok;
}

Result<bool> ReplayCursor::seek_time(std::int64_t ts_ns) {
  valid_ = false;
  auto found = main_->seek_time(ts_ns);
  if (!found || !*found) return found;
  auto ok = main_->next(current_);
  if (!ok) return std::move(ok).error();
  valid_ = *ok;
  return *ok;
}

Result<bool> ReplayCursor::step_forward() {
  if (!valid_) return false;
  Event e;
  auto ok = main_->next(e);
  if (!ok) return std::move(ok).error();
  if (!*ok) {
    // At the end: stay on the last event (the reader is re-positioned lazily).
    auto back = main_->seek_sequence(current_.sequence + 1);
    if (!back) return std::move(back).error();
    return false;
  }
  current_ = std::move(e);
  return true;
}

Result<bool> ReplayCursor::step_backward() {
  if (!valid_) return false;
  auto prev = previous_sequence(current_.sequence);
  if (!prev) return std::move(prev).error();
  if (!*prev) return false;
  return seek(**prev);
}

Result<std::optional<std::uint64_t>> ReplayCursor::previous_sequence(std::uint64_t sequence) {
  const auto& blocks = probe_->blocks();
  // The last block starting before `sequence` holds the previous record.
  auto it = std::partition_point(blocks.begin(), blocks.end(),
                                 [sequence](const BlockInfo& b) { return b.header.first_sequence < sequence; });
  if (it == blocks.begin()) return std::optional<std::uint64_t>();
  const BlockInfo& b = *(it - 1);
  if (b.header.last_sequence < sequence) return std::optional<std::uint64_t>(b.header.last_sequence);
  // Usually the record just before; a gap (dropped events) needs a scan of the block.
  auto e = probe_->event_at(sequence - 1);
  if (!e) return std::move(e).error();
  if (*e) return std::optional<std::uint64_t>(sequence - 1);
  std::optional<std::uint64_t> last;
  auto found = probe_->seek_sequence(b.header.first_sequence);
  if (!found) return std::move(found).error();
  Event x;
  while (true) {
    auto ok = probe_->next(x);
    if (!ok) return std::move(ok).error();
    if (!*ok || x.sequence >= sequence) break;
    last = x.sequence;
  }
  return last;
}

Result<RunnerView> ReplayCursor::runner_view(model::RunnerId runner) {
  if (!valid_) return make_error(Errc::invalid_argument, "replay: the cursor is not on an event");
  return runner_view(runner, current_.sequence);
}

Result<RunnerView> ReplayCursor::runner_view(model::RunnerId runner, std::uint64_t as_of) {
  auto idx = index();
  if (!idx) return std::move(idx).error();
  const RunnerIndex* ri = (*idx)->runner(runner);
  if (ri == nullptr)
    return make_error(Errc::not_found, "the session has no runner " + std::to_string(runner) +
                                           " (runners: " + runner_list(**idx) + ")");
  RunnerView view;
  view.runner = runner;
  view.as_of = as_of;

  auto bar_it = std::upper_bound(ri->bars.begin(), ri->bars.end(), as_of);
  if (bar_it != ri->bars.begin()) {
    view.bar_number = static_cast<std::int64_t>(bar_it - ri->bars.begin()) - 1;
    auto e = probe_->event_at(*(bar_it - 1));
    if (!e) return std::move(e).error();
    view.bar = std::move(*e);
  }

  auto st_it = std::upper_bound(ri->states.begin(), ri->states.end(), as_of);
  std::uint64_t from = (*idx)->first_sequence;
  if (st_it != ri->states.begin()) {
    const std::uint64_t s0 = *(st_it - 1);
    from = s0 + 1;
    auto st = probe_->state_at(runner, as_of);
    if (!st) {
      if (st.error().code != Errc::not_found) return std::move(st).error();
      view.state_error = st.error().message;
    } else if (*st) {
      view.state = std::move(**st);
      if (const auto* rs = view.state->get<RunnerState>()) {
        view.fsm_state = rs->state;
        view.fsm_known = true;
      }
    }
  }
  if (from <= as_of) {
    auto found = probe_->seek_sequence(from);
    if (!found) return std::move(found).error();
    Event e;
    while (*found) {
      auto ok = probe_->next(e);
      if (!ok) return std::move(ok).error();
      if (!*ok || e.sequence > as_of) break;
      if (e.runner != runner || e.get<MarketData>() != nullptr) continue;
      if (const auto* t = e.get<Transition>()) {
        view.fsm_state = t->to;
        view.fsm_known = true;
      }
      if (view.since_state.size() == RunnerView::kMaxSince) {
        view.since_state.erase(view.since_state.begin());
        view.since_truncated = true;
      }
      view.since_state.push_back(std::move(e));
    }
  }
  return view;
}

Result<UpdateSpan> ReplayCursor::update_of(model::RunnerId runner, std::uint64_t sequence) {
  auto idx = index();
  if (!idx) return std::move(idx).error();
  const RunnerIndex* ri = (*idx)->runner(runner);
  if (ri == nullptr)
    return make_error(Errc::not_found, "the session has no runner " + std::to_string(runner) +
                                           " (runners: " + runner_list(**idx) + ")");
  UpdateSpan u;
  u.runner = runner;
  auto it = std::upper_bound(ri->bars.begin(), ri->bars.end(), sequence);
  if (it != ri->bars.begin()) {
    u.first = *(it - 1);
    u.bar_number = static_cast<std::int64_t>(it - ri->bars.begin()) - 1;
  } else {
    u.first = (*idx)->first_sequence;
  }
  u.last = it != ri->bars.end() ? *it - 1 : (*idx)->last_sequence;
  return u;
}

Result<std::vector<Event>> ReplayCursor::events_between(std::uint64_t first, std::uint64_t last,
                                                        std::optional<model::RunnerId> runner) {
  std::vector<Event> out;
  auto found = probe_->seek_sequence(first);
  if (!found) return std::move(found).error();
  if (!*found) return out;
  Event e;
  while (true) {
    auto ok = probe_->next(e);
    if (!ok) return std::move(ok).error();
    if (!*ok || e.sequence > last) break;
    if (runner && e.runner != *runner) continue;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace te::journal
