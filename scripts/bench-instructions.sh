#!/usr/bin/env bash
# Instructions per delivery, counted by callgrind on the server: a run with M1
# messages per client and one with M2, the difference divided by the extra
# deliveries, so start-up, set-up and shutdown cancel out. Counts, unlike
# seconds, do not depend on what else the machine is doing, so builds can be
# compared A/B on a shared machine (docs/performance.md, third round).
#   scripts/bench-instructions.sh LABEL=SERVER_BINARY [LABEL=SERVER_BINARY...]
# CLIENTS (10), M1 (20), M2 (80) and RATE (unpaced when unset) shape the load;
# the bench is this tree's release build (BENCH_NO_BUILD=1 uses it as it is).
# BENCH_KEEP=DIR keeps the callgrind outputs (LABEL-MESSAGES.cg), whose
# per-function difference is a profile of one more delivery
# (callgrind_annotate on each; docs/performance.md, third round).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
[[ $# -gt 0 ]] || { echo "usage: $0 LABEL=SERVER_BINARY..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "bench-instructions: valgrind is not installed" >&2; exit 1; }
build_release
clients=${CLIENTS:-10}
m1=${M1:-20}
m2=${M2:-80}
rate_args=()
[[ -n "${RATE:-}" ]] && rate_args=(--rate "$RATE")

# count LABEL BINARY MESSAGES: prints "instructions deliveries sends".
count() {
  local label=$1 binary=$2 messages=$3 name="$1-$3" out
  server_bin=$binary
  server_prefix=(valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg")
  start_server "$name"
  "$bin/chatroom-bench" --server "$server_addr" --pin "$server_pin" --payload 64 \
    --clients "$clients" --messages "$messages" "${rate_args[@]}" --json \
    >"$work/$name.json" 2>"$work/$name.bench" ||
    { echo "bench-instructions: the bench failed ($name)" >&2; tail -5 "$work/$name.bench" >&2; exit 1; }
  stop_server
  if [[ -n "${BENCH_KEEP:-}" ]]; then
    mkdir -p "$BENCH_KEEP"
    cp "$work/$name.cg" "$BENCH_KEEP/"
  fi
  out=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)/\1/p' "$work/$name.err")
  [[ -n "$out" ]] || { echo "bench-instructions: no callgrind total ($name)" >&2; tail "$work/$name.err" >&2; exit 1; }
  echo "$out $(jq -r '"\(.deliveries) \(.sent)"' "$work/$name.json")"
}

machine_line
printf '\n| server | clients | instructions at %s msgs | at %s msgs | per extra delivery | per extra Send |\n' "$m1" "$m2"
printf '|---|---|---|---|---|---|\n'
for pair in "$@"; do
  label=${pair%%=*}
  binary=${pair#*=}
  read -r i1 d1 s1 < <(count "$label" "$binary" "$m1")
  read -r i2 d2 s2 < <(count "$label" "$binary" "$m2")
  awk -v l="$label" -v c="$clients" -v i1="$i1" -v i2="$i2" -v d1="$d1" -v d2="$d2" -v s1="$s1" -v s2="$s2" 'BEGIN {
    printf "| %s | %d | %.2f M | %.2f M | %.0f | %.0f |\n", l, c, i1 / 1e6, i2 / 1e6, (i2 - i1) / (d2 - d1), (i2 - i1) / (s2 - s1)
  }'
done
