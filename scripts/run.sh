#!/usr/bin/env bash
# Runs the Chatroom desktop app (release build). Installs missing system packages first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
exec cargo run --release --manifest-path "$root/Cargo.toml" -p chatroom-app --bin chatroom -- "$@"
