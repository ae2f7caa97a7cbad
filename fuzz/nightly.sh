#!/usr/bin/env bash
# Nightly fuzzing: runs every target (or those named) for a time budget each, keeps and minimises crashes with the
# command that reproduces them, merges the corpora, prints a summary, and exits 1 when anything crashed.
#
#   fuzz/nightly.sh SECONDS_PER_TARGET [TARGET ...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain it runs with RUSTC_BOOTSTRAP=1.
# Corpora live in fuzz/corpus/<target> (git-ignored, kept between nights), seeded from fuzz/seeds/<target>;
# crashes go to fuzz/artifacts/<target>.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-}
if ! [[ "$budget" =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/nightly.sh SECONDS_PER_TARGET [TARGET ...]" >&2
  exit 2
fi
shift
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version > /dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O || exit 2

summary=()
crashed=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  log=$(mktemp)
  marker=$(mktemp)   # crashes newer than this one are tonight's
  echo "== $target: ${budget}s"
  cargo fuzz run -O "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$budget" -dict=fuzz/nppa.dict -print_final_stats=1 -artifact_prefix="$artifacts/" \
    > "$log" 2>&1
  status=$?
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  found=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) -newer "$marker" 2>/dev/null)
  if [ $status -ne 0 ] || [ -n "$found" ]; then
    crashed=1
    tail -40 "$log"
    for artifact in $found; do
      minimised="$artifact.min"
      cargo fuzz tmin -O "$target" "$artifact" -- -exact_artifact_path="$minimised" > /dev/null 2>&1 || cp "$artifact" "$minimised"
      echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run -O $target $minimised"
    done
    summary+=("$target: CRASH after ${runs:-?} runs (${rate:-?} exec/s) — see $artifacts")
  else
    summary+=("$target: ok, ${runs:-?} runs, ${rate:-?} exec/s")
  fi
  # Keep the corpus small: only inputs that add coverage.
  cargo fuzz cmin -O "$target" "$corpus" > /dev/null 2>&1 || true
  rm -f "$log" "$marker"
done

echo
echo "== nightly fuzz summary (${budget}s per target)"
printf '%s\n' "${summary[@]}"
exit $crashed
