#!/usr/bin/env bash
# Loopback throughput and latency of `nppa mock` on the full check pipeline (signature, AES-GCM, JSON,
# idNum, pi), measured by a separate load tool: the mock with the journal off, the mock with it on, and a plain
# hyper server answering a fixed body, side by side. Bounded in time; stops by itself.
#
#   benches/loopback.sh [seconds] [rounds]   # needs wrk (apt install wrk); oha (cargo install oha) for the fixed-rate run
#   NPPA=other/nppa benches/loopback.sh      # the same against another build of nppa
#
# All three servers stay up for the whole run, and wrk loads one at a time in short legs of `seconds`, in `rounds`
# rounds whose order rotates (off, on, plain; on, plain, off; …): this 2-core machine's speed drifts by ±20 % within
# a minute, and a ratio of neighbouring legs is steadier than one of runs a minute apart. It prints each round's
# ratios and their median and range.
#
# The mocks run with quotas off and their clocks frozen at the same instant, so one signed request stays valid
# (timestamps inside the 5 s window) and can be replayed on either: a check of a preset person succeeds at once and
# leaves no record.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-5}
port=18580
declare -A url=([off]="http://127.0.0.1:$port" [on]="http://127.0.0.1:$((port + 1))" [plain]="http://127.0.0.1:$((port + 2))")
declare -A pid
work=$(mktemp -d)
trap 'for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# The same build as the Python scripts' (instructions.py's BUILD): the same features, so no script rebuilds another's.
cargo build --release -q -p nppa-harness -p nppa-benches --bins --example goose_floor --example handle_instructions
release=${CARGO_TARGET_DIR:-target}/release
nppa=${NPPA:-$release/nppa}

start_mock() { # $1 = journal on|off
  local base=${url[$1]}
  $nppa mock --print-config | sed -e 's/^quotas = true/quotas = false/' \
    -e "/^\[journal\]/,/^\[/ s/^enabled = true/enabled = $([ "$1" = on ] && echo true || echo false)/" \
    > "$work/bench-$1.toml"
  $nppa mock --listen "${base#http://}" --config "$work/bench-$1.toml" > "$work/mock-$1.log" 2>&1 &
  pid[$1]=$!
  for _ in $(seq 1 100); do curl -sf "$base/__admin/clock" > /dev/null && break; sleep 0.1; done
  # Both mocks frozen at the same instant (noon in Beijing: outside the MPS outage, R-PEND-2).
  curl -sS --fail-with-body -X POST "$base/__admin/clock" -H 'Content-Type: application/json' \
    -d '{"set_ms": 1768449600000, "freeze": true}' > /dev/null \
    || { echo "loopback.sh: the mock did not set its clock (above: why)" >&2; exit 1; }
}

# One correct request, as the reference client builds it, turned into wrk and oha arguments.
prepare_request() {
  $nppa client --base-url "${url[off]}" --mock-clock -v check --ai 100000000000000001 --name 某一一 \
    --id-num 110000190101010001 2> "$work/trace" > /dev/null
  python3 benches/replayable_check.py "$work/trace" "$work/check.lua" "$work/oha.args"
  # Sanity: the replayed request is answered with errcode 0 by both mocks.
  for journal in off on; do
    python3 - "${url[$journal]}" "$work/oha.args" <<'PY'
import sys, urllib.request
args = open(sys.argv[2]).read().split("\n")
body = args[args.index("-d") + 1].encode()
headers = {args[i + 1].split(": ", 1)[0]: args[i + 1].split(": ", 1)[1] for i, a in enumerate(args) if a == "-H"}
request = urllib.request.Request(sys.argv[1] + "/idcard/authentication/check", data=body, headers=headers, method="POST")
answer = urllib.request.urlopen(request).read().decode()
if '"errcode":0' not in answer:
    sys.exit(f"{sys.argv[1]}: the replayed request is not accepted: " + answer)
PY
  done
}

# CPU time (user + system, in clock ticks) the process has used: its CPU per request under the same load is a
# figure that depends less than req/s on how the 2 cores are shared with wrk.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

start_mock off
start_mock on
"$release/hello" "${url[plain]#http://}" 2> /dev/null &
pid[plain]=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "${url[plain]}/" && break; sleep 0.1; done
prepare_request

# One wrk leg: "server req/s cpu-µs-per-request" appended to $work/legs.
leg() { # $1 = round, $2 = off|on|plain
  local before after
  before=$(cpu_ticks "${pid[$2]}")
  wrk -t2 -c64 -d"${seconds}s" -s "$work/check.lua" "${url[$2]}/idcard/authentication/check" > "$work/wrk.txt"
  after=$(cpu_ticks "${pid[$2]}")
  awk -v round="$1" -v server="$2" -v t="$((after - before))" -v hz="$ticks_per_s" '
    /requests in/ {n = $1} /^Requests\/sec/ {rps = $2}
    END {printf "%s %s %.0f %.2f\n", round, server, rps, t / hz * 1e6 / n}' "$work/wrk.txt" >> "$work/legs"
}

echo "== wrk: maximum check throughput, 2 threads, 64 connections, legs of ${seconds}s, ${rounds} rounds (order rotating)"
order=(off on plain)
for round in $(seq 1 "$rounds"); do
  for k in 0 1 2; do leg "$round" "${order[$(( (round - 1 + k) % 3 ))]}"; done
  awk -v round="$round" '$1 == round {rps[$2] = $3; cpu[$2] = $4}
    END {printf "round %d: req/s off %.0f, on %.0f, plain %.0f; mock/plain %.2f (off) %.2f (on); CPU per request %.2f, %.2f, %.2f µs\n",
      round, rps["off"], rps["on"], rps["plain"], rps["off"] / rps["plain"], rps["on"] / rps["plain"], cpu["off"], cpu["on"], cpu["plain"]}' "$work/legs"
done
python3 - "$work/legs" <<'PY'
import collections, statistics, sys
rounds = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, server, rps, cpu = line.split()
    rounds[r][server] = (float(rps), float(cpu))
def summary(label, values, unit):
    return f"{label} median {statistics.median(values):.2f}{unit} (range {min(values):.2f}–{max(values):.2f})"
for journal in ("off", "on"):
    req = [legs[journal][0] / legs["plain"][0] for legs in rounds.values()]
    cpu = [legs[journal][1] / legs["plain"][1] for legs in rounds.values()]
    print(f"== journal {journal}: " + summary("req/s mock/plain", req, "") + "; " + summary("CPU per request mock/plain", cpu, "×"))
cost = [legs["on"][1] - legs["off"][1] for legs in rounds.values()]
print("== the journal's CPU per request: " + summary("on minus off", cost, " µs"))
if min(cost) < 0:
    print("   (a round where the journal cost less than nothing: the machine's drift between legs is larger than the "
          "journal's cost; longer legs and more rounds narrow it)")
PY

if command -v oha > /dev/null; then
  echo "== journal on — oha: fixed 500 req/s for ${seconds}s, latency percentiles"
  mapfile -t args < "$work/oha.args"
  oha --no-tui -z "${seconds}s" -q 500 -c 16 "${args[@]}" "${url[on]}/idcard/authentication/check" \
    | sed -n '/Summary/,/Requests\/sec/p;/Response time distribution/,/99.99%/p'
else
  echo "(oha not installed: skipping the fixed-rate run; cargo install oha)"
fi
echo "journal stats: $(curl -s "${url[on]}/__admin/journal?limit=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"])')"
