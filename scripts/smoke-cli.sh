#!/usr/bin/env bash
# Two chatroom-cli processes chat through a real chatroom-server binary that
# generated its own certificates; fails loudly if any step does not work.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build -q --workspace --bin chatroom-server --bin chatroom-cli
bin=${CARGO_TARGET_DIR:-$root/target}/debug
work=$(mktemp -d)
server_pid=""
listen_pid=""
cleanup() {
  [[ -n "$listen_pid" ]] && kill "$listen_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/chatroom-server" --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "fingerprint" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/^Chatroom server listening on \([^ ]*\).*/\1/p' "$work/server.out")
pin=$(sed -n 's/^CA SHA-256 fingerprint: //p' "$work/server.out")
[[ -n "$addr" && -n "$pin" ]] || { echo "smoke: server did not start"; cat "$work/server.err"; exit 1; }
[[ -f "$work/data/certs/ca.pem" ]] || { echo "smoke: no generated CA"; exit 1; }
echo "smoke: server on $addr, CA $pin"

cli() { CHATROOM_PASSPHRASE="a passphrase of ours" "$bin/chatroom-cli" --server "$addr" "$@"; }
cli --pin "$pin" register alice alice@example.org
cli --ca "$work/data/certs/ca.pem" register bob bob@example.org

cli --pin "$pin" --user bob listen lobby --count 2 >"$work/bob.out" &
listen_pid=$!
for _ in $(seq 100); do
  cli --pin "$pin" --user alice who lobby | grep -qx bob && break
  sleep 0.2
done
cli --pin "$pin" --user alice send lobby "hello from alice"
cli --pin "$pin" --user alice send lobby "你好，bob 👋"
for _ in $(seq 100); do
  kill -0 "$listen_pid" 2>/dev/null || break
  sleep 0.1
done
wait "$listen_pid"
listen_pid=""
cat "$work/bob.out"
grep -q "alice: hello from alice" "$work/bob.out"
grep -q "alice: 你好，bob 👋" "$work/bob.out"

# SIGTERM shuts down gracefully.
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
grep -q "shutdown complete" "$work/server.err"

# kill -9 right after acknowledgements: every acknowledged message survives.
start_server() {
  : >"$work/server.out"
  "$bin/chatroom-server" --listen "$addr" --data-dir "$work/data" >"$work/server.out" 2>>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "fingerprint" "$work/server.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "smoke: server did not restart"; cat "$work/server.err"; exit 1
}
start_server
acked=()
for i in 1 2 3 4 5; do
  acked+=("$(cli --pin "$pin" --user alice send lobby "durable $i" | sed -n 's/^sent #//p')")
done
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
start_server
cli --pin "$pin" --user alice history lobby --limit 50 >"$work/history.out"
for i in 1 2 3 4 5; do
  n=$(grep -c "alice: durable $i\$" "$work/history.out")
  [[ "$n" == 1 ]] || { echo "smoke: 'durable $i' stored $n times after kill -9"; cat "$work/history.out"; exit 1; }
  grep -q "^\[lobby#${acked[$((i-1))]}\] alice: durable $i\$" "$work/history.out" || { echo "smoke: 'durable $i' lost its sequence number"; exit 1; }
done
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
echo "smoke: 3 passed, 0 failed"
