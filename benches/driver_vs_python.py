#!/usr/bin/env python3
"""Requests per CPU-second of `nppa load` beside a Python asyncio client doing the same work (#14: the driver must
get at least 3× the Python baseline's).

One `nppa mock` (release build, quotas and journal off, so that every check is answered errcode 0) listens on a
loopback port. Each round runs, one after the other and in alternating order:
- the driver: `nppa load realname --rate 0 --users K --duration D --target <mock>`: checks of new players, built,
  sealed and signed by `nppa-protocol`, sent over kept-alive hyper connections by goose's users, read and recorded;
- the baseline: `benches/python_baseline.py` sending as many checks as the driver's last run did, sealed and signed
  by the README's Python example (`cryptography`, hashlib), over K kept-alive connections with plain asyncio streams.

Each process's CPU time (user + system, its whole life: start-up, imports and report writing included) comes from
`getrusage(RUSAGE_CHILDREN)`. Beside it, the steady state: the CPU time each process counted itself while sending
(report.json's `cpu_seconds`; the baseline's `time.process_time()` around its loop), which leaves out start-up
(Python's interpreter and imports take about 0.3 CPU-seconds, the driver's start about 0.05). Only answers with
errcode 0 count, and a run with any other answer stops the script. It prints every round and the medians of both
ratios. The mock's CPU is not counted on either side.

Then the driver beside the mock it loads (#14: the driver cheaper than the server it loads): `--paced` runs of
`nppa load realname --rate R` (R: half the driver's median rate above, unless `--paced-rate`), each side's CPU per
check, user and system apart (the driver's from `getrusage`, the mock's from `/proc/<pid>/stat`). Paced, because
at `--rate 0` both processes are busy all the time and each takes a core, whatever a request costs it.

    python3 benches/driver_vs_python.py [--rounds 5] [--seconds 5] [--users 16] [--json FILE] [--no-build]
                                        [--driver OTHER/nppa] [--paced 2] [--paced-rate R]

`--driver` measures another build's `nppa load` (an earlier commit's, to compare) against this build's mock.

Bounded: about rounds × (2 × seconds + start-up) plus one release build; loopback only.
"""
import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from instructions import RELEASE, build, native_mock, stop

BASELINE = pathlib.Path(__file__).resolve().parent / "python_baseline.py"


def cpu_of(command, timeout):
    """Runs `command` to its end; its stdout and the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"driver_vs_python: {command[0]} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def process_cpu_s(pid):
    """CPU seconds (user, system) process `pid` has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def paced(nppa, mock_pid, port, users, rate, seconds, out):
    """One `nppa load realname --rate RATE` run: (checks, the driver's (user, system) CPU seconds, the mock's)."""
    mock_before = process_cpu_s(mock_pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    driver(nppa, port, users, seconds, out, rate=rate)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    mock_after = process_cpu_s(mock_pid)
    checks = json.loads((out / "report.json").read_text())["summary"]["requests"]
    mine = (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
    return checks, mine, (mock_after[0] - mock_before[0], mock_after[1] - mock_before[1])


def driver(nppa, port, users, seconds, out, rate=0):
    """One `nppa load` run: (requests answered errcode 0, CPU seconds of the process, of its run alone)."""
    _, cpu = cpu_of([nppa, "load", "realname", "--rate", rate, "--users", users, "--duration",
                     f"{seconds}s", "--target", f"http://127.0.0.1:{port}", "--out", out], timeout=seconds * 10 + 120)
    summary = json.loads((out / "report.json").read_text())["summary"]
    ok = summary["by_errcode"].get("0", 0)
    if ok != summary["requests"] or summary["unexpected_errors"]:
        sys.exit(f"driver_vs_python: the driver got answers other than errcode 0: {summary['by_errcode']}")
    return ok, cpu, summary["cpu_seconds"]


def python(port, users, requests):
    """One baseline run of `requests` checks: (requests answered errcode 0, CPU seconds of the process, of its
    sending alone)."""
    out, cpu = cpu_of([sys.executable, BASELINE, f"http://127.0.0.1:{port}", requests, users],
                      timeout=requests / 100 + 120)
    result = json.loads(out.strip().splitlines()[-1])
    if result["ok"] != requests:
        sys.exit(f"driver_vs_python: the Python baseline got answers other than errcode 0: {result}")
    return result["ok"], cpu, result["cpu_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5, help="each driver run's --duration")
    parser.add_argument("--users", type=int, default=16, help="the driver's --users and the baseline's connections")
    parser.add_argument("--json", type=pathlib.Path, help="also write every round and the medians to this file")
    parser.add_argument("--no-build", action="store_true", help="use the release build's nppa as it is")
    parser.add_argument("--paced", type=int, default=2, help="paced runs beside the mock after the rounds (0: none)")
    parser.add_argument("--paced-rate", type=int, help="their --rate (default: half the driver's median rate)")
    parser.add_argument("--driver", type=pathlib.Path, default=RELEASE / "nppa",
                        help="the nppa binary whose `load` is measured (default: this build's)")
    args = parser.parse_args()
    if not args.no_build:
        build()
    load_before = os.getloadavg()
    rounds, paced_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        mock, port = native_mock(work)
        try:
            requests = None
            for r in range(args.rounds):
                out = work / f"load-{r}"
                # Alternate who goes first, so that a change in the machine's load falls on both sides.
                if r % 2 == 0 or requests is None:
                    d_ok, d_cpu, d_run = driver(args.driver, port, args.users, args.seconds, out)
                    p_ok, p_cpu, p_run = python(port, args.users, d_ok)
                else:
                    p_ok, p_cpu, p_run = python(port, args.users, requests)
                    d_ok, d_cpu, d_run = driver(args.driver, port, args.users, args.seconds, out)
                requests = d_ok
                row = {"driver_requests": d_ok, "driver_cpu_s": d_cpu, "driver_run_cpu_s": d_run,
                       "python_requests": p_ok, "python_cpu_s": p_cpu, "python_run_cpu_s": p_run,
                       "driver_per_cpu_s": d_ok / d_cpu, "python_per_cpu_s": p_ok / p_cpu,
                       "driver_per_run_cpu_s": d_ok / d_run, "python_per_run_cpu_s": p_ok / p_run}
                row["ratio"] = row["driver_per_cpu_s"] / row["python_per_cpu_s"]
                row["ratio_steady"] = row["driver_per_run_cpu_s"] / row["python_per_run_cpu_s"]
                rounds.append(row)
                print(f"round {r + 1}: driver {d_ok:>6} checks, {d_cpu:5.2f} CPU-s = {row['driver_per_cpu_s']:>6,.0f}/CPU-s "
                      f"(steady {row['driver_per_run_cpu_s']:>6,.0f}); Python {p_ok:>6}, {p_cpu:5.2f} CPU-s = "
                      f"{row['python_per_cpu_s']:>5,.0f}/CPU-s (steady {row['python_per_run_cpu_s']:>5,.0f}); ratio "
                      f"{row['ratio']:.2f} (steady {row['ratio_steady']:.2f})", flush=True)
            rate = args.paced_rate or int(statistics.median(row["driver_requests"] for row in rounds)
                                          / args.seconds / 2000) * 1000
            for r in range(args.paced):
                checks, mine, its = paced(args.driver, mock.pid, port, args.users, rate, args.seconds,
                                          work / f"paced-{r}")
                row = {"rate": rate, "checks": checks, "driver_user_s": mine[0], "driver_system_s": mine[1],
                       "mock_user_s": its[0], "mock_system_s": its[1], "driver_over_mock": sum(mine) / sum(its)}
                paced_rows.append(row)
                per = [1e6 * t / checks for t in mine + its]
                print(f"paced {r + 1}: {checks} checks at {rate}/s: CPU per check, driver {per[0]:.1f} µs user + "
                      f"{per[1]:.1f} system, mock {per[2]:.1f} + {per[3]:.1f}: driver/mock "
                      f"{row['driver_over_mock']:.2f}×", flush=True)
        finally:
            stop(mock)
    median = {key: statistics.median(row[key] for row in rounds) for key in rounds[0]}
    load_after = os.getloadavg()
    print(f"median of {len(rounds)} rounds (--users {args.users}, {args.seconds} s each): driver "
          f"{median['driver_per_cpu_s']:,.0f} checks per CPU-second, Python asyncio {median['python_per_cpu_s']:,.0f}: "
          f"ratio {median['ratio']:.2f}×; steady state (start-up left out) {median['driver_per_run_cpu_s']:,.0f} and "
          f"{median['python_per_run_cpu_s']:,.0f}: ratio {median['ratio_steady']:.2f}× (goal ≥ 3); load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "median": median, "paced": paced_rows, "users": args.users,
                                         "seconds": args.seconds, "load_average": [load_before, load_after],
                                         "date": time.strftime("%Y-%m-%d")}, indent=2) + "\n")


if __name__ == "__main__":
    main()
