#!/usr/bin/env python3
"""Instructions per LuaJIT trace in a callgrind run of te_jit_traces.

  valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
      --smc-check=all-non-file --callgrind-out-file=cg.out \
      build/bench/backtest/te_jit_traces sma_cross 200000 traces.map
  bench/backtest/trace_costs.py cg.out traces.map [bars]

Prints each trace's self instructions (total, and per bar when `bars` is given)
and the rest of the compiled code's, largest first. Traces are identified by
their machine-code range from the map (te_jit_traces writes it).
"""
import bisect
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ranges = []
    for line in open(sys.argv[2]):
        tr, addr, size = line.split()
        ranges.append((int(addr, 16), int(size), int(tr)))
    ranges.sort()
    starts = [r[0] for r in ranges]
    bars = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    per_trace = {}
    skip_next = False
    npos = 1  # position columns before the cost ("positions: instr line" -> 2)
    for line in open(sys.argv[1]):
        if line.startswith("positions:"):
            npos = len(line.split()) - 1
            continue
        if skip_next:
            skip_next = False
            continue
        if line.startswith("calls="):
            skip_next = True  # the next line is the call's inclusive cost
            continue
        if not line.startswith("0x"):
            continue
        parts = line.split()
        addr, cost = int(parts[0], 16), int(parts[npos]) if len(parts) > npos else 0
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and addr < ranges[i][0] + ranges[i][1]:
            per_trace[ranges[i][2]] = per_trace.get(ranges[i][2], 0) + cost
    total = sum(per_trace.values())
    for tr, cost in sorted(per_trace.items(), key=lambda kv: -kv[1]):
        extra = f"  {cost / bars:8.1f} per bar" if bars else ""
        print(f"trace {tr:4d} {cost:14,d}{extra}")
    extra = f"  {total / bars:8.1f} per bar" if bars else ""
    print(f"all traces {total:14,d}{extra}")


if __name__ == "__main__":
    main()
