#!/usr/bin/env bash
# A RUSTC_WRAPPER for fuzz builds (scripts/fuzz.sh sets it): compiles
# miniz_oxide without libFuzzer's coverage instrumentation, and every other
# crate exactly as cargo fuzz asks.
#
# Why: every image avatar_validate accepts is re-encoded as a PNG at the best
# compression, which is miniz_oxide's deflate. Instrumented, with a comparison
# callback on every match it tries, that was 95% of the target's time (perf,
# 170 runs/s). Its input is pixels we decoded ourselves, never attacker
# bytes, and its branches only taught the fuzzer about compression, so
# leaving it out costs no useful coverage. No decoder uses it: PNG data is
# inflated by fdeflate, which stays instrumented.
set -euo pipefail
rustc=$1
shift

crate=
previous=
for arg in "$@"; do
  [[ $previous == --crate-name ]] && crate=$arg
  previous=$arg
done
if [[ $crate != miniz_oxide ]]; then
  exec "$rustc" "$@"
fi

# cargo fuzz passes its flags joined ("-Cpasses=sancov-module"); the split
# form ("-C" "passes=...") is handled too in case that changes.
args=()
skip_next=false
for ((i = 1; i <= $#; i++)); do
  arg=${!i}
  if $skip_next; then
    skip_next=false
    continue
  fi
  case $arg in
    -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) continue ;;
    -C)
      next=$((i + 1))
      case ${!next:-} in
        passes=sancov-module | llvm-args=-sanitizer-coverage-*)
          skip_next=true
          continue
          ;;
      esac
      ;;
  esac
  args+=("$arg")
done
exec "$rustc" "${args[@]}"
