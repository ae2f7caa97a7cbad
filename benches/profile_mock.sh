#!/usr/bin/env bash
# Where the mock's CPU goes under wrk, beside plain hyper: `perf record` of each server (the mock with the journal
# off, with it on, and `hello`) under the same wrk load as `benches/loopback.sh`, then the nanoseconds a request each
# symbol takes, as differences (journal on minus off; mock off minus plain hyper), and per-request counts of context
# switches, clock reads and allocations (perf's scheduler tracepoint and uprobes on libc). Bounded; stops by itself.
#
#   benches/profile_mock.sh [seconds]     # needs wrk and perf, and root for the uprobes (they are skipped otherwise)
#   NPPA=other/nppa benches/profile_mock.sh   # the same of another build of nppa
#
# perf slows every server by about a third: the figures are for comparing symbols, not for throughput
# (`benches/loopback.sh` measures that).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
port=18590
declare -A url=([off]="http://127.0.0.1:$port" [on]="http://127.0.0.1:$((port + 1))" [plain]="http://127.0.0.1:$((port + 2))")
declare -A pid
work=$(mktemp -d)
added=()
trap 'for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; for e in "${added[@]}"; do perf probe -q -d "$e" || true; done; rm -rf "$work"' EXIT
command -v perf > /dev/null || { echo "profile_mock.sh: needs perf (apt install linux-perf)" >&2; exit 2; }
command -v wrk > /dev/null || { echo "profile_mock.sh: needs wrk (apt install wrk)" >&2; exit 2; }

# The same build as the Python scripts' (instructions.py's BUILD): the same features, so no script rebuilds another's.
cargo build --release -q -p nppa-harness -p nppa-benches --bins --example goose_floor --example handle_instructions
release=${CARGO_TARGET_DIR:-target}/release
nppa=${NPPA:-$release/nppa}
for journal in off on; do
  $nppa mock --print-config | sed -e 's/^quotas = true/quotas = false/' \
    -e "/^\[journal\]/,/^\[/ s/^enabled = true/enabled = $([ "$journal" = on ] && echo true || echo false)/" \
    > "$work/$journal.toml"
  $nppa mock --listen "${url[$journal]#http://}" --config "$work/$journal.toml" > /dev/null 2>&1 &
  pid[$journal]=$!
done
"$release/hello" "${url[plain]#http://}" 2> /dev/null &
pid[plain]=$!
for server in off on plain; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "${url[$server]}/" && break; sleep 0.1; done
done
for journal in off on; do
  curl -sS --fail-with-body -X POST "${url[$journal]}/__admin/clock" -H 'Content-Type: application/json' \
    -d '{"set_ms": 1768449600000, "freeze": true}' > /dev/null
done
# One signed check, as the reference client sends it, replayed by wrk (the clocks are frozen: it stays valid).
$nppa client --base-url "${url[off]}" --mock-clock -v check --ai 100000000000000001 --name 某一一 \
  --id-num 110000190101010001 2> "$work/trace" > /dev/null
python3 benches/replayable_check.py "$work/trace" "$work/check.lua"

load() { # $1 = server, $2 = seconds: wrk as loopback.sh runs it; prints the requests sent
  wrk -t2 -c64 -d"$2s" -s "$work/check.lua" "${url[$1]}/idcard/authentication/check" | awk '/requests in/ {print $1}'
}

probes=()
if [ "$(id -u)" = 0 ]; then
  libc=$(ldd "$nppa" | awk '/libc\.so/ {print $3}')
  for function in clock_gettime malloc; do
    # Added for this run (and removed at exit) unless an earlier one left it in place.
    if ! [[ $(perf probe -l 2> /dev/null) == *"probe_libc:$function "* ]] \
      && perf probe -q -x "$libc" --add "$function" 2> /dev/null; then
      added+=("probe_libc:$function")
    fi
    [[ $(perf probe -l 2> /dev/null) == *"probe_libc:$function "* ]] && probes+=("probe_libc:$function")
  done
else
  echo "(not root: no uprobes, so no counts of clock reads and allocations)"
fi
echo "== per request under wrk (2 threads, 64 connections, ${seconds}s): context switches, then libc calls"
# Apart: a uprobe slows every call it counts, which changes how often the servers' threads are switched.
passes=("sched:sched_switch")
[ ${#probes[@]} -gt 0 ] && passes+=("$(IFS=,; echo "${probes[*]}")")
for events in "${passes[@]}"; do
  for server in off on plain; do
    load "$server" 2 > /dev/null # warm: the journal's ring fills
    perf stat -x, -e "$events" -p "${pid[$server]}" -o "$work/stat-$server" -- sleep "$seconds" &
    stat=$!
    requests=$(load "$server" "$seconds")
    wait "$stat"
    awk -F, -v n="$requests" -v server="$server" \
      '$1 ~ /^[0-9]+$/ {printf "  %-5s %-26s %6.3f\n", server, $3, $1 / n}' "$work/stat-$server"
  done
done

for server in off on plain; do
  before=$(awk '{print $14 + $15}' "/proc/${pid[$server]}/stat")
  perf record -q -F 2999 -g -p "${pid[$server]}" -o "$work/perf-$server.data" -- sleep "$seconds" 2> /dev/null &
  record=$!
  requests=$(load "$server" "$seconds")
  wait "$record"
  after=$(awk '{print $14 + $15}' "/proc/${pid[$server]}/stat")
  echo "$server $requests $((after - before))" >> "$work/runs"
  perf report -i "$work/perf-$server.data" --no-children --sort symbol -g none --percent-limit 0.1 2> /dev/null \
    | grep -v '^#' | grep '%' > "$work/symbols-$server"
done
python3 - "$work" "$(getconf CLK_TCK)" <<'PY'
import re, sys
work, ticks = sys.argv[1], int(sys.argv[2])
cpu_ns = {}
for line in open(f"{work}/runs"):
    server, requests, used = line.split()
    cpu_ns[server] = int(used) / ticks * 1e9 / int(requests)
def symbols(server):
    found = {}
    for line in open(f"{work}/symbols-{server}"):
        m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$", line)
        if m:
            found[("kernel" if m.group(2) == "k" else "user", m.group(3)[:90])] = float(m.group(1)) / 100 * cpu_ns[server]
    return found
print("== CPU per request under perf: " + ", ".join(f"{s} {cpu_ns[s] / 1000:.2f} µs" for s in ("off", "on", "plain")))
for a, b, title in (("on", "off", "journal on minus off"), ("off", "plain", "mock (journal off) minus plain hyper")):
    x, y = symbols(a), symbols(b)
    diff = sorted(((x.get(k, 0) - y.get(k, 0), k) for k in set(x) | set(y)), reverse=True)
    for side in ("user", "kernel"):
        total = sum(d for d, k in diff if k[0] == side)
        print(f"== {title}, {side}: {total:+.0f} ns a request; the largest:")
        for d, k in [e for e in diff if e[1][0] == side][:10]:
            print(f"  {d:+7.0f} ns  {k[1]}")
PY
