#pragma once
// Matches orders against bars: the execution engine of backtests and paper
// trading. Deterministic: orders are processed in id order, ids are sequential.
// Not thread-safe: used from the run's event thread only.
#include <cstdint>
#include <vector>

#include "engine/exec/execution_engine.hpp"
#include "engine/exec/models.hpp"

namespace te::exec {

struct SimulatedExchangeConfig {
  FillModel fill = FillModel::NextOpen;
  CommissionModel commission;
};

class SimulatedExchange final : public ExecutionEngine {
 public:
  // `gate` and `listener` must outlive the exchange.
  SimulatedExchange(SimulatedExchangeConfig config, const FillGate& gate, ExecutionListener& listener);

  model::OrderId submit(model::Order order) override;
  bool cancel(model::OrderId id) override;
  bool amend(model::OrderId id, std::optional<double> stop_price, std::optional<double> limit_price) override;
  const model::Order* find(model::OrderId id) const override;
  void on_bar_open(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) override;
  void on_bar_close(model::InstrumentId instrument, const model::Bar& bar, std::int64_t bar_index) override;

  const SimulatedExchangeConfig& config() const noexcept { return config_; }
  std::size_t working_orders() const noexcept;

 private:
  model::Order* find_mut(model::OrderId id);
  void fill(std::size_t index, double price, std::int64_t ts_ns, std::int64_t bar_index);
  void reject(std::size_t index, const char* code, std::string message, std::int64_t ts_ns, std::int64_t bar_index);
  void compact();

  SimulatedExchangeConfig config_;
  const FillGate& gate_;
  ExecutionListener& listener_;
  model::OrderId next_id_ = 1;
  std::int64_t open_phase_bar_ = -1;  // bar whose open is being processed, else -1
  std::vector<model::Order> orders_;  // working orders, ascending id
};

}  // namespace te::exec
