#!/usr/bin/env bash
# S4: head-of-line blocking under loss. The release server runs in each stream
# mode behind `chatroom-bench relay` (2 % loss and 20 ms delay each way,
# seeded), and the same paced load runs through it; prints p50/p99 per mode and
# the ratio of single-stream p99 to per-message p99 (the goal is at least 3).
# Environment: LOSS (2), DELAY_MS (20), SEED (1), BENCH_SCALE=small for a quick run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
build_release

loss=${LOSS:-2}
delay=${DELAY_MS:-20}
seed=${SEED:-1}
if [[ ${BENCH_SCALE:-full} == small ]]; then
  load="--clients 10 --rate 20 --messages 60"
else
  load="--clients 20 --rate 20 --messages 300"
fi

machine_line
echo "S4: $load, 64 B, relay loss ${loss}% delay ${delay} ms each way, seed $seed" >&2
for mode in per-message single; do
  start_server "S4-$mode" --stream-mode "$mode"
  start_relay "S4-$mode" "$server_addr" --loss "$loss" --delay-ms "$delay" --seed "$seed"
  # shellcheck disable=SC2086 # the flags are meant to split
  "$bin/chatroom-bench" --server "$relay_addr" --pin "$server_pin" --payload 64 \
    --stream-mode "$mode" --server-pid "$server_pid" --drain-timeout 30 --json $load \
    >"$work/S4-$mode.json" || echo "bench: S4 $mode failed" >&2
  stop_relay
  stop_server
  echo "relay ($mode): $(sed -n 's/^relay stats: //p' "$work/S4-$mode.relay")" >&2
done

printf '\n| S4 mode | deliveries | lost | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | server µs/deliv |\n|---|---|---|---|---|---|---|---|---|\n'
for mode in per-message single; do
  jq -r --arg mode "$mode" '
    def ms: . / 1000 | (. * 100 | round) / 100;
    "| \($mode) | \(.deliveries)/\(.expected_deliveries) | \(.lost) | \(.latency_us.p50 | ms) | \(.latency_us.p90 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.p999 | ms) | \(.latency_us.max | ms) | \((.server.cpu_us_per_delivery * 100 | round) / 100) |"
  ' "$work/S4-$mode.json"
done
jq -rs '"single p99 / per-message p99 = \((.[1].latency_us.p99 / (.[0].latency_us.p99 | if . == 0 then 1 else . end)) * 100 | round / 100) (goal: at least 3)"' \
  "$work/S4-per-message.json" "$work/S4-single.json"
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  cp "$work"/*.json "$BENCH_KEEP"/ 2>/dev/null || true
fi
