#!/usr/bin/env bash
# Loopback throughput and latency of `nppa mock` on the full check pipeline (signature, AES-GCM, JSON,
# idNum, pi), measured by a separate load tool. Bounded in time; stops by itself.
#
#   benches/loopback.sh [seconds]      # needs wrk (apt install wrk); oha (cargo install oha) for the fixed-rate run
#
# The mock runs with quotas off and a frozen clock, so one signed request stays valid (timestamps inside
# the 5 s window) and can be replayed: a check of a preset person succeeds at once and leaves no record.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
port=18580
base="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill $mock 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q -p nppa-harness
nppa=./target/release/nppa
{ ./target/release/nppa mock --print-config | sed 's/^quotas = true/quotas = false/'; } > "$work/bench.toml"
sed -i 's/^# start = .*/start = "2026-01-15T12:00:00+08:00"/' "$work/bench.toml"
$nppa mock --listen "127.0.0.1:$port" --config "$work/bench.toml" > "$work/mock.log" 2>&1 &
mock=$!
for _ in $(seq 1 100); do curl -sf "$base/__admin/clock" > /dev/null && break; sleep 0.1; done
curl -sf -X POST "$base/__admin/clock" -d '{"freeze": true}' > /dev/null

# One correct request, as the reference client builds it.
$nppa client --base-url "$base" --mock-clock -v check --ai 100000000000000001 --name 某一一 --id-num 110000190101010001 \
  2> "$work/trace" > /dev/null
python3 - "$work/trace" "$work/check.lua" "$work/oha.args" <<'PY'
import sys
headers, body = {}, ""
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("> body: "):
        body = line[len("> body: "):]
    elif line.startswith("> ") and ": " in line[2:] and not line.startswith(("> plaintext", "> sign string", "> POST")):
        name, value = line[2:].split(": ", 1)
        headers[name] = value
with open(sys.argv[2], "w") as lua:
    lua.write('wrk.method = "POST"\n')
    lua.write('wrk.body = [[%s]]\n' % body)
    for name, value in headers.items():
        lua.write('wrk.headers["%s"] = "%s"\n' % (name, value))
with open(sys.argv[3], "w") as args:
    args.write("\n".join(["-m", "POST", "-d", body] + sum([["-H", f"{k}: {v}"] for k, v in headers.items()], [])))
PY
# Sanity: the replayed request is answered with errcode 0.
python3 - "$base" "$work/oha.args" <<'PY'
import sys, urllib.request
args = open(sys.argv[2]).read().split("\n")
body = args[args.index("-d") + 1].encode()
headers = {args[i + 1].split(": ", 1)[0]: args[i + 1].split(": ", 1)[1] for i, a in enumerate(args) if a == "-H"}
request = urllib.request.Request(sys.argv[1] + "/idcard/authentication/check", data=body, headers=headers, method="POST")
answer = urllib.request.urlopen(request).read().decode()
print("sanity answer:", answer)
sys.exit(0 if '"errcode":0' in answer else 1)
PY

echo "== wrk: maximum check throughput, ${seconds}s, 2 threads, 64 connections"
wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/check.lua" "$base/idcard/authentication/check" | tee "$work/wrk.txt"

if command -v oha > /dev/null; then
  echo "== oha: fixed 500 req/s for ${seconds}s, latency percentiles"
  mapfile -t args < "$work/oha.args"
  oha --no-tui -z "${seconds}s" -q 500 -c 16 "${args[@]}" "$base/idcard/authentication/check"
else
  echo "(oha not installed: skipping the fixed-rate run; cargo install oha)"
fi
echo "== mock: $(curl -s "$base/__admin/stats")"
