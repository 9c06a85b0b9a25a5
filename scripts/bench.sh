#!/usr/bin/env bash
# The fan-out benchmark's standard scenarios against a release chatroom-server
# on loopback (fresh temporary data directory and SQLite for each), printed as
# a table. BENCH_SCALE=small runs reduced versions in well under a minute.
# Arguments pick scenarios (default: S1 S2 S3); BENCH_ARGS adds chatroom-bench
# flags (e.g. "--connections-per-endpoint 50"); BENCH_SERVER_ARGS adds server flags;
# BENCH_SERVER_BIN runs another server build (A/B against the same bench).
#   S1 burst: 50 clients × 1,000 messages, unpaced, 64 B
#   S2 paced: 50 clients × 40 msg/s for 5 s, 64 B
#   S3 crowd: 1,000 clients × 1 msg/s for 20 s, 64 B
#   S3p, S3p10 (S3′, not run by default): 2,000 clients, each in a lobby
#     (2 msg/s in total), one of 20 rooms of 100 (1 msg/s each) and one of
#     500 groups of 4 (0.05 msg/s each), for 60 s, at ×1 and ×10
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
build_release

scale=${BENCH_SCALE:-full}
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(S1 S2 S3)

# scenario_args NAME: the chatroom-bench flags of a scenario at this scale.
scenario_args() {
  case "$scale:$1" in
    full:S1) echo "--clients 50 --messages 1000" ;;
    full:S2) echo "--clients 50 --rate 40 --messages 200" ;;
    full:S3) echo "--clients 1000 --rate 1 --messages 20 --connections-per-endpoint 50" ;;
    small:S1) echo "--clients 10 --messages 200" ;;
    small:S2) echo "--clients 10 --rate 40 --messages 80" ;;
    small:S3) echo "--clients 100 --rate 1 --messages 5 --connections-per-endpoint 50" ;;
    full:S3p) echo "crowd --scale 1" ;;
    full:S3p10) echo "crowd --scale 10" ;;
    small:S3p) echo "crowd --clients 200 --room-size 20 --seconds 10 --scale 1" ;;
    small:S3p10) echo "crowd --clients 200 --room-size 20 --seconds 10 --scale 10" ;;
    *) echo "bench: unknown scenario $1 or BENCH_SCALE $scale" >&2; exit 2 ;;
  esac
}

machine_line
results=()
crowds=()
for name in "${scenarios[@]}"; do
  args=$(scenario_args "$name")
  # shellcheck disable=SC2086 # the flags are meant to split
  start_server "$name" ${BENCH_SERVER_ARGS:-}
  if [[ $args == crowd* ]]; then
    echo "$name: chatroom-bench $args" >&2
    # shellcheck disable=SC2086
    if ! "$bin/chatroom-bench" $args --server "$server_addr" --pin "$server_pin" \
        --server-pid "$server_pid" --json >"$work/$name.json"; then
      echo "bench: $name failed" >&2
      tail -5 "$work/$name.err" >&2
    fi
    stop_server
    [[ -s "$work/$name.json" ]] && crowds+=("$name")
    continue
  fi
  echo "$name: chatroom-bench $args ${BENCH_ARGS:-}" >&2
  # shellcheck disable=SC2086
  if ! "$bin/chatroom-bench" --server "$server_addr" --pin "$server_pin" --payload 64 \
      --server-pid "$server_pid" --json $args ${BENCH_ARGS:-} >"$work/$name.json"; then
    echo "bench: $name failed" >&2
    tail -5 "$work/$name.err" >&2
  fi
  stop_server
  add_server_totals "$name"
  [[ -s "$work/$name.json" ]] && results+=("$name")
done

if [[ ${#results[@]} -gt 0 ]]; then
printf '\n| scenario | clients × msgs | deliveries | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | lost | dup | resync | server µs/deliv | server peak RSS MiB | bench µs/deliv |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for name in "${results[@]}"; do
  jq -r --arg name "$name" '
    def ms: . / 1000 | (. * 100 | round) / 100;
    def r2: (. * 100 | round) / 100;
    "| \($name) | \(.clients) × \(.messages_per_client)\(if .rate_per_client then " @\(.rate_per_client)/s" else "" end) | \(.deliveries)/\(.expected_deliveries) | \(.deliveries_per_second | round) | \(.latency_us.p50 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.p999 | ms) | \(.latency_us.max | ms) | \(.lost) | \(.duplicates) | \(.resyncs) | \(.server.cpu_us_per_delivery | r2) | \(.server.peak_rss_mib | round) | \(.bench.cpu_us_per_delivery | r2) |"
  ' "$work/$name.json"
done
# The transport per delivery: the server's figures are over its whole life
# (set-up included), the clients' over the measured phase only.
printf '\n| scenario | server datagrams/deliv | server sendmsg/deliv | server ACK frames rx/deliv | client datagrams rx/deliv | client datagrams tx/deliv | client ACK frames/deliv |\n'
printf '|---|---|---|---|---|---|---|\n'
for name in "${results[@]}"; do
  jq -r --arg name "$name" '
    def r3: (. * 1000 | round) / 1000;
    def per(x): if .deliveries > 0 and x != null then (x / .deliveries | r3) else "-" end;
    "| \($name) | \(per(.server_transport.datagrams_sent)) | \(per(.server_transport.send_calls)) | \(per(.server_transport.ack_frames_received)) | \(.transport.datagrams_received_per_delivery | r3) | \(.transport.datagrams_sent_per_delivery | r3) | \(.transport.ack_frames_per_delivery | r3) |"
  ' "$work/$name.json"
done
fi
# S3′: one row per kind of room, then the whole run and the server's memory.
if [[ ${#crowds[@]} -gt 0 ]]; then
  printf '\n| scenario | kind | rooms × members | msg/s per room | deliveries | lost | dup | p50 ms | p99 ms | p99.9 ms | max ms |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
  for name in "${crowds[@]}"; do
    jq -r --arg name "$name" '
      def ms: . / 1000 | (. * 100 | round) / 100;
      (.kinds[] | "| \($name) | \(.kind) | \(.rooms) × \(.members) | \(.rate_per_room) | \(.deliveries)/\(.expected_deliveries) | \(.lost) | \(.duplicates) | \(.latency_us.p50 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.p999 | ms) | \(.latency_us.max | ms) |"),
      "| \($name) | all (\(.connected)/\(.clients) clients, \(.resyncs) resyncs) | | | \(.deliveries)/\(.expected_deliveries) | \(.lost) | \(.duplicates) | \(.latency_us.p50 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.p999 | ms) | \(.latency_us.max | ms) |"
    ' "$work/$name.json"
  done
  printf '\n| scenario | deliveries/s | server RSS start MiB | server RSS idle, all in their rooms MiB | server peak RSS MiB | server µs/deliv | bench µs/deliv |\n'
  printf '|---|---|---|---|---|---|---|\n'
  for name in "${crowds[@]}"; do
    jq -r --arg name "$name" '
      def r1: if . == null then "-" else (. * 10 | round) / 10 end;
      "| \($name) | \(.deliveries_per_second | round) | \(.server_rss_start_mib | r1) | \(.server_rss_idle_mib | r1) | \(.server_peak_rss_mib | r1) | \(.server_cpu_us_per_delivery | r1) | \(.bench_cpu_us_per_delivery | r1) |"
    ' "$work/$name.json"
  done
fi
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  cp "$work"/*.json "$BENCH_KEEP"/ 2>/dev/null || true
fi
