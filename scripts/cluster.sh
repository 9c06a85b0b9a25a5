#!/usr/bin/env bash
# Starts a local 3-node Chatroom cluster to try: a NATS server of its own,
# a MariaDB database `chatroom_cluster` on 127.0.0.1:3306, and three
# chatroom-server nodes on UDP 4433, 4434 and 4435 sharing one CA. Ctrl-C
# stops them all. Connect the app or the CLI to
# 127.0.0.1:4433,127.0.0.1:4434,127.0.0.1:4435 (docs/cluster.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/mariadb.sh

work=${CHATROOM_CLUSTER_DIR:-$root/target/cluster}
nats_port=${CHATROOM_CLUSTER_NATS_PORT:-4322}
database=mysql://root@127.0.0.1:3306/chatroom_cluster
mkdir -p "$work"
mariadb -h 127.0.0.1 -u root -e \
    "CREATE DATABASE IF NOT EXISTS chatroom_cluster CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"

# CHATROOM_CLUSTER_DEBUG=1 uses the debug build (quicker to build, slower to run).
if [ "${CHATROOM_CLUSTER_DEBUG:-0}" = 1 ]; then
    cargo build --workspace --bin chatroom-server
    server=${CARGO_TARGET_DIR:-$root/target}/debug/chatroom-server
else
    cargo build --release --bin chatroom-server
    server=${CARGO_TARGET_DIR:-$root/target}/release/chatroom-server
fi
if [ ! -f "$work/certs/ca.pem" ]; then
    "$server" gen-certs --out "$work/certs" --name localhost --name 127.0.0.1
fi

pids=()
stop() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

nats=$(command -v nats-server || echo /usr/sbin/nats-server)
# JetStream on: the nodes keep presence in a key-value bucket.
"$nats" -a 127.0.0.1 -p "$nats_port" -js -sd "$work/nats" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null; then break; fi
    sleep 0.1
done

for n in 1 2 3; do
    port=$((4432 + n))
    "$server" --listen "127.0.0.1:$port" --data-dir "$work/node$n" \
        --database "$database" --certs "$work/certs" \
        --cluster "nats://127.0.0.1:$nats_port" --node-id "node$n" --name "Chatroom (node $n)" \
        2>"$work/node$n.log" &
    pids+=($!)
done

echo "cluster: 3 nodes on 127.0.0.1:4433,127.0.0.1:4434,127.0.0.1:4435 (NATS on $nats_port)"
echo "cluster: CA $work/certs/ca.pem; logs in $work/*.log; Ctrl-C stops everything"
wait -n "${pids[@]}"
echo "cluster: a process ended; stopping the rest (see $work/*.log)" >&2
