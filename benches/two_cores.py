#!/usr/bin/env python3
"""What two cores serving at once pay beyond one: CPU time per request of `MockService::serve` (the pipeline, the
metrics, the journal; no HTTP) on one thread, and on two threads sharing one service, journal off and on.

Callgrind cannot show this (it runs one thread at a time), and under wrk it drowns in the kernel's noise: here the
only difference between the one-thread and two-thread figures is the cache lines both threads write (a shared
counter, a lock, the journal's ring and chunks). Each figure is the difference between a run of N requests per thread
and one of 3N, divided by 2N: start-up cancels out. The variants alternate within each round (this machine's speed
drifts), and the script prints each round and the medians.

    python3 benches/two_cores.py [--requests N] [--rounds R] [--before OTHER_BINARY]

`--before` also runs another build of `handle_instructions` (an older commit's, copied aside), variant by variant
beside this one, for before/after figures measured side by side.

Builds what it needs (`cargo build --release`). Needs two cores; bounded: well under a minute.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys

from instructions import RELEASE, build

EXAMPLE = RELEASE / "examples" / "handle_instructions"
VARIANTS = [  # (label, mode, threads)
    ("1 thread, journal off", "serve-journal-off", 1),
    ("1 thread, journal on", "serve-journal-on", 1),
    ("2 threads, journal off", "serve2-journal-off", 2),
    ("2 threads, journal on", "serve2-journal-on", 2),
]


def cpu_seconds(binary, mode, n):
    """User + system CPU time of one run of the example."""
    process = subprocess.Popen([str(binary), mode, str(n)], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        sys.exit(f"two_cores.py: {binary} {mode} {n} failed (status {status})")
    return usage.ru_utime + usage.ru_stime


def per_request_ns(binary, mode, n, threads):
    return (cpu_seconds(binary, mode, 3 * n) - cpu_seconds(binary, mode, n)) / (2 * n * threads) * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="N, requests per thread in the shorter run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=pathlib.Path, help="another build of handle_instructions, run beside")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        sys.exit("two_cores.py: needs two cores")
    build()
    builds = [("", EXAMPLE)] + ([("before: ", args.before)] if args.before else [])
    variants = [(prefix + label, binary, mode, threads) for label, mode, threads in VARIANTS for prefix, binary in builds]
    figures = {label: [] for label, _, _, _ in variants}
    for round_ in range(1, args.rounds + 1):
        shift = round_ % len(variants)
        for label, binary, mode, threads in variants[shift:] + variants[:shift]:
            figures[label].append(per_request_ns(binary, mode, args.requests, threads))
        print(f"round {round_}: " + "; ".join(f"{label} {values[-1]:.0f} ns" for label, values in figures.items()))
    median = {label: statistics.median(values) for label, values in figures.items()}
    print("== CPU per request, median of %d rounds (ns):" % args.rounds)
    for label, values in figures.items():
        print(f"  {label:32} {median[label]:6.0f}  (range {min(values):.0f}-{max(values):.0f})")
    for prefix, _ in builds:
        for journal in ("off", "on"):
            extra = median[f"{prefix}2 threads, journal {journal}"] - median[f"{prefix}1 thread, journal {journal}"]
            print(f"== {prefix}journal {journal}: two threads pay {extra:.0f} ns a request more than one")
        print("== %sthe journal's cost: %.0f ns on one thread, %.0f ns on two" % (
            prefix,
            median[f"{prefix}1 thread, journal on"] - median[f"{prefix}1 thread, journal off"],
            median[f"{prefix}2 threads, journal on"] - median[f"{prefix}2 threads, journal off"],
        ))

if __name__ == "__main__":
    main()
