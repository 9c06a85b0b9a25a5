#!/usr/bin/env bash
# S5: text beside file transfers. Through `chatroom-bench relay` (0.5 % loss and
# 20 ms delay in each direction, seeded), 20 clients chat in one room at 2
# texts/s each; in the "files" cases the first 4 of them each upload an 8 MiB
# file (2 s in) and post it, and texts go on until the uploads are done. Four
# cases per seed: per-message and single stream mode, with and without files.
# Prints one row per case and seed, then the cases pooled over the seeds
# (text latency of the texts sent while uploads ran; the whole run without
# files), the ratios against the targets, and upload throughput.
# Environment: SEEDS ("1 2 3"), LOSS (0.5), DELAY_MS (20), FILES (4),
# FILE_MIB (8), BENCH_SCALE=small for a quick run, BENCH_KEEP=DIR keeps the JSON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
build_release

loss=${LOSS:-0.5}
delay=${DELAY_MS:-20}
seeds=${SEEDS:-1 2 3}
files=${FILES:-4}
file_mib=${FILE_MIB:-8}
if [[ ${BENCH_SCALE:-full} == small ]]; then
  load="--clients 10 --rate 2 --messages 10"
  file_mib=${FILE_MIB:-2}
else
  load="--clients 20 --rate 2 --messages 40"
fi

machine_line
echo "S5: $load, 64 B texts; $files × $file_mib MiB uploads; relay loss ${loss}% delay ${delay} ms each way; seeds $seeds" >&2
for seed in $seeds; do
  for mode in per-message single; do
    for n in 0 "$files"; do
      case="$mode-$n-$seed"
      start_server "S5-$case" --stream-mode "$mode"
      start_relay "S5-$case" "$server_addr" --loss "$loss" --delay-ms "$delay" --seed "$seed"
      # shellcheck disable=SC2086 # the flags are meant to split
      "$bin/chatroom-bench" files --server "$relay_addr" --pin "$server_pin" --payload 64 \
        --stream-mode "$mode" --files "$n" --file-mib "$file_mib" --drain-timeout 30 \
        --json --cdf $load >"$work/S5-$case.json" || echo "bench: S5 $case failed" >&2
      stop_relay
      stop_server
      echo "relay ($case): $(sed -n 's/^relay stats: //p' "$work/S5-$case.relay")" >&2
    done
  done
done

# The latency of a case: texts sent while uploads ran, or the whole run without files.
printf '\n| S5 mode | files | seed | deliveries | p50 ms | p99 ms | max ms | uploaders p99 ms | others p99 ms | MiB/s per upload | MiB/s total |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
for seed in $seeds; do
  for mode in per-message single; do
    for n in 0 "$files"; do
      jq -r --arg seed "$seed" '
        def ms: . / 1000 | (. * 10 | round) / 10;
        def r1: (. * 10 | round) / 10;
        (if .files > 0 then .text_during_us else .text_all_us end) as $t
        | "| \(.stream_mode) | \(.files) | \($seed) | \(.deliveries)/\(.expected_deliveries) | \($t.p50 | ms) | \($t.p99 | ms) | \($t.max | ms) | "
          + (if .files > 0 then "\(.text_during_uploaders_us.p99 | ms) | \(.text_during_others_us.p99 | ms) | \([.uploads[].mib_per_second | r1] | join(", ")) | \(.total_mib_per_second | r1) |"
             else "– | – | – | – |" end)
      ' "$work/S5-$mode-$n-$seed.json"
    done
  done
done

# Pooled over the seeds: every delivery's latency of the case, merged.
pooled() { # MODE FILES -> "p50 p99 max" in ms
  local mode=$1 n=$2 s
  for s in $seeds; do jq -c '.cdf_us' "$work/S5-$mode-$n-$s.json"; done |
    jq -rs 'add | sort | length as $n
      | if $n == 0 then "0 0 0" else
        [.[($n * 0.5 | floor)], .[([($n * 0.99 | floor), $n - 1] | min)], .[$n - 1]]
        | map(. / 1000 | (. * 10 | round) / 10) | map(tostring) | join(" ") end'
}
printf '\n| S5 pooled | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n'
declare -A p99
for mode in per-message single; do
  for n in 0 "$files"; do
    read -r a b c <<<"$(pooled "$mode" "$n")"
    p99[$mode-$n]=$b
    echo "| $mode, $n files | $a | $b | $c |"
  done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }
echo
echo "per-message: p99 with files / without = $(ratio "${p99[per-message-$files]}" "${p99[per-message-0]}") (target: at most 1.5)"
echo "single: p99 with files / without = $(ratio "${p99[single-$files]}" "${p99[single-0]}") (target: at least 10)"
echo "single with files / per-message with files (p99) = $(ratio "${p99[single-$files]}" "${p99[per-message-$files]}")"
for mode in per-message single; do
  for s in $seeds; do cat "$work/S5-$mode-$files-$s.json"; done |
    jq -rs --arg mode "$mode" '
      def r1: (. * 10 | round) / 10;
      [.[].uploads[].mib_per_second] as $u | [.[].total_mib_per_second] as $t
      | "\($mode): MiB/s per upload min \($u | min | r1), mean \($u | add / length | r1), max \($u | max | r1); total mean \($t | add / length | r1) (\($u | length) uploads, \([.[].uploads[] | select(.posted | not)] | length) failed)"'
done
if [[ -n "${BENCH_KEEP:-}" ]]; then
  mkdir -p "$BENCH_KEEP"
  cp "$work"/S5-*.json "$BENCH_KEEP"/ 2>/dev/null || true
fi
