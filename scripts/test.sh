#!/usr/bin/env bash
# Runs every test: unit, end-to-end, SQLite and MariaDB stores, the GUI, the
# CLI smoke test, and the serial fault tests. Starts what it needs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/mariadb.sh
cargo nextest run --workspace --no-fail-fast
# Fault tests restart services or kill processes, so they run one at a time.
cargo nextest run --workspace --run-ignored only --test-threads 1 --no-tests warn
scripts/smoke-cli.sh
