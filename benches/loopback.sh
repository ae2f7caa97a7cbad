#!/usr/bin/env bash
# Loopback throughput and latency of `nppa mock` on the full check pipeline (signature, AES-GCM, JSON,
# idNum, pi), measured by a separate load tool, with the journal off and on in the same run.
# Bounded in time; stops by itself.
#
#   benches/loopback.sh [seconds]      # needs wrk (apt install wrk); oha (cargo install oha) for the fixed-rate run
#   NPPA=other/nppa benches/loopback.sh  # the same against another build of nppa (side by side with this one)
#
# The mock runs with quotas off and a frozen clock, so one signed request stays valid (timestamps inside
# the 5 s window) and can be replayed: a check of a preset person succeeds at once and leaves no record.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
port=18580
base="http://127.0.0.1:$port"
work=$(mktemp -d)
mock=""
trap '[ -n "$mock" ] && kill $mock 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q -p nppa-harness -p nppa-benches --bins
nppa=${NPPA:-./target/release/nppa}

start_mock() { # $1 = journal on|off
  $nppa mock --print-config | sed -e 's/^quotas = true/quotas = false/' \
    -e 's/^# start = .*/start = "2026-01-15T12:00:00+08:00"/' \
    -e "/^\[journal\]/,/^\[/ s/^enabled = true/enabled = $([ "$1" = on ] && echo true || echo false)/" > "$work/bench.toml"
  $nppa mock --listen "127.0.0.1:$port" --config "$work/bench.toml" > "$work/mock.log" 2>&1 &
  mock=$!
  for _ in $(seq 1 100); do curl -sf "$base/__admin/clock" > /dev/null && break; sleep 0.1; done
  curl -sS --fail-with-body -X POST "$base/__admin/clock" -H 'Content-Type: application/json' -d '{"freeze": true}' \
    > /dev/null || { echo "loopback.sh: the mock did not freeze its clock (above: why)" >&2; exit 1; }
}

stop_mock() { kill -TERM "$mock"; wait "$mock" || true; mock=""; }

# One correct request, as the reference client builds it, turned into wrk and oha arguments.
prepare_request() {
  $nppa client --base-url "$base" --mock-clock -v check --ai 100000000000000001 --name 某一一 \
    --id-num 110000190101010001 2> "$work/trace" > /dev/null
  python3 - "$work/trace" "$work/check.lua" "$work/oha.args" <<'PY'
import sys
headers, body = {}, ""
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("> body: "):
        body = line[len("> body: "):]
    elif line.startswith("> ") and ": " in line[2:] and not line.startswith(("> plaintext", "> sign string")):
        name, value = line[2:].split(": ", 1)
        headers[name] = value
with open(sys.argv[2], "w") as lua:
    lua.write('wrk.method = "POST"\nwrk.body = [[%s]]\n' % body)
    for name, value in headers.items():
        lua.write('wrk.headers["%s"] = "%s"\n' % (name, value))
with open(sys.argv[3], "w") as args:
    args.write("\n".join(["-m", "POST", "-d", body] + sum([["-H", f"{k}: {v}"] for k, v in headers.items()], [])))
PY
  # Sanity: the replayed request is answered with errcode 0.
  curl -s "$base/__admin/journal?limit=1" > /dev/null
  python3 - "$base" "$work/oha.args" <<'PY'
import sys, urllib.request
args = open(sys.argv[2]).read().split("\n")
body = args[args.index("-d") + 1].encode()
headers = {args[i + 1].split(": ", 1)[0]: args[i + 1].split(": ", 1)[1] for i, a in enumerate(args) if a == "-H"}
request = urllib.request.Request(sys.argv[1] + "/idcard/authentication/check", data=body, headers=headers, method="POST")
answer = urllib.request.urlopen(request).read().decode()
if '"errcode":0' not in answer:
    sys.exit("the replayed request is not accepted: " + answer)
PY
}

# CPU time (user + system, in clock ticks) the process has used: its CPU per request under the same load is a
# figure that depends less than req/s on how the 2 cores are shared with wrk.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

declare -A rps cpu_us
for journal in off on; do
  start_mock $journal
  prepare_request
  echo "== journal $journal — wrk: maximum check throughput, ${seconds}s, 2 threads, 64 connections"
  before=$(cpu_ticks "$mock")
  wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/check.lua" "$base/idcard/authentication/check" | tee "$work/wrk-$journal.txt"
  rps[$journal]=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-$journal.txt")
  cpu_us[$journal]=$(awk -v t="$(( $(cpu_ticks "$mock") - before ))" -v hz="$ticks_per_s" \
    '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' "$work/wrk-$journal.txt")
  if [ "$journal" = on ]; then
    if command -v oha > /dev/null; then
      echo "== journal on — oha: fixed 500 req/s for ${seconds}s, latency percentiles"
      mapfile -t args < "$work/oha.args"
      oha --no-tui -z "${seconds}s" -q 500 -c 16 "${args[@]}" "$base/idcard/authentication/check" \
        | sed -n '/Summary/,/Requests\/sec/p;/Response time distribution/,/99.99%/p'
    else
      echo "(oha not installed: skipping the fixed-rate run; cargo install oha)"
    fi
    echo "journal stats: $(curl -s "$base/__admin/journal?limit=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"])')"
  fi
  stop_mock
done
echo "== plain hyper (benches/src/bin/hello.rs): the same wrk load, a fixed answer, no protocol work"
./target/release/hello "127.0.0.1:$((port + 1))" 2> /dev/null &
mock=$!
sleep 0.5
before=$(cpu_ticks "$mock")
wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/check.lua" "http://127.0.0.1:$((port + 1))/idcard/authentication/check" | tee "$work/wrk-plain.txt"
rps[plain]=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-plain.txt")
cpu_us[plain]=$(awk -v t="$(( $(cpu_ticks "$mock") - before ))" -v hz="$ticks_per_s" \
  '/requests in/ {printf "%.2f", t / hz * 1e6 / $1}' "$work/wrk-plain.txt")
stop_mock
python3 -c "off, on, plain = float('${rps[off]}'), float('${rps[on]}'), float('${rps[plain]}'); print(f'== check req/s: journal off {off:.0f}, on {on:.0f} ({(off - on) / off * 100:.1f}% cost, {(1 / on - 1 / off) * 1e6:.2f} µs more a request); plain hyper {plain:.0f}; mock/plain {off / plain * 100:.0f}% (journal off), {on / plain * 100:.0f}% (on)')"
python3 -c "off, on, plain = float('${cpu_us[off]}'), float('${cpu_us[on]}'), float('${cpu_us[plain]}'); print(f'== server CPU per request (user + system): journal off {off:.2f} µs, on {on:.2f} µs; plain hyper {plain:.2f} µs; mock/plain {off / plain:.2f}× (journal off), {on / plain:.2f}× (on)')"
