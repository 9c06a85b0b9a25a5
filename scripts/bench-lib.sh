# Helpers shared by scripts/bench.sh and scripts/bench-loss.sh (sourced, not run).
# Expects $root; sets $bin, $work and the cleanup trap.

# BENCH_NO_BUILD=1 uses the binaries as they are (to compare runs of one build).
build_release() {
  if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    cargo build --release -q -p chatroom-server -p chatroom-bench \
      --bin chatroom-server --bin chatroom-bench
  fi
  bin=${CARGO_TARGET_DIR:-$root/target}/release
  # BENCH_SERVER_BIN runs another server build against this bench (A/B).
  server_bin=${BENCH_SERVER_BIN:-$bin/chatroom-server}
}

# SERVER_CPUS and CLIENT_CPUS (taskset lists, e.g. 0 and 1) pin the server,
# and the relay and the benchmark, to separate CPUs; unset or empty, nothing is
# pinned. Arrays, so that $! stays the pid of the process itself (taskset
# execs it).
server_prefix=()
client_prefix=()
if [[ -n "${SERVER_CPUS:-}" ]] && command -v taskset >/dev/null; then
  server_prefix=(taskset -c "$SERVER_CPUS")
fi
if [[ -n "${CLIENT_CPUS:-}" ]] && command -v taskset >/dev/null; then
  client_prefix=(taskset -c "$CLIENT_CPUS")
fi

work=$(mktemp -d)
server_pid=""
relay_pid=""
cleanup() {
  [[ -n "$relay_pid" ]] && kill "$relay_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME [extra flags...]: a release server on a free loopback port
# with a fresh data directory and flood control opened up; sets server_pid,
# server_addr and server_pin. BENCH_SERVER_FLAGS (split on spaces) adds flags
# to every server a script starts, e.g. "--push-delay-ms 1" to measure one.
start_server() {
  local name=$1 extra=()
  shift
  read -r -a extra <<<"${BENCH_SERVER_FLAGS:-}"
  RUST_LOG=${BENCH_SERVER_LOG:-warn,chatroom_server::transport_totals=info} \
    "${server_prefix[@]}" "$server_bin" --listen 127.0.0.1:0 \
    --data-dir "$work/$name" \
    --send-rate 1000000 --send-burst 1000000 \
    --registrations-per-hour 1000000000 --registration-burst 1000000 \
    --max-connections-per-ip 100000 "$@" ${extra[@]+"${extra[@]}"} \
    >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  # Up to a minute: under valgrind (bench-instructions.sh) start-up is slow.
  for _ in $(seq 600); do
    grep -q "fingerprint" "$work/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  server_addr=$(sed -n 's/^Chatroom server listening on \([^ ]*\).*/\1/p' "$work/$name.out")
  server_pin=$(sed -n 's/^CA SHA-256 fingerprint: //p' "$work/$name.out")
  if [[ -z "$server_addr" || -z "$server_pin" ]]; then
    echo "bench: the server did not start" >&2
    cat "$work/$name.err" >&2
    exit 1
  fi
}

stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

# add_server_totals NAME: merges the stopped server's `transport totals` log
# line (datagrams, sendmsg calls, ACK frames over its life, set-up included)
# into $work/NAME.json as .server_transport.
add_server_totals() {
  local name=$1 line fields
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$work/$name.err" | grep 'transport totals' | tail -1) || return 0
  fields=$(grep -o '[a-z_]*=[0-9]*' <<<"$line" | sed 's/^\([a-z_]*\)=\([0-9]*\)$/"\1":\2/' | paste -sd,)
  [[ -n "$fields" && -s "$work/$name.json" ]] || return 0
  jq --argjson t "{$fields}" '.server_transport = $t' "$work/$name.json" >"$work/$name.json.tmp" &&
    mv "$work/$name.json.tmp" "$work/$name.json"
}

# start_relay NAME TO [flags...]: the lossy relay on a free loopback port; sets
# relay_pid and relay_addr.
start_relay() {
  local name=$1 to=$2
  shift 2
  "${client_prefix[@]}" "$bin/chatroom-bench" relay --listen 127.0.0.1:0 --to "$to" "$@" 2>"$work/$name.relay" &
  relay_pid=$!
  for _ in $(seq 100); do
    grep -q "^relaying" "$work/$name.relay" 2>/dev/null && break
    sleep 0.1
  done
  relay_addr=$(sed -n 's/^relaying \([^ ]*\) .*/\1/p' "$work/$name.relay")
  [[ -n "$relay_addr" ]] || { echo "bench: the relay did not start" >&2; cat "$work/$name.relay" >&2; exit 1; }
}

stop_relay() {
  if [[ -n "$relay_pid" ]]; then
    kill -TERM "$relay_pid" 2>/dev/null || true
    wait "$relay_pid" 2>/dev/null || true
    relay_pid=""
  fi
}

# machine_line: what the numbers were measured on.
machine_line() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "machine: $(nproc) cores ($cpu), load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
