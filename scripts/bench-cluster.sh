#!/usr/bin/env bash
# The cluster figures of docs/performance.md: the same paced load on one
# node (MariaDB, no cluster), on one node joined to NATS (publishing every
# message, nobody listening), and on three nodes behind one NATS server
# (client i on node i mod 3), each on loopback with a fresh MariaDB
# database, release binaries. Prints the table: latency of same-node against
# cross-node deliveries, and CPU per delivery of the nodes and of NATS.
#   BENCH_CLUSTER_ARGS  chatroom-bench load flags
#                       (default "--clients 30 --rate 20 --messages 300")
#   BENCH_NO_BUILD=1    use the release binaries as they are
#   BENCH_KEEP=DIR      keep the JSON reports there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
scripts/mariadb.sh >/dev/null

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  # Workspace-level, so features resolve as for every other build here.
  cargo build --release -q --workspace --bin chatroom-server --bin chatroom-bench
fi
bin=${CARGO_TARGET_DIR:-$root/target}/release
load=${BENCH_CLUSTER_ARGS:---clients 30 --rate 20 --messages 300}

pids=()
databases=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
drop_databases() {
  for db in "${databases[@]}"; do
    mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS \`$db\`" || true
  done
}
trap 'stop_all; drop_databases; cleanup' EXIT

"$bin/chatroom-server" gen-certs --out "$work/certs" --name localhost --name 127.0.0.1 >/dev/null

# fresh_database NAME: a new utf8mb4 database; sets database_url.
fresh_database() {
  local db="chatroom_bench_$1_$$"
  mariadb -h 127.0.0.1 -u root -e \
    "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  databases+=("$db")
  database_url="mysql://root@127.0.0.1:3306/$db"
}

# start_nats: a nats-server on a free port (JetStream on, as the test kit's);
# sets nats_pid and nats_url.
start_nats() {
  local port nats
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nats=$(command -v nats-server || echo /usr/sbin/nats-server)
  "$nats" -a 127.0.0.1 -p "$port" -js -sd "$work/nats-$port" >"$work/nats-$port.log" 2>&1 &
  nats_pid=$!
  pids+=("$nats_pid")
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  nats_url="nats://127.0.0.1:$port"
}

# start_node NAME [flags...]: a release node on a free loopback port with
# flood control opened up; appends to node_addrs and node_pids.
start_node() {
  local name=$1
  shift
  RUST_LOG=${BENCH_SERVER_LOG:-warn} "$bin/chatroom-server" --listen 127.0.0.1:0 \
    --data-dir "$work/$name" --certs "$work/certs" \
    --send-rate 1000000 --send-burst 1000000 \
    --registrations-per-hour 1000000000 --registration-burst 1000000 \
    --max-connections-per-ip 100000 "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 300); do
    grep -q "fingerprint" "$work/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  local addr
  addr=$(sed -n 's/^Chatroom server listening on \([^ ]*\).*/\1/p' "$work/$name.out")
  pin=$(sed -n 's/^CA SHA-256 fingerprint: //p' "$work/$name.out")
  if [[ -z "$addr" || -z "$pin" ]]; then
    echo "bench-cluster: node $name did not start" >&2
    cat "$work/$name.err" >&2
    exit 1
  fi
  node_addrs+=("$addr")
  node_pids+=("$pid")
}

# run NAME: chatroom-bench over the nodes started since the last run.
run() {
  local name=$1
  shift
  local servers server_pids
  servers=$(IFS=,; echo "${node_addrs[*]}")
  server_pids=$(IFS=,; echo "${node_pids[*]}")
  echo "$name: chatroom-bench --server $servers $load $*" >&2
  # shellcheck disable=SC2086 # the flags are meant to split
  "$bin/chatroom-bench" --server "$servers" --pin "$pin" --payload 64 \
    --server-pid "$server_pids" --drain-timeout 30 --json $load "$@" >"$work/$name.json"
}

machine_line

# One node, no cluster: the baseline.
node_addrs=() node_pids=()
fresh_database one
start_node one --database "$database_url"
run one-node
stop_all

# One node joined to NATS: it publishes every message, nobody subscribes
# (the publishing side of the hop alone).
node_addrs=() node_pids=()
fresh_database publish
start_nats
start_node publish --database "$database_url" --cluster "$nats_url" \
  --cluster-name bench --node-id solo
run one-node-publishing --nats-pid "$nats_pid"
stop_all

# Three nodes, one NATS server.
node_addrs=() node_pids=()
fresh_database three
start_nats
for n in 1 2 3; do
  start_node "node$n" --database "$database_url" --cluster "$nats_url" \
    --cluster-name bench --node-id "node$n"
done
run three-nodes --nats-pid "$nats_pid"
stop_all

printf '\n| run | deliveries | deliveries/s | p50 / p99 / p99.9 ms (all) | same node p50 / p99 / p99.9 ms | cross node p50 / p99 / p99.9 ms | nodes µs/deliv | NATS µs/deliv | together µs/deliv | lost | dup |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for name in one-node one-node-publishing three-nodes; do
  jq -r --arg name "$name" '
    def ms: . / 1000 | (. * 100 | round) / 100;
    def r2: (. * 100 | round) / 100;
    def pct(l): "\(l.p50 | ms) / \(l.p99 | ms) / \(l.p999 | ms)";
    "| \($name) | \(.deliveries)/\(.expected_deliveries) | \(.deliveries_per_second | round) | \(pct(.latency_us)) | \(if .cluster then pct(.cluster.same_node.latency_us) else "—" end) | \(if .cluster then pct(.cluster.cross_node.latency_us) else "—" end) | \(.server.cpu_us_per_delivery | r2) | \(if .nats then (.nats.cpu_us_per_delivery | r2) else "—" end) | \(.server.cpu_us_per_delivery + (.nats.cpu_us_per_delivery // 0) | r2) | \(.lost) | \(.duplicates) |"
  ' "$work/$name.json"
done
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  cp "$work"/*.json "$BENCH_KEEP"/
fi
