#!/usr/bin/env bash
# S2 side by side with a mature C chat server: the same paced load (50
# clients in one room/channel × 40 msg/s, 200 messages each, 64 B of text,
# TLS) against our release server and against ngIRCd (Debian's package, TLS
# through GnuTLS), alternating ROUNDS times in one run, and prints one
# table: deliveries, latency percentiles, server CPU per delivery, peak RSS.
# Environment: ROUNDS (3), BENCH_SCALE=small for a quick run, BENCH_KEEP=DIR
# keeps the JSON reports, BENCH_NO_BUILD=1 reuses the binaries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
build_release
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
  cargo build --release -q -p chatroom-bench --bin chatroom-irc-bench
fi

if ! command -v ngircd >/dev/null 2>&1 && [[ ! -x /usr/sbin/ngircd ]]; then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # The package would start its own daemon on 6667 where an init system runs.
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq ngircd >/dev/null
  "${sudo_cmd[@]}" pkill -x ngircd 2>/dev/null || true
fi
ngircd=$(command -v ngircd || echo /usr/sbin/ngircd)

rounds=${ROUNDS:-3}
if [[ ${BENCH_SCALE:-full} == small ]]; then
  load=(--clients 10 --rate 40 --messages 80)
else
  load=(--clients 50 --rate 40 --messages 200)
fi

# ngIRCd runs as the user who starts it, in its own readable folder, with a
# throw-away self-signed certificate (an end entity, which the bench trusts
# as its only root); connection and join limits opened up as ours are, and
# the bench's clients become operators with user mode F, which ngIRCd
# exempts from its flood throttling (256 bytes/s per client otherwise) —
# ours runs with --send-rate opened up the same way.
irc="$work/irc"
mkdir -p "$irc"
chmod 755 "$work" "$irc"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$irc/key.pem" -out "$irc/cert.pem" -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -addext basicConstraints=critical,CA:FALSE \
  -addext extendedKeyUsage=serverAuth 2>/dev/null
chmod 644 "$irc"/*.pem
irc_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
plain_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$irc/ngircd.conf" <<EOF
[Global]
Name = bench.irc.local
Info = chatroom S2 side by side
AdminInfo1 = benchmark
AdminInfo2 = loopback
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = $plain_port
PidFile = $irc/ngircd.pid
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
PingTimeout = 300
PongTimeout = 120
[Operator]
Name = bench
Password = bench
[Options]
DNS = no
Ident = no
PAM = no
[SSL]
CertFile = $irc/cert.pem
KeyFile = $irc/key.pem
Ports = $irc_port
EOF

irc_pid=""
start_irc() {
  "$ngircd" -n -f "$irc/ngircd.conf" >"$irc/out" 2>&1 &
  irc_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$irc_port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: ngIRCd did not start" >&2
  cat "$irc/out" >&2
  exit 1
}
stop_irc() {
  [[ -n "$irc_pid" ]] && kill "$irc_pid" 2>/dev/null || true
  wait "$irc_pid" 2>/dev/null || true
  irc_pid=""
}
trap 'stop_irc; cleanup' EXIT

machine_line
echo "S2 side by side: ${load[*]}, 64 B, TLS; $rounds rounds, alternating" >&2
for round in $(seq "$rounds"); do
  start_server "S2-ours-$round"
  "$bin/chatroom-bench" --server "$server_addr" --pin "$server_pin" --payload 64 \
    --server-pid "$server_pid" --drain-timeout 30 --json "${load[@]}" \
    >"$work/ours-$round.json" || echo "bench: our run $round failed" >&2
  stop_server
  start_irc
  "$bin/chatroom-irc-bench" --server "127.0.0.1:$irc_port" --ca "$irc/cert.pem" \
    --oper bench:bench --payload 64 --server-pid "$irc_pid" --drain-timeout 30 --json "${load[@]}" \
    >"$work/irc-$round.json" || echo "bench: the IRC run $round failed" >&2
  stop_irc
done

printf '\n| S2 server | round | deliveries | lost | p50 ms | p90 ms | p99 ms | max ms | server µs/delivery | server peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n'
for round in $(seq "$rounds"); do
  for who in ours irc; do
    name=$([[ $who == ours ]] && echo "chatroom" || echo "ngIRCd")
    jq -r --arg name "$name" --arg round "$round" '
      def ms: . / 1000 | (. * 100 | round) / 100;
      "| \($name) | \($round) | \(.deliveries)/\(.expected_deliveries) | \(.lost) | \(.latency_us.p50 | ms) | \(.latency_us.p90 | ms) | \(.latency_us.p99 | ms) | \(.latency_us.max | ms) | \((.server.cpu_us_per_delivery * 100 | round) / 100) | \((.server.peak_rss_mib * 10 | round) / 10) |"
    ' "$work/$who-$round.json" 2>/dev/null || echo "| $name | $round | failed | | | | | | | |"
  done
done
# The distributions, pooled over the rounds: PLOT=FILE (default
# ${TMPDIR:-/tmp}/s2-irc-cdf.png, so a measuring run leaves the committed
# chart alone; PLOT=docs/s2-irc-cdf.png replaces it; PLOT= skips the chart).
plot=${PLOT-${TMPDIR:-/tmp}/s2-irc-cdf.png}
if [[ -n "$plot" ]]; then
  ours=$(ls "$work"/ours-*.json | paste -sd, -)
  theirs=$(ls "$work"/irc-*.json | paste -sd, -)
  "$bin/chatroom-bench" plot --series "chatroom=$ours" --series "ngIRCd=$theirs" \
    --title "S2: ${load[*]}, send to delivery, $rounds rounds" --out "$plot" \
    && echo "chart: $plot" >&2
fi
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  cp "$work"/ours-*.json "$work"/irc-*.json "$BENCH_KEEP"/ 2>/dev/null || true
fi
