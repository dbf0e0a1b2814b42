#include "engine/exec/simulated_exchange.hpp"

#include <algorithm>
#include <cmath>

#include "engine/core/assert.hpp"

namespace te::exec {

SimulatedExchange::SimulatedExchange(SimulatedExchangeConfig config, const FillGate& gate, ExecutionListener& listener)
    : config_(config), gate_(gate), listener_(listener) {}

std::size_t SimulatedExchange::working_orders() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(orders_.begin(), orders_.end(), [](const model::Order& o) { return !model::is_terminal(o.status); }));
}

model::Order* SimulatedExchange::find_mut(model::OrderId id) {
  auto it = std::lower_bound(orders_.begin(), orders_.end(), id,
                             [](const model::Order& o, model::OrderId x) { return o.id < x; });
  return it != orders_.end() && it->id == id ? &*it : nullptr;
}

const model::Order* SimulatedExchange::find(model::OrderId id) const {
  return const_cast<SimulatedExchange*>(this)->find_mut(id);
}

// Listener callbacks get copies: a listener may submit or cancel orders, which
// can reallocate orders_.
model::OrderId SimulatedExchange::submit(model::Order order) {
  const model::OrderId id = next_id_++;
  order.id = id;
  order.status = model::OrderStatus::Submitted;
  order.filled_qty = 0;
  order.active_from_bar = open_phase_bar_ >= 0 ? open_phase_bar_ : order.submitted_bar + 1;
  orders_.push_back(std::move(order));
  const std::size_t idx = orders_.size() - 1;
  const model::Order& o = orders_[idx];
  const bool bad_qty = !(o.qty > 0) || !std::isfinite(o.qty);
  const bool needs_limit = o.type == model::OrderType::Limit || o.type == model::OrderType::StopLimit;
  const bool needs_stop = o.type != model::OrderType::Market && o.type != model::OrderType::Limit;
  if (bad_qty) {
    reject(idx, "invalid_quantity", "quantity must be a positive number", o.submitted_ns, o.submitted_bar);
  } else if ((needs_limit && !(o.limit_price > 0)) || (needs_stop && !(o.stop_price > 0))) {
    reject(idx, "invalid_price", "order price must be a positive number", o.submitted_ns, o.submitted_bar);
  } else {
    orders_[idx].status = model::OrderStatus::Accepted;
    const model::Order copy = orders_[idx];
    listener_.on_order_update(copy);
  }
  return id;
}

bool SimulatedExchange::cancel(model::OrderId id) {
  model::Order* o = find_mut(id);
  if (!o || model::is_terminal(o->status)) return false;
  o->status = model::OrderStatus::Cancelled;
  const model::Order copy = *o;
  listener_.on_order_update(copy);
  return true;
}

bool SimulatedExchange::amend(model::OrderId id, std::optional<double> stop_price, std::optional<double> limit_price) {
  model::Order* o = find_mut(id);
  if (!o || model::is_terminal(o->status)) return false;
  if (stop_price) o->stop_price = *stop_price;
  if (limit_price) o->limit_price = *limit_price;
  const model::Order copy = *o;
  listener_.on_order_update(copy);
  return true;
}

void SimulatedExchange::reject(std::size_t index, const char* code, std::string message, std::int64_t ts_ns,
                               std::int64_t bar_index) {
  model::Order& order = orders_[index];
  order.status = model::OrderStatus::Rejected;
  model::Rejection r;
  r.order = order.id;
  r.runner = order.runner;
  r.strategy = order.strategy;
  r.code = code;
  r.message = std::move(message);
  r.ts_ns = ts_ns;
  r.bar_index = bar_index;
  const model::Order copy = order;
  listener_.on_rejected(r, copy);
}

void SimulatedExchange::fill(std::size_t index, double price, std::int64_t ts_ns, std::int64_t bar_index) {
  model::Order& order = orders_[index];
  const double qty = order.remaining();
  const double commission = config_.commission.commission(qty, price);
  if (auto why = gate_.check_fill(order.instrument, order.side, qty, price, commission)) {
    reject(index, "insufficient_funds", std::move(*why), ts_ns, bar_index);
    return;
  }
  order.filled_qty = order.qty;
  order.status = model::OrderStatus::Filled;
  model::Fill f;
  f.order = order.id;
  f.instrument = order.instrument;
  f.runner = order.runner;
  f.strategy = order.strategy;
  f.side = order.side;
  f.purpose = order.purpose;
  f.qty = qty;
  f.price = price;
  f.commission = commission;
  f.ts_ns = ts_ns;
  f.bar_index = bar_index;
  const model::Order copy = order;
  listener_.on_fill(f, copy);
}

void SimulatedExchange::on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  // Pass 1: anything that executes at the open (market orders, and stops or
  // limits the open gapped through), in id order. Pass 2: intrabar triggers,
  // stops before limits: when one bar reaches both a stop and a target we
  // cannot know which came first and assume the worse (the stop).
  open_phase_bar_ = bar_index;
  for (int pass = 0; pass < 3; ++pass) {
    for (std::size_t i = 0; i < orders_.size(); ++i) {
      const model::Order& o = orders_[i];
      if (o.instrument != instrument || model::is_terminal(o.status) || o.active_from_bar > bar_index) continue;
      if (pass == 0 && o.submitted_bar >= bar_index) continue;  // sent after this open
      const bool buy = o.side == model::Side::Buy;
      double px = 0;
      bool go = false;
      switch (o.type) {
        case model::OrderType::Market:
          if (pass == 0 && config_.fill == FillModel::NextOpen) {
            go = true;
            px = bar.open;
          }
          break;
        case model::OrderType::Stop:
        case model::OrderType::TrailingStop: {
          const bool at_open = buy ? bar.open >= o.stop_price : bar.open <= o.stop_price;
          const bool touched = buy ? bar.high >= o.stop_price : bar.low <= o.stop_price;
          if (pass == 0 && at_open) {
            go = true;
            px = bar.open;
          } else if (pass == 1 && touched) {
            go = true;
            px = o.stop_price;
          }
          break;
        }
        case model::OrderType::Limit: {
          const bool at_open = buy ? bar.open <= o.limit_price : bar.open >= o.limit_price;
          const bool touched = buy ? bar.low <= o.limit_price : bar.high >= o.limit_price;
          if (pass == 0 && at_open) {
            go = true;
            px = bar.open;
          } else if (pass == 2 && touched) {
            go = true;
            px = o.limit_price;
          }
          break;
        }
        case model::OrderType::StopLimit:
          break;  // not simulated by the bar models of this version; rejected at submit by the runner
      }
      if (go) fill(i, px, bar.ts_ns, bar_index);
    }
  }
  open_phase_bar_ = -1;
  compact();
}

void SimulatedExchange::on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) {
  if (config_.fill != FillModel::Close) return;
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const model::Order& o = orders_[i];
    if (o.instrument != instrument || model::is_terminal(o.status) || o.type != model::OrderType::Market) continue;
    fill(i, bar.close, bar.ts_ns, bar_index);
  }
  compact();
}

void SimulatedExchange::compact() {
  // Keep the vector short: drop finished orders (they were reported already).
  orders_.erase(std::remove_if(orders_.begin(), orders_.end(),
                               [](const model::Order& o) { return model::is_terminal(o.status); }),
                orders_.end());
}

}  // namespace te::exec
