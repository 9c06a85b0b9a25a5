#!/usr/bin/env bash
# Generates a development CA and server certificate into certs/ (or $CERTS_DIR).
# Extra arguments are additional DNS names or IP addresses for the certificate.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${CERTS_DIR:-$root/certs}
names=()
for n in "$@"; do names+=(--name "$n"); done
cargo run -q --manifest-path "$root/Cargo.toml" -p chatroom-server --bin chatroom-server -- gen-certs --out "$out" "${names[@]}"
