#!/usr/bin/env python3
"""Summarize a callgrind profile of `talktrace analyze` (compare.sh --profile).

  callgrind_summary.py CALLGRIND_OUT [--top 15]

callgrind_annotate lists a function once per source file its inlined code came from; this adds
those lines up per symbol (self cost) or takes the largest (inclusive cost), demangles Swift
symbols with `swift demangle`, and prints the top functions by self instructions and the
inclusive cost of the parts of a run (process start, argument parsing, FFTW planning, framing,
FFT execution, activity detection, JSON encoding).
"""
import argparse, re, subprocess, sys
from collections import defaultdict

LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[(.*)\])?$")

PARTS = [
    ("main and what runs below it (after the dynamic loader)", r"^\(below main\)$|^__libc_start_main"),
    ("dynamic linking before main", r"^_dl_start$"),
    ("argument parsing (swift-argument-parser)", r"ParsableCommand\.parseAsRoot"),
    ("CallAnalyzer.analyze", r"^static CallAnalyzer\.analyze\(path:options:\)$"),
    ("  FFTW planning (FFTW_ESTIMATE, once per process)", r"TwoRealFFT\.sharedPlan"),
    ("  spectral framing, both channels (incl. FFT)", r"^specialized SpectralFramer\.push"),
    ("    FFTW execution", r"^fftwf_execute_dft_r2c$"),
    ("  activity detection", r"ActivityDetector\.(push|emitNext|finish)"),
    ("JSON encoding (Foundation JSONEncoder)", r"^JSONEncoder\.encode<A>\(_:\)$"),
]


def annotate(path, inclusive):
    out = subprocess.run(["callgrind_annotate", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode(errors="replace")
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        cost, where = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in where:
            rows.append((cost, "PROGRAM TOTALS"))
            continue
        symbol = where.split(":", 1)[1] if ":" in where else where
        if symbol.startswith("0x") and m.group(3):  # a stripped library: say which
            symbol += " in " + m.group(3).rsplit("/", 1)[-1]
        rows.append((cost, symbol))
    return rows


def demangle(symbols):
    try:
        out = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(symbols).encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode().splitlines()
        if len(out) == len(symbols):
            return dict(zip(symbols, out))
    except (OSError, subprocess.CalledProcessError):
        pass
    return {s: s for s in symbols}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    self_rows, incl_rows = annotate(a.profile, False), annotate(a.profile, True)
    total = next(c for c, s in self_rows if s == "PROGRAM TOTALS")
    self_cost, incl_cost = defaultdict(int), defaultdict(int)
    for c, s in self_rows:
        if s != "PROGRAM TOTALS":
            self_cost[s] += c
    for c, s in incl_rows:
        if s != "PROGRAM TOTALS":
            incl_cost[s] = max(incl_cost[s], c)
    names = demangle(sorted(set(self_cost) | set(incl_cost)))
    pct = lambda c: f"{c:>13,} {100 * c / total:5.1f} %"
    print(f"{pct(total)}  total instructions")
    print(f"-- top {a.top} functions, self (inlined code summed per symbol)")
    for s, c in sorted(self_cost.items(), key=lambda kv: -kv[1])[:a.top]:
        print(f"{pct(c)}  {names[s][:120]}")
    print("-- inclusive, by part of the run")
    for label, pattern in PARTS:
        rx = re.compile(pattern)
        matched = [c for s, c in incl_cost.items() if rx.search(names[s])]
        if matched:
            # Several specializations (one per channel's framer) add up; one symbol's file splits were merged above.
            c = sum(matched) if label.strip().startswith("spectral") else max(matched)
            print(f"{pct(c)}  {label}")


if __name__ == "__main__":
    sys.exit(main())
