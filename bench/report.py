#!/usr/bin/env python3
"""Turns one bench/run.sh result directory into the generated part of
docs/performance.md (between the bench:begin / bench:end markers).

Inputs (all written by bench/run.sh into the result directory):
  machine.txt        key=value lines about the machine and the run
  <binary>.meta      kind (gbench|program), area, rc, seconds, command
  <binary>.json      Google Benchmark JSON (gbench kind)
  <binary>.txt/.err  what the binary printed
and two tables kept in bench/:
  targets.tsv  the issues' targets: one row per figure, see the file's header
  ratios.tsv   same-run comparisons (numerator / denominator)

Only the standard library is used, so `make bench` needs nothing beyond python3.
"""
import argparse
import json
import math
import os
import re
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

TIME_TO_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def read_kv(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def read_tsv(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            rows.append([c.strip() for c in line.rstrip("\n").split("\t")])
    return rows


class Run:
    """One binary's results: for Google Benchmark, per case the median (and
    the mean, stddev) of every metric, in seconds for times."""

    def __init__(self, name, results):
        self.name = name
        self.meta = read_kv(os.path.join(results, name + ".meta"))
        self.cases = {}  # run_name -> {"median": {...}, "mean": {...}, "stddev": {...}, "cv": {...}}
        self.order = []
        self.text = ""
        self.err = ""
        for ext in ("txt", "err"):
            p = os.path.join(results, name + "." + ext)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    setattr(self, "text" if ext == "txt" else "err", f.read())
        p = os.path.join(results, name + ".json")
        if self.meta.get("kind") == "gbench" and os.path.exists(p):
            try:
                with open(p, encoding="utf-8") as f:
                    data = json.load(f)
            except ValueError:
                data = {"benchmarks": []}
            for b in data.get("benchmarks", []):
                self._add(b)

    def _add(self, b):
        run_name = b.get("run_name", b.get("name"))
        agg = b.get("aggregate_name", "single") if b.get("run_type") == "aggregate" else "single"
        unit = TIME_TO_S.get(b.get("time_unit", "ns"), 1e-9)
        metrics = {}
        skip = {"name", "run_name", "run_type", "aggregate_name", "aggregate_unit", "family_index",
                "per_family_instance_index", "repetitions", "repetition_index", "threads", "time_unit",
                "iterations", "label", "error_occurred", "error_message"}
        for k, v in b.items():
            if k in skip or not isinstance(v, (int, float)):
                continue
            metrics[k] = v * unit if k in ("real_time", "cpu_time") and agg != "cv" else v
        if b.get("error_occurred"):
            metrics["error"] = b.get("error_message", "error")
        if run_name not in self.cases:
            self.cases[run_name] = {}
            self.order.append(run_name)
        slot = self.cases[run_name]
        if agg == "single":
            slot.setdefault("runs", []).append(metrics)
            slot["single"] = metrics
        else:
            slot[agg] = metrics

    def value(self, case, metric):
        """Median of `metric` for `case` (the single run when there was one)."""
        slot = self.cases.get(case)
        if not slot:
            return None
        for k in ("median", "single"):
            if k in slot and metric in slot[k]:
                return slot[k][metric]
        return None

    def spread(self, case, metric):
        slot = self.cases.get(case, {})
        cv = slot.get("cv", {}).get(metric)
        if cv is None and "mean" in slot and "stddev" in slot:
            m, s = slot["mean"].get(metric), slot["stddev"].get(metric)
            if m:
                cv = s / m
        return cv


def si(v, digits=3):
    """12345678 -> '12.3M' (three significant digits)."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    a = abs(v)
    for f, s in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= f:
            return fmt_sig(v / f, digits) + s
    return fmt_sig(v, digits)


def fmt_sig(v, digits=3):
    if v == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(v))))
    decimals = max(0, digits - 1 - mag)
    return f"{v:,.{decimals}f}"


def fmt_seconds(s):
    if s is None:
        return "–"
    a = abs(s)
    if a >= 1:
        return fmt_sig(s) + " s"
    if a >= 1e-3:
        return fmt_sig(s * 1e3) + " ms"
    if a >= 1e-6:
        return fmt_sig(s * 1e6) + " µs"
    return fmt_sig(s * 1e9) + " ns"


def fmt_counter(name, v):
    # Inverted rate counters (kIsRate|kInvert) are seconds per item: tiny values.
    if isinstance(v, str):
        return v
    if v is not None and 0 < abs(v) < 1e-3:
        return fmt_seconds(v)
    return si(v)


def display(v, unit):
    """Value in the unit a target is written in."""
    if v is None:
        return None
    if unit == "ns":
        return v * 1e9
    if unit == "us":
        return v * 1e6
    if unit == "ms":
        return v * 1e3
    return v


def fmt_display(v, unit):
    if v is None:
        return "–"
    if unit in ("ns", "us", "ms", "s"):
        return fmt_sig(v) + " " + unit.replace("us", "µs")
    if unit.endswith("/s"):
        return si(v) + " " + unit
    if unit == "x":
        return fmt_sig(v) + "×"
    if unit == "%":
        return fmt_sig(v) + " %"
    return si(v) + (" " + unit if unit else "")


def parse_target(text):
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([kMG]?)\s*", text)
    if not m:
        return None
    mult = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
    return float(m.group(1)) * mult


def gb_command(run, case):
    cmd = run.meta.get("command", run.name).split()[0]
    return f"{cmd} --benchmark_filter='^{re.escape(case)}$' --benchmark_repetitions=3"


def md_escape(s):
    return s.replace("|", "\\|")


def build(results, targets_path, ratios_path):
    machine = read_kv(os.path.join(results, "machine.txt"))
    names = sorted(f[:-5] for f in os.listdir(results) if f.endswith(".meta"))
    runs = {n: Run(n, results) for n in names}
    out = [BEGIN, "<!-- Generated by bench/run.sh (bench/report.py): edits between these markers are overwritten. -->", ""]

    out.append("## Latest run")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    rows = [("Date", machine.get("date", "?")),
            ("Command", "`make bench` (= `bench/run.sh build`, after building)"),
            ("CPU", f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"
                    + (f" ({machine['hypervisor']} guest)" if machine.get("hypervisor") else "")),
            ("RAM", machine.get("ram", "?")),
            ("OS", machine.get("os", "?")),
            ("Compiler", f"{machine.get('compiler', '?')}, CMAKE_BUILD_TYPE={machine.get('build_type', '?')}"),
            ("Commit", machine.get("commit", "?")),
            ("Repetitions", f"{machine.get('reps', '?')} per case (min {machine.get('min_time', '?')} s each); "
                            "figures are medians"),
            ("Load average (1/5/15 min)", f"{machine.get('load_before', '?')} before, {machine.get('load_after', '?')} after"),
            ("Duration", f"{machine.get('total_seconds', '?')} s for the whole suite"),
            ("Cross-core round trip", f"{machine.get('roundtrip_before', '?')} ns before, "
                                      f"{machine.get('roundtrip_after', '?')} ns after (`bench/machine/te_core_roundtrip`: "
                                      "≈ 90 ns when the host places the two vCPUs near each other, ≈ 400 ns far apart; "
                                      "recorded per binary below)")]
    for k, v in rows:
        out.append(f"| {k} | {md_escape(v)} |")
    out.append("")
    failed = [n for n, r in runs.items() if r.meta.get("rc", "0") != "0"]
    if failed:
        out.append("**Failed binaries:** " + ", ".join(
            f"`{n}` (exit {runs[n].meta.get('rc')}: {md_escape(' '.join(runs[n].err.strip().splitlines()[-2:]))})"
            for n in failed))
        out.append("")

    # --- targets ----------------------------------------------------------------
    targets = read_tsv(targets_path)
    if targets:
        out.append("## Targets")
        out.append("")
        out.append("Each figure is the median of the repetitions; *met* compares it with the issue's target.")
        out.append("")
        out.append("| issue | figure | measured | target | met | command |")
        out.append("|---|---|---|---|---|---|")
        for row in targets:
            row += [""] * (8 - len(row))
            issue, what, binary, case, metric, op, target, unit = row[:8]
            run = runs.get(binary)
            raw = run.value(case, metric) if run else None
            # Counters named *_ns/_us/_ms or ns_*/us_*/ms_* already carry their unit; only times in seconds convert.
            v = raw if metric.endswith(("_ns", "_us", "_ms")) or metric.startswith(("ns_", "us_", "ms_")) else display(raw, unit)
            t = parse_target(target)
            if v is None or isinstance(v, str):
                met = "not measured"
            elif t is None:
                met = "(no target)"
            else:
                ok = v >= t if op == ">=" else v <= t if op == "<=" else False
                met = "**yes**" if ok else "**no**"
            tdisp = f"{op} {fmt_display(t, unit)}" if t is not None else "–"
            cmd = f"`{gb_command(run, case)}`" if run and run.meta.get("kind") == "gbench" else (
                f"`{run.meta.get('command', binary)}`" if run else f"`{binary}` (not built)")
            out.append(f"| #{issue} | {md_escape(what)} | {fmt_display(v, unit) if not isinstance(v, str) else v} | "
                       f"{tdisp} | {met} | {md_escape(cmd)} |")
        out.append("")

    # --- same-run ratios ---------------------------------------------------------
    ratios = read_tsv(ratios_path)
    if ratios:
        out.append("## Same-run comparisons")
        out.append("")
        out.append("Ratios of two figures measured in this run (shared-machine drift cancels out).")
        out.append("")
        out.append("| comparison | ratio | numerator | denominator |")
        out.append("|---|---|---|---|")
        for row in ratios:
            row += [""] * (4 - len(row))
            label, num, den, note = row[:4]

            # binary:benchmark:counter; benchmark names may hold colons ("repeats:5").
            def split_ref(ref):
                binary, _, rest = ref.partition(":")
                name, _, counter = rest.rpartition(":")
                return binary, name, counter

            def get(ref):
                binary, name, counter = split_ref(ref)
                if not binary or not name or not counter:
                    return None
                r = runs.get(binary)
                return r.value(name, counter) if r else None

            a, b = get(num), get(den)
            ratio = a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
            out.append(f"| {md_escape(label)} | {fmt_sig(ratio) + '×' if ratio else '–'} | "
                       f"{fmt_counter('', a) if a is not None else '–'} (`{split_ref(num)[1] or num}`) | "
                       f"{fmt_counter('', b) if b is not None else '–'} (`{split_ref(den)[1] or den}`) |"
                       + (f" {md_escape(note)}" if note else ""))
        out.append("")

    # --- every figure --------------------------------------------------------------
    out.append("## All figures")
    out.append("")
    out.append("Per binary, every case: median wall time per iteration, median CPU time, the spread "
               "(coefficient of variation of the wall time over the repetitions) and every counter "
               "(rates per second; `per_*` counters are time per item).")
    out.append("")
    for n in names:
        run = runs[n]
        meta = run.meta
        out.append(f"### `{n}` (bench/{meta.get('area', '?')})")
        out.append("")
        out.append(f"Command: `{meta.get('command', n).strip()}`"
                   + (" with `--benchmark_repetitions=N --benchmark_min_time=T --benchmark_report_aggregates_only=true`"
                      if meta.get("kind") == "gbench" else "")
                   + f" — {meta.get('seconds', '?')} s, exit {meta.get('rc', '?')}"
                   + (f"; cross-core round trip {meta['roundtrip_before']} ns before it, "
                      f"{meta.get('roundtrip_after', '?')} ns after" if meta.get("roundtrip_before") else "")
                   + ".")
        out.append("")
        if meta.get("kind") == "gbench" and run.cases:
            counters = []
            for c in run.order:
                for agg in ("median", "single"):
                    for k in run.cases[c].get(agg, {}):
                        if k not in ("real_time", "cpu_time", "error") and k not in counters:
                            counters.append(k)
            header = "| case | time | CPU | spread |" + "".join(f" {k} |" for k in counters)
            out.append(header)
            out.append("|---" * (4 + len(counters)) + "|")
            for c in run.order:
                slot = run.cases[c]
                err = slot.get("single", {}).get("error") or slot.get("median", {}).get("error")
                cv = run.spread(c, "real_time")
                cells = [md_escape(c), fmt_seconds(run.value(c, "real_time")), fmt_seconds(run.value(c, "cpu_time")),
                         f"{cv * 100:.1f} %" if cv is not None else "–"]
                for k in counters:
                    cells.append(fmt_counter(k, run.value(c, k)))
                if err:
                    cells[1] = "error: " + md_escape(str(err))
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        else:
            text = run.text.strip()
            if text:
                out.append("```")
                out.append(text)
                out.append("```")
                out.append("")
        if meta.get("rc", "0") != "0":
            out.append("Error output (last lines):")
            out.append("")
            out.append("```")
            out.append("\n".join(run.err.strip().splitlines()[-10:]))
            out.append("```")
            out.append("")
    out.append(END)
    return "\n".join(out) + "\n", failed


SKELETON = """# Performance

How fast trading-engine is, measured by `make bench` on the machine described below.

""" + BEGIN + "\n" + END + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--ratios", required=True)
    ap.add_argument("--doc", required=True)
    a = ap.parse_args()
    generated, failed = build(a.results, a.targets, a.ratios)
    doc = SKELETON
    if os.path.exists(a.doc):
        with open(a.doc, encoding="utf-8") as f:
            doc = f.read()
    if BEGIN not in doc or END not in doc:
        doc = doc.rstrip("\n") + "\n\n" + BEGIN + "\n" + END + "\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = a.doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(head + generated.rstrip("\n") + tail)
    os.replace(tmp, a.doc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
