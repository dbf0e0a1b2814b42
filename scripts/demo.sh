#!/usr/bin/env bash
# `make demo`: generate a deterministic price history, backtest an example
# strategy on it and print the report. Everything it writes goes to demo-out/.
set -euo pipefail
build=${1:-build}
bin="$build/trading-engine"
out=demo-out
mkdir -p "$out"

echo "==> generating 5000 daily bars (seeded, reproducible): $out/demo-daily.csv"
"$bin" generate-data --bars 5000 --seed 7 --interval 1d --start 2005-01-03 --out "$out/demo-daily.csv"

echo "==> backtesting strategies/sma_cross.lua (SMA 20 x 50, 0.1 % commission)"
"$bin" backtest --strategy strategies/sma_cross.lua --data "$out/demo-daily.csv" --symbol DEMO \
  --cash 100000 --commission 0.001 --param fast=20 --param slow=50 --param stake=500 --out "$out/sma_cross"

echo
echo "==> first trades ($out/sma_cross/trades.csv)"
head -n 6 "$out/sma_cross/trades.csv" | column -t -s, 2>/dev/null || head -n 6 "$out/sma_cross/trades.csv"
echo
echo "Next: open $out/sma_cross/report.json, edit a strategy in strategies/, run it again."
