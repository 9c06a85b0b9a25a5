#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS seconds each (default
# 10), one after another, and fails on the first crash, hang or panic.
#
# Installs cargo-fuzz if it is missing, builds into CHATROOM_FUZZ_TARGET_DIR
# (default ~/.cache/chatroom/fuzz-target: outside the clone, so CI's fresh
# clones reuse the instrumented build, and apart from the main target cache), and fuzzes a scratch copy of each seed corpus
# in fuzz/corpus/ so that a run never grows the committed corpus. A crashing
# input is saved under fuzz/artifacts/<target>/ and the command to replay it is
# printed. Usage: FUZZ_SECONDS=600 scripts/fuzz.sh [target...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-10}

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# libfuzzer-sys compiles libFuzzer, which is C++: a fresh Debian image with
# only gcc (enough for Rust itself) lacks g++.
if ! command -v c++ >/dev/null 2>&1; then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi

# AddressSanitizer needs the nightly-only -Zsanitizer flag, so on stable Rust
# the targets are built without a sanitizer: libFuzzer's coverage
# instrumentation uses only stable -C flags, and panics (what these targets
# look for) are caught either way. Our crates forbid unsafe code, so ASan
# could only find memory errors inside dependencies.
# Debug assertions and overflow checks stay on (cargo fuzz's default), so an
# arithmetic overflow is a crash, not a silent wrap.
export CARGO_TARGET_DIR="${CHATROOM_FUZZ_TARGET_DIR:-$HOME/.cache/chatroom/fuzz-target}"
# Leaves the PNG encoder's deflate uninstrumented: it made avatar_validate
# twenty times slower and is not attack surface (see the wrapper).
export RUSTC_WRAPPER="$root/fuzz/rustc-wrapper.sh"
build_flags=(--sanitizer none --fuzz-dir fuzz)

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
cargo fuzz build "${build_flags[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  cp -R "fuzz/corpus/$target/." "$scratch/$target/"
  echo "fuzz: $target for ${seconds}s" >&2
  # -timeout turns a single input running over 10 s into a failure (a hang);
  # -rss_limit_mb does the same for memory, well above the decoders' limits.
  cargo fuzz run "${build_flags[@]}" "$target" "$scratch/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
