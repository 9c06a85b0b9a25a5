#!/usr/bin/env bash
# S4: head-of-line blocking under downlink loss, per-message streams against
# one stream. The release server runs behind `chatroom-bench relay`: uplink
# DELAY_MS and LOSS_UP % (none by default, so no message is late for every
# receiver at once), downlink DELAY_MS and LOSS_DOWN % loss, seeded. CLIENTS
# clients in one room each send RATE 64-byte messages/s for RUN_SECONDS s, so
# every receiver gets CLIENTS × RATE events/s. Each seed runs both modes, in
# alternating order. Latency is one way, from the server's stamp on each
# message to its delivery; the floor is the downlink delay.
# Prints every run, then the pooled table (percentiles, each run's p99, the
# share of deliveries later than floor + LATE_MS ms) and the ratio single p99 /
# per-message p99 (the goal is at least 2.5), and draws both CDFs into PLOT.
# Environment: SEEDS (5), RUN_SECONDS (60), CLIENTS (20), RATE (25, whole
# messages/s), LOSS_DOWN (0.5), LOSS_UP (0), DELAY_MS (20), LATE_MS (10),
# PLOT (${TMPDIR:-/tmp}/s4-cdf.png, so a measuring run leaves the committed
# charts alone; docs/s4-cdf.png replaces the chart; empty: no chart), SERVER_CPUS (0) and CLIENT_CPUS
# (1): the server's, and the relay's and benchmark's, CPUs (empty: not
# pinned), BENCH_KEEP=DIR keeps the reports and server logs, BENCH_NO_BUILD=1
# skips the build.
# A quick run: SEEDS=2 RUN_SECONDS=10 PLOT=/tmp/s4.png scripts/bench-loss.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Pinned by default on two or more CPUs, so the server and its load do not
# take turns on one core while the other idles.
if (($(nproc) >= 2)); then
  export SERVER_CPUS=${SERVER_CPUS-0} CLIENT_CPUS=${CLIENT_CPUS-1}
fi
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
build_release

seeds=${SEEDS:-5}
run_seconds=${RUN_SECONDS:-60}
clients=${CLIENTS:-20}
rate=${RATE:-25}
loss_down=${LOSS_DOWN:-0.5}
loss_up=${LOSS_UP:-0}
delay=${DELAY_MS:-20}
late=${LATE_MS:-10}
plot=${PLOT-${TMPDIR:-/tmp}/s4-cdf.png}
messages=$((rate * run_seconds))

machine_line
echo "S4: $clients clients × $rate msg/s for $run_seconds s ($((clients * rate)) events/s per receiver), 64 B;" \
  "relay up ${delay} ms ${loss_up} % loss, down ${delay} ms ${loss_down} % loss; seeds 1–$seeds;" \
  "pinned: server ${SERVER_CPUS:-no}, relay and bench ${CLIENT_CPUS:-no}" >&2
for seed in $(seq 1 "$seeds"); do
  if ((seed % 2)); then modes=(per-message single); else modes=(single per-message); fi
  for mode in "${modes[@]}"; do
    name="S4-$mode-$seed"
    start_server "$name" --stream-mode "$mode"
    start_relay "$name" "$server_addr" --seed "$seed" \
      --delay-up "$delay" --loss-up "$loss_up" --delay-down "$delay" --loss-down "$loss_down"
    if ! "${client_prefix[@]}" "$bin/chatroom-bench" --server "$relay_addr" --pin "$server_pin" \
        --payload 64 --stream-mode "$mode" --server-pid "$server_pid" --drain-timeout 30 --json \
        --clients "$clients" --rate "$rate" --messages "$messages" >"$work/$name.json"; then
      echo "bench: $name failed" >&2
      rm -f "$work/$name.json"
    fi
    stop_relay
    stop_server
    sed -n 's/^relay stats: //p' "$work/$name.relay" >"$work/$name.relay.json"
    echo "$name done: relay $(cat "$work/$name.relay.json")" >&2
  done
done

printf '\n| seed | mode | deliveries | lost | one way p50 ms | p99 ms | p99.9 ms | max ms | send→delivery p99 ms | down datagrams dropped | server µs/deliv |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for seed in $(seq 1 "$seeds"); do
  for mode in per-message single; do
    name="S4-$mode-$seed"
    [[ -s "$work/$name.json" ]] || continue
    jq -r --arg seed "$seed" --arg mode "$mode" --slurpfile relay "$work/$name.relay.json" '
      def ms: . / 1000 | (. * 10 | round) / 10;
      "| \($seed) | \($mode) | \(.deliveries)/\(.expected_deliveries) | \(.lost) | \(.one_way_us.p50 | ms) | \(.one_way_us.p99 | ms) | \(.one_way_us.p999 | ms) | \(.one_way_us.max | ms) | \(.latency_us.p99 | ms) | \($relay[0].down_dropped // "?") of \(($relay[0].down_dropped // 0) + ($relay[0].down_forwarded // 0)) | \((.server.cpu_us_per_delivery * 100 | round) / 100) |"
    ' "$work/$name.json"
  done
done

# reports MODE: the mode's reports, comma-separated.
reports() {
  local files=()
  for seed in $(seq 1 "$seeds"); do
    [[ -s "$work/S4-$1-$seed.json" ]] && files+=("$work/S4-$1-$seed.json")
  done
  local IFS=,
  echo "${files[*]}"
}
per_message=$(reports per-message)
single=$(reports single)
if [[ -z "$per_message" || -z "$single" ]]; then
  echo "bench: no complete run of one of the modes" >&2
  exit 1
fi
out=${plot:-$work/s4-cdf.png}
echo
"$bin/chatroom-bench" plot --field one_way_buckets_us --floor-ms "$delay" --late-ms "$late" \
  --title "S4: one-way latency, ${loss_down} % downlink loss, ${delay} ms each way, $((clients * rate)) events/s per receiver, $seeds × $run_seconds s per mode" \
  --series "per-message=$per_message" --series "single=$single" --out "$out"
echo "(goal: single p99 / per-message p99 at least 2.5)"
[[ -n "$plot" ]] && echo "chart: $plot" >&2
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  # The reports, the relay's counts and the servers' logs (with
  # BENCH_SERVER_LOG=chatroom_server::connection=debug, each connection's
  # lost packets and congestion events at its close).
  cp "$work"/*.json "$work"/*.err "$BENCH_KEEP"/ 2>/dev/null || true
fi
