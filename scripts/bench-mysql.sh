#!/usr/bin/env bash
# What one more `Send` costs the MySQL store, counted by MariaDB itself:
# statements (`Questions`), pings and other admin commands
# (`Com_admin_commands`) and commits, from its global status before and after
# a bench run. Two runs per server build, with the same clients and different
# message counts: set-up (registration, login, join) cancels out, and
# (B - A) / extra sends is the cost of one more message. Send-to-delivery
# latency of the longer run beside it.
#
#   scripts/bench-mysql.sh LABEL=SERVER_BINARY...   (default: this tree's release build)
#
# Environment: MYSQL_URL (mysql://root@127.0.0.1:3306; a database
# bench_LABEL is created afresh per build), CLIENTS (10), MESSAGES_A (20),
# MESSAGES_B (120), BENCH_NO_BUILD=1 skips the build. The counters are the
# server's global ones: run it while nothing else uses that MariaDB.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/bench-lib.sh
build_release

url=${MYSQL_URL:-mysql://root@127.0.0.1:3306}
clients=${CLIENTS:-10}
messages_a=${MESSAGES_A:-20}
messages_b=${MESSAGES_B:-120}
hostport=${url#mysql://}
hostport=${hostport#*@}
host=${hostport%:*}
port=${hostport##*:}
user=${url#mysql://}
user=${user%@*}
sql() { mysql -N -B -u"$user" -h"$host" -P"$port" -e "$1"; }
# counters: "questions admin commits" now.
counters() {
  sql "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_admin_commands','Com_commit')" |
    awk '{v[$1]=$2} END {print v["Questions"], v["Com_admin_commands"], v["Com_commit"]}'
}
if ! sql "SELECT 1" >/dev/null 2>&1; then
  # The machine's MariaDB, started when it is down (the default URL's).
  CI=true scripts/mariadb.sh || true
fi
if ! sql "SELECT 1" >/dev/null; then
  echo "bench-mysql: cannot reach MariaDB at $host:$port" >&2
  exit 1
fi

builds=("$@")
[[ ${#builds[@]} -gt 0 ]] || builds=("this=$server_bin")

machine_line
echo "| build | sends (A → B) | statements / Send | admin commands / Send | commits / Send | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for build in "${builds[@]}"; do
  label=${build%%=*}
  server_bin=${build#*=}
  db="bench_$label"
  sql "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\`"
  declare -A delta=()
  for run in a b; do
    messages=$messages_a
    [[ $run == b ]] && messages=$messages_b
    start_server "$label-$run" --database "$url/$db"
    read -r q0 a0 c0 < <(counters)
    "$bin/chatroom-bench" --server "$server_addr" --pin "$server_pin" \
      --clients "$clients" --messages "$messages" --payload 64 \
      --setup-concurrency 2 --json >"$work/$label-$run.json"
    read -r q1 a1 c1 < <(counters)
    stop_server
    delta[$run]="$((q1 - q0)) $((a1 - a0)) $((c1 - c0))"
  done
  read -r qa aa ca <<<"${delta[a]}"
  read -r qb ab cb <<<"${delta[b]}"
  extra=$((clients * (messages_b - messages_a)))
  per() { awk -v d="$1" -v n="$extra" 'BEGIN {printf "%.2f", d / n}'; }
  lat=$(jq -r '"\(.latency_us.p50 / 1000 * 100 | round / 100) | \(.latency_us.p99 / 1000 * 100 | round / 100)"' "$work/$label-b.json")
  echo "| $label | $((clients * messages_a)) → $((clients * messages_b)) | $(per $((qb - qa))) | $(per $((ab - aa))) | $(per $((cb - ca))) | $lat |"
done
