#!/usr/bin/env bash
# Runs every benchmark binary of a build and regenerates docs/performance.md.
#
#   bench/run.sh [BUILD_DIR] [--filter REGEX] [--no-docs] [--out FILE]
#
# `make bench` calls `bench/run.sh build` after building. What it does:
#  1. finds every executable named te_*bench* under BUILD_DIR/bench (each
#     bench/<area>/ folder builds one; new folders are picked up without edits);
#  2. runs Google Benchmark binaries with repetitions, keeping the median, the
#     mean and the spread (JSON into BUILD_DIR/bench-results/); other programs run
#     with the quick arguments from bench/<area>/bench.args (if present) and
#     their printed table is kept verbatim;
#  3. records the machine (CPU, cores, RAM, OS, compiler, build type, commit);
#  4. rewrites the generated part of docs/performance.md (between the
#     `bench:begin`/`bench:end` markers; the hand-written text around them stays)
#     with every figure, the targets of the issues and whether each is met.
#
# Environment:
#   TE_BENCH_REPS      repetitions per Google Benchmark case (default 3; medians)
#   TE_BENCH_MIN_TIME  minimum seconds per repetition (default 0.1)
#   TE_BENCH_TIMEOUT   seconds one binary may run before it is stopped (default 400)
#   TE_BENCH_DIR       scratch directory for generated data (default /tmp/te-bench-data)
# Exit status: non-zero when any binary failed (its error is in the report too).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=build
filter=""
write_docs=1
out_doc="$root/docs/performance.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --no-docs) write_docs=0; shift ;;
    --out) out_doc=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -d "$build/bench" ]; then
  echo "bench/run.sh: $build/bench does not exist; build first (make bench does)" >&2
  exit 2
fi

reps=${TE_BENCH_REPS:-3}
min_time=${TE_BENCH_MIN_TIME:-0.1}
per_binary_timeout=${TE_BENCH_TIMEOUT:-400}
export TE_BENCH_DIR=${TE_BENCH_DIR:-/tmp/te-bench-data}
export TE_SOURCE_DIR="$root"
export TE_BUILD_DIR="$build"
mkdir -p "$TE_BENCH_DIR"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results="$build/bench-results/$stamp"
mkdir -p "$results"
ln -sfn "$stamp" "$build/bench-results/latest"

# --- the machine -----------------------------------------------------------------
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null | head -1)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null | head -1)
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
  echo "cores=$(nproc)"
  echo "threads_per_core=$(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core: *//p' | head -1)"
  echo "hypervisor=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p' | head -1)"
  echo "ram=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") ($(uname -sr))"
  echo "compiler=$("${compiler:-c++}" --version 2>/dev/null | head -1)"
  echo "build_type=${build_type:-?}"
  echo "commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "reps=$reps"
  echo "min_time=$min_time"
} > "$results/machine.txt"

# --- the binaries ----------------------------------------------------------------
mapfile -t binaries < <(find "$build/bench" -path "$build/bench-results" -prune -o \
                          -type f -name 'te_*bench*' -perm -u+x -print | sort)
if [ ${#binaries[@]} -eq 0 ]; then
  echo "bench/run.sh: no te_*bench* binaries under $build/bench" >&2
  exit 2
fi

is_google_benchmark() {
  grep -aq '_ZN9benchmark10Initialize' "$1"
}

# The source folder of a binary: bench/<area> for build/bench/<area>/te_x; a
# binary placed directly in build/bench is matched by name.
area_of() {
  local bin=$1 dir
  dir=$(basename "$(dirname "$bin")")
  if [ "$dir" != bench ] && [ -d "$root/bench/$dir" ]; then echo "$dir"; return; fi
  for d in "$root"/bench/*/; do
    d=$(basename "$d")
    case "$(basename "$bin")" in *"$d"*) echo "$d"; return ;; esac
  done
  echo "other"
}

# The cross-core round trip (bench/machine): where the host placed the two
# vCPUs just then, which figures of two threads that share data follow.
roundtrip() {
  local probe="$build/bench/machine/te_core_roundtrip"
  if [ -x "$probe" ]; then "$probe" 2>/dev/null || echo "?"; else echo "?"; fi
}

failed=0
suite_start=$(date +%s)
echo "roundtrip_before=$(roundtrip)" >> "$results/machine.txt"
for bin in "${binaries[@]}"; do
  name=$(basename "$bin")
  area=$(area_of "$bin")
  # Dirty pages left by what ran before (an earlier binary's outputs, a test
  # run's files) are written back now, not by the kernel's flusher during the
  # next measurements (a 1M-bar command run fell from 10.2M to 6.6M bars/s
  # right after 64 recorded sessions had been written).
  sync
  rt_before=$(roundtrip)
  args=()
  if [ -f "$root/bench/$area/bench.args" ]; then
    # One argument per whitespace-separated word; '#' starts a comment.
    read -r -a args <<< "$(sed 's/#.*//' "$root/bench/$area/bench.args" | tr '\n' ' ')"
  fi
  t0=$(date +%s.%N)
  if is_google_benchmark "$bin"; then
    kind=gbench
    gfilter=()
    [ -n "$filter" ] && gfilter=(--benchmark_filter="$filter")
    echo "== $name (Google Benchmark, $reps repetitions, medians)"
    (cd "$build" && timeout "$per_binary_timeout" "$bin" \
        --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
        --benchmark_report_aggregates_only=true \
        --benchmark_out="$results/$name.json" --benchmark_out_format=json \
        "${gfilter[@]}" "${args[@]}") > "$results/$name.txt" 2> "$results/$name.err"
    rc=$?
  else
    kind=program
    if [ -n "$filter" ] && ! [[ "$name" =~ $filter ]]; then continue; fi
    echo "== $name (program${args:+, ${args[*]}})"
    (cd "$build" && timeout "$per_binary_timeout" "$bin" "${args[@]}") > "$results/$name.txt" 2> "$results/$name.err"
    rc=$?
  fi
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  {
    echo "kind=$kind"
    echo "area=$area"
    echo "rc=$rc"
    echo "seconds=$secs"
    echo "command=${bin#"$root"/} ${args[*]}"
    echo "roundtrip_before=$rt_before"
    echo "roundtrip_after=$(roundtrip)"
  } > "$results/$name.meta"
  if [ "$rc" -ne 0 ]; then
    failed=1
    [ "$rc" -eq 124 ] && echo "   TIMEOUT after ${per_binary_timeout}s" >> "$results/$name.err"
    echo "   FAILED (exit $rc, ${secs}s): $(tail -3 "$results/$name.err" | tr '\n' ' ')"
  else
    echo "   ok (${secs}s)"
  fi
done
suite_end=$(date +%s)
echo "total_seconds=$((suite_end - suite_start))" >> "$results/machine.txt"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$results/machine.txt"
echo "roundtrip_after=$(roundtrip)" >> "$results/machine.txt"

if [ "$write_docs" -eq 1 ]; then
  if [ -n "$filter" ]; then
    echo "bench/run.sh: --filter given, docs/performance.md left alone (a partial run)"
  else
    python3 "$root/bench/report.py" --results "$results" --targets "$root/bench/targets.tsv" \
      --ratios "$root/bench/ratios.tsv" --doc "$out_doc" || failed=1
    echo "wrote ${out_doc#"$root"/} (results in ${results#"$root"/})"
  fi
fi
echo "bench: $((suite_end - suite_start)) s in all"
exit $failed
