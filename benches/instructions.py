#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: the same numbers whatever else the machine does.

Each figure is the difference between two runs of the same process, one handling N requests and one 3N, divided by
2N: start-up, shut-down and everything that does not grow with the requests cancel out.

- mock, journal off / on: `nppa mock` (release build) under callgrind answers N, then 3N, identical signed checks of
  a preset person, sent one after another on one kept-alive connection by this script (not counted: it is another
  process). The mock's clock is frozen and quotas are off, so the one request stays valid and is answered
  errcode 0 every time, with no record left. Journal on keeps every entry in its ring (the ring is larger than 3N).
- journal, in-process: `examples/handle_instructions.rs serve-journal-on` minus `-off` (`MockService::serve`: the
  pipeline, metrics and journal, no HTTP, no thread wake-ups), once the default ring is full (every counted request
  evicts one: the steady state) and while it fills. With the ring full, also the data misses the journal adds in
  callgrind's simulated cache with a last level of 2 MiB, one core's L2 here: the ring is far larger, so each entry
  written (and the one it pushes out) is cold memory, the journal's largest cost under load.
- plain hyper: `benches/src/bin/hello.rs` (the same runtime and HTTP stack, a fixed answer, no protocol work) under
  callgrind, the same requests: the floor any server on this stack pays.
- goose floors: `benches/examples/goose_floor.rs` under callgrind, one goose user sending one prebuilt check as fast
  as it can against the same native mock (clock frozen, so the check stays valid), for two durations, through three
  clients: goose's own (`GooseUser::request`: reqwest, reading nothing), hyper-util's pooled client, and the
  driver's `Sender` (a kept-alive hyper connection, the answer read and parsed). What a goose-based driver pays per
  request before it builds, signs or records anything.
- driver: `nppa load realname --rate 0 --users 1 --target <mock>` under callgrind against a native mock, run for two
  durations; instructions over requests between them (build, sign, seal, send through the sender, read the answer,
  record it). The mock it loads is not counted.
- SHA-256 of the sign: `examples/handle_instructions.rs sha256` over a sign string of the check's length. valgrind
  offers no SHA-NI, so callgrind runs sha2's software rounds (17 000 instructions); natively they run on SHA-NI. That
  figure is counted too: sha2's SHA-NI function (`sha2::sha256::x86::digest_blocks`) has one loop, once per 64-byte
  block, with no branch inside; its instructions are read from `objdump -d` of the release build and put in place of
  the software rounds' callgrind count. "on SHA-NI" figures are what a CPU with SHA-NI runs outside the kernel.

    python3 benches/instructions.py [--requests N] [--json FILE] [--only mock|journal|hyper|driver] [--keep DIR]

Needs valgrind (apt install valgrind) and objdump and nm (binutils). Builds what it needs (`cargo build --release`,
into `CARGO_TARGET_DIR` when set). Bounded: `--only mock`, `hyper` or `driver` take a few minutes each; `--only
journal` some 20 (callgrind with its cache simulated, over twice the default ring of requests: the steady state needs
the ring full, so `--requests` does not shorten it).
"""
import argparse
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where cargo puts the release build (`CARGO_TARGET_DIR` when set, relative to the repository as cargo reads it).
RELEASE = ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "release"
# What every script here builds: the same packages and targets each time, so that cargo's feature unification gives
# the same binaries whichever script ran last (a smaller set turns on fewer features and rebuilds them all).
BUILD = ["cargo", "build", "--release", "-q", "-p", "nppa-harness", "-p", "nppa-benches", "--bins",
         "--example", "goose_floor", "--example", "handle_instructions"]


def build():
    """The release build the scripts measure (`BUILD`)."""
    subprocess.run(BUILD, cwd=ROOT, check=True)


# 2026-01-15 12:00 Beijing time: outside the 00:00-04:00 outage, inside the default key's validity.
FROZEN_MS = 1_768_449_600_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"instructions: nothing listened on {port} within {seconds} s")


def admin(port, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def printed_config():
    """The embedded default configuration, as `nppa mock --print-config` writes it."""
    return subprocess.run([RELEASE / "nppa", "mock", "--print-config"], check=True, capture_output=True,
                          text=True).stdout


def bench_config(work, journal):
    """The embedded default with quotas off, the journal on or off, and no MPS outage: a mock on the real clock would
    otherwise answer every check `pending` between 00:00 and 04:00 Beijing time (R-PEND-2; 16:00–20:00 UTC), and the
    counts would depend on the hour they were taken."""
    text = re.sub(r"(?m)^quotas = true", "quotas = false", printed_config())
    text = re.sub(r"(?m)^mps_outage = true", "mps_outage = false", text)
    text = re.sub(r"(?ms)(^\[journal\].*?^enabled = )true", rf"\g<1>{'true' if journal else 'false'}", text)
    path = work / f"bench-journal-{'on' if journal else 'off'}.toml"
    path.write_text(text)
    return path


def native_mock(work):
    """A native `nppa mock` (not counted: quotas and journal off) on a free port, listening: (process, port)."""
    port = free_port()
    mock = subprocess.Popen([RELEASE / "nppa", "mock", "--listen", f"127.0.0.1:{port}", "--config",
                             bench_config(work, False)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_for_port(port)
    return mock, port


def freeze_at_noon(port):
    """Stops a mock's clock at FROZEN_MS, where one signed check stays valid however long it is replayed."""
    admin(port, "/__admin/clock", {"freeze": True})
    admin(port, "/__admin/clock", {"set_ms": FROZEN_MS})


def signed_check(work):
    """One check of a preset person signed at FROZEN_MS, as the reference client builds it: (path, headers, body,
    length of its sign string in bytes). Signed on the clock of a native mock frozen there (`nppa client
    --mock-clock`), started for it alone: plain hyper has no clock to ask, and every server counted gets the same
    bytes."""
    mock, port = native_mock(work)
    try:
        freeze_at_noon(port)
        trace = subprocess.run(
            [RELEASE / "nppa", "client", "--base-url", f"http://127.0.0.1:{port}", "--mock-clock", "-v", "check",
             "--ai", "100000000000000001", "--name", "某一一", "--id-num", "110000190101010001"],
            check=True, capture_output=True, text=True).stderr
    finally:
        stop(mock)
    headers, body, sign_string = {}, "", ""
    for line in trace.splitlines():
        if line.startswith("> body: "):
            body = line[len("> body: "):]
        elif line.startswith("> sign string: "):
            sign_string = line[len("> sign string: "):]
        elif line.startswith("> ") and ": " in line[2:] and not line.startswith(("> plaintext", "> sign string")):
            name, value = line[2:].split(": ", 1)
            headers[name] = value
    return "/idcard/authentication/check", headers, body.encode(), len(sign_string.encode())


def send(port, request, n, expect_ok):
    path, headers, body, _ = request
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(n):
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse().read()
        if expect_ok and b'"errcode":0' not in answer:
            sys.exit(f"instructions: the replayed check was not accepted: {answer[:200]!r}")
    connection.close()


def callgrind(command, out_file, **popen):
    return subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *map(str, command)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **popen)


def total_instructions(out_file):
    return totals(out_file)["Ir"]


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=300)


def server_run(work, command, n, the_check, freeze):
    """Instructions of one server process that answered n requests. `command(address)` starts it."""
    port = free_port()
    out_file = work / f"callgrind.{port}"
    server = callgrind(command(f"127.0.0.1:{port}"), out_file)
    try:
        wait_for_port(port)
        if freeze:
            freeze_at_noon(port)
        send(port, the_check(), n, expect_ok=freeze)
    finally:
        stop(server)
    return total_instructions(out_file)


def per_request(work, command, n, the_check, freeze):
    small = server_run(work, command, n, the_check, freeze)
    large = server_run(work, command, 3 * n, the_check, freeze)
    return (large - small) / (2 * n)


def sha256_per_sign(work, sign_string_bytes, n):
    """Instructions of one SHA-256 over a sign string of this length (`examples/handle_instructions.rs sha256`), as
    valgrind runs it (in software: valgrind offers no SHA-NI), and as it would run natively on SHA-NI: the software
    block function replaced by the count of sha2's SHA-NI function, read from its disassembly ([`sha_ni_count`])."""
    def run(count):
        out_file = work / f"callgrind.sha256-{count}"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                        RELEASE / "examples" / "handle_instructions", "sha256", str(sign_string_bytes), str(count)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return total_instructions(out_file), calls_of(out_file, "sha2::sha256::compress256")
    (small, (small_compress, small_calls)), (large, (large_compress, large_calls)) = run(n), run(3 * n)
    software = (large - small) / (2 * n)
    compress, calls = (large_compress - small_compress) / (2 * n), (large_calls - small_calls) / (2 * n)
    # The sign string, then 0x80 and its 8-byte length, in 64-byte blocks.
    blocks = (sign_string_bytes + 9 + 63) // 64
    per_block, per_call = sha_ni_count()
    return software, software - compress + calls * per_call + blocks * per_block


def calls_of(out_file, function):
    """(inclusive instructions, calls) of every call to `function` in a callgrind output file."""
    names, inclusive, calls = {}, 0, 0
    lines = pathlib.Path(out_file).read_text().splitlines()
    for index, line in enumerate(lines):
        # A function's name is written once, where its number first appears (as a caller or a callee).
        found = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?$", line)
        if not found:
            continue
        callee, number, name = found.groups()
        if name:
            names[number] = name
        if callee and names.get(number) == function and lines[index + 1].startswith("calls="):
            calls += int(lines[index + 1].split()[0].removeprefix("calls="))
            inclusive += int(lines[index + 2].split()[-1])
    if not calls:
        sys.exit(f"instructions: no call to {function} in {out_file}")
    return inclusive, calls


def sha_ni_count():
    """(instructions per 64-byte block, instructions per call) of sha2's SHA-NI block function
    (`sha2::sha256::x86::digest_blocks`), read from its disassembly in the release build: its loop runs once a block
    and has no branch but the one that closes it; the rest runs once a call. The cpuid check before it is not counted
    (a handful of instructions)."""
    binary = RELEASE / "examples" / "handle_instructions"
    symbols = subprocess.run(["nm", "-S", "-C", binary], check=True, capture_output=True, text=True).stdout
    found = re.search(r"(?m)^([0-9a-f]+) ([0-9a-f]+) t sha2::sha256::x86::digest_blocks$", symbols)
    if not found:
        sys.exit(f"instructions: no sha2::sha256::x86::digest_blocks in {binary} (nm -S -C)")
    start, size = int(found.group(1), 16), int(found.group(2), 16)
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={start:#x}",
                              f"--stop-address={start + size:#x}", binary],
                             check=True, capture_output=True, text=True).stdout
    instructions = [(int(m.group(1), 16), m.group(2)) for m in re.finditer(r"(?m)^ *([0-9a-f]+):\s+(.*)$", listing)]
    backward = [(address, int(target, 16)) for address, text in instructions
                for target in re.findall(r"^j\w+\s+([0-9a-f]+)\b", text) if int(target, 16) <= address]
    if len(backward) != 1:
        sys.exit(f"instructions: expected one loop in digest_blocks, found {len(backward)} backward jumps")
    end, top = backward[0]
    in_loop = sum(1 for address, _ in instructions if top <= address <= end)
    # After the loop: up to the first return (the rest of the function is the path taken for no blocks).
    after = [text for address, text in instructions if address > end]
    epilogue = next((i + 1 for i, text in enumerate(after) if text.startswith("ret")), len(after))
    before = sum(1 for address, _ in instructions if address < top)
    return in_loop, before + epilogue


def default_ring():
    """The journal ring's capacity in the embedded default (`[journal] capacity`)."""
    found = re.search(r"(?ms)^\[journal\].*?^capacity = (\d+)", printed_config())
    if not found:
        sys.exit("instructions: no [journal] capacity in `nppa mock --print-config`")
    return int(found.group(1))


# The last level of callgrind's simulated cache: one core's L2 here (2 MiB, 16-way). The journal's ring (some 8 MB of
# slots and 30 MB of bytes) is far larger, so what an entry writes is cold: the misses are the journal's main cost
# under load, which instructions do not show.
LAST_LEVEL = "2097152,16,64"


def journal_in_process(work, n):
    """Instructions, and data misses of a 2 MiB last-level cache, that the journal adds to `MockService::serve`
    (in-process, `examples/handle_instructions.rs`), per request between a run of n and one of 3n."""
    def run(journal, count):
        out_file = work / f"callgrind.serve-{journal}-{count}"
        subprocess.run(["valgrind", "--tool=callgrind", "--cache-sim=yes", f"--LL={LAST_LEVEL}",
                        f"--callgrind-out-file={out_file}",
                        RELEASE / "examples" / "handle_instructions", f"serve-journal-{journal}", str(count)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return totals(out_file)
    per = {}
    for journal in ("off", "on"):
        short, long = run(journal, n), run(journal, 3 * n)
        per[journal] = {event: (long[event] - short[event]) / (2 * n) for event in ("Ir", "DLmr", "DLmw")}
    instructions = per["on"]["Ir"] - per["off"]["Ir"]
    misses = sum(per["on"][event] - per["off"][event] for event in ("DLmr", "DLmw"))
    return instructions, misses


def totals(out_file):
    """Every event's total in a callgrind output file, by the event's name."""
    text = pathlib.Path(out_file).read_text()
    events = re.search(r"(?m)^events: (.+)$", text)
    found = re.search(r"(?m)^(?:summary|totals): ([\d ]+)$", text)
    if not events or not found:
        sys.exit(f"instructions: no totals in {out_file}")
    return dict(zip(events.group(1).split(), map(int, found.group(1).split())))


def driver_run(work, mock_port, seconds):
    """Instructions and requests of one `nppa load realname` run of `seconds` under callgrind."""
    out_dir = work / f"load-{seconds}"
    out_file = work / f"callgrind.load-{seconds}"
    load = callgrind([RELEASE / "nppa", "load", "realname", "--rate", "0", "--users", "1", "--duration", f"{seconds}s",
                      "--target", f"http://127.0.0.1:{mock_port}", "--out", out_dir], out_file)
    load.wait(timeout=seconds * 20 + 300)
    summary = json.loads((out_dir / "report.json").read_text())["summary"]
    if summary["unexpected_errors"]:
        sys.exit(f"instructions: the driver met unexpected answers: {summary['by_errcode']}")
    return total_instructions(out_file), summary["requests"]


# goose_floor's clients, and the name of each floor in the figures.
FLOORS = {"goose": "goose floor", "hyper-util": "goose floor, hyper-util", "sender": "goose floor, sender"}


def goose_floor_run(work, mock_port, request, seconds, client):
    """Instructions and requests of one goose_floor run of `seconds` under callgrind, sending through `client`."""
    path, headers, body, _ = request
    out_file = work / f"callgrind.floor-{client}-{seconds}"
    floor = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                              RELEASE / "examples" / "goose_floor", client, f"http://127.0.0.1:{mock_port}",
                              str(seconds), path,
                              body.decode(), *[f"{k}: {v}" for k, v in headers.items()]],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sent = int(floor.communicate(timeout=seconds * 20 + 300)[0].strip().splitlines()[-1])
    return total_instructions(out_file), sent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="N for the servers over HTTP and the SHA-256 (the second run of each answers 3N); "
                        "the journal's runs follow the ring's size")
    parser.add_argument("--driver-seconds", type=int, default=10, help="the driver's short run (the long one: 3×)")
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    parser.add_argument("--only", action="append", choices=["mock", "journal", "hyper", "driver"],
                        help="count only these (repeatable; default: all)")
    parser.add_argument("--keep", type=pathlib.Path, metavar="DIR",
                        help="keep callgrind's output files in DIR (made if missing), to read where the instructions "
                             "go: callgrind_annotate DIR/callgrind.<port>")
    args = parser.parse_args()
    wanted = set(args.only or ["mock", "journal", "hyper", "driver"])
    build()
    figures = {}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or pathlib.Path(tmp)
        request = {}

        def the_check():
            if "check" not in request:
                request["check"] = signed_check(work)
            return request["check"]

        for journal in (False, True) if "mock" in wanted else ():
            name = f"mock, journal {'on' if journal else 'off'}"
            config = bench_config(work, journal)
            command = lambda address, config=config: [RELEASE / "nppa", "mock", "--config", config, "--listen", address]
            figures[name] = per_request(work, command, args.requests, the_check, freeze=True)
            print(f"{name:24} {figures[name]:>10,.0f} instructions per check", flush=True)
        if "journal" in wanted:
            # Once the ring is full (every counted request evicts the oldest entry: the steady state), and while it
            # fills (the first `capacity` requests after a start or a reset: the ring grows).
            ring = default_ring()
            instructions, misses = journal_in_process(work, ring + 10_000)
            figures["journal, in-process"], figures["journal, last-level misses"] = instructions, misses
            print(f"{'journal, in-process':24} {instructions:>10,.0f} instructions per request "
                  f"(MockService::serve with the journal on, minus off; the ring of {ring:,} full)", flush=True)
            print(f"{'journal, cache misses':24} {misses:>10,.1f} data misses per request of a simulated 2 MiB "
                  "last level (one core's L2 here)", flush=True)
            instructions, misses = journal_in_process(work, ring // 5)
            figures["journal, in-process, filling"] = instructions
            print(f"{'journal, filling':24} {instructions:>10,.0f} instructions per request "
                  f"(the same while the ring fills: {ring // 5:,} and {3 * ring // 5:,} requests)", flush=True)
        if "hyper" in wanted:
            figures["plain hyper"] = per_request(work, lambda address: [RELEASE / "hello", address], args.requests,
                                                 the_check, freeze=False)
            print(f"{'plain hyper':24} {figures['plain hyper']:>10,.0f} instructions per request", flush=True)
        if "driver" in wanted:
            driver_and_floor(work, args, the_check, figures)
        if "check" in request:
            # What the mock and the driver each spend on the SHA-256 of the sign (the mock to verify, the driver to sign).
            sign_string_bytes = request["check"][3]
            software, native = sha256_per_sign(work, sign_string_bytes, args.requests)
            figures["sha256 of the sign"], figures["sha256 of the sign, SHA-NI"] = software, native
            print(f"{'sha256 of the sign':24} {software:>10,.0f} instructions "
                  f"({sign_string_bytes}-byte sign string; valgrind runs SHA-256 in software)", flush=True)
            print(f"{'sha256 of the sign, SHA-NI':24} {native:>10,.0f} instructions (the same with sha2's SHA-NI "
                  f"function in place of the software one, counted from its disassembly)", flush=True)
    summarize(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def driver_and_floor(work, args, the_check, figures):
    """The driver and goose's floor, each against a native mock that is not counted."""
    # The driver, against a native mock (quotas off, real clock: the driver signs with its own).
    mock, port = native_mock(work)
    try:
        short = driver_run(work, port, args.driver_seconds)
        long = driver_run(work, port, 3 * args.driver_seconds)
        freeze_at_noon(port)
        floors = {client: [goose_floor_run(work, port, the_check(), s, client)
                           for s in (args.driver_seconds, 3 * args.driver_seconds)] for client in FLOORS}
    finally:
        stop(mock)
    for client, (short_floor, long_floor) in floors.items():
        name = FLOORS[client]
        figures[name] = (long_floor[0] - short_floor[0]) / (long_floor[1] - short_floor[1])
        print(f"{name:24} {figures[name]:>10,.0f} instructions per prebuilt request "
              f"({short_floor[1]} and {long_floor[1]} requests)", flush=True)
    figures["driver"] = (long[0] - short[0]) / (long[1] - short[1])
    print(f"{'driver (nppa load)':24} {figures['driver']:>10,.0f} instructions per signed check "
          f"({short[1]} and {long[1]} requests)", flush=True)


def summarize(figures):
    """The ratios the issue's goals are stated in, of what was counted."""
    mock_off, mock_on = figures.get("mock, journal off"), figures.get("mock, journal on")
    plain, driver, floor = figures.get("plain hyper"), figures.get("driver"), figures.get(FLOORS["sender"])
    if mock_off and mock_on:
        in_process = figures.get("journal, in-process")
        print(f"journal: {mock_on - mock_off:,.0f} instructions per request over HTTP (two runs' difference: ±2 000)"
              + (f", {in_process:,.0f} in-process" if in_process is not None else ""))
    if mock_off and plain:
        print(f"mock/plain hyper: {mock_off / plain:.2f}× (journal off)")
        sha = figures.get("sha256 of the sign")
        if sha:
            print(f"mock/plain hyper, SHA-256 excluded: {(mock_off - sha) / plain:.2f}× (journal off); "
                  f"{(mock_on - sha) / plain:.2f}× (journal on)")
    if mock_off and driver:
        print(f"driver/mock: {driver / mock_off:.2f}×")
    if driver and floor:
        print(f"driver above its floor (goose and the sender): {driver - floor:,.0f}")
    sha, sha_ni = figures.get("sha256 of the sign"), figures.get("sha256 of the sign, SHA-NI")
    if driver and sha:
        print(f"driver, SHA-256 of the sign excluded: {driver - sha:,.0f}")
        # What a CPU with SHA-NI (AMD since Zen, Intel since Ice Lake; this one: see /proc/cpuinfo) runs, outside the kernel.
        print(f"driver on SHA-NI: {driver - sha + sha_ni:,.0f}")
        if mock_off:
            print(f"driver/mock on SHA-NI: {(driver - sha + sha_ni) / (mock_off - sha + sha_ni):.2f}× (journal off)")


if __name__ == "__main__":
    main()
