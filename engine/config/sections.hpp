#pragma once
// Module-private: one parse function per config section, each in its own file.
#include "engine/config/config.hpp"
#include "engine/config/toml_reader.hpp"

namespace te::config::detail {

void read_engine(TableReader& t, EngineSection& out);
void read_sandbox(TableReader& t, SandboxSection& out);
void read_event_sourcing(TableReader& t, EventSourcingSection& out);
void read_execution(TableReader& t, ExecutionSection& out);                // execution_section.cpp
void read_risk(TableReader& t, RiskSection& out);                          // risk_section.cpp
void read_strategy_risk(TableReader& t, StrategyRiskSection& out);
void read_data_source(TableReader& t, DataSourceSection& out);
void read_venues(TableReader& t, BinanceVenue& out);
// [[runners]] and [[strategies]] (expanded into one runner per symbol); checks
// combinations across sections.
void read_runners(TableReader& root, Config& cfg);

}  // namespace te::config::detail
